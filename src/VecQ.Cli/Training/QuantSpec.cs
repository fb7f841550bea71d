using System.Globalization;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>How activation quantizers are built (`--act-quant`).</summary>
internal enum ActQuantMode
{
    /// <summary>λ searched on the batch every 100 training steps, one step and scale per channel (the default).</summary>
    Searched,
    /// <summary>The letter's method: Gaussian λ_k, one step and scale per tensor, EMA momentum 0.9.</summary>
    Paper,
}

/// <summary>
/// How a model is quantized: weight bits (32 = float), activation bits (32 = none), weight method,
/// λ mode and granularity, the first and last layer's bits, whether biases are quantized, and how the
/// activation quantizers are built. Recorded in a checkpoint's metadata (Extra) so eval can rebuild the model.
/// </summary>
internal sealed record QuantSpec(int WBits = 32, int ABits = 32, QuantMethod Method = QuantMethod.VecQ,
    LambdaMode Lambda = LambdaMode.Gaussian, Granularity Granularity = Granularity.PerTensor)
{
    /// <summary>The float model.</summary>
    public static readonly QuantSpec Float = new();

    /// <summary>Bits of the first layer (null: WBits; 32: left in float).</summary>
    public int? FirstLayerBits { get; init; }

    /// <summary>Bits of the last layer (null: WBits; 32: left in float).</summary>
    public int? LastLayerBits { get; init; }

    /// <summary>Also quantize the biases of quantized layers.</summary>
    public bool QuantizeBiases { get; init; }

    /// <summary>How the activation quantizers are built (when ABits &lt; 32).</summary>
    public ActQuantMode ActQuant { get; init; } = ActQuantMode.Searched;

    /// <summary>The quantizer's name in JSON ("none" for float weights).</summary>
    public string QuantizerName => WBits < 32 ? Method.Name() : "none";

    /// <summary>The --act-quant name ("paper" or "searched").</summary>
    public string ActQuantName => ActQuant == ActQuantMode.Paper ? "paper" : "searched";

    /// <summary>Parses and validates the command-line values; errors throw <see cref="OptionException"/>.</summary>
    public static QuantSpec Parse(int wbits, int abits, string quantizer, string lambda, string granularity)
    {
        if (wbits != 32 && (wbits < 1 || wbits > 16)) throw new OptionException($"--wbits {wbits}: expected 1..16 or 32 (float)");
        if (abits != 32 && (abits < 1 || abits > 16)) throw new OptionException($"--abits {abits}: expected 1..16 or 32 (float)");
        var method = ParseMethod("--quantizer", quantizer);
        if (wbits < 32 && method.FixedBits() is int fb && fb != wbits)
            throw new OptionException($"--quantizer {method.Name()} supports only --wbits {fb}, got --wbits {wbits}");
        return new QuantSpec(wbits, abits, method, ParseLambda(lambda), ParseGranularity(granularity));
    }

    /// <summary>
    /// This spec with the layer options (--first-layer-bits, --last-layer-bits, --quantize-biases) and
    /// --act-quant (null: not given, the default searched), validated against it (<see cref="Validate"/>).
    /// </summary>
    public QuantSpec WithOptions(int? firstLayerBits, int? lastLayerBits, bool quantizeBiases, string? actQuant)
    {
        if (actQuant is not null && ABits == 32)
            throw new OptionException($"--act-quant {actQuant}: activations are float (--abits 32); it needs --abits 1..16");
        var spec = this with
        {
            FirstLayerBits = firstLayerBits, LastLayerBits = lastLayerBits, QuantizeBiases = quantizeBiases,
            ActQuant = actQuant is null ? ActQuantMode.Searched : ParseActQuant(actQuant),
        };
        spec.Validate();
        return spec;
    }

    /// <summary>Throws <see cref="OptionException"/> (naming the option) when the layer options do not fit the rest.</summary>
    public void Validate()
    {
        CheckLayerBits("--first-layer-bits", FirstLayerBits);
        CheckLayerBits("--last-layer-bits", LastLayerBits);
        if (QuantizeBiases && WBits == 32)
            throw new OptionException("--quantize-biases: the weights are float (--wbits 32); it needs --wbits 1..16");
    }

    private void CheckLayerBits(string option, int? bits)
    {
        if (bits is not int b) return;
        if (b != 32 && (b < 1 || b > 16)) throw new OptionException($"{option} {b}: expected 1..16, or 32 to leave the layer in float");
        if (WBits == 32) throw new OptionException($"{option} {b}: the weights are float (--wbits 32); it needs --wbits 1..16");
        if (b != 32 && Method.FixedBits() is int fb && fb != b)
            throw new OptionException($"{option} {b}: --quantizer {Method.Name()} supports only {fb} bit{(fb == 1 ? "" : "s")} (32 leaves the layer in float)");
    }

    /// <summary>A method name, or an <see cref="OptionException"/> naming <paramref name="option"/>.</summary>
    public static QuantMethod ParseMethod(string option, string name)
    {
        if (!QuantMethods.Names.Contains(name.Trim().ToLowerInvariant()))
            throw new OptionException($"{option} '{name}': expected one of {string.Join(", ", QuantMethods.Names)}");
        return QuantMethods.Parse(name);
    }

    /// <summary>gaussian or exact.</summary>
    public static LambdaMode ParseLambda(string name) => name switch
    {
        "gaussian" => LambdaMode.Gaussian,
        "exact" => LambdaMode.Exact,
        _ => throw new OptionException($"--lambda '{name}': expected gaussian or exact"),
    };

    /// <summary>tensor or channel.</summary>
    public static Granularity ParseGranularity(string name) => name switch
    {
        "tensor" => Granularity.PerTensor,
        "channel" => Granularity.PerChannel,
        _ => throw new OptionException($"--granularity '{name}': expected tensor or channel"),
    };

    /// <summary>paper or searched.</summary>
    public static ActQuantMode ParseActQuant(string name) => name switch
    {
        "paper" => ActQuantMode.Paper,
        "searched" => ActQuantMode.Searched,
        _ => throw new OptionException($"--act-quant '{name}': expected paper (Gaussian λ_k, one step per tensor) or searched (λ searched on the batch, per channel)"),
    };

    /// <summary>The metadata entries (merged into a checkpoint's Extra; first/last layer bits only when set).</summary>
    public void WriteTo(IDictionary<string, string> extra)
    {
        extra["wbits"] = WBits.ToString(CultureInfo.InvariantCulture);
        extra["abits"] = ABits.ToString(CultureInfo.InvariantCulture);
        extra["quantizer"] = Method.Name();
        extra["lambda"] = Lambda == LambdaMode.Exact ? "exact" : "gaussian";
        extra["granularity"] = Granularity == Granularity.PerChannel ? "channel" : "tensor";
        extra.Remove("first_layer_bits");
        extra.Remove("last_layer_bits");
        if (FirstLayerBits is int f) extra["first_layer_bits"] = f.ToString(CultureInfo.InvariantCulture);
        if (LastLayerBits is int l) extra["last_layer_bits"] = l.ToString(CultureInfo.InvariantCulture);
        extra["quantize_biases"] = QuantizeBiases ? "true" : "false";
        extra["act_quant"] = ActQuantName;
    }

    /// <summary>
    /// Reads the entries written by <see cref="WriteTo"/> (absent: float; files from before the layer options
    /// and --act-quant read as every layer at WBits, biases float, searched activation quantizers).
    /// </summary>
    public static QuantSpec FromExtra(IReadOnlyDictionary<string, string> extra, string source)
    {
        int Int(string key)
        {
            if (!extra.TryGetValue(key, out var s)) return 32;
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && (v == 32 || v is >= 1 and <= 16)
                ? v : throw new InvalidDataException($"{source}: invalid '{key}' in checkpoint metadata: '{s}'");
        }
        int? Optional(string key) => extra.ContainsKey(key) ? Int(key) : null;
        bool Bool(string key) => !extra.TryGetValue(key, out var s) ? false : s switch
        {
            "true" => true,
            "false" => false,
            _ => throw new InvalidDataException($"{source}: invalid '{key}' in checkpoint metadata: '{s}' (expected true or false)"),
        };
        try
        {
            var spec = new QuantSpec(Int("wbits"), Int("abits"),
                extra.TryGetValue("quantizer", out var q) ? QuantMethods.Parse(q) : QuantMethod.VecQ,
                extra.TryGetValue("lambda", out var l) ? ParseLambda(l) : LambdaMode.Gaussian,
                extra.TryGetValue("granularity", out var g) ? ParseGranularity(g) : Granularity.PerTensor)
            {
                FirstLayerBits = Optional("first_layer_bits"),
                LastLayerBits = Optional("last_layer_bits"),
                QuantizeBiases = Bool("quantize_biases"),
                ActQuant = extra.TryGetValue("act_quant", out var a) ? ParseActQuant(a) : ActQuantMode.Searched,
            };
            spec.Validate();
            return spec;
        }
        catch (Exception e) when (e is OptionException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: invalid quantization metadata: {e.Message}");
        }
    }

    /// <summary>Builds the model (activation quantizers when ABits &lt; 32) and attaches weight quantizers (WBits &lt; 32).</summary>
    public Module Build(ModelFactory.ModelConfig config, Rng rng)
    {
        var model = ModelFactory.Build(config, rng, ABits, ActQuant);
        AttachWeights(model);
        return model;
    }

    /// <summary>The weight-quantizer configuration (null for float weights).</summary>
    public QuantizeConfig? WeightConfig => WBits < 32
        ? new QuantizeConfig
        {
            WeightBits = WBits, Method = Method, LambdaMode = Lambda, Granularity = Granularity,
            FirstLayerBits = FirstLayerBits, LastLayerBits = LastLayerBits, QuantizeBiases = QuantizeBiases,
        }
        : null;

    /// <summary>Attaches the weight quantizers to <paramref name="model"/> when WBits &lt; 32.</summary>
    public void AttachWeights(Module model)
    {
        if (WeightConfig is { } config) model.Quantize(config);
    }

    /// <summary>The JSON keys describing the layer options and activation quantizers (train/eval/quantize --json).</summary>
    public void WriteJson(IDictionary<string, object?> fields)
    {
        fields["first_layer_bits"] = FirstLayerBits;
        fields["last_layer_bits"] = LastLayerBits;
        fields["quantize_biases"] = QuantizeBiases;
        fields["act_quant"] = ABits < 32 ? ActQuantName : null;
        fields["granularity"] = WBits < 32 ? (Granularity == Granularity.PerChannel ? "channel" : "tensor") : null;
        fields["lambda"] = WBits < 32 ? (Lambda == LambdaMode.Exact ? "exact" : "gaussian") : null;
    }

    /// <summary>The packed size of <paramref name="model"/> as it is quantized (float bytes when not).</summary>
    public static long QuantizedBytes(Module model) => PackedModel.Measure(model).PackedBytes;
}

