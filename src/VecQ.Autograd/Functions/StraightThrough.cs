using VecQ.Tensors;

namespace VecQ.Autograd;

// The straight-through estimator, as an ordinary function: quantizers need no special machinery.
public static partial class Functions
{
    /// <summary>
    /// Returns <paramref name="y"/>'s value forward and passes the gradient unchanged to
    /// <paramref name="x"/> (PyTorch's <c>x + (y − x).detach()</c>). Shapes must match. The
    /// result is a view of y's storage; the caller keeps ownership of <paramref name="y"/>.
    /// </summary>
    /// <example><code>
    /// using var q = w.Value.Div(step).Round().Mul(step);   // quantized weight (no graph)
    /// using var wq = Functions.StraightThrough(w, q);      // forward q, dL/dw = dL/dwq
    /// </code></example>
    public static Variable StraightThrough(Variable x, Tensor y)
    {
        if (!Shape.Equal(x.Shape, y.Dims))
            throw new ArgumentException($"straight_through: x {x.Describe()} and y {y.ShapeText} must have the same shape");
        if (x.Value.DType != y.DType)
            throw new ArgumentException($"straight_through: x is {x.Value.DType.Name()} but y is {y.DType.Name()}");
        return Graph.Record("straight_through", Saved.NewRef(y), [x], [], (g, _) => [Saved.NewRef(g)]);
    }

    /// <summary>Same as <see cref="StraightThrough(Variable, Tensor)"/> with y's value; no gradient flows into y's own graph.</summary>
    /// <example><code>using var wq = Functions.StraightThrough(w, quantized);</code></example>
    public static Variable StraightThrough(Variable x, Variable y) => StraightThrough(x, y.Value);
}
