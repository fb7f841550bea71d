using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// conv → [quantizer] → batch norm → [activation] (torchvision's Conv2dNormActivation and its names): children
/// "0" (<see cref="Conv2d"/>, no bias), "1" (<see cref="BatchNorm2d"/>) and, with an activation, "2"; the
/// activation-quantizer slot "act" sits on the conv output (<see cref="ActivationPlacement.ConvOutput"/>) or after
/// the activation (<see cref="ActivationPlacement.AfterRelu"/>), and an optional "pad" (<see cref="ZeroPad2d"/>)
/// comes first. Padding (k − 1)/2 on each side as torchvision, or with <c>kerasPadding</c> TensorFlow's "same" for
/// strided convs: k − s zeros in all, the extra one at the bottom/right ((0, 1), (0, 1) for 3×3/2), exact for
/// input sizes divisible by the stride.
/// </summary>
/// <example><code>
/// var stem = new ConvNormActivation(3, 32, kernel: 3, stride: 2, activation: () => new ReLU6());
/// using var y = stem.Forward(x); // x: [N, 3, 224, 224] → y: [N, 32, 112, 112]
/// </code></example>
public sealed class ConvNormActivation : Module
{
    private readonly ZeroPad2d? _pad;
    private readonly Module? _convSlot, _actSlot, _activation;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Square kernel size (odd).</param>
    /// <param name="stride">Stride.</param>
    /// <param name="groups">Conv groups (= channels: depthwise).</param>
    /// <param name="activation">Makes the activation "2" (null: none, e.g. ResNet's downsample).</param>
    /// <param name="bnEps">Batch-norm ε.</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention).</param>
    /// <param name="kerasPadding">TensorFlow "same" padding for strided convs (a "pad" child) instead of torchvision's symmetric padding.</param>
    /// <param name="slots">The model's activation slots scoped to this block (null: none).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <example><code>var dw = new ConvNormActivation(96, 96, stride: 2, groups: 96, activation: () => new ReLU6(), bnEps: 1e-3);</code></example>
    public ConvNormActivation(int inChannels, int outChannels, int kernel = 3, int stride = 1, int groups = 1, Func<Module>? activation = null,
        double bnEps = 1e-5, double? bnMomentum = 0.1, bool kerasPadding = false, ActivationSlots? slots = null, Rng? rng = null)
    {
        if (kernel <= 0 || kernel % 2 == 0) throw new ArgumentException($"ConvNormActivation: kernel {kernel} must be odd and positive");
        if (stride <= 0) throw new ArgumentException($"ConvNormActivation: stride {stride} must be positive");
        int pad = (kernel - 1) / 2;
        if (kerasPadding && stride > 1)
        {
            int total = Math.Max(kernel - stride, 0), before = total / 2;
            _pad = Register("pad", new ZeroPad2d(before, total - before, before, total - before));
            pad = 0;
        }
        Conv = Register("0", new Conv2d(inChannels, outChannels, kernel, stride, pad, groups: groups, bias: false, rng: rng));
        _convSlot = RegisterOptional("act", slots?.At(ActivationPlacement.ConvOutput, "act", outChannels));
        Norm = Register("1", new BatchNorm2d(outChannels, bnEps, bnMomentum));
        _activation = RegisterOptional("2", activation?.Invoke());
        if (_activation != null) _actSlot = RegisterOptional("act", slots?.At(ActivationPlacement.AfterRelu, "act", outChannels));
    }

    /// <summary>The convolution "0".</summary>
    public Conv2d Conv { get; }

    /// <summary>The batch norm "1".</summary>
    public BatchNorm2d Norm { get; }

    /// <summary>x: [N, C, H, W] → [N, out, H/stride, W/stride].</summary>
    /// <example><code>var y = block.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        var h = _pad != null ? _pad.Forward(x) : x;            // [N, C, H', W']
        if (EvaluateFused(h) is { } fused) return ActivationSlots.Apply(_actSlot, fused);
        h = Conv.Forward(h);                                   // [N, out, OH, OW]
        h = ActivationSlots.Apply(_convSlot, h);
        if (_activation is ReLU or ReLU6)
        {
            // batch norm and activation in one pass in evaluation mode; the activation still shows in a trace
            h = Norm.Forward(h, _activation is ReLU ? FusedActivation.Relu : FusedActivation.Relu6);   // [N, out, OH, OW]
            ModuleTrace.Record(_activation, h);
        }
        else
        {
            h = Norm.Forward(h);                               // [N, out, OH, OW]
            if (_activation == null) return h;
            h = _activation.Forward(h);
        }
        return ActivationSlots.Apply(_actSlot, h);
    }

    // Inference: conv, batch norm and ReLU/ReLU6 as one op (FusedEvaluation), unless a quantizer sits between them.
    private Variable? EvaluateFused(Variable x) =>
        _convSlot != null || _activation is not (null or ReLU or ReLU6) || Training ? null
        : FusedEvaluation.ConvBatchNorm(Conv, Norm, x, _activation is null ? null : _activation is ReLU ? FusedActivation.Relu : FusedActivation.Relu6, _activation);
}

