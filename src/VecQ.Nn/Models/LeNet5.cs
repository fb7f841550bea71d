using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// The VecQ LeNet5 for 28×28×1 input (VECQ.md §6), with PyTorch-style names:
/// conv1 (1→c1, 5×5, padding 2) → ReLU → [act1] → bn1 → maxpool 2;
/// conv2 (c1→c2, 5×5, padding 2) → ReLU → [act2] → bn2 → maxpool 2; flatten (c2·7·7);
/// fc1 (c2·7·7 → hidden) → ReLU → [act3] → bn3 (BatchNorm1d) → fc2 (hidden → classes).
/// Defaults c1 = 32, c2 = 64, hidden = 512, 10 classes: 1,664,586 parameters (1,663,370 conv/dense
/// weights and biases plus 1,216 batch-norm γ/β). Smaller widths serve tests and fixtures.
/// </summary>
/// <remarks>
/// State-dict keys: conv1.weight, conv1.bias, bn1.weight, bn1.bias, bn1.running_mean,
/// bn1.running_var, bn1.num_batches_tracked, and likewise conv2/bn2, fc1/bn3, fc2 — the same as a
/// PyTorch module with attributes conv1, bn1, conv2, bn2, fc1, bn3, fc2 (pooling and ReLU functional).
/// <para>
/// Activation-quantizer hook: the optional <c>activations</c> factory is called once per slot with
/// "act1", "act2" and "act3" while the model is built; a module it returns is registered under that
/// name (its parameters and buffers appear as "act1.…" in the state dict) and applied, by the family's rule
/// (<see cref="ActivationPlacement.AfterRelu"/>, see <see cref="Nn.ActivationSlots"/>), after the
/// ReLU and before the batch norm (VECQ.md §4: conv → ReLU → quantize → BN → pool). Null leaves the
/// slot empty (no cost, no keys). The last layer's output is never quantized. Slots are fixed at
/// construction: to add quantizers to a trained float model, build a new model with the factory and
/// load the float state dict with strict: false (or the quantizer's own keys added).
/// </para>
/// </remarks>
/// <example><code>
/// var model = new LeNet5(rng: new Rng(0));
/// using var logits = model.Forward(x);                 // x: [N, 1, 28, 28] → [N, 10]
/// var small = new LeNet5(c1: 4, c2: 8, hidden: 16);     // same structure, fewer channels
/// var quantized = new LeNet5(activations: slot => new MyActQuantizer(bits: 8));
/// </code></example>
public sealed class LeNet5 : Module, IConvChain
{
    /// <summary>The activation slots, in forward order.</summary>
    public static readonly IReadOnlyList<string> ActivationSlots = ["act1", "act2", "act3"];

    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Linear _fc1, _fc2;
    private readonly BatchNorm1d _bn3;
    private readonly Module? _act1, _act2, _act3;

    /// <summary>Builds the model.</summary>
    /// <param name="c1">conv1 output channels (default 32).</param>
    /// <param name="c2">conv2 output channels (default 64).</param>
    /// <param name="hidden">fc1 width (default 512).</param>
    /// <param name="numClasses">Outputs of fc2 (default 10).</param>
    /// <param name="activations">Optional factory for the activation slots "act1", "act2", "act3" (null result: empty slot).</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the model lives (default the CPU; initialised there, then moved, so every device starts from the same weights).</param>
    /// <example><code>var model = new LeNet5(rng: new Rng(42), device: Device.Sim());</code></example>
    public LeNet5(int c1 = 32, int c2 = 64, int hidden = 512, int numClasses = 10, Func<string, Module?>? activations = null, Rng? rng = null,
        Device? device = null)
    {
        rng ??= Init.DefaultRng;
        C1 = c1;
        C2 = c2;
        Hidden = hidden;
        NumClasses = numClasses;
        // Registration order = state-dict order: conv1, act1, bn1, conv2, act2, bn2, fc1, act3, bn3, fc2.
        // The slots follow the family's rule (ActivationPlacement.AfterRelu: after the ReLU, before the BN).
        var slots = new Nn.ActivationSlots(ActivationPlacement.AfterRelu, activations is null ? null : s => activations(s.Name));
        _conv1 = Register("conv1", new Conv2d(1, c1, 5, padding: 2, rng: rng));
        _act1 = RegisterOptional("act1", slots.At(ActivationPlacement.AfterRelu, "act1", c1));
        _bn1 = Register("bn1", new BatchNorm2d(c1));
        _conv2 = Register("conv2", new Conv2d(c1, c2, 5, padding: 2, rng: rng));
        _act2 = RegisterOptional("act2", slots.At(ActivationPlacement.AfterRelu, "act2", c2));
        _bn2 = Register("bn2", new BatchNorm2d(c2));
        _fc1 = Register("fc1", new Linear(c2 * 7 * 7, hidden, rng: rng));
        _act3 = RegisterOptional("act3", slots.At(ActivationPlacement.AfterRelu, "act3", hidden));
        _bn3 = Register("bn3", new BatchNorm1d(hidden));
        _fc2 = Register("fc2", new Linear(hidden, numClasses, rng: rng));
        if (device is { } d) To(d);
    }

    /// <summary>conv1 output channels.</summary>
    public int C1 { get; }

    /// <summary>conv2 output channels.</summary>
    public int C2 { get; }

    /// <summary>fc1 width.</summary>
    public int Hidden { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public int[] InputShape => [1, 28, 28];

    /// <inheritdoc/>
    public IReadOnlyList<ChainStage> Chain =>
    [
        new("conv1", _conv1, true, null, _act1, _bn1, (2, 2)),
        new("conv2", _conv2, true, null, _act2, _bn2, (2, 2)),
        new("fc1", _fc1, true, null, _act3, _bn3, null),
        new("fc2", _fc2, false, null, null, null, null),
    ];

    /// <summary>x: [N, 1, 28, 28] → logits [N, classes].</summary>
    /// <remarks>
    /// The intermediates are not disposed here: run the model inside a <see cref="TensorScope"/> (as
    /// `vecq train` does per step), which releases them all; the graph keeps what backward needs.
    /// </remarks>
    /// <example><code>using var scope = TensorScope.Begin(); var logits = model.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != 1 || x.Shape[2] != 28 || x.Shape[3] != 28)
            throw new ArgumentException($"LeNet5: input {x.Describe()} must be [N, 1, 28, 28]");
        var h = _conv1.Forward(x);                      // h: [N, c1, 28, 28]
        h = BlockTail(h, _act1, _bn1);                  // h: [N, c1, 14, 14]
        h = _conv2.Forward(h);                          // h: [N, c2, 14, 14]
        h = BlockTail(h, _act2, _bn2);                  // h: [N, c2, 7, 7]
        h = Functions.Flatten(h, 1);                    // h: [N, c2·49]
        h = ReluBnTail.Apply(_fc1.Forward(h), null, _act3, _bn3, null);   // h: [N, hidden]
        return _fc2.Forward(h);                         // logits: [N, classes]
    }

    // ReLU → [activation quantizer] → batch norm → max pool 2: one fused node when the slot is empty.
    private static Variable BlockTail(Variable h, Module? act, BatchNorm2d bn) =>   // h: [N, C, H, W] → [N, C, H/2, W/2]
        ReluBnTail.Apply(h, null, act, bn, ((2, 2), (2, 2)));
}
