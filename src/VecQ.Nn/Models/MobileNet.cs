using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// MobileNetV2 with torchvision's structure and state-dict names (torchvision.models.mobilenet_v2): "features.0" the
/// stem <see cref="ConvNormActivation"/> (32, 3×3/2, ReLU6); features.1 … features.17 the
/// <see cref="InvertedResidual"/> blocks of (t, c, n, s) = (1,16,1,1), (6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1),
/// (6,160,3,2), (6,320,1,1); "features.18" a 1×1 ConvNormActivation to 1280; global average pooling; "classifier.0"
/// dropout and "classifier.1" the linear layer. Convs without bias, ReLU6. 3,504,872 parameters at 1000 classes
/// (torchvision's count, batch-norm γ/β included). Widths scale with <c>widthMult</c> as torchvision's
/// (_make_divisible by 8; the last width never below 1280).
/// </summary>
/// <remarks>
/// Reference vs torchvision (VECQ.md §6): batch-norm ε defaults to the reference's 1e-3 (torchvision: 1e-5) and the
/// dropout before the classifier to 0 (the reference has none; torchvision: 0.2) — "classifier.0" stays, so the names
/// are torchvision's either way; momentum is PyTorch's 0.1 (Keras's 0.99 is PyTorch's 0.01). With
/// <c>kerasPadding</c> the strided 3×3 convs pad TensorFlow's way, (0, 1) rows and columns (a "pad" child, no
/// parameters) as the reference's stem ZeroPadding2D(((0, 1), (0, 1))), instead of torchvision's symmetric 1; the two
/// agree on names and parameters but not on outputs. Initialised as torchvision (convs kaiming_normal fan_out, BN 1/0,
/// linear normal(0, 0.01) and zero bias).
/// <para>
/// Activation slots (<see cref="DefaultPlacement"/> = <see cref="ActivationPlacement.ConvOutput"/>): "features.0.act",
/// in block i "features.i.conv.j.act" for its ConvNormActivations and "features.i.conv.act" on its projection, and
/// "features.18.act"; the classifier's output is never quantized.
/// </para>
/// </remarks>
/// <example><code>
/// var model = new MobileNetV2(numClasses: 10, widthMult: 0.5, rng: new Rng(0));
/// var logits = model.Forward(x);   // x: [N, 3, 32, 32] → [N, 10]
/// </code></example>
public sealed class MobileNetV2 : Module
{
    /// <summary>Where this family's activation quantizers sit: on the conv outputs.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.ConvOutput;