/// <summary>Loading a checkpoint written by `vecq train` into the model it describes.</summary>
internal static class CheckpointModel
{
    /// <summary>
    /// Loads <paramref name="path"/>, rebuilds its model (with the activation quantizers its metadata records)
    /// and its weights; with <paramref name="attachWeights"/> also the weight quantizers. Packed exports are
    /// refused with a clear error (their weights are already quantized; only <see cref="LoadForEval"/> reads them).
    /// </summary>
    public static (Module Model, ModelFactory.ModelConfig Config, CheckpointMetadata Meta, QuantSpec Spec) Load(string path, bool attachWeights)
    {
        if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
        using var loaded = Checkpoint.Load(path);
        if (IsPacked(loaded.Metadata))
            throw new InvalidDataException($"{path}: a packed export (vecq export) holds quantized weights; this command needs the checkpoint it was exported from (vecq eval reads both)");
        var meta = loaded.Metadata;
        if (string.IsNullOrEmpty(meta.Config)) throw new InvalidDataException($"{path}: checkpoint has no model config (was it written by vecq train?)");
        var config = ModelFactory.ModelConfig.FromJson(meta.Config, path);
        var spec = QuantSpec.FromExtra(meta.Extra, path);
        var model = ModelFactory.Build(config, new Rng(0), spec.ABits, spec.ActQuant);
        LoadState(path, () => model.LoadStateDict(loaded.Tensors));
        if (attachWeights) spec.AttachWeights(model);
        return (model, config, meta, spec);
    }

