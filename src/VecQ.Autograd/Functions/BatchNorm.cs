using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// The result of <see cref="Functions.BatchNorm"/>: the normalized output and the batch
/// statistics for updating running stats. <see cref="Mean"/> and <see cref="Var"/> ([C]) belong to
/// the caller (dispose them). <see cref="Var"/> is the biased batch variance; PyTorch's running
/// variance uses the unbiased one, Var·Count/(Count − 1).
/// </summary>
/// <example><code>
/// var bn = Functions.BatchNorm(x, gamma, beta);
/// using (bn.Mean) using (bn.Var) { /* running = (1 − m)·running + m·stat */ }
/// </code></example>
public readonly record struct BatchNormResult(Variable Output, Tensor Mean, Tensor Var, int Count);

// Training-mode batch normalization. x: [N, C] or [N, C, …]; statistics per channel C over
// the other axes (m = N·H·W elements per channel for images).
public static partial class Functions
{
    /// <summary>
    /// y = γ·x̂ + β with x̂ = (x − μ_B)/√(σ²_B + ε), using the batch's per-channel mean and biased
    /// variance. gamma/beta: [C] or null (no affine transform). Backward (per channel, m elements):
    /// dx = (1/σ)/m · (m·dx̂ − Σ dx̂ − x̂·Σ dx̂·x̂) with dx̂ = dy·γ; dγ = Σ dy·x̂; dβ = Σ dy.
    /// </summary>
    /// <example><code>var bn = Functions.BatchNorm(x, gamma, beta, eps: 1e-5); using var y = bn.Output;</code></example>
    public static BatchNormResult BatchNorm(Variable x, Variable? gamma, Variable? beta, double eps = 1e-5)
    {
        if (x.Value.Rank < 2) throw new ArgumentException($"batch_norm: input {x.Describe()} must be [N, C] or [N, C, …]");
        int c = x.Shape[1];
        foreach (var p in new[] { gamma, beta })
            if (p != null && !Shape.Equal(p.Shape, [c]))
                throw new ArgumentException($"batch_norm: parameter {p.Describe()} must be [{c}] for input {x.Describe()}");
        int rank = x.Value.Rank;
        int[] bshape = Enumerable.Range(0, rank).Select(i => i == 1 ? c : 1).ToArray();    // [1, C, 1, …]
        int[] axes = Enumerable.Range(0, rank).Where(i => i != 1).ToArray();               // all but C
        int m = c == 0 ? 0 : x.Value.Numel / c;

        var (mean, var) = NnOps.BatchNormStats(x.Value);                                   // [C], [C]
        using var varEps = var.Add(eps);
        using var std = varEps.Sqrt();
        using var invStd = 1.0 / std;                                                      // [C]
        using var meanB = mean.Reshape(bshape);
        using var invStdB = invStd.Reshape(bshape);
        using var centered = x.Value.Sub(meanB);
        using var xhat = centered.Mul(invStdB);                                            // x̂: like x
        using var gammaB = gamma?.Value.Reshape(bshape);
        using var betaB = beta?.Value.Reshape(bshape);
        using var scaled = gammaB != null ? xhat.Mul(gammaB) : Saved.NewRef(xhat);
        var y = betaB != null ? scaled.Add(betaB) : Saved.NewRef(scaled);

        bool hasGamma = gamma != null, hasBeta = beta != null;
        var inputs = new List<Variable> { x };
        if (gamma != null) inputs.Add(gamma);
        if (beta != null) inputs.Add(beta);
        Tensor[] saved = gammaB != null ? [xhat, invStdB, gammaB] : [xhat, invStdB];
        var output = Graph.Record("batch_norm", y, inputs.ToArray(), saved, (g, ctx) =>
        {
            Tensor xh = ctx.Saved[0], inv = ctx.Saved[1];
            var grads = new Tensor?[1 + (hasGamma ? 1 : 0) + (hasBeta ? 1 : 0)];
            if (ctx.NeedsGrad(0))
            {
                using var dxhat = hasGamma ? g.Mul(ctx.Saved[2]) : Saved.NewRef(g);
                using var sum1 = dxhat.Sum(axes, keepDim: true);                           // Σ dx̂: [1, C, 1, …]
                using var dxx = dxhat.Mul(xh);
                using var sum2 = dxx.Sum(axes, keepDim: true);                             // Σ dx̂·x̂
                using var mdx = dxhat.Mul(m);
                using var a = mdx.Sub(sum1);
                using var b = xh.Mul(sum2);
                using var inner = a.Sub(b);
                using var k = inv.Div(Math.Max(m, 1));
                grads[0] = inner.Mul(k);
            }
            int next = 1;
            if (hasGamma)
            {
                if (ctx.NeedsGrad(next))
                {
                    using var gx = g.Mul(xh);
                    grads[next] = gx.Sum(axes);
                }
                next++;
            }
            if (hasBeta && ctx.NeedsGrad(next)) grads[next] = g.Sum(axes);
            return grads;
        });
        return new BatchNormResult(output, mean, var, m);
    }
}
