using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// ResNet-18 with torchvision's layout and state-dict names (torchvision.models.resnet18), so torchvision weights
/// convert and load: conv1 (7×7/2, no bias) → bn1 → relu → maxpool (3/2, pad 1); layer1 … layer4, each two
/// <see cref="BasicBlock"/>s ("layer2.0.conv1", "layer2.0.downsample.0", …) at w, 2w, 4w, 8w channels (w = 64),
/// strides 1, 2, 2, 2; global average pooling; fc. 11,689,512 parameters at 1000 classes (11,679,912 conv/dense
/// weights and biases plus 9,600 batch-norm γ/β). Global pooling lets it run at any input size (224², or 32² for
/// CIFAR, where layer4 sees 1×1).
/// </summary>
/// <remarks>
/// Batch norms: PyTorch's ε 1e-5 and momentum 0.1 (torchvision's), both options. Initialised as torchvision
/// (convs kaiming_normal, fan_out, ReLU gain; BN 1/0; fc PyTorch's default). Activation slots
/// (<see cref="DefaultPlacement"/> = <see cref="ActivationPlacement.ConvOutput"/>, VECQ.md §4): "act1" on the stem
/// conv, "layerS.B.act1", "layerS.B.act2" in every block and "layerS.0.downsample.act"; the factory gets each
/// slot's name and channels, and a null result leaves the slot empty (no keys). fc's output is never quantized.
/// </remarks>
/// <example><code>
/// var model = new ResNet18(numClasses: 10, rng: new Rng(0));
/// var logits = model.Forward(x);                                    // x: [N, 3, 32, 32] → [N, 10]
/// var q = new ResNet18(activations: slot => new MyActQuantizer(8, channels: slot.Channels));
/// </code></example>
public sealed class ResNet18 : Module
{
    /// <summary>Where this family's activation quantizers sit: on the conv outputs.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.ConvOutput;

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Module? _q1c, _q1r;
    private readonly Sequential[] _layers = new Sequential[4];
    private readonly Linear _fc;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of fc (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="width">Channels of layer1 (default 64; the stages have w, 2w, 4w, 8w). Smaller widths serve tests.</param>
    /// <param name="bnEps">Batch-norm ε (default PyTorch's 1e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new ResNet18(numClasses: 10, device: Device.Sim());</code></example>
    public ResNet18(int numClasses = 1000, int inChannels = 3, int width = 64, double bnEps = 1e-5, double? bnMomentum = 0.1,
        Func<ActivationSlot, Module?>? activations = null, ActivationPlacement placement = DefaultPlacement, Rng? rng = null, Device? device = null)
    {
        if (numClasses <= 0 || inChannels <= 0 || width <= 0)
            throw new ArgumentException($"ResNet18: classes {numClasses}, input channels {inChannels} and width {width} must be positive");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        Width = width;
        var slots = new ActivationSlots(placement, activations);
        _conv1 = Register("conv1", new Conv2d(inChannels, width, 7, 2, 3, bias: false, rng: rng));
        _q1c = RegisterOptional("act1", slots.At(ActivationPlacement.ConvOutput, "act1", width));
        _bn1 = Register("bn1", new BatchNorm2d(width, bnEps, bnMomentum));
        Register("relu", new ReLU());
        _q1r = RegisterOptional("act1", slots.At(ActivationPlacement.AfterRelu, "act1", width));
        Register("maxpool", new MaxPool2d(3, 2, 1));
        int inplanes = width;
        for (int s = 0; s < 4; s++)
        {
            string name = $"layer{s + 1}";
            int planes = width << s, stride = s == 0 ? 1 : 2;
            var ls = slots.Under(name);
            _layers[s] = Register(name, new Sequential(
                new BasicBlock(inplanes, planes, stride, bnEps, bnMomentum, ls.Under("0"), rng),
                new BasicBlock(planes, planes, 1, bnEps, bnMomentum, ls.Under("1"), rng)));
            inplanes = planes;
        }
        Register("avgpool", new AdaptiveAvgPool2d(1));
        _fc = Register("fc", new Linear(8 * width, numClasses, rng: rng));
        ActivationSlots = slots.Offered;
        TorchvisionInit.Apply(this, rng);
        if (device is { } d) To(d);
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Channels of layer1.</summary>
    public int Width { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <summary>x: [N, C, H, W] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"ResNet18: input {x.Describe()} must be [N, {InChannels}, H, W]");
        var h = (_q1c is null ? FusedEvaluation.ConvBatchNorm(_conv1, _bn1, x, FusedActivation.Relu) : null)
            ?? _bn1.Forward(Nn.ActivationSlots.Apply(_q1c, _conv1.Forward(x)), FusedActivation.Relu);   // [N, w, H/2, W/2]
        h = Nn.ActivationSlots.Apply(_q1r, h);
        h = Functions.MaxPool2d(h, (3, 3), (2, 2), (1, 1));                        // [N, w, H/4, W/4]
        foreach (var layer in _layers) h = layer.Forward(h);                      // [N, 8w, H/32, W/32]
        h = Functions.Mean(h, [2, 3]);                                             // [N, 8w]
        return _fc.Forward(h);                                                     // [N, classes]
    }
}

/// <summary>
/// The VecQ authors' ResNet-18 (VECQ.md §6): the pre-activation (v2) network of MXNet's resnet symbol. "bn_data" (an
/// input batch norm without scale: β only) → conv0 (7×7/2, no bias) → bn0 → ReLU → max pool 3/2 (pad 1); layer1 …
/// layer4 of two <see cref="PreActBlock"/>s at w, 2w, 4w, 8w channels (w = 64), the first unit of every stage (stage 1
/// too) with a 1×1 projection "shortcut" from its pre-activated input, stride 2 in the first unit of stages 2–4;
/// head "bn_final" → ReLU → global average pooling → fc. Convs without bias; every batch norm ε 2e-5.
/// 11,691,947 parameters at 1000 classes and 3 input channels (11,684,008 conv/dense weights and biases plus 7,939
/// batch-norm γ/β).
/// </summary>
/// <remarks>
/// Names follow torchvision's where the layers correspond (layerS.B.conv1, fc) and MXNet's otherwise (bn_data, conv0,
/// bn0); inside a unit: bn1, conv1, bn2, conv2, shortcut. Batch-norm momentum 0.1 (PyTorch convention = MXNet's 0.9).
/// Activation slots (<see cref="DefaultPlacement"/> = <see cref="ActivationPlacement.ConvOutput"/>): "act0" on conv0,
/// "layerS.B.act1", "layerS.B.act2" and "layerS.0.shortcut_act"; fc's output is never quantized.
/// </remarks>
/// <example><code>
/// var model = new PreActResNet18(numClasses: 10, rng: new Rng(0));
/// var logits = model.Forward(x);                                    // x: [N, 3, 32, 32] → [N, 10]
/// </code></example>
public sealed class PreActResNet18 : Module
{
    /// <summary>Where this family's activation quantizers sit: on the conv outputs.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.ConvOutput;

