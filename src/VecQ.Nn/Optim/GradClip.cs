using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>Gradient clipping.</summary>
/// <example><code>
/// loss.Backward();
/// double norm = GradClip.ClipByNorm(model.Parameters(), maxNorm: 1.0);
/// opt.Step();
/// </code></example>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so that their global L2 norm is at most
    /// <paramref name="maxNorm"/> (PyTorch's clip_grad_norm_): with total norm N over every
    /// parameter that has a gradient, each gradient is multiplied by maxNorm / (N + 1e-6) when
    /// that factor is below 1, and left alone otherwise. Returns N, measured before clipping
    /// (accumulated in double).
    /// </summary>
    /// <param name="parameters">Parameters whose gradients are clipped in place (null gradients are skipped).</param>
    /// <param name="maxNorm">Largest allowed norm (≥ 0).</param>
    /// <param name="errorIfNonfinite">Throw instead of clipping when the norm is NaN or infinite.</param>
    /// <example><code>double before = GradClip.ClipByNorm(model.Parameters(), 5.0);</code></example>
    public static double ClipByNorm(IEnumerable<Parameter> parameters, double maxNorm, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"clip_grad_norm: max norm {maxNorm} must be >= 0");
        var grads = new List<Tensor>();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
            if (seen.Add(p) && p.Grad is { } g) grads.Add(g);
        if (grads.Count == 0) return 0;

        double sumSq = 0;
        foreach (var g in grads) sumSq += SumOfSquares(g);
        double norm = Math.Sqrt(sumSq);
        if (errorIfNonfinite && !double.IsFinite(norm))
            throw new InvalidOperationException($"clip_grad_norm: the total norm of the gradients is {norm}; a gradient is NaN or infinite");
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1 || double.IsNaN(coef))
            foreach (var g in grads) Scale(g, coef);
        return norm;
    }

    private static double SumOfSquares(Tensor g)
    {
        if (g.DType == DType.Float32 && OptimKernels.TryAddress<float>(g, out nint pf)) return OptimKernels.SumOfSquares(pf, g.Numel, DType.Float32);
        if (g.DType == DType.Float64 && OptimKernels.TryAddress<double>(g, out nint pd)) return OptimKernels.SumOfSquares(pd, g.Numel, DType.Float64);
        using var d = g.Cast(DType.Float64);
        using var sq = d.Mul(d);
        using var s = sq.Sum();
        return s.Item();
    }

    private static void Scale(Tensor g, double coef)
    {
        if (g.DType == DType.Float32 && OptimKernels.TryAddress<float>(g, out nint pf))
            OptimKernels.Run(g.Numel, new OptimKernels.Scale<float> { X = pf, S = (float)coef });
        else if (g.DType == DType.Float64 && OptimKernels.TryAddress<double>(g, out nint pd))
            OptimKernels.Run(g.Numel, new OptimKernels.Scale<double> { X = pd, S = coef });
        else
        {
            using var s = g.Mul(coef);
            g.CopyFrom(s);
        }
    }
}
