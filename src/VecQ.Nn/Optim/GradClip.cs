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

    // Σ g² on the gradient's backend (a non-contiguous gradient is summed from a contiguous copy).
    private static double SumOfSquares(Tensor g)
    {
        if (g.IsContiguous) return OptimOps.SumOfSquares(g);
        using var c = g.Contiguous();
        return OptimOps.SumOfSquares(c);
    }

    // g ← coef·g in place (a non-contiguous gradient through a scaled copy written back).
    private static void Scale(Tensor g, double coef)
    {
        if (g.IsContiguous)
        {
            g.Mul_(coef);
            return;
        }
        using var s = g.Mul(coef);
        g.CopyFrom(s);
    }
}
