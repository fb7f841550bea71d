using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// Where a model family's activation quantizers sit (VECQ.md §4). Every model in VecQ.Nn marks both kinds of
/// point in its layers and asks <see cref="ActivationSlots.At"/> for a quantizer at each; only the points of the
/// model's placement get one, so the rule lives here once and not in a per-model table.
/// </summary>
/// <example><code>var p = ResNet18.DefaultPlacement; // ActivationPlacement.ConvOutput</code></example>
public enum ActivationPlacement
{
    /// <summary>
    /// LeNet5, VGG-like, AlexNet: after the ReLU that follows a conv or dense layer, before its batch norm
    /// (conv → ReLU → quantize → BN → pool).
    /// </summary>
    AfterRelu,

    /// <summary>
    /// ResNet, MobileNet: on the output of every conv (and hidden dense) layer, before its batch norm
    /// (conv → quantize → BN → ReLU). The last layer's output (the logits) is never quantized.
    /// </summary>
    ConvOutput,
    /// <summary>
    /// The sequence models (IMDB, THUCNews; VECQ.md §4, the LSTM rule): on the LSTM's input features and on its
    /// output (the last hidden state, which is also its final state h_n, the one the classifier reads); the
    /// per-step internal states and gate activations stay float.
    /// </summary>
    Recurrent,
}

/// <summary>
/// One activation-quantizer slot, as the model's slot factory receives it: the full dotted name the quantizer is
/// registered under (its state-dict prefix, e.g. "layer2.0.act1"), the channels of the tensor it sees (axis 1, for
/// per-channel quantizers) and the placement rule that put it there. Converts to its name, so a factory written
/// for names (<c>slot =&gt; slot == "act1" ? null : …</c>) reads the same.
/// </summary>
/// <example><code>var model = new ResNet18(activations: slot => new MyActQuantizer(bits: 8, channels: slot.Channels));</code></example>
public readonly record struct ActivationSlot(string Name, int Channels, ActivationPlacement Placement)
{
    /// <summary>The slot's full dotted name.</summary>
    /// <example><code>string name = slot; // "features.1.conv.0.act"</code></example>
    public static implicit operator string(ActivationSlot slot) => slot.Name;

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The activation-quantizer slots of one model while it is being built: the user's factory, the model's
/// <see cref="ActivationPlacement"/> and the dotted prefix of the module being built. Layers call
/// <see cref="At"/> at each point where a quantizer could sit; <see cref="Offered"/> lists every slot the
/// placement opened (filled or not), in forward order.
/// </summary>
/// <example><code>
/// var slots = new ActivationSlots(ActivationPlacement.ConvOutput, factory);
/// Module? q = slots.Under("layer1").Under("0").At(ActivationPlacement.ConvOutput, "act1", 64); // slot "layer1.0.act1"
/// </code></example>
public sealed class ActivationSlots
{
    private readonly Func<ActivationSlot, Module?>? _factory;
    private readonly string _prefix;
    private readonly List<ActivationSlot> _offered;

    /// <summary>Starts the slots of a model.</summary>
    /// <param name="placement">The model family's rule.</param>
    /// <param name="factory">Makes the quantizer of a slot (null result or null factory: the slot stays empty, no cost, no keys).</param>
    /// <example><code>var slots = new ActivationSlots(ActivationPlacement.AfterRelu, slot => null);</code></example>
    public ActivationSlots(ActivationPlacement placement, Func<ActivationSlot, Module?>? factory)
        : this(placement, factory, "", new List<ActivationSlot>()) { }

    private ActivationSlots(ActivationPlacement placement, Func<ActivationSlot, Module?>? factory, string prefix, List<ActivationSlot> offered)
    {
        Placement = placement;
        _factory = factory;
        _prefix = prefix;
        _offered = offered;
    }

    /// <summary>The rule in force.</summary>
    public ActivationPlacement Placement { get; }

    /// <summary>Every slot opened so far, in forward order (shared by all scopes of one model).</summary>
    public IReadOnlyList<ActivationSlot> Offered => _offered;

    /// <summary>The same slots scoped to the child module <paramref name="child"/> (names get the prefix "child.").</summary>
    /// <example><code>var inBlock = slots.Under("layer1").Under("0");</code></example>
    public ActivationSlots Under(string child) => new(Placement, _factory, _prefix.Length == 0 ? child : _prefix + "." + child, _offered);

    /// <summary>
    /// The quantizer for the point <paramref name="point"/> of a layer: when the placement is that point, opens the
    /// slot "prefix.<paramref name="name"/>" seeing <paramref name="channels"/> channels and returns what the factory
    /// makes for it (the caller registers it under <paramref name="name"/>); null otherwise.
    /// </summary>
    /// <example><code>_act1 = Slot(slots.At(ActivationPlacement.ConvOutput, "act1", planes), "act1");</code></example>
    public Module? At(ActivationPlacement point, string name, int channels)
    {
        if (point != Placement) return null;
        var slot = new ActivationSlot(_prefix.Length == 0 ? name : _prefix + "." + name, channels, Placement);
        _offered.Add(slot);
        return _factory?.Invoke(slot);
    }

    /// <summary>x through the slot's quantizer, or x itself when the slot is empty.</summary>
    /// <example><code>h = ActivationSlots.Apply(_act1, h);</code></example>
    public static Variable Apply(Module? slot, Variable x) => slot is null ? x : slot.Forward(x);
}
