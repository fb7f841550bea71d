using VecQ.Tensors;

namespace VecQ.Autograd;

// Elementwise ops with a constant scalar operand.
public static partial class Functions
{
    /// <summary>x + s. dx = dy.</summary>
    /// <example><code>using var y = Functions.Add(x, 1.0);</code></example>
    public static Variable Add(Variable x, double s) =>
        Graph.Record("add_scalar", x.Value.Add(s), [x], [], (g, _) => [Saved.NewRef(g)]);

    /// <summary>x − s. dx = dy.</summary>
    /// <example><code>using var y = Functions.Sub(x, 0.5);</code></example>
    public static Variable Sub(Variable x, double s) =>
        Graph.Record("sub_scalar", x.Value.Sub(s), [x], [], (g, _) => [Saved.NewRef(g)]);

    /// <summary>s − x. dx = −dy.</summary>
    /// <example><code>using var y = Functions.Sub(1.0, p); // 1 − p</code></example>
    public static Variable Sub(double s, Variable x) =>
        Graph.Record("rsub_scalar", s - x.Value, [x], [], (g, _) => [g.Neg()]);

    /// <summary>x · s. dx = dy·s.</summary>
    /// <example><code>using var y = Functions.Mul(x, 0.5);</code></example>
    public static Variable Mul(Variable x, double s) =>
        Graph.Record("mul_scalar", x.Value.Mul(s), [x], [], (g, _) => [g.Mul(s)]);

    /// <summary>x / s. dx = dy / s.</summary>
    /// <example><code>using var y = Functions.Div(x, 255.0);</code></example>
    public static Variable Div(Variable x, double s) =>
        Graph.Record("div_scalar", x.Value.Div(s), [x], [], (g, _) => [g.Div(s)]);

    /// <summary>s / x. dx = −dy·s/x² = −dy·y/x.</summary>
    /// <example><code>using var inv = Functions.Div(1.0, x);</code></example>
    public static Variable Div(double s, Variable x)
    {
        var y = s / x.Value;
        return Graph.Record("rdiv_scalar", y, [x], [x.Value, y], (g, ctx) =>
        {
            using var q = ctx.Saved[1].Div(ctx.Saved[0]);
            using var gq = g.Mul(q);
            return [gq.Neg()];
        });
    }
}
