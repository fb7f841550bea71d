using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// The VecQ AlexNet (VECQ.md §6): a single tower with batch norm and no LRN, every conv and hidden dense layer
/// followed by ReLU and BN (conv → ReLU → BN → pool, as LeNet5), biases on. conv1 (96, 11×11/4 valid) → max pool 3/2;
/// conv2 (256, 5×5 same) → max pool 3/2; conv3, conv4 (384, 3×3 same), conv5 (256, 3×3 same) → max pool 3/2; flatten
/// (256·5·5 = 6400 at 224²); fc1, fc2 (4096, each → ReLU → BN → dropout 0.5); fc3 (classes). Batch norms bn1 … bn5
/// after the convs, bn6 and bn7 after fc1 and fc2. 50,844,008 conv/dense weights and biases at 224² and 1000 classes
/// (plus 19,136 batch-norm γ/β = 50,863,144 parameters).
/// </summary>
/// <remarks>
/// The input size sets fc1's input (256·s², s the side after the last pool); the smallest input the strides allow is
/// 67×67 (s = 1; flatten 256), a smaller one is an error naming it. Batch norms: PyTorch's ε 1e-5 and momentum 0.1,
/// both options. Activation slots (<see cref="DefaultPlacement"/> = <see cref="ActivationPlacement.AfterRelu"/>):
/// "act1" … "act5" after the conv ReLUs, "act6" and "act7" after fc1's and fc2's; fc3's output is never quantized.
/// </remarks>
/// <example><code>
/// var model = new AlexNet(rng: new Rng(0));
/// var logits = model.Forward(x);                                              // x: [N, 3, 224, 224] → [N, 1000]
/// var small = new AlexNet(numClasses: 10, inputSize: 67, hidden: 64, channels: [8, 16, 16, 16, 16]);
/// </code></example>
public sealed class AlexNet : Module, IConvChain
{
    /// <summary>Where this family's activation quantizers sit: after the ReLU, before the batch norm.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.AfterRelu;

    /// <summary>The smallest input height/width the strides allow (67: the last pool sees 3×3).</summary>
    public const int MinInputSize = 67;

    private static readonly int[] DefaultChannels = [96, 256, 384, 384, 256];

    private readonly Conv2d[] _convs = new Conv2d[5];
    private readonly BatchNorm2d[] _bns = new BatchNorm2d[5];
    private readonly Linear[] _fcs = new Linear[3];
    private readonly BatchNorm1d[] _fcBns = new BatchNorm1d[2];
    private readonly Module?[] _qc = new Module?[7], _qr = new Module?[7];
    private readonly Dropout _dropout;