/// <summary>
/// torchvision's ResNet BasicBlock with its names: conv1 (3×3, stride) → bn1 → relu → conv2 (3×3) → bn2, plus the
/// shortcut (identity, or "downsample": 1×1 conv "downsample.0" with the stride → "downsample.1" BN when the stride
/// or the width changes), then ReLU. Activation slots (<see cref="ActivationPlacement.ConvOutput"/>): "act1", "act2"
/// on the two conv outputs and "downsample.act"; with <see cref="ActivationPlacement.AfterRelu"/>, "act1" after the
/// first ReLU and "act2" after the block's output ReLU.
/// </summary>
/// <example><code>
/// var block = new BasicBlock(64, 128, stride: 2);
/// using var y = block.Forward(x); // x: [N, 64, 56, 56] → y: [N, 128, 28, 28]
/// </code></example>
public sealed class BasicBlock : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly ConvNormActivation? _downsample;
    private readonly Module? _q1c, _q1r, _q2c, _q2r;

    /// <summary>Creates the block.</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of conv1 (and of the downsample).</param>
    /// <param name="bnEps">Batch-norm ε.</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention).</param>
    /// <param name="slots">The model's activation slots scoped to this block (null: none).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <example><code>var b = new BasicBlock(64, 64);</code></example>
    public BasicBlock(int inplanes, int planes, int stride = 1, double bnEps = 1e-5, double? bnMomentum = 0.1, ActivationSlots? slots = null, Rng? rng = null)
    {
        _conv1 = Register("conv1", new Conv2d(inplanes, planes, 3, stride, 1, bias: false, rng: rng));
        _q1c = RegisterOptional("act1", slots?.At(ActivationPlacement.ConvOutput, "act1", planes));
        _bn1 = Register("bn1", new BatchNorm2d(planes, bnEps, bnMomentum));
        Register("relu", new ReLU());
        _q1r = RegisterOptional("act1", slots?.At(ActivationPlacement.AfterRelu, "act1", planes));
        _conv2 = Register("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false, rng: rng));
        _q2c = RegisterOptional("act2", slots?.At(ActivationPlacement.ConvOutput, "act2", planes));
        _bn2 = Register("bn2", new BatchNorm2d(planes, bnEps, bnMomentum));
        if (stride != 1 || inplanes != planes)
            _downsample = Register("downsample", new ConvNormActivation(inplanes, planes, 1, stride, bnEps: bnEps, bnMomentum: bnMomentum,
                slots: slots?.Under("downsample"), rng: rng));
        _q2r = RegisterOptional("act2", slots?.At(ActivationPlacement.AfterRelu, "act2", planes));
    }

    /// <summary>x: [N, inplanes, H, W] → [N, planes, H/stride, W/stride].</summary>
    /// <example><code>var y = block.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        // in inference without conv-output quantizers each conv → bn (→ ReLU) is one op (FusedEvaluation)
        var h = (_q1c is null ? FusedEvaluation.ConvBatchNorm(_conv1, _bn1, x, FusedActivation.Relu) : null)
            ?? _bn1.Forward(ActivationSlots.Apply(_q1c, _conv1.Forward(x)), FusedActivation.Relu);   // [N, planes, OH, OW]
        h = ActivationSlots.Apply(_q1r, h);
        h = (_q2c is null ? FusedEvaluation.ConvBatchNorm(_conv2, _bn2, h, null) : null)
            ?? _bn2.Forward(ActivationSlots.Apply(_q2c, _conv2.Forward(h)));                        // [N, planes, OH, OW]
        var identity = _downsample != null ? _downsample.Forward(x) : x;             // [N, planes, OH, OW]
        return ActivationSlots.Apply(_q2r, FusedEvaluation.AddRelu(h, identity));
    }
}

