using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>Where an input's gradient goes: the node that produced it, or the leaf to accumulate into.</summary>
internal sealed class Edge(Node? node, Variable? leaf, int[] shape)
{
    public Node? Node { get; } = node;
    public Variable? Leaf { get; } = leaf;
    public int[] Shape { get; } = shape;
}

/// <summary>
/// One recorded op in the graph: its name, where its inputs' gradients go, the tensors its
/// backward needs, and the backward function. Nodes reference their producers' nodes (not
/// their values), so the graph keeps alive only what a backward needs.
/// </summary>
/// <example><code>var op = loss.Node?.Name; // e.g. "mean"</code></example>
public sealed class Node
{
    private Tensor[] _saved;
    private readonly BackwardFn _backward;

    internal Node(string name, Edge?[] edges, Tensor[] saved, BackwardFn backward)
    {
        Name = name;
        Edges = edges;
        _saved = saved;
        _backward = backward;
    }

    /// <summary>The op's name ("mul", "conv2d", …).</summary>
    public string Name { get; }

    /// <summary>True once the saved tensors were released by a backward without retainGraph.</summary>
    public bool IsReleased { get; private set; }

    internal Edge?[] Edges { get; }

    internal Tensor[] SavedTensors => _saved;

    internal Tensor?[] RunBackward(Tensor grad)
    {
        var grads = _backward(grad, new BackwardContext(this));
        if (grads.Length != Edges.Length)
            throw new InvalidOperationException($"backward of '{Name}' returned {grads.Length} gradients for {Edges.Length} inputs");
        return grads;
    }

    // Disposes the saved tensors; a later backward through this node throws.
    internal void Release()
    {
        foreach (var t in _saved) t.Dispose();
        _saved = [];
        IsReleased = true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Node({Name}, inputs={Edges.Length}{(IsReleased ? ", released" : "")})";
}