    /// <summary>Builds the model.</summary>
    /// <param name="numClasses">Outputs of fc3 (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="inputSize">Input height and width (default 224; at least <see cref="MinInputSize"/>).</param>
    /// <param name="hidden">Width of fc1 and fc2 (default 4096).</param>
    /// <param name="channels">Output channels of conv1 … conv5 (default 96, 256, 384, 384, 256).</param>
    /// <param name="dropout">Dropout after bn6 and bn7 (default 0.5).</param>
    /// <param name="bnEps">Batch-norm ε (default 1e-5).</param>
    /// <param name="bnMomentum">Batch-norm momentum (PyTorch convention, default 0.1).</param>
    /// <param name="activations">Optional factory for the activation slots (null result: empty slot).</param>
    /// <param name="placement">The slot rule (default <see cref="DefaultPlacement"/>).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved).</param>
    /// <example><code>var model = new AlexNet(numClasses: 10, inputSize: 96);</code></example>
    public AlexNet(int numClasses = 1000, int inChannels = 3, int inputSize = 224, int hidden = 4096, int[]? channels = null, double dropout = 0.5,
        double bnEps = 1e-5, double? bnMomentum = 0.1, Func<ActivationSlot, Module?>? activations = null,
        ActivationPlacement placement = DefaultPlacement, Rng? rng = null, Device? device = null)
    {
        channels ??= DefaultChannels;
        if (channels.Length != 5 || channels.Any(c => c <= 0))
            throw new ArgumentException($"AlexNet: channels [{string.Join(", ", channels)}] must be five positive widths (conv1 … conv5)");
        if (numClasses <= 0 || inChannels <= 0 || hidden <= 0)
            throw new ArgumentException($"AlexNet: classes {numClasses}, input channels {inChannels} and hidden {hidden} must be positive");
        if (inputSize < MinInputSize)
            throw new ArgumentException($"AlexNet: input size {inputSize}×{inputSize} is too small; the smallest its strides allow is {MinInputSize}×{MinInputSize} " +
                "(conv 11×11/4 and three 3/2 max pools)");
        rng ??= Init.DefaultRng;
        NumClasses = numClasses;
        InChannels = inChannels;
        InputSize = inputSize;
        FinalSide = Pool(Pool(Pool((inputSize - 11) / 4 + 1)));
        var slots = new ActivationSlots(placement, activations);
        (int K, int S, int P)[] geometry = [(11, 4, 0), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1)];
        int cin = inChannels;
        for (int i = 0; i < 5; i++)
        {
            string n = $"{i + 1}";
            _convs[i] = Register("conv" + n, new Conv2d(cin, channels[i], geometry[i].K, geometry[i].S, geometry[i].P, rng: rng));
            _qc[i] = RegisterOptional("act" + n, slots.At(ActivationPlacement.ConvOutput, "act" + n, channels[i]));
            _qr[i] = RegisterOptional("act" + n, slots.At(ActivationPlacement.AfterRelu, "act" + n, channels[i]));
            _bns[i] = Register("bn" + n, new BatchNorm2d(channels[i], bnEps, bnMomentum));
            cin = channels[i];
        }
        int features = cin * FinalSide * FinalSide;
        for (int j = 0; j < 2; j++)
        {
            string n = $"{j + 6}";
            _fcs[j] = Register($"fc{j + 1}", new Linear(j == 0 ? features : hidden, hidden, rng: rng));
            _qc[5 + j] = RegisterOptional("act" + n, slots.At(ActivationPlacement.ConvOutput, "act" + n, hidden));
            _qr[5 + j] = RegisterOptional("act" + n, slots.At(ActivationPlacement.AfterRelu, "act" + n, hidden));
            _fcBns[j] = Register("bn" + n, new BatchNorm1d(hidden, bnEps, bnMomentum));
        }
        _dropout = Register("dropout", new Dropout(dropout, rng));
        _fcs[2] = Register("fc3", new Linear(hidden, numClasses, rng: rng));
        ActivationSlots = slots.Offered;
        if (device is { } d) To(d);
    }

    private static int Pool(int side) => (side - 3) / 2 + 1;   // max pool 3/2, no padding

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Input height and width.</summary>
    public int InputSize { get; }

    /// <summary>Spatial side after the last pool (5 at 224²).</summary>
    public int FinalSide { get; }

    /// <summary>Every activation slot the placement opened (filled or not), in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; }

    /// <inheritdoc/>
    public int[] InputShape => [InChannels, InputSize, InputSize];

    /// <inheritdoc/>
    public IReadOnlyList<ChainStage> Chain =>
    [
        .. Enumerable.Range(0, 5).Select(i => new ChainStage($"conv{i + 1}", _convs[i], true, _qc[i], _qr[i], _bns[i], i is 0 or 1 or 4 ? (3, 2) : null)),
        .. Enumerable.Range(0, 2).Select(j => new ChainStage($"fc{j + 1}", _fcs[j], true, _qc[5 + j], _qr[5 + j], _fcBns[j], null)),
        new("fc3", _fcs[2], false, null, null, null, null),
    ];

    /// <summary>x: [N, C, S, S] → logits [N, classes].</summary>
    /// <remarks>Intermediates are not disposed here: run the model inside a <see cref="TensorScope"/>.</remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels || x.Shape[2] != InputSize || x.Shape[3] != InputSize)
            throw new ArgumentException($"AlexNet: input {x.Describe()} must be [N, {InChannels}, {InputSize}, {InputSize}] (the size it was built for)");
        var h = x;
        for (int i = 0; i < 5; i++)
        {
            h = _convs[i].Forward(h);                                                          // [N, c_i, s, s]
            bool pool = i is 0 or 1 or 4;
            h = ReluBnTail.Apply(h, _qc[i], _qr[i], _bns[i], pool ? ((3, 3), (2, 2)) : null);   // pooled: [N, c_i, (s − 3)/2 + 1, …]
        }
        h = Functions.Flatten(h, 1);                                                           // [N, c5·side²]
        for (int j = 0; j < 2; j++)
            h = _dropout.Forward(ReluBnTail.Apply(_fcs[j].Forward(h), _qc[5 + j], _qr[5 + j], _fcBns[j], null));   // [N, hidden]
        return _fcs[2].Forward(h);                                                             // [N, classes]
    }
}
