namespace VecQ.Tensors;

/// <summary>
/// The weight quantizer's operations on any device (<see cref="IBackend.GroupMoments"/>,
/// <see cref="IBackend.GridProject"/>, <see cref="IBackend.DequantizeSums"/>): rows of a [G, M] tensor are
/// the groups (one row per tensor, or one per output channel). Results stay on the device; nothing is read back.
/// </summary>
/// <example><code>
/// using var w = Tensor.RandN([1, 1000], new Rng(1));              // one group of 1000 weights
/// var (mean, std) = QuantOps.GroupMoments(w);                      // [1], [1] float64
/// </code></example>
public static class QuantOps
{
    /// <summary>Per-row mean and population std of a float32 [G, M] tensor, as float64 [G] tensors on its device.</summary>
    /// <exception cref="ArgumentException">x is not a float32 [G, M] tensor with M ≥ 1.</exception>
    /// <example><code>var (mean, std) = QuantOps.GroupMoments(w.Reshape([64, -1])); // one row per output channel</code></example>
    public static (Tensor Mean, Tensor Std) GroupMoments(Tensor x)
    {
        var (g, _) = CheckRows("group_moments", x);
        using var xc = x.Contiguous();
        var mean = Tensor.Empty([g], DType.Float64, x.Device);
        var std = Tensor.Empty([g], DType.Float64, x.Device);
        try { Backend.For(x.Device).GroupMoments(xc, mean, std); }
        catch { mean.Dispose(); std.Dispose(); throw; }
        return (mean, std);
    }

    /// <summary>
    /// Projects each row of w: [G, M] onto the grid <paramref name="spec"/> with per-row center and step ([G]
    /// float32), writing codes (int32, [G, M]) and v (float32, [G, M]) in place, and returns dots: [G, 2]
    /// float64 = (w·v, v·v) per row.
    /// </summary>
    /// <exception cref="ArgumentException">A shape, dtype or device does not match (the message names the operand).</exception>
    /// <example><code>using var dots = QuantOps.GridProject(w, center, step, GridSpec.HalfInteger(2), codes, v);</code></example>
    public static Tensor GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v)
    {
        const string op = "grid_project";
        var (g, m) = CheckRows(op, w);
        CheckVector(op, "center", center, g, w);
        CheckVector(op, "step", step, g, w);
        CheckLike(op, "codes", codes, g, m, DType.Int32, w);
        CheckLike(op, "v", v, g, m, DType.Float32, w);
        using var wc = w.Contiguous();
        var dots = Tensor.Empty([g, 2], DType.Float64, w.Device);
        try { Backend.For(w.Device).GridProject(wc, center, step, spec, codes, v, dots); }
        catch { dots.Dispose(); throw; }
        return dots;
    }

    /// <summary>
    /// q ← v·alpha[g] (+ shift[g]) in place and returns sums: [G, 6] float64 = (w·w, w·v, v·v, Σv, Σw, Σ(w − q)²)
    /// per row. w, v, q: [G, M] float32; alpha, shift: [G] float32.
    /// </summary>
    /// <exception cref="ArgumentException">A shape, dtype or device does not match.</exception>
    /// <example><code>using var sums = QuantOps.DequantizeSums(w, v, alpha, shift, q);</code></example>
    public static Tensor DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q)
    {
        const string op = "dequantize_sums";
        var (g, m) = CheckRows(op, w);
        CheckLike(op, "v", v, g, m, DType.Float32, w);
        CheckLike(op, "q", q, g, m, DType.Float32, w);
        CheckVector(op, "alpha", alpha, g, w);
        CheckVector(op, "shift", shift, g, w);
        using var wc = w.Contiguous();
        var sums = Tensor.Empty([g, 6], DType.Float64, w.Device);
        try { Backend.For(w.Device).DequantizeSums(wc, v, alpha, shift, q, sums); }
        catch { sums.Dispose(); throw; }
        return sums;
    }

    /// <summary>(G, M) of a float32 [G, M] tensor with M ≥ 1, or an error naming <paramref name="op"/>.</summary>
    internal static (int G, int M) CheckRows(string op, Tensor x)
    {
        x.EnsureAlive(op);
        if (x.Rank != 2 || x.DType != DType.Float32 || x.Dims[1] < 1)
            throw new ArgumentException($"{op}: input {x.ShapeText} ({x.DType.Name()}) must be a float32 [G, M] tensor with M >= 1 (one row per group)");
        return (x.Dims[0], x.Dims[1]);
    }

    private static void CheckVector(string op, string name, Tensor t, int g, Tensor like)
    {
        t.EnsureAlive(op);
        Tensor.SameDevice(op, like, t);
        if (!Shape.Equal(t.Dims, [g]) || t.DType != DType.Float32 || !t.IsContiguous)
            throw new ArgumentException($"{op}: {name} {t.ShapeText} ({t.DType.Name()}) must be a contiguous float32 [{g}] (one value per row of {like.ShapeText})");
    }

    private static void CheckLike(string op, string name, Tensor t, int g, int m, DType dtype, Tensor like)
    {
        t.EnsureAlive(op);
        Tensor.SameDevice(op, like, t);
        if (!Shape.Equal(t.Dims, [g, m]) || t.DType != dtype || !t.IsContiguous)
            throw new ArgumentException($"{op}: {name} {t.ShapeText} ({t.DType.Name()}) must be a contiguous {dtype.Name()} [{g}, {m}] like the weights {like.ShapeText}");
    }
}
