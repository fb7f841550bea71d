using VecQ.Nn;

namespace VecQ.Quant;

/// <summary>
/// What <see cref="ModelQuantization.Quantize"/> attaches: the weight method and bit width, the λ mode
/// and granularity of VecQ, optional bit widths for the first and last layer (or
/// <see cref="KeepFloat"/> to leave them in float), and whether biases are quantized too.
/// </summary>
/// <example><code>
/// var cfg = new QuantizeConfig { WeightBits = 2, Method = QuantMethod.VecQ, FirstLayerBits = 8, LastLayerBits = 8 };
/// var attached = model.Quantize(cfg);
/// </code></example>
public sealed record QuantizeConfig
{
    /// <summary>Override value meaning "leave this layer in float" (32).</summary>
    public const int KeepFloat = 32;

    /// <summary>Weight bit width k (default 4).</summary>
    public int WeightBits { get; init; } = 4;

    /// <summary>The method (default VecQ).</summary>
    public QuantMethod Method { get; init; } = QuantMethod.VecQ;

    /// <summary>λ mode of VecQ (ignored by the other methods).</summary>
    public LambdaMode LambdaMode { get; init; } = LambdaMode.Gaussian;

    /// <summary>Per tensor (default) or per output channel.</summary>
    public Granularity Granularity { get; init; } = Granularity.PerTensor;

    /// <summary>Bits of the first layer (null: <see cref="WeightBits"/>; <see cref="KeepFloat"/>: not quantized).</summary>
    public int? FirstLayerBits { get; init; }

    /// <summary>Bits of the last layer (null: <see cref="WeightBits"/>; <see cref="KeepFloat"/>: not quantized).</summary>
    public int? LastLayerBits { get; init; }

    /// <summary>Also quantize the biases of quantized layers (per tensor, same method and bits as the layer's weight).</summary>
    public bool QuantizeBiases { get; init; }

    /// <summary>VecQ exact mode: training forwards between λ searches (see <see cref="VecQQuantizer.ExactEvery"/>).</summary>
    public int ExactEvery { get; init; } = 100;

    /// <summary>Throws when the configuration cannot be applied.</summary>
    /// <exception cref="ArgumentException">Bits outside 1..16 (0, 17 …), a method that cannot use the bit width
    /// (TWN needs 2, binary 1), an override that is neither 1..16 nor 32, or ExactEvery &lt; 1; the message names the value.</exception>
    /// <example><code>new QuantizeConfig { WeightBits = 17 }.Validate(); // ArgumentException: "... bits 17 ..."</code></example>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentException($"quantize config: unknown method {(int)Method}");
        if (!Enum.IsDefined(LambdaMode)) throw new ArgumentException($"quantize config: unknown lambda mode {(int)LambdaMode}");
        if (!Enum.IsDefined(Granularity)) throw new ArgumentException($"quantize config: unknown granularity {(int)Granularity}");
        Method.CheckBits(WeightBits, "quantize config (weight bits)");
        CheckOverride(FirstLayerBits, "first layer bits");
        CheckOverride(LastLayerBits, "last layer bits");
        if (ExactEvery < 1) throw new ArgumentException($"quantize config: ExactEvery {ExactEvery} must be >= 1");
    }

    private void CheckOverride(int? bits, string what)
    {
        if (bits is not int b || b == KeepFloat) return;
        Method.CheckBits(b, $"quantize config ({what})");
    }

    /// <summary>Creates the quantizer for one weight with <paramref name="bits"/>.</summary>
    /// <example><code>WeightQuantizer q = cfg.CreateQuantizer(cfg.WeightBits);</code></example>
    public WeightQuantizer CreateQuantizer(int bits, Granularity? granularity = null)
    {
        var q = WeightQuantizer.Create(Method, bits, LambdaMode, granularity ?? Granularity);
        if (q is VecQQuantizer v) v.ExactEvery = ExactEvery;
        return q;
    }
}

