using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// The VecQ VGG-like network for CIFAR (32×32×3, VECQ.md §6), with LeNet5's naming: conv1, conv2 (3×3 same, w
/// channels) → max pool 2; conv3, conv4 (2w) → max pool 2; conv5, conv6 (4w) → max pool 2; flatten (4w·4·4 = 4096);
/// fc1 (hidden) → ReLU → bn7 → dropout 0.5; fc2 (classes). Every conv is followed by ReLU and its batch norm bn1 … bn6
/// (conv → ReLU → BN, VECQ.md §6). Defaults w = 64, hidden = 1024, 10 classes: 5,350,986 conv/dense weights and biases
/// plus 3,840 batch-norm γ/β = 5,354,826 parameters.
/// </summary>
/// <remarks>
/// Batch norms: PyTorch's ε 1e-5 and momentum 0.1 (the reference's Keras ε 1e-3 / momentum 0.99 = PyTorch's 0.01 are
/// options). Activation slots (<see cref="DefaultPlacement"/> = <see cref="ActivationPlacement.AfterRelu"/>, VECQ.md §4:
/// conv → ReLU → quantize → BN → pool): "act1" … "act6" after the conv ReLUs and "act7" after fc1's; fc2's output is
/// never quantized. Other input sizes (a multiple of 8, at least 8) change only fc1's input, 4w·(s/8)².
/// </remarks>
/// <example><code>
/// var model = new VggLike(rng: new Rng(0));
/// var logits = model.Forward(x);                       // x: [N, 3, 32, 32] → [N, 10]
/// var small = new VggLike(width: 8, hidden: 32);        // same structure, fewer channels
/// </code></example>
public sealed class VggLike : Module, IConvChain
{
    /// <summary>Where this family's activation quantizers sit: after the ReLU, before the batch norm.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.AfterRelu;

    private readonly Conv2d[] _convs = new Conv2d[6];
    private readonly BatchNorm2d[] _bns = new BatchNorm2d[6];
    private readonly Module?[] _qc = new Module?[7], _qr = new Module?[7];
    private readonly Linear _fc1, _fc2;
    private readonly BatchNorm1d _bn7;
    private readonly Dropout _dropout;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of fc2 (default 10).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="width">Channels of conv1/conv2 (default 64; then 2w and 4w).</param>
    /// <param name="hidden">fc1 width (default 1024).</param>
    /// <param name="inputSize">Input height and width (default 32; a multiple of 8).</param>
    /// <param name="dropout">Dropout after bn7 (default 0.5).</param>
    /// <param name="bnEps">Batch-norm ε (default 1e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new VggLike(numClasses: 100, device: Device.Sim());</code></example>
    public VggLike(int numClasses = 10, int inChannels = 3, int width = 64, int hidden = 1024, int inputSize = 32, double dropout = 0.5,
        double bnEps = 1e-5, double? bnMomentum = 0.1, Func<ActivationSlot, Module?>? activations = null,
        ActivationPlacement placement = DefaultPlacement, Rng? rng = null, Device? device = null)
    {
        if (numClasses <= 0 || inChannels <= 0 || width <= 0 || hidden <= 0)
            throw new ArgumentException($"VggLike: classes {numClasses}, input channels {inChannels}, width {width} and hidden {hidden} must be positive");
        if (inputSize < 8 || inputSize % 8 != 0)
            throw new ArgumentException($"VggLike: input size {inputSize} must be a multiple of 8 (three 2×2 max pools), at least 8");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        InputSize = inputSize;
        var slots = new ActivationSlots(placement, activations);
        int cin = inChannels;
        for (int i = 0; i < 6; i++)
        {
            int cout = width << (i / 2);
            string n = $"{i + 1}";
            _convs[i] = Register("conv" + n, new Conv2d(cin, cout, 3, padding: "same", rng: rng));
            _qc[i] = RegisterOptional("act" + n, slots.At(ActivationPlacement.ConvOutput, "act" + n, cout));
            _qr[i] = RegisterOptional("act" + n, slots.At(ActivationPlacement.AfterRelu, "act" + n, cout));
            _bns[i] = Register("bn" + n, new BatchNorm2d(cout, bnEps, bnMomentum));
            cin = cout;
        }
        int side = inputSize / 8;
        _fc1 = Register("fc1", new Linear(cin * side * side, hidden, rng: rng));
        _qc[6] = RegisterOptional("act7", slots.At(ActivationPlacement.ConvOutput, "act7", hidden));
        _qr[6] = RegisterOptional("act7", slots.At(ActivationPlacement.AfterRelu, "act7", hidden));
        _bn7 = Register("bn7", new BatchNorm1d(hidden, bnEps, bnMomentum));
        _dropout = Register("dropout", new Dropout(dropout, rng));
        _fc2 = Register("fc2", new Linear(hidden, numClasses, rng: rng));
        ActivationSlots = slots.Offered;
        if (device is { } d) To(d);
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Input height and width.</summary>
    public int InputSize { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <inheritdoc/>
    public int[] InputShape => [InChannels, InputSize, InputSize];

    /// <inheritdoc/>
    public IReadOnlyList<ChainStage> Chain =>
    [
        .. Enumerable.Range(0, 6).Select(i => new ChainStage($"conv{i + 1}", _convs[i], true, _qc[i], _qr[i], _bns[i], i % 2 == 1 ? (2, 2) : null)),
        new("fc1", _fc1, true, _qc[6], _qr[6], _bn7, null),
        new("fc2", _fc2, false, null, null, null, null),
    ];

    /// <summary>x: [N, C, S, S] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels || x.Shape[2] != InputSize || x.Shape[3] != InputSize)
            throw new ArgumentException($"VggLike: input {x.Describe()} must be [N, {InChannels}, {InputSize}, {InputSize}]");
        var h = x;
        for (int i = 0; i < 6; i++)
        {
            h = _convs[i].Forward(h);                                                   // [N, c, s, s]
            h = ReluBnTail.Apply(h, _qc[i], _qr[i], _bns[i], i % 2 == 1 ? ((2, 2), (2, 2)) : null);   // [N, c, s or s/2, …]
        }
        h = Functions.Flatten(h, 1);                                                    // [N, 4w·(S/8)²]
        h = ReluBnTail.Apply(_fc1.Forward(h), _qc[6], _qr[6], _bn7, null);              // [N, hidden]
        return _fc2.Forward(_dropout.Forward(h));                                       // [N, classes]
    }
}

/// <summary>
/// The layer tail of the conv → ReLU → BN families (LeNet5, VGG-like, AlexNet) with both activation-slot points:
/// [conv-output quantizer] → ReLU → [after-ReLU quantizer] → BN → [max pool]; one fused node when both slots are
/// empty and a pool follows.
/// </summary>
internal static class ReluBnTail
{
    // h: [N, C, …] → [N, C, …] (pooled when a pool is given).
    public static Variable Apply(Variable h, Module? convSlot, Module? reluSlot, BatchNorm bn, ((int H, int W) Kernel, (int H, int W) Stride)? pool)
    {
        h = ActivationSlots.Apply(convSlot, h);
        if (reluSlot == null && pool is { } p && bn is BatchNorm2d bn2) return bn2.ReluForwardMaxPool(h, p.Kernel, p.Stride);
        h = bn.Forward(ActivationSlots.Apply(reluSlot, Functions.Relu(h)));
        return pool is { } q ? Functions.MaxPool2d(h, q.Kernel, q.Stride) : h;
    }
}