    private static readonly (int T, int C, int N, int S)[] Setting =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    private readonly Sequential _features, _classifier;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of the classifier (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="widthMult">Width multiplier (default 1.0).</param>
    /// <param name="dropout">Dropout probability of "classifier.0" (default 0, the reference; torchvision uses 0.2).</param>
    /// <param name="bnEps">Batch-norm ε (default the reference's 1e-3; torchvision's is 1e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="kerasPadding">Pad the strided convs TensorFlow's way ((0, 1), (0, 1)) instead of torchvision's symmetric 1.</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new MobileNetV2(bnEps: 1e-5, dropout: 0.2); // exactly torchvision's mobilenet_v2()</code></example>
    public MobileNetV2(int numClasses = 1000, int inChannels = 3, double widthMult = 1.0, double dropout = 0.0, double bnEps = 1e-3,
        double? bnMomentum = 0.1, bool kerasPadding = false, Func<ActivationSlot, Module?>? activations = null,
        ActivationPlacement placement = DefaultPlacement, Rng? rng = null, Device? device = null)
    {
        if (numClasses <= 0 || inChannels <= 0 || !(widthMult > 0))
            throw new ArgumentException($"MobileNetV2: classes {numClasses}, input channels {inChannels} and width multiplier {widthMult} must be positive");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        WidthMult = widthMult;
        var slots = new ActivationSlots(placement, activations);
        var fs = slots.Under("features");
        int input = MakeDivisible(32 * widthMult);
        LastChannel = MakeDivisible(1280 * Math.Max(1.0, widthMult));
        _features = Register("features", new Sequential());
        _features.Add(new ConvNormActivation(inChannels, input, 3, 2, activation: () => new ReLU6(), bnEps: bnEps, bnMomentum: bnMomentum,
            kerasPadding: kerasPadding, slots: fs.Under("0"), rng: rng));
        foreach (var (t, c, n, s) in Setting)
        {
            int output = MakeDivisible(c * widthMult);
            for (int i = 0; i < n; i++)
            {
                _features.Add(new InvertedResidual(input, output, i == 0 ? s : 1, t, bnEps, bnMomentum, kerasPadding,
                    fs.Under($"{_features.Count}"), rng));
                input = output;
            }
        }
        _features.Add(new ConvNormActivation(input, LastChannel, 1, activation: () => new ReLU6(), bnEps: bnEps, bnMomentum: bnMomentum,
            slots: fs.Under($"{_features.Count}"), rng: rng));
        _classifier = Register("classifier", new Sequential(new Dropout(dropout, rng), new Linear(LastChannel, numClasses, rng: rng)));
        ActivationSlots = slots.Offered;
        TorchvisionInit.Apply(this, rng, linearStd: 0.01);
        if (device is { } d) To(d);
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Width multiplier.</summary>
    public double WidthMult { get; }

    /// <summary>Channels of features.18 (the classifier's input).</summary>
    public int LastChannel { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <summary>torchvision's _make_divisible(v, 8): the nearest multiple of 8 (at least 8), not below 90% of v.</summary>
    /// <example><code>int c = MobileNetV2.MakeDivisible(32 * 0.35); // 16</code></example>
    public static int MakeDivisible(double v, int divisor = 8)
    {
        int n = Math.Max(divisor, (int)(v + divisor / 2.0) / divisor * divisor);
        return n < 0.9 * v ? n + divisor : n;
    }

    /// <summary>x: [N, C, H, W] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"MobileNetV2: input {x.Describe()} must be [N, {InChannels}, H, W]");
        var h = _features.Forward(x);                     // [N, last, H/32, W/32]
        h = Functions.Mean(h, [2, 3]);                    // [N, last]
        return _classifier.Forward(h);                    // [N, classes]
    }
}

/// <summary>
/// MobileNetV1 1.0 in Keras's layout and layer names (keras.applications.MobileNet): "conv1_pad" (zeros (0, 1), (0, 1))
/// → "conv1" (32, 3×3/2 valid, no bias) → "conv1_bn" → ReLU6; 13 depthwise-separable blocks i = 1 … 13, each
/// ["conv_pad_i" for stride 2] → "conv_dw_i" (depthwise 3×3, no bias) → "conv_dw_i_bn" → ReLU6 → "conv_pw_i" (1×1, no
/// bias) → "conv_pw_i_bn" → ReLU6 at 64, 128/2, 128, 256/2, 256, 512/2, 512 ×5, 1024/2, 1024 channels; global average
/// pooling; dropout (1e-3); "conv_preds" (1×1 conv with bias) → logits. Widths scale by α (int(c·α), as Keras).
/// 4,231,976 parameters at 1000 classes (Keras's trainable count; Keras's total 4,253,864 adds the 21,888 moving means
/// and variances).
/// </summary>
/// <remarks>
/// Batch norms: Keras's ε 1e-3 and PyTorch's momentum 0.1 (Keras's 0.99 is PyTorch's 0.01), both options. Weights
/// initialised with PyTorch's layer defaults. Activation slots (<see cref="DefaultPlacement"/> =
/// <see cref="ActivationPlacement.ConvOutput"/>): "conv1_act", "conv_dw_i_act" and "conv_pw_i_act" on every conv's
/// output; conv_preds's output is never quantized.
/// </remarks>
/// <example><code>
/// var model = new MobileNetV1(numClasses: 10, alpha: 0.25, rng: new Rng(0));
/// var logits = model.Forward(x);   // x: [N, 3, 32, 32] → [N, 10]
/// </code></example>
public sealed class MobileNetV1 : Module
{
    /// <summary>Where this family's activation quantizers sit: on the conv outputs.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.ConvOutput;

    private static readonly (int C, int S)[] Blocks =
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];

    private readonly List<Func<Variable, Variable>> _steps = new();
    private readonly Dropout _dropout;
    private readonly Conv2d _preds;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of conv_preds (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="alpha">Width multiplier α (default 1.0).</param>
    /// <param name="dropout">Dropout before conv_preds (default Keras's 1e-3).</param>
    /// <param name="bnEps">Batch-norm ε (default Keras's 1e-3).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new MobileNetV1(numClasses: 100, alpha: 0.5);</code></example>
    public MobileNetV1(int numClasses = 1000, int inChannels = 3, double alpha = 1.0, double dropout = 1e-3, double bnEps = 1e-3,
        double? bnMomentum = 0.1, Func<ActivationSlot, Module?>? activations = null, ActivationPlacement placement = DefaultPlacement,
        Rng? rng = null, Device? device = null)
    {
        if (numClasses <= 0 || inChannels <= 0 || !(alpha > 0))
            throw new ArgumentException($"MobileNetV1: classes {numClasses}, input channels {inChannels} and alpha {alpha} must be positive");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        Alpha = alpha;
        var slots = new ActivationSlots(placement, activations);
        int c = Scaled(32, alpha);
        if (c <= 0) throw new ArgumentException($"MobileNetV1: alpha {alpha} leaves no channels");
        ConvBlock(slots, "conv1", "conv1_pad", inChannels, c, 3, 2, 1, bnEps, bnMomentum, rng);
        for (int i = 0; i < Blocks.Length; i++)
        {
            var (filters, s) = Blocks[i];
            int id = i + 1, pw = Scaled(filters, alpha);
            ConvBlock(slots, $"conv_dw_{id}", $"conv_pad_{id}", c, c, 3, s, c, bnEps, bnMomentum, rng);
            ConvBlock(slots, $"conv_pw_{id}", null, c, pw, 1, 1, 1, bnEps, bnMomentum, rng);
            c = pw;
        }
        LastChannel = c;
        _dropout = Register("dropout", new Dropout(dropout, rng));
        _preds = Register("conv_preds", new Conv2d(c, numClasses, 1, rng: rng));
        ActivationSlots = slots.Offered;
        if (device is { } d) To(d);
    }

    // [pad] → conv (no bias) → [slot] → name_bn → ReLU6 → [slot], registered with Keras's names.
    private void ConvBlock(ActivationSlots slots, string name, string? padName, int cin, int cout, int k, int stride, int groups,
        double eps, double? momentum, Rng rng)
    {
        ConvPadding padding = k == 1 ? 0 : stride == 1 ? "same" : 0;
        if (stride != 1 && padName != null)
        {
            var pad = Register(padName, new ZeroPad2d(0, 1, 0, 1));
            _steps.Add(pad.Forward);
        }
        var conv = Register(name, new Conv2d(cin, cout, k, stride, padding, groups: groups, bias: false, rng: rng));
        var qc = RegisterOptional(name + "_act", slots.At(ActivationPlacement.ConvOutput, name + "_act", cout));
        var bn = Register(name + "_bn", new BatchNorm2d(cout, eps, momentum));
        var qr = RegisterOptional(name + "_act", slots.At(ActivationPlacement.AfterRelu, name + "_act", cout));
        _steps.Add(h => Nn.ActivationSlots.Apply(qr, Functions.Relu6(bn.Forward(Nn.ActivationSlots.Apply(qc, conv.Forward(h))))));
    }

    private static int Scaled(int filters, double alpha) => (int)(filters * alpha);

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Width multiplier α.</summary>
    public double Alpha { get; }

    /// <summary>Channels before conv_preds.</summary>
    public int LastChannel { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <summary>x: [N, C, H, W] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"MobileNetV1: input {x.Describe()} must be [N, {InChannels}, H, W]");
        var h = x;
        foreach (var step in _steps) h = step(h);            // [N, last, H/32, W/32]
        h = Functions.Mean(h, [2, 3], keepDim: true);         // [N, last, 1, 1]
        h = _preds.Forward(_dropout.Forward(h));              // [N, classes, 1, 1]
        return Functions.Flatten(h, 1);                       // [N, classes]
    }
}
