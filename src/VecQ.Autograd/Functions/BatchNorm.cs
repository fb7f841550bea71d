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
        return TrainingBatchNorm("batch_norm", x, gamma, beta, eps, relu: false,
            (mean, invStd) => (NnOps.BatchNormForward(x.Value, mean, invStd, gamma?.Value, beta?.Value), []),   // like x
            (g, xs, mu, inv, _, gm, needGamma, needBeta) => NnOps.BatchNormBackward(g, xs, mu, inv, gm, needGamma, needBeta));
    }

    /// <summary>
    /// y = MaxPool2d(BatchNorm(ReLU(x))) in training mode, fused: the same values and gradients as
    /// <c>MaxPool2d(BatchNorm(Relu(x), gamma, beta, eps).Output, kernel, stride, padding)</c>, without the
    /// three full-size intermediates. The statistics are those of ReLU(x): <see cref="BatchNormResult.Mean"/>
    /// and <see cref="BatchNormResult.Var"/> ([C], the caller's to dispose) feed the running statistics as
    /// <see cref="BatchNorm"/>'s do; <see cref="BatchNormResult.Count"/> = N·H·W.
    /// </summary>
    /// <example><code>
    /// var r = Functions.ReluBatchNormMaxPool2d(h, gamma, beta, 1e-5, (2, 2));   // h: [N, 32, 28, 28] → [N, 32, 14, 14]
    /// using (r.Mean) using (r.Var) { /* update running statistics */ }
    /// </code></example>
    public static BatchNormResult ReluBatchNormMaxPool2d(Variable x, Variable? gamma, Variable? beta, double eps, (int H, int W) kernel,
        (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        if (x.Value.Rank != 4) throw new ArgumentException($"relu_batch_norm_max_pool2d: input {x.Describe()} must be [N, C, H, W]");
        return TrainingBatchNorm("relu_batch_norm_max_pool2d", x, gamma, beta, eps, relu: true,
            (mean, invStd) =>
            {
                var (y, indices, picked) = ConvOps.ReluBatchNormMaxPool2d(x.Value, mean, invStd, gamma?.Value, beta?.Value, kernel, stride, padding);
                return (y, [indices, picked]);                                     // [N, C, OH, OW]: y, int32 argmax, ReLU(x) there
            },
            (g, xs, mu, inv, extra, gm, needGamma, needBeta) =>
                ConvOps.ReluBatchNormMaxPool2dBackward(g, extra[0], extra[1], xs, mu, inv, gm, kernel, stride, padding, needGamma, needBeta));
    }

    /// <summary>
    /// <see cref="BatchNormInference(Variable, Tensor, Tensor, Variable?, Variable?)"/> then ReLU or ReLU6: one fused pass
    /// when nothing is recorded for a gradient (inference), else the two functions with their gradients; the values are
    /// the same either way.
    /// </summary>
    /// <example><code>using var y = Functions.BatchNormInference(x, runningMean, invStd, gamma, beta, FusedActivation.Relu6);</code></example>
    public static Variable BatchNormInference(Variable x, Tensor mean, Tensor invStd, Variable? gamma, Variable? beta, FusedActivation activation)
    {
        Variable[] inputs = [x, .. (gamma != null ? new[] { gamma } : []), .. (beta != null ? new[] { beta } : [])];
        if (!Graph.IsRecording(inputs))
        {
            if (x.Value.Rank < 2) throw new ArgumentException($"batch_norm_inference: input {x.Describe()} must be [N, C] or [N, C, …]");
            return new Variable(NnOps.BatchNormForward(x.Value, mean, invStd, gamma?.Value, beta?.Value, activation));
        }
        using var y = BatchNormInference(x, mean, invStd, gamma, beta);
        return activation == FusedActivation.Relu ? Relu(y) : Relu6(y);
    }

    /// <summary>
    /// Evaluation-mode batch norm with given statistics, in one pass: y = (x − mean[c])·invStd[c]·γ[c] + β[c] for x: [N, C, …]
    /// and mean, invStd: [C] constants (running statistics); gamma/beta: [C] or null. Backward: dx = dy·γ·invStd,
    /// dγ = Σ dy·(x − mean)·invStd, dβ = Σ dy (sums over every axis but 1).
    /// </summary>
    /// <example><code>using var y = Functions.BatchNormInference(x, runningMean, invStd, gamma, beta); // x: [N, C, H, W]</code></example>
    public static Variable BatchNormInference(Variable x, Tensor mean, Tensor invStd, Variable? gamma, Variable? beta)
    {
        const string name = "batch_norm_inference";
        if (x.Value.Rank < 2) throw new ArgumentException($"{name}: input {x.Describe()} must be [N, C] or [N, C, …]");
        int c = x.Shape[1], rank = x.Value.Rank;
        foreach (var p in new[] { gamma, beta })
            if (p != null && !Shape.Equal(p.Shape, [c]))
                throw new ArgumentException($"{name}: parameter {p.Describe()} must be [{c}] for input {x.Describe()}");
        var y = NnOps.BatchNormForward(x.Value, mean, invStd, gamma?.Value, beta?.Value);     // like x
        bool hasGamma = gamma != null, hasBeta = beta != null;
        var inputs = new List<Variable> { x };
        if (gamma != null) inputs.Add(gamma);
        if (beta != null) inputs.Add(beta);
        // the node keeps its own copies of the statistics: the caller's may change after this call
        Tensor[] saved = [x.Value, mean.Clone(), invStd.Clone(), .. (gamma != null ? new[] { gamma.Value } : [])];
        try
        {
            return Graph.Record(name, y, inputs.ToArray(), saved, (g, ctx) =>
            {
                var s = ctx.Saved;
                int[] bshape = Enumerable.Range(0, rank).Select(i => i == 1 ? c : 1).ToArray();     // [1, C, 1, …]
                int[] others = Enumerable.Range(0, rank).Where(i => i != 1).ToArray();
                int gammaAt = 1, betaAt = hasGamma ? 2 : 1;
                var grads = new Tensor?[inputs.Count];
                using var inv = s[2].Reshape(bshape);                                             // [1, C, 1, …]
                if (ctx.NeedsGrad(0))
                {
                    if (hasGamma)
                    {
                        using var gm = s[3].Reshape(bshape);
                        using var scale = gm.Mul(inv);
                        grads[0] = g.Mul(scale);                                                      // like x
                    }
                    else grads[0] = g.Mul(inv);
                }
                if (hasGamma && ctx.NeedsGrad(gammaAt))
                {
                    using var mu = s[1].Reshape(bshape);
                    using var centred = s[0].Sub(mu);
                    using var xhat = centred.Mul(inv);
                    using var prod = g.Mul(xhat);
                    grads[gammaAt] = prod.Sum(others);                                                // [C]
                }
                if (hasBeta && ctx.NeedsGrad(betaAt)) grads[betaAt] = g.Sum(others);               // [C]
                return grads;
            });
        }
        finally
        {
            saved[1].Dispose();
            saved[2].Dispose();
        }
    }

    /// <summary>A training-mode backward: (dx, dγ, dβ) from the output gradient g, x, the batch mean and 1/σ, the forward's extra tensors and γ.</summary>
    private delegate (Tensor Dx, Tensor? DGamma, Tensor? DBeta) BatchNormBackwardFn(Tensor g, Tensor x, Tensor mean, Tensor invStd,
        IReadOnlyList<Tensor> extra, Tensor? gamma, bool needGamma, bool needBeta);

    /// <summary>
    /// The one recipe behind both training-mode nodes: batch statistics (of ReLU(x) with <paramref name="relu"/>),
    /// 1/√(σ² + ε), the forward (output and extra tensors the backward needs, which the node keeps and this
    /// disposes), and a node whose backward hands dx, dγ, dβ to the inputs that need them.
    /// </summary>
    private static BatchNormResult TrainingBatchNorm(string name, Variable x, Variable? gamma, Variable? beta, double eps, bool relu,
        Func<Tensor, Tensor, (Tensor Y, Tensor[] Extra)> forward, BatchNormBackwardFn backward)
    {
        int c = x.Shape[1];
        foreach (var p in new[] { gamma, beta })
            if (p != null && !Shape.Equal(p.Shape, [c]))
                throw new ArgumentException($"{name}: parameter {p.Describe()} must be [{c}] for input {x.Describe()}");
        int m = c == 0 ? 0 : x.Value.Numel / c;

        var (mean, var) = NnOps.BatchNormStats(x.Value, relu);                             // [C], [C]
        Tensor? y = null;
        Tensor[] extra = [];
        try
        {
            using var varEps = var.Add(eps);
            using var std = varEps.Sqrt();
            using var invStd = 1.0 / std;                                                  // [C]
            // the node keeps its own copy of the mean: the caller owns (and may change) the returned one
            using var meanSaved = mean.Clone();                                            // [C]
            (y, extra) = forward(mean, invStd);
            bool hasGamma = gamma != null, hasBeta = beta != null;
            int extras = extra.Length;
            var inputs = new List<Variable> { x };
            if (gamma != null) inputs.Add(gamma);
            if (beta != null) inputs.Add(beta);
            Tensor[] saved = [x.Value, meanSaved, invStd, .. extra, .. (gamma != null ? new[] { gamma.Value } : [])];
            var output = Graph.Record(name, y, inputs.ToArray(), saved, (g, ctx) =>
            {
                var s = ctx.Saved;
                Tensor? gm = hasGamma ? s[3 + extras] : null;
                int gammaAt = 1, betaAt = hasGamma ? 2 : 1;
                bool needGamma = hasGamma && ctx.NeedsGrad(gammaAt), needBeta = hasBeta && ctx.NeedsGrad(betaAt);
                var (dx, dgamma, dbeta) = backward(g, s[0], s[1], s[2], s.Skip(3).Take(extras).ToArray(), gm, needGamma, needBeta);
                var grads = new Tensor?[1 + (hasGamma ? 1 : 0) + (hasBeta ? 1 : 0)];
                if (ctx.NeedsGrad(0)) grads[0] = dx;
                else dx.Dispose();
                if (hasGamma) grads[gammaAt] = dgamma;
                if (hasBeta) grads[betaAt] = dbeta;
                return grads;
            });
            return new BatchNormResult(output, mean, var, m);
        }
        catch
        {
            // nothing reached the caller: the statistics and a produced output are ours to release
            mean.Dispose();
            var.Dispose();
            y?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in extra) t.Dispose();
        }
    }
}