/// <summary>
/// The pre-activation residual unit of the VecQ authors' ResNet-18 (He et al.'s v2 as in MXNet's resnet symbol,
/// VECQ.md §6): bn1 → ReLU → conv1 (3×3, stride) → bn2 → ReLU → conv2 (3×3), plus a shortcut: "shortcut" (1×1 conv
/// with the stride, no BN) taken from the pre-activated input when <c>projection</c> is set (the first unit of every
/// stage), else the identity of the raw input. Convs without bias. Activation slots
/// (<see cref="ActivationPlacement.ConvOutput"/>): "act1", "act2" on the conv outputs and "shortcut_act";
/// with <see cref="ActivationPlacement.AfterRelu"/>, "act1" and "act2" after the two ReLUs.
/// </summary>
/// <example><code>
/// var unit = new PreActBlock(64, 128, stride: 2, projection: true);
/// using var y = unit.Forward(x); // x: [N, 64, 56, 56] → y: [N, 128, 28, 28]
/// </code></example>
public sealed class PreActBlock : Module
{
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Conv2d _conv1, _conv2;
    private readonly Conv2d? _shortcut;
    private readonly Module? _q1r, _q1c, _q2r, _q2c, _qs;

    /// <summary>Creates the unit.</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of conv1 (and of the shortcut).</param>
    /// <param name="projection">Use the 1×1 projection shortcut (required when the stride or width changes).</param>
    /// <param name="bnEps">Batch-norm ε (the reference's 2e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention; the reference's MXNet 0.9 is PyTorch's 0.1).</param>
    /// <param name="slots">The model's activation slots scoped to this unit (null: none).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <example><code>var unit = new PreActBlock(64, 64, projection: true);</code></example>
    public PreActBlock(int inplanes, int planes, int stride = 1, bool projection = false, double bnEps = 2e-5, double? bnMomentum = 0.1,
        ActivationSlots? slots = null, Rng? rng = null)
    {
        if (!projection && (stride != 1 || inplanes != planes))
            throw new ArgumentException($"PreActBlock({inplanes} → {planes}, stride {stride}): an identity shortcut needs stride 1 and equal widths; set projection");
        _bn1 = Register("bn1", new BatchNorm2d(inplanes, bnEps, bnMomentum));
        _q1r = RegisterOptional("act1", slots?.At(ActivationPlacement.AfterRelu, "act1", inplanes));
        _conv1 = Register("conv1", new Conv2d(inplanes, planes, 3, stride, 1, bias: false, rng: rng));
        _q1c = RegisterOptional("act1", slots?.At(ActivationPlacement.ConvOutput, "act1", planes));
        _bn2 = Register("bn2", new BatchNorm2d(planes, bnEps, bnMomentum));
        _q2r = RegisterOptional("act2", slots?.At(ActivationPlacement.AfterRelu, "act2", planes));
        _conv2 = Register("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false, rng: rng));
        _q2c = RegisterOptional("act2", slots?.At(ActivationPlacement.ConvOutput, "act2", planes));
        if (projection)
        {
            _shortcut = Register("shortcut", new Conv2d(inplanes, planes, 1, stride, 0, bias: false, rng: rng));
            _qs = RegisterOptional("shortcut_act", slots?.At(ActivationPlacement.ConvOutput, "shortcut_act", planes));
        }
    }

    /// <summary>x: [N, inplanes, H, W] → [N, planes, H/stride, W/stride].</summary>
    /// <example><code>var y = unit.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        var pre = ActivationSlots.Apply(_q1r, _bn1.Forward(x, FusedActivation.Relu));      // [N, inplanes, H, W]
        var h = ActivationSlots.Apply(_q1c, _conv1.Forward(pre));                     // [N, planes, OH, OW]
        h = ActivationSlots.Apply(_q2r, _bn2.Forward(h, FusedActivation.Relu));
        h = ActivationSlots.Apply(_q2c, _conv2.Forward(h));                           // [N, planes, OH, OW]
        var shortcut = _shortcut != null ? ActivationSlots.Apply(_qs, _shortcut.Forward(pre)) : x;   // [N, planes, OH, OW]
        return Functions.Add(h, shortcut);
    }
}

/// <summary>
/// torchvision's MobileNetV2 InvertedResidual with its names: "conv" = [expand 1×1 <see cref="ConvNormActivation"/>
/// (ReLU6), when t ≠ 1] → depthwise 3×3 ConvNormActivation (stride, ReLU6) → 1×1 projection conv (no bias) → BN, i.e.
/// conv.0 … conv.3 (conv.0 … conv.2 for t = 1), with the residual add when stride is 1 and the widths are equal.
/// Activation slots (<see cref="ActivationPlacement.ConvOutput"/>): "conv.N.act" in each ConvNormActivation and
/// "conv.act" on the projection's output (ahead of its BN; names of the plain network unchanged).
/// </summary>
/// <example><code>
/// var block = new InvertedResidual(24, 32, stride: 2, expandRatio: 6);
/// using var y = block.Forward(x); // x: [N, 24, 56, 56] → y: [N, 32, 28, 28]
/// </code></example>
public sealed class InvertedResidual : Module
{
    private readonly Sequential _conv;

