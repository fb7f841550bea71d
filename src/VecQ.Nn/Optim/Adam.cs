using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Adam with PyTorch's exact rule (torch.optim.Adam, amsgrad off): with step t of a parameter,
/// g ← g + weightDecay·p (L2 into the gradient); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − (lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + ε). State slots: "exp_avg" (m) and "exp_avg_sq" (v).
/// </summary>
/// <example><code>
/// using var opt = new Adam(model, lr: 1e-3);
/// opt.Step();
/// </code></example>
public class Adam : Optimizer
{
    private static readonly string[] Slots = ["exp_avg", "exp_avg_sq"];
    private readonly bool _decoupled;

    /// <summary>Creates Adam over a module's parameters (named by their dotted paths).</summary>
    /// <param name="model">The module whose parameters are optimized.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <example><code>using var opt = new Adam(model, lr: 1e-3, weightDecay: 1e-4);</code></example>
    public Adam(Module model, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(FromModule(model), lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    /// <summary>Creates Adam over parameters named "0", "1", … by position.</summary>
    /// <example><code>using var opt = new Adam(model.Parameters(), lr: 1e-3);</code></example>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(ByPosition(parameters), lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    /// <summary>Creates Adam over named parameters.</summary>
    /// <example><code>using var opt = new Adam(model.NamedParameters(), lr: 1e-3);</code></example>
    public Adam(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    /// <summary>Shared constructor; <paramref name="decoupled"/> selects AdamW's decay.</summary>
    private protected Adam(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
        : base(parameters, lr, Slots)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, $"{Kind}: invalid beta1 {beta1}; expected 0 <= beta1 < 1");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, $"{Kind}: invalid beta2 {beta2}; expected 0 <= beta2 < 1");
        if (!(eps >= 0) || double.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{Kind}: invalid eps {eps}; expected a finite value >= 0");
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"{Kind}: invalid weight decay {weightDecay}; expected >= 0");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _decoupled = decoupled;
    }

    /// <summary>Decay of the first-moment running average.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment running average.</summary>
    public double Beta2 { get; }

    /// <summary>Term added to the denominator.</summary>
    public double Eps { get; }

    /// <summary>Weight decay: an L2 term in the gradient for Adam, decoupled p ← p − lr·wd·p for AdamW.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, double>> Hyperparameters() =>
    [
        new("beta1", Beta1), new("beta2", Beta2), new("eps", Eps), new("weight_decay", WeightDecay),
    ];

    /// <inheritdoc/>
    protected override void Update(ParamState state, Tensor param, Tensor grad)
    {
        var m = state.Buffers[0] ??= Tensor.ZerosLike(param);
        var v = state.Buffers[1] ??= Tensor.ZerosLike(param);
        var args = new AdamStepArgs(Lr, state.Step, Beta1, Beta2, Eps, WeightDecay, _decoupled);
        // the backend's fused one-pass kernel; a non-contiguous operand takes the Tensor-op path
        if (UseFusedKernels && param.IsContiguous && grad.IsContiguous && m.IsContiguous && v.IsContiguous)
            OptimOps.AdamStep(param, grad, m, v, args);
        else Generic(param, grad, m, v, args);
    }

    // The same rule as a sequence of Tensor ops (any device, any layout), in the fused loop's order.
    private static void Generic(Tensor param, Tensor grad, Tensor m, Tensor v, AdamStepArgs args)
    {
        Tensor? decayedGrad = null;
        try
        {
            var g = grad;
            if (args.HasL2)
            {
                using var wp = param.Mul(args.WeightDecay);
                g = decayedGrad = grad.Add(wp);
            }
            if (args.HasDecoupledDecay)
            {
                using var dp = param.Mul(args.Decay);
                param.CopyFrom(dp);
            }
            using (var bm = m.Mul(args.Beta1))
            using (var gm = g.Mul(1 - args.Beta1))
            using (var nm = bm.Add(gm))
                m.CopyFrom(nm);
            using (var bv = v.Mul(args.Beta2))
            using (var g1 = g.Mul(1 - args.Beta2))
            using (var g2 = g1.Mul(g))
            using (var nv = bv.Add(g2))
                v.CopyFrom(nv);
            using var root = v.Sqrt();
            using var scaled = root.Div(args.Bc2Sqrt);
            using var denom = scaled.Add(args.Eps);
            using var num = m.Mul(args.StepSize);
            using var upd = num.Div(denom);
            using var np = param.Sub(upd);
            param.CopyFrom(np);
        }
        finally
        {
            decayedGrad?.Dispose();
        }
    }
}

/// <summary>
/// AdamW with PyTorch's exact rule (torch.optim.AdamW, amsgrad off): decoupled weight decay
/// p ← p − lr·weightDecay·p (as p ← (1 − lr·wd)·p) before the Adam update, which sees the raw
/// gradient. Default weight decay 0.01, as PyTorch.
/// </summary>
/// <example><code>
/// using var opt = new AdamW(model, lr: 1e-3, weightDecay: 0.05);
/// opt.Step();
/// </code></example>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW over a module's parameters (named by their dotted paths).</summary>
    /// <param name="model">The module whose parameters are optimized.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">Decoupled weight decay coefficient.</param>
    /// <example><code>using var opt = new AdamW(model);</code></example>
    public AdamW(Module model, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(FromModule(model), lr, beta1, beta2, eps, weightDecay, decoupled: true) { }

    /// <summary>Creates AdamW over parameters named "0", "1", … by position.</summary>
    /// <example><code>using var opt = new AdamW(model.Parameters(), lr: 1e-3);</code></example>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(ByPosition(parameters), lr, beta1, beta2, eps, weightDecay, decoupled: true) { }

    /// <summary>Creates AdamW over named parameters.</summary>
    /// <example><code>using var opt = new AdamW(model.NamedParameters(), lr: 1e-3);</code></example>
    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true) { }
}
