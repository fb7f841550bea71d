using System.Globalization;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>
/// How a model is quantized: weight bits (32 = float), activation bits (32 = none), weight method,
/// λ mode and granularity. Recorded in a checkpoint's metadata (Extra) so eval can rebuild the model.
/// </summary>
internal sealed record QuantSpec(int WBits = 32, int ABits = 32, QuantMethod Method = QuantMethod.VecQ,
    LambdaMode Lambda = LambdaMode.Gaussian, Granularity Granularity = Granularity.PerTensor)
{
    /// <summary>The float model.</summary>
    public static readonly QuantSpec Float = new();

    /// <summary>The quantizer's name in JSON ("none" for float weights).</summary>
    public string QuantizerName => WBits < 32 ? Method.Name() : "none";

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

    /// <summary>The metadata entries (merged into a checkpoint's Extra).</summary>
    public void WriteTo(IDictionary<string, string> extra)
    {
        extra["wbits"] = WBits.ToString(CultureInfo.InvariantCulture);
        extra["abits"] = ABits.ToString(CultureInfo.InvariantCulture);
        extra["quantizer"] = Method.Name();
        extra["lambda"] = Lambda == LambdaMode.Exact ? "exact" : "gaussian";
        extra["granularity"] = Granularity == Granularity.PerChannel ? "channel" : "tensor";
    }

    /// <summary>Reads the entries written by <see cref="WriteTo"/> (absent: float).</summary>
    public static QuantSpec FromExtra(IReadOnlyDictionary<string, string> extra, string source)
    {
        int Int(string key)
        {
            if (!extra.TryGetValue(key, out var s)) return 32;
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && (v == 32 || v is >= 1 and <= 16)
                ? v : throw new InvalidDataException($"{source}: invalid '{key}' in checkpoint metadata: '{s}'");
        }
        try
        {
            return new QuantSpec(Int("wbits"), Int("abits"),
                extra.TryGetValue("quantizer", out var q) ? QuantMethods.Parse(q) : QuantMethod.VecQ,
                extra.TryGetValue("lambda", out var l) ? ParseLambda(l) : LambdaMode.Gaussian,
                extra.TryGetValue("granularity", out var g) ? ParseGranularity(g) : Granularity.PerTensor);
        }
        catch (Exception e) when (e is OptionException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: invalid quantization metadata: {e.Message}");
        }
    }

    /// <summary>Builds the model (activation quantizers when ABits &lt; 32) and attaches weight quantizers (WBits &lt; 32).</summary>
    public Module Build(ModelFactory.ModelConfig config, Rng rng)
    {
        var model = ModelFactory.Build(config, rng, ABits);
        AttachWeights(model);
        return model;
    }

    /// <summary>Attaches the weight quantizers to <paramref name="model"/> when WBits &lt; 32.</summary>
    public void AttachWeights(Module model)
    {
        if (WBits < 32)
            model.Quantize(new QuantizeConfig { WeightBits = WBits, Method = Method, LambdaMode = Lambda, Granularity = Granularity });
    }

    /// <summary>The packed size of <paramref name="model"/> as it is quantized (float bytes when not).</summary>
    public static long QuantizedBytes(Module model) => PackedModel.Measure(model).PackedBytes;
}

/// <summary>Loading a checkpoint written by `vecq train` into the model it describes.</summary>
internal static class CheckpointModel
{
    /// <summary>
    /// Loads <paramref name="path"/>, rebuilds its model (with the activation quantizers its metadata records)
    /// and its weights; with <paramref name="attachWeights"/> also the weight quantizers.
    /// </summary>
    public static (Module Model, ModelFactory.ModelConfig Config, CheckpointMetadata Meta, QuantSpec Spec) Load(string path, bool attachWeights)
    {
        if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
        using var loaded = Checkpoint.Load(path);
        var meta = loaded.Metadata;
        if (string.IsNullOrEmpty(meta.Config)) throw new InvalidDataException($"{path}: checkpoint has no model config (was it written by vecq train?)");
        var config = ModelFactory.ModelConfig.FromJson(meta.Config, path);
        var spec = QuantSpec.FromExtra(meta.Extra, path);
        var model = ModelFactory.Build(config, new Rng(0), spec.ABits);
        model.LoadStateDict(loaded.Tensors);
        if (attachWeights) spec.AttachWeights(model);
        return (model, config, meta, spec);
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
