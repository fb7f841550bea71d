using VecQ.Tensors;

namespace VecQ.Autograd;

// Softmax and log-softmax along one axis; backward formulas in tensor ops.
public static partial class Functions
{
    /// <summary>Softmax along <paramref name="axis"/>. dx = y·(dy − Σ_axis dy·y).</summary>
    /// <example><code>using var p = Functions.Softmax(logits, 1);</code></example>
    public static Variable Softmax(Variable x, int axis)
    {
        var y = NnOps.Softmax(x.Value, axis);
        return Graph.Record("softmax", y, [x], [y], (g, ctx) =>
        {
            var yv = ctx.Saved[0];
            using var gy = g.Mul(yv);
            using var s = gy.Sum([axis], keepDim: true);
            using var centered = g.Sub(s);
            return [yv.Mul(centered)];
        });
    }

    /// <summary>Log-softmax along <paramref name="axis"/> (stable). dx = dy − exp(y)·Σ_axis dy.</summary>
    /// <example><code>using var logp = Functions.LogSoftmax(logits, 1);</code></example>
    public static Variable LogSoftmax(Variable x, int axis)
    {
        var y = NnOps.LogSoftmax(x.Value, axis);
        return Graph.Record("log_softmax", y, [x], [y], (g, ctx) =>
        {
            using var p = ctx.Saved[0].Exp();
            using var s = g.Sum([axis], keepDim: true);
            using var ps = p.Mul(s);
            return [g.Sub(ps)];
        });
    }
}
