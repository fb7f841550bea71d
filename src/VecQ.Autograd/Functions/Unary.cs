using VecQ.Tensors;

namespace VecQ.Autograd;

// Unary elementwise functions and activations. Kinks (relu at 0, abs at 0, clamp at its bounds)
// take PyTorch's subgradient choices.
public static partial class Functions
{
    /// <summary>−x. dx = −dy.</summary>
    /// <example><code>using var y = Functions.Neg(x);</code></example>
    public static Variable Neg(Variable x) =>
        Graph.Record("neg", x.Value.Neg(), [x], [], (g, _) => [g.Neg()]);

    /// <summary>e^x. dx = dy·y.</summary>
    /// <example><code>using var y = Functions.Exp(x);</code></example>
    public static Variable Exp(Variable x)
    {
        var y = x.Value.Exp();
        return Graph.Record("exp", y, [x], [y], (g, ctx) => [g.Mul(ctx.Saved[0])]);
    }

    /// <summary>ln x. dx = dy/x.</summary>
    /// <example><code>using var y = Functions.Log(x);</code></example>
    public static Variable Log(Variable x) =>
        Graph.Record("log", x.Value.Log(), [x], [x.Value], (g, ctx) => [g.Div(ctx.Saved[0])]);

    /// <summary>√x. dx = dy / (2·y).</summary>
    /// <example><code>using var y = Functions.Sqrt(x);</code></example>
    public static Variable Sqrt(Variable x)
    {
        var y = x.Value.Sqrt();
        return Graph.Record("sqrt", y, [x], [y], (g, ctx) =>
        {
            using var twoY = ctx.Saved[0].Mul(2.0);
            return [g.Div(twoY)];
        });
    }

    /// <summary>x^p for a scalar exponent. dx = dy·p·x^(p−1).</summary>
    /// <example><code>using var sq = Functions.Pow(x, 2);</code></example>
    public static Variable Pow(Variable x, double p) =>
        Graph.Record("pow", x.Value.Pow(p), [x], [x.Value], (g, ctx) =>
        {
            using var d = ctx.Saved[0].Pow(p - 1);
            using var pd = d.Mul(p);
            return [g.Mul(pd)];
        });

    /// <summary>|x|. dx = dy·sign(x) (0 at x = 0).</summary>
    /// <example><code>using var y = Functions.Abs(x);</code></example>
    public static Variable Abs(Variable x) =>
        Graph.Record("abs", x.Value.Abs(), [x], [x.Value], (g, ctx) =>
        {
            using var s = ctx.Saved[0].Sign();
            return [g.Mul(s)];
        });

    /// <summary>max(x, 0). dx = dy where x &gt; 0.</summary>
    /// <example><code>using var h = Functions.Relu(z);</code></example>
    public static Variable Relu(Variable x) =>
        Graph.Record("relu", x.Value.Relu(), [x], [x.Value], (g, ctx) => [Tensor.Zip(new ReluGrad(), g, ctx.Saved[0])]);

    /// <summary>min(max(x, 0), 6). dx = dy where 0 &lt; x &lt; 6.</summary>
    /// <example><code>using var h = Functions.Relu6(z);</code></example>
    public static Variable Relu6(Variable x) =>
        Graph.Record("relu6", x.Value.Relu6(), [x], [x.Value], (g, ctx) => [MaskBetween(g, ctx.Saved[0], 0, 6, inclusive: false)]);

    /// <summary>Logistic sigmoid. dx = dy·y·(1 − y).</summary>
    /// <example><code>using var p = Functions.Sigmoid(logits);</code></example>
    public static Variable Sigmoid(Variable x)
    {
        var y = x.Value.Sigmoid();
        return Graph.Record("sigmoid", y, [x], [y], (g, ctx) =>
        {
            var yv = ctx.Saved[0];
            using var oneMinus = 1.0 - yv;
            using var d = yv.Mul(oneMinus);
            return [g.Mul(d)];
        });
    }

    /// <summary>tanh(x). dx = dy·(1 − y²).</summary>
    /// <example><code>using var h = Functions.Tanh(z);</code></example>
    public static Variable Tanh(Variable x)
    {
        var y = x.Value.Tanh();
        return Graph.Record("tanh", y, [x], [y], (g, ctx) =>
        {
            var yv = ctx.Saved[0];
            using var y2 = yv.Mul(yv);
            using var d = 1.0 - y2;
            return [g.Mul(d)];
        });
    }

    /// <summary>Clamps into [min, max]. dx = dy where min ≤ x ≤ max (PyTorch's choice at the bounds).</summary>
    /// <example><code>using var c = Functions.Clamp(x, -1, 1);</code></example>
    public static Variable Clamp(Variable x, double min, double max) =>
        Graph.Record("clamp", x.Value.Clamp(min, max), [x], [x.Value], (g, ctx) => [MaskBetween(g, ctx.Saved[0], min, max, inclusive: true)]);

    // g where lo < x < hi (or lo ≤ x ≤ hi), else 0.
    private static Tensor MaskBetween(Tensor g, Tensor x, double lo, double hi, bool inclusive)
    {
        using var above = inclusive ? x.Ge(lo) : x.Gt(lo);
        using var below = inclusive ? x.Le(hi) : x.Lt(hi);
        using var mask = above.Mul(below);
        return g.Mul(mask);
    }
}
