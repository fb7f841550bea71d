using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>Gradient clipping.</summary>
/// <example><code>
/// loss.Backward();
/// using var norm = GradClip.ClipByNorm(model.Parameters(), maxNorm: 1.0);   // [] float64 on the model's device
/// opt.Step();
/// </code></example>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so that their global L2 norm is at most <paramref name="maxNorm"/>
    /// (PyTorch's clip_grad_norm_): with total norm N over every parameter that has a gradient, each gradient
    /// is multiplied by min(1, maxNorm / (N + 1e-6)). Returns N, measured before clipping (accumulated in
    /// double), as a float64 0-d tensor on the gradients' device: nothing is read back unless the caller
    /// reads it (or asks for <paramref name="errorIfNonfinite"/>, which reads N once).
    /// </summary>
    /// <param name="parameters">Parameters whose gradients are clipped in place (null gradients are skipped); all on one device.</param>
    /// <param name="maxNorm">Largest allowed norm (≥ 0).</param>
    /// <param name="errorIfNonfinite">Throw instead of clipping when the norm is NaN or infinite.</param>
    /// <exception cref="ArgumentException">The gradients are on different devices.</exception>
    /// <example><code>using var before = GradClip.ClipByNorm(model.Parameters(), 5.0); double n = before.Item();</code></example>
    public static Tensor ClipByNorm(IEnumerable<Parameter> parameters, double maxNorm, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"clip_grad_norm: max norm {maxNorm} must be >= 0");
        var grads = new List<Tensor>();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
            if (seen.Add(p) && p.Grad is { } g) grads.Add(g);
        if (grads.Count == 0) return Tensor.Zeros([], DType.Float64);
        var device = grads[0].Device;
        foreach (var g in grads)
            if (g.Device != device) throw new ArgumentException($"clip_grad_norm: gradients live on {device} and {g.Device}; move the model to one device");

        var sumSq = Tensor.Zeros([], DType.Float64, device);                  // [] float64
        foreach (var g in grads)
        {
            using var ss = SumOfSquares(g);
            using var next = sumSq.Add(ss);
            sumSq.CopyFrom(next);
        }
        Tensor norm;
        using (sumSq) norm = sumSq.Sqrt();                                     // N
        try
        {
            if (errorIfNonfinite && !double.IsFinite(norm.Item()))
                throw new InvalidOperationException($"clip_grad_norm: the total norm of the gradients is {norm.Item()}; a gradient is NaN or infinite");
            using var denom = norm.Add(1e-6);
            using var coef = maxNorm / denom;                                    // maxNorm / (N + 1e-6)
            using var one = Tensor.Ones([], DType.Float64, device);
            using var clamped = coef.Minimum(one);                              // min(coef, 1); NaN stays NaN
            foreach (var g in grads) Scale(g, clamped);
            return norm;
        }
        catch
        {
            norm.Dispose();
            throw;
        }
    }

    // Σ g² on the gradient's device (a non-contiguous gradient is summed from a contiguous copy).
    private static Tensor SumOfSquares(Tensor g)
    {
        if (g.IsContiguous) return OptimOps.SumOfSquaresTensor(g);
        using var c = g.Contiguous();
        return OptimOps.SumOfSquaresTensor(c);
    }

    // g ← coef·g in place, coef a float64 0-d tensor on g's device (multiplying by 1 leaves g exactly as it was).
    private static void Scale(Tensor g, Tensor coef)
    {
        using var c = coef.Cast(g.DType);
        using var scaled = g.Mul(c);
        g.CopyFrom(scaled);
    }
}