    private readonly BatchNorm2d _bnData, _bn0, _bnFinal;
    private readonly Conv2d _conv0;
    private readonly Module? _q0c, _q0r, _qFinal;
    private readonly Sequential[] _layers = new Sequential[4];
    private readonly Linear _fc;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of fc (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="width">Channels of layer1 (default 64; the stages have w, 2w, 4w, 8w).</param>
    /// <param name="bnEps">Batch-norm ε (default the reference's 2e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new PreActResNet18(width: 16, numClasses: 10);</code></example>
    public PreActResNet18(int numClasses = 1000, int inChannels = 3, int width = 64, double bnEps = 2e-5, double? bnMomentum = 0.1,
        Func<ActivationSlot, Module?>? activations = null, ActivationPlacement placement = DefaultPlacement, Rng? rng = null, Device? device = null)
    {
        if (numClasses <= 0 || inChannels <= 0 || width <= 0)
            throw new ArgumentException($"PreActResNet18: classes {numClasses}, input channels {inChannels} and width {width} must be positive");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        Width = width;
        var slots = new ActivationSlots(placement, activations);
        _bnData = Register("bn_data", new BatchNorm2d(inChannels, bnEps, bnMomentum, scale: false));
        _conv0 = Register("conv0", new Conv2d(inChannels, width, 7, 2, 3, bias: false, rng: rng));
        _q0c = RegisterOptional("act0", slots.At(ActivationPlacement.ConvOutput, "act0", width));
        _bn0 = Register("bn0", new BatchNorm2d(width, bnEps, bnMomentum));
        _q0r = RegisterOptional("act0", slots.At(ActivationPlacement.AfterRelu, "act0", width));
        int inplanes = width;
        for (int s = 0; s < 4; s++)
        {
            string name = $"layer{s + 1}";
            int planes = width << s, stride = s == 0 ? 1 : 2;
            var ls = slots.Under(name);
            _layers[s] = Register(name, new Sequential(
                new PreActBlock(inplanes, planes, stride, projection: true, bnEps, bnMomentum, ls.Under("0"), rng),
                new PreActBlock(planes, planes, 1, projection: false, bnEps, bnMomentum, ls.Under("1"), rng)));
            inplanes = planes;
        }
        _bnFinal = Register("bn_final", new BatchNorm2d(8 * width, bnEps, bnMomentum));
        _qFinal = RegisterOptional("act_final", slots.At(ActivationPlacement.AfterRelu, "act_final", 8 * width));
        _fc = Register("fc", new Linear(8 * width, numClasses, rng: rng));
        ActivationSlots = slots.Offered;
        TorchvisionInit.Apply(this, rng);
        if (device is { } d) To(d);
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Channels of layer1.</summary>
    public int Width { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <summary>x: [N, C, H, W] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"PreActResNet18: input {x.Describe()} must be [N, {InChannels}, H, W]");
        var h = _bnData.Forward(x);                                                // [N, C, H, W]
        h = Nn.ActivationSlots.Apply(_q0c, _conv0.Forward(h));                     // [N, w, H/2, W/2]
        h = Nn.ActivationSlots.Apply(_q0r, _bn0.Forward(h, FusedActivation.Relu));
        h = Functions.MaxPool2d(h, (3, 3), (2, 2), (1, 1));                        // [N, w, H/4, W/4]
        foreach (var layer in _layers) h = layer.Forward(h);                      // [N, 8w, H/32, W/32]
        h = Nn.ActivationSlots.Apply(_qFinal, _bnFinal.Forward(h, FusedActivation.Relu));
        h = Functions.Mean(h, [2, 3]);                                             // [N, 8w]
        return _fc.Forward(h);                                                     // [N, classes]
    }
}
