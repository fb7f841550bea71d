using VecQ.Tensors;

namespace VecQ.Autograd;

// Reductions over axes (all axes when none are given), with keepDim.
public static partial class Functions
{
    /// <summary>Sum over <paramref name="axes"/> (all when null or empty). dx = dy broadcast back.</summary>
    /// <example><code>using var s = Functions.Sum(x, [1], keepDim: true); // [N, C] → [N, 1]</code></example>
    public static Variable Sum(Variable x, int[]? axes = null, bool keepDim = false)
    {
        int[] xs = x.Shape, kept = Broadcast.KeepDimShape(xs, axes);
        return Graph.Record("sum", x.Value.Sum(axes, keepDim), [x], [], (g, _) =>
        {
            using var gk = g.Reshape(kept);
            return [gk.Expand(xs)];
        });
    }

    /// <summary>Mean over <paramref name="axes"/> (all when null or empty). dx = dy/n broadcast back.</summary>
    /// <example><code>using var m = Functions.Mean(losses);</code></example>
    public static Variable Mean(Variable x, int[]? axes = null, bool keepDim = false)
    {
        int[] xs = x.Shape, kept = Broadcast.KeepDimShape(xs, axes);
        int count = Math.Max(1, Shape.Numel(xs) / Math.Max(1, Shape.Numel(kept)));
        return Graph.Record("mean", x.Value.Mean(axes, keepDim), [x], [], (g, _) =>
        {
            using var gk = g.Reshape(kept);
            using var scaled = gk.Div(count);
            return [scaled.Expand(xs)];
        });
    }

    /// <summary>Maximum over <paramref name="axes"/>; the gradient goes to the maxima (split equally among ties).</summary>
    /// <example><code>using var m = Functions.Max(x, [1]);</code></example>
    public static Variable Max(Variable x, int[]? axes = null, bool keepDim = false) => Extremum("max", x, axes, keepDim, max: true);

    /// <summary>Minimum over <paramref name="axes"/>; the gradient goes to the minima (split equally among ties).</summary>
    /// <example><code>using var m = Functions.Min(x, [0]);</code></example>
    public static Variable Min(Variable x, int[]? axes = null, bool keepDim = false) => Extremum("min", x, axes, keepDim, max: false);

    private static Variable Extremum(string name, Variable x, int[]? axes, bool keepDim, bool max)
    {
        int[] kept = Broadcast.KeepDimShape(x.Shape, axes);
        using var yk = max ? x.Value.Max(axes, keepDim: true) : x.Value.Min(axes, keepDim: true); // kept shape
        var y = keepDim ? Saved.NewRef(yk) : yk.Reshape(Broadcast.ReducedShape(x.Shape, axes));
        if (!Graph.IsRecording(x)) return new Variable(y);
        // weight: 1 where x equals its extremum, divided by the number of such elements
        using var hits = x.Value.Eq(yk);
        using var count = hits.Sum(axes, keepDim: true);
        using var weight = hits.Div(count);
        return Graph.Record(name, y, [x], [weight], (g, ctx) =>
        {
            using var gk = g.Reshape(kept);
            return [ctx.Saved[0].Mul(gk)];
        });
    }
}
