using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Stochastic gradient descent with PyTorch's exact rule (torch.optim.SGD): for each parameter p
/// with gradient g, g ← g + weightDecay·p; with momentum μ ≠ 0 the buffer is b ← g on the first
/// step and b ← μ·b + (1 − dampening)·g afterwards, and g ← g + μ·b (Nesterov) or g ← b;
/// finally p ← p − lr·g. The state slot is "momentum_buffer" (only when μ ≠ 0).
/// </summary>
/// <example><code>
/// using var opt = new Sgd(model, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true);
/// opt.Step();
/// </code></example>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates SGD over a module's parameters (named by their dotted paths).</summary>
    /// <param name="model">The module whose parameters are optimized.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor μ (0: none).</param>
    /// <param name="dampening">Dampening of the gradient in the momentum buffer.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and zero dampening).</param>
    /// <example><code>using var opt = new Sgd(model, lr: 0.01, momentum: 0.9);</code></example>
    public Sgd(Module model, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this(FromModule(model), lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>Creates SGD over parameters named "0", "1", … by position.</summary>
    /// <example><code>using var opt = new Sgd(model.Parameters(), lr: 0.01);</code></example>
    public Sgd(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this(ByPosition(parameters), lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>Creates SGD over named parameters.</summary>
    /// <example><code>using var opt = new Sgd(model.NamedParameters(), lr: 0.01);</code></example>
    public Sgd(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr, momentum != 0 ? ["momentum_buffer"] : [])
    {
        if (!(momentum >= 0) || double.IsInfinity(momentum)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"Sgd: invalid momentum {momentum}; expected >= 0");
        if (double.IsNaN(dampening) || double.IsInfinity(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, $"Sgd: invalid dampening {dampening}");
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"Sgd: invalid weight decay {weightDecay}; expected >= 0");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Sgd: Nesterov momentum requires momentum > 0 and zero dampening (got momentum {momentum}, dampening {dampening})");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor μ.</summary>
    public double Momentum { get; }

    /// <summary>Dampening applied to the gradient when it enters the momentum buffer.</summary>
    public double Dampening { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, double>> Hyperparameters() =>
    [
        new("momentum", Momentum), new("dampening", Dampening), new("weight_decay", WeightDecay), new("nesterov", Nesterov ? 1 : 0),
    ];

    /// <inheritdoc/>
    protected override void Update(ParamState state, Tensor param, Tensor grad)
    {
        bool hasMomentum = Momentum != 0;
        bool first = hasMomentum && state.Buffers[0] is null;
        if (first) state.Buffers[0] = Tensor.Empty(param.Dims, param.DType, param.Device);
        var buf = hasMomentum ? state.Buffers[0] : null;
        var args = new SgdStepArgs(Lr, Momentum, Dampening, WeightDecay, Nesterov, first);
        // the backend's fused one-pass kernel; a non-contiguous operand takes the Tensor-op path
        if (UseFusedKernels && param.IsContiguous && grad.IsContiguous && (buf == null || buf.IsContiguous))
            OptimOps.SgdStep(param, grad, buf, args);
        else Generic(param, grad, buf, args);
    }

    // The same rule as a sequence of Tensor ops (any device, any layout).
    private static void Generic(Tensor param, Tensor grad, Tensor? buf, SgdStepArgs args)
    {
        Tensor? decayed = null, nesterov = null;
        try
        {
            var g = grad;
            if (args.WeightDecay != 0)
            {
                using var wp = param.Mul(args.WeightDecay);
                g = decayed = grad.Add(wp);
            }
            if (buf != null)
            {
                if (args.FirstStep) buf.CopyFrom(g);
                else
                {
                    using var mb = buf.Mul(args.Momentum);
                    using var dg = g.Mul(1 - args.Dampening);
                    using var nb = mb.Add(dg);
                    buf.CopyFrom(nb);
                }
                if (args.Nesterov)
                {
                    using var mb = buf.Mul(args.Momentum);
                    g = nesterov = g.Add(mb);
                }
                else g = buf;
            }
            using var step = g.Mul(args.Lr);
            using var np = param.Sub(step);
            param.CopyFrom(np);
        }
        finally
        {
            decayed?.Dispose();
            nesterov?.Dispose();
        }
    }
}
