using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Records ops into the graph. Every differentiable function computes its forward with Tensor
/// ops and then calls <see cref="Record"/> with the result, its inputs, the tensors its backward
/// needs and the backward formula. Custom ops (e.g. a quantizer's own estimator) use it the same way.
/// </summary>
/// <example><code>
/// // y = e^x, dy/dx = y
/// public static Variable MyExp(Variable x)
/// {
///     var y = x.Value.Exp();
///     return Graph.Record("my_exp", y, [x], [y], (g, ctx) => [g.Mul(ctx.Saved[0])]);
/// }
/// </code></example>
public static class Graph
{
    /// <summary>True when an op over <paramref name="inputs"/> would be recorded (grad enabled and some input requires grad).</summary>
    public static bool IsRecording(params ReadOnlySpan<Variable> inputs)
    {
        if (!Autograd.IsGradEnabled) return false;
        foreach (var v in inputs) if (v.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Wraps <paramref name="value"/> (ownership passes to the returned variable) and, when
    /// <see cref="IsRecording"/>, adds a node whose backward is <paramref name="backward"/>.
    /// The node takes its own reference to each <paramref name="saved"/> tensor (no copy); the
    /// caller still owns and disposes what it passed. Saved tensors are released after the
    /// node's backward runs (unless retainGraph).
    /// </summary>
    /// <param name="name">Op name for messages ("conv2d").</param>
    /// <param name="value">The forward result.</param>
    /// <param name="inputs">The differentiable inputs, in the order the backward returns gradients.</param>
    /// <param name="saved">Tensors the backward reads through <see cref="BackwardContext.Saved"/>.</param>
    /// <param name="backward">The backward formula.</param>
    public static Variable Record(string name, Tensor value, ReadOnlySpan<Variable> inputs, ReadOnlySpan<Tensor> saved, BackwardFn backward)
    {
        if (!IsRecording(inputs)) return new Variable(value);
        var edges = new Edge?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = inputs[i];
            if (!v.RequiresGrad) continue;
            edges[i] = v.IsLeaf ? new Edge(null, v, v.Value.Dims) : new Edge(v.Node, null, v.Value.Dims);
        }
        var kept = new Tensor[saved.Length];
        for (int i = 0; i < saved.Length; i++) kept[i] = Saved.NewRef(saved[i]);
        return new Variable(value, new Node(name, edges, kept, backward));
    }
}
