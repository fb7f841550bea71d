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
        int m = c == 0 ? 0 : x.Value.Numel / c;

        var (mean, var) = NnOps.BatchNormStats(x.Value);                                   // [C], [C]
        using var varEps = var.Add(eps);
        using var std = varEps.Sqrt();
        using var invStd = 1.0 / std;                                                      // [C]
        // the node keeps its own copy of the mean: the caller owns (and may change) the returned one
        using var meanSaved = mean.Clone();                                                // [C]
        var y = NnOps.BatchNormForward(x.Value, mean, invStd, gamma?.Value, beta?.Value);   // like x

        bool hasGamma = gamma != null, hasBeta = beta != null;
        var inputs = new List<Variable> { x };
        if (gamma != null) inputs.Add(gamma);
        if (beta != null) inputs.Add(beta);
        Tensor[] saved = gamma != null ? [x.Value, meanSaved, invStd, gamma.Value] : [x.Value, meanSaved, invStd];
        var output = Graph.Record("batch_norm", y, inputs.ToArray(), saved, (g, ctx) =>
        {
            Tensor xs = ctx.Saved[0], mu = ctx.Saved[1], inv = ctx.Saved[2];
            Tensor? gm = hasGamma ? ctx.Saved[3] : null;
            int gammaAt = 1, betaAt = hasGamma ? 2 : 1;
            bool needGamma = hasGamma && ctx.NeedsGrad(gammaAt), needBeta = hasBeta && ctx.NeedsGrad(betaAt);
            var (dx, dgamma, dbeta) = NnOps.BatchNormBackward(g, xs, mu, inv, gm, needGamma, needBeta);
            var grads = new Tensor?[1 + (hasGamma ? 1 : 0) + (hasBeta ? 1 : 0)];
            if (ctx.NeedsGrad(0)) grads[0] = dx;
            else dx.Dispose();
            if (hasGamma) grads[gammaAt] = dgamma;
            if (hasBeta) grads[betaAt] = dbeta;
            return grads;
        });
        return new BatchNormResult(output, mean, var, m);
    }
}
