using VecQ.Tensors;

namespace VecQ.Autograd;

// Inverted dropout: kept elements are scaled by 1/(1 − p) during training so evaluation needs no rescaling.
public static partial class Functions
{
    /// <summary>
    /// Zeroes each element with probability <paramref name="p"/> (mask drawn from
    /// <paramref name="rng"/>) and scales the rest by 1/(1 − p). dx = dy·mask. When not training
    /// (or p = 0) it is the identity (a new variable viewing x's value, so ownership stays uniform).
    /// </summary>
    /// <example><code>using var h2 = Functions.Dropout(h, 0.5, rng, training: true);</code></example>
    public static Variable Dropout(Variable x, double p, Rng rng, bool training = true)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"dropout: probability {p} must be in [0, 1]");
        if (!training || p == 0)
            return Graph.Record("identity", Saved.NewRef(x.Value), [x], [], (g, _) => [Saved.NewRef(g)]);
        using var keep = Tensor.Bernoulli(x.Shape, rng, 1 - p, x.Value.DType, x.Value.Device);
        using var mask = keep.Mul(p < 1 ? 1 / (1 - p) : 0);                // 0 or 1/(1 − p)
        return Graph.Record("dropout", x.Value.Mul(mask), [x], [mask], (g, ctx) => [g.Mul(ctx.Saved[0])]);
    }
}
