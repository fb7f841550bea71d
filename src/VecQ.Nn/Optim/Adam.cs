using System.Numerics;
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
        // scalar factors in double, as PyTorch computes them in Python floats
        double bc1 = 1 - Math.Pow(Beta1, state.Step);
        double bc2 = 1 - Math.Pow(Beta2, state.Step);
        var c = new Coefficients(Lr / bc1, Math.Sqrt(bc2), 1 - Lr * WeightDecay);
        if (UseFusedKernels)
        {
            if (param.DType == DType.Float32 && TryFused<float>(param, grad, m, v, c)) return;
            if (param.DType == DType.Float64 && TryFused<double>(param, grad, m, v, c)) return;
        }
        Generic(param, grad, m, v, c);
    }

    private readonly record struct Coefficients(double StepSize, double Bc2Sqrt, double Decay);

    private bool TryFused<T>(Tensor param, Tensor grad, Tensor m, Tensor v, Coefficients c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!OptimKernels.TryAddress<T>(param, out nint p) || !OptimKernels.TryAddress<T>(grad, out nint g)
            || !OptimKernels.TryAddress<T>(m, out nint pm) || !OptimKernels.TryAddress<T>(v, out nint pv)) return false;
        OptimKernels.Run(param.Numel, new OptimKernels.Adam<T>
        {
            P = p, G = g, M = pm, V = pv,
            Beta1 = T.CreateChecked(Beta1),
            OneMinusBeta1 = T.CreateChecked(1 - Beta1),
            Beta2 = T.CreateChecked(Beta2),
            OneMinusBeta2 = T.CreateChecked(1 - Beta2),
            StepSize = T.CreateChecked(c.StepSize),
            Bc2Sqrt = T.CreateChecked(c.Bc2Sqrt),
            Eps = T.CreateChecked(Eps),
            WeightDecay = T.CreateChecked(WeightDecay),
            Decay = T.CreateChecked(c.Decay),
            L2 = !_decoupled && WeightDecay != 0,
            Decoupled = _decoupled && WeightDecay != 0,
        });
        return true;
    }

    // The same rule as a sequence of Tensor ops (any device, any layout), in the fused loop's order.
    private void Generic(Tensor param, Tensor grad, Tensor m, Tensor v, Coefficients c)
    {
        Tensor? decayedGrad = null;
        try
        {
            var g = grad;
            if (!_decoupled && WeightDecay != 0)
            {
                using var wp = param.Mul(WeightDecay);
                g = decayedGrad = grad.Add(wp);
            }
            if (_decoupled && WeightDecay != 0)
            {
                using var dp = param.Mul(c.Decay);
                param.CopyFrom(dp);
            }
            using (var bm = m.Mul(Beta1))
            using (var gm = g.Mul(1 - Beta1))
            using (var nm = bm.Add(gm))
                m.CopyFrom(nm);
            using (var bv = v.Mul(Beta2))
            using (var g1 = g.Mul(1 - Beta2))
            using (var g2 = g1.Mul(g))
            using (var nv = bv.Add(g2))
                v.CopyFrom(nv);
            using var root = v.Sqrt();
            using var scaled = root.Div(c.Bc2Sqrt);
            using var denom = scaled.Add(Eps);
            using var num = m.Mul(c.StepSize);
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