/// <summary>Attaching, listing and removing weight quantizers on a model.</summary>
/// <example><code>
/// var attached = model.Quantize(new QuantizeConfig { WeightBits = 4 });
/// foreach (var (name, q) in attached) Console.WriteLine($"{name}: {q.Bits} bits");
/// model.RemoveQuantizers();
/// </code></example>
public static class ModelQuantization
{
    /// <summary>
    /// True for the parameters that get weight quantizers: the last path component starts with
    /// "weight" ("conv1.weight", LSTM "weight_ih_l0") and the tensor has rank ≥ 2 (conv, linear,
    /// embedding, LSTM; not batch-norm γ).
    /// </summary>
    /// <example><code>bool q = ModelQuantization.IsQuantizableWeight("fc1.weight", p); // true for a [512, 3136] weight</code></example>
    public static bool IsQuantizableWeight(string name, Parameter p)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(p);
        return LastComponent(name).StartsWith("weight", StringComparison.Ordinal) && p.Shape.Length >= 2;
    }

    /// <summary>
    /// Attaches a weight quantizer (a new instance per parameter, replacing any transform there) to
    /// every quantizable weight (<see cref="IsQuantizableWeight"/>), in registration order. A layer is a
    /// module owning quantizable weights; the first layer (owner of the first quantizable weight) uses
    /// <see cref="QuantizeConfig.FirstLayerBits"/>, the last layer <see cref="QuantizeConfig.LastLayerBits"/>
    /// (last wins for a single-layer model); 32 leaves that layer in float. With
    /// <see cref="QuantizeConfig.QuantizeBiases"/>, parameters whose name starts with "bias" in a
    /// quantized layer get a per-tensor quantizer with the layer's bits.
    /// </summary>
    /// <returns>The attached (parameter name, quantizer) pairs in registration order.</returns>
    /// <exception cref="ArgumentException">An invalid configuration (see <see cref="QuantizeConfig.Validate"/>).</exception>
    /// <example><code>var attached = model.Quantize(new QuantizeConfig { WeightBits = 2, LastLayerBits = 8 });</code></example>
    public static IReadOnlyList<(string Name, WeightQuantizer Quantizer)> Quantize(this Module model, QuantizeConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var all = model.NamedParameters().ToList();
        var weights = all.Where(e => IsQuantizableWeight(e.Name, e.Parameter)).ToList();
        var attached = new List<(string, WeightQuantizer)>();
        if (weights.Count == 0) return attached;
        string firstLayer = Owner(weights[0].Name), lastLayer = Owner(weights[^1].Name);
        var layerBits = new Dictionary<string, int>();
        foreach (var (name, _) in weights)
        {
            string owner = Owner(name);
            if (layerBits.ContainsKey(owner)) continue;
            int bits = config.WeightBits;
            if (owner == firstLayer && config.FirstLayerBits is int f) bits = f;
            if (owner == lastLayer && config.LastLayerBits is int l) bits = l;
            layerBits[owner] = bits;
        }
        foreach (var (name, p) in all)
        {
            string owner = Owner(name);
            if (!layerBits.TryGetValue(owner, out int bits) || bits == QuantizeConfig.KeepFloat) continue;
            if (IsQuantizableWeight(name, p))
            {
                var q = config.CreateQuantizer(bits);
                p.Transform = q;
                attached.Add((name, q));
            }
            else if (config.QuantizeBiases && LastComponent(name).StartsWith("bias", StringComparison.Ordinal))
            {
                var q = config.CreateQuantizer(bits, Granularity.PerTensor);
                p.Transform = q;
                attached.Add((name, q));
            }
        }
        return attached;
    }

    /// <summary>The parameters that carry a <see cref="WeightQuantizer"/> transform, in registration order.</summary>
    /// <example><code>foreach (var (name, q) in model.WeightQuantizers()) Console.WriteLine($"{name} {q.NormalizedDql}");</code></example>
    public static IReadOnlyList<(string Name, WeightQuantizer Quantizer)> WeightQuantizers(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.NamedParameters()
            .Where(e => e.Parameter.Transform is WeightQuantizer)
            .Select(e => (e.Name, (WeightQuantizer)e.Parameter.Transform!))
            .ToList();
    }

    /// <summary>Detaches every <see cref="WeightQuantizer"/> (the float weights are used again); returns how many.</summary>
    /// <example><code>int n = model.RemoveQuantizers();</code></example>
    public static int RemoveQuantizers(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int n = 0;
        foreach (var (_, p) in model.NamedParameters())
        {
            if (p.Transform is WeightQuantizer q)
            {
                p.Transform = null;
                q.Dispose();
                n++;
            }
        }
        return n;
    }

    private static string LastComponent(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? name : name[(dot + 1)..];
    }

    private static string Owner(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? "" : name[..dot];
    }
}
