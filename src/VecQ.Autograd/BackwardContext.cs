using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Computes the gradients of a recorded op's inputs from the gradient of its output.
/// Returns one tensor per input, each shaped like that input (null where
/// <see cref="BackwardContext.NeedsGrad"/> is false). Every returned tensor must be a new
/// reference (a new tensor or a new view) because the engine disposes it after use; never return
/// <paramref name="grad"/> itself or one of <see cref="BackwardContext.Saved"/>.
/// </summary>
/// <param name="grad">∂L/∂output, shaped like the output (owned by the engine: do not dispose).</param>
/// <param name="ctx">The saved tensors and which inputs need a gradient.</param>
public delegate Tensor?[] BackwardFn(Tensor grad, BackwardContext ctx);

/// <summary>What a <see cref="BackwardFn"/> may read: the saved tensors and the inputs' needs.</summary>
/// <example><code>(g, ctx) => [ctx.NeedsGrad(0) ? g.Mul(ctx.Saved[0]) : null]</code></example>
public sealed class BackwardContext
{
    private readonly Node _node;

    internal BackwardContext(Node node) => _node = node;

    /// <summary>The tensors given to <see cref="Graph.Record"/> as saved, in order.</summary>
    public IReadOnlyList<Tensor> Saved => _node.SavedTensors;

    /// <summary>True when input <paramref name="i"/> needs a gradient (skip the work otherwise).</summary>
    public bool NeedsGrad(int i) => _node.Edges[i] != null;
}