    /// <summary>Creates the block.</summary>
    /// <param name="inp">Input channels.</param>
    /// <param name="oup">Output channels.</param>
    /// <param name="stride">Stride of the depthwise conv (1 or 2).</param>
    /// <param name="expandRatio">t: hidden width = round(inp·t).</param>
    /// <param name="bnEps">Batch-norm ε.</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention).</param>
    /// <param name="kerasPadding">TensorFlow "same" padding of the strided depthwise conv (see <see cref="ConvNormActivation"/>).</param>
    /// <param name="slots">The model's activation slots scoped to this block (null: none).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <example><code>var block = new InvertedResidual(16, 24, stride: 2, expandRatio: 6);</code></example>
    public InvertedResidual(int inp, int oup, int stride, double expandRatio, double bnEps = 1e-5, double? bnMomentum = 0.1, bool kerasPadding = false,
        ActivationSlots? slots = null, Rng? rng = null)
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"InvertedResidual: stride {stride} must be 1 or 2");
        if (!(expandRatio >= 1)) throw new ArgumentException($"InvertedResidual: expand ratio {expandRatio} must be ≥ 1");
        int hidden = (int)Math.Round(inp * expandRatio, MidpointRounding.ToEven);   // Python's round()
        UseResidual = stride == 1 && inp == oup;
        var cs = slots?.Under("conv");
        _conv = Register("conv", new Sequential());
        int i = 0;
        if (expandRatio != 1)
            _conv.Add(new ConvNormActivation(inp, hidden, 1, activation: () => new ReLU6(), bnEps: bnEps, bnMomentum: bnMomentum,
                slots: cs?.Under($"{i++}"), rng: rng));
        _conv.Add(new ConvNormActivation(hidden, hidden, 3, stride, groups: hidden, activation: () => new ReLU6(), bnEps: bnEps, bnMomentum: bnMomentum,
            kerasPadding: kerasPadding, slots: cs?.Under($"{i++}"), rng: rng));
        _conv.Add(new Conv2d(hidden, oup, 1, bias: false, rng: rng));
        if (cs?.At(ActivationPlacement.ConvOutput, "act", oup) is { } q) _conv.Add("act", q);
        _conv.Add(new BatchNorm2d(oup, bnEps, bnMomentum));
    }

    /// <summary>Whether the block adds its input to its output.</summary>
    public bool UseResidual { get; }

    /// <summary>x: [N, inp, H, W] → [N, oup, H/stride, W/stride].</summary>
    /// <example><code>var y = block.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        var h = ProjectFused(x) ?? _conv.Forward(x);                  // [N, oup, OH, OW]
        return UseResidual ? Functions.Add(x, h) : h;
    }

    // Inference: the layers up to the projection, then the 1×1 projection and its batch norm as one op (FusedEvaluation);
    // null when a quantizer sits between them or the layers must run one by one.
    private Variable? ProjectFused(Variable x)
    {
        if (Training || _conv[^1] is not BatchNorm2d bn || _conv[^2] is not Conv2d projection) return null;
        var h = x;
        var owned = new List<Variable>();
        try
        {
            for (int i = 0; i < _conv.Count - 2; i++) owned.Add(h = _conv[i].Forward(h));   // expansion, depthwise: [N, hidden, OH, OW]
            var y = FusedEvaluation.ConvBatchNorm(projection, bn, h, null);
            if (y != null) return y;
            owned.Add(h = projection.Forward(h));
            return bn.Forward(h);
        }
        finally { foreach (var v in owned) v.Dispose(); }
    }
}

/// <summary>torchvision's initialisation of its ResNet and MobileNetV2 (and the one used for the pre-activation ResNet).</summary>
internal static class TorchvisionInit
{
    // Convs: kaiming_normal(fan_out, relu), bias 0; batch norms: 1, 0; linear layers: normal(0, linearStd) and bias 0 when given, else PyTorch's default.
    public static void Apply(Module model, Rng rng, double? linearStd = null)
    {
        foreach (var (_, m) in model.NamedModules())
            switch (m)
            {
                case Conv2d c:
                    Init.KaimingNormal(c.Weight.Data, rng, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
                    if (c.Bias != null) Init.Zeros(c.Bias.Data);
                    break;
                case Linear l when linearStd is { } std:
                    Init.Normal(l.Weight.Data, rng, 0, std);
                    if (l.Bias != null) Init.Zeros(l.Bias.Data);
                    break;
            }
    }
}