    /// <summary>
    /// The model a checkpoint or a packed export (PACKED_FORMAT.md) describes, ready to evaluate. A checkpoint gets
    /// its weight quantizers attached (its weights are float); a packed file's weights are the dequantized codes
    /// (codes·α + shift, bit for bit what the quantizers computed), so no weight quantizer is attached and
    /// <c>PackedBytes</c> is the packed size of the file's data.
    /// </summary>
    public static (Module Model, ModelFactory.ModelConfig Config, CheckpointMetadata Meta, QuantSpec Spec, long? PackedBytes) LoadForEval(string path)
    {
        if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
        bool packed;
        using (var probe = Checkpoint.Load(path)) packed = IsPacked(probe.Metadata);
        if (!packed)
        {
            var (m, c, meta, spec) = Load(path, attachWeights: true);
            return (m, c, meta, spec, null);
        }
        using var file = PackedModel.Load(path);
        var md = file.Metadata;
        if (!md.TryGetValue("config", out var configJson) || string.IsNullOrEmpty(configJson))
            throw new InvalidDataException($"{path}: packed file has no 'config' metadata, so the model cannot be rebuilt (files written by vecq export carry it; "
                + "a file from PackedModel.Export without metadata loads with PackedModel.Load(path).LoadInto(model) into a model you build)");
        var config = ModelFactory.ModelConfig.FromJson(configJson, path);
        var q = QuantSpec.FromExtra(md, path);
        var model = ModelFactory.Build(config, new Rng(0), q.ABits, q.ActQuant);
        LoadState(path, () => file.LoadInto(model));
        int epoch = md.TryGetValue("epoch", out var e) && int.TryParse(e, System.Globalization.NumberStyles.Integer, CultureInfo.InvariantCulture, out int ep) ? ep : 0;
        var extra = md.Where(kv => kv.Key is not ("model" or "config" or "epoch")).ToDictionary(kv => kv.Key, kv => kv.Value);
        var info = new CheckpointMetadata { Model = md.GetValueOrDefault("model", config.Model), Config = configJson, Epoch = epoch, Extra = extra };
        return (model, config, info, q, file.Size.PackedBytes);
    }

    private static bool IsPacked(CheckpointMetadata meta) =>
        meta.Extra.TryGetValue("vecq.format", out var f) && f == PackedModel.FormatName;

    private static void LoadState(string path, Action load)
    {
        try { load(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
    }

    /// <summary>Parses a bit list: "2,3,4", a range "2-8", or a mix ("1,4-6"); each within lo..hi.</summary>
    public static int[] ParseBits(string option, string text, int lo, int hi)
    {
        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new OptionException($"{option} '{text}': '{part}' is not a bit width or range (expected e.g. 2,3,4 or 2-8)");
            int a = int.Parse(ends[0], CultureInfo.InvariantCulture), b = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (a > b) throw new OptionException($"{option} '{text}': range '{part}' is empty");
            for (int k = a; k <= b; k++)
            {
                if (k < lo || k > hi) throw new OptionException($"{option} '{text}': bits {k} is out of range {lo}..{hi}");
                if (!result.Contains(k)) result.Add(k);
            }
        }
        if (result.Count == 0) throw new OptionException($"{option} '{text}': expected at least one bit width");
        return [.. result];
    }
}
