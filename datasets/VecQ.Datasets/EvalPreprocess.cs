using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VecQ.Datasets;

/// <summary>
/// How evaluation images are prepared for a model: resize the shorter side to <see cref="ResizeShorter"/> (bilinear,
/// antialiased; skipped when it already has that size), crop the centred <see cref="CropSize"/>×<see cref="CropSize"/>
/// box, turn it into <see cref="Channels"/> (RGB planes or one grey plane), then (x/255 − mean[c]) / std[c].
/// Stored with a checkpoint (as <see cref="ToJson"/>) so that eval and predict apply exactly what training's evaluation
/// did. <see cref="PreprocessFile"/> applies it to one PNG/JPEG file; its floats equal a <see cref="DataLoader"/>'s for
/// the same image from <see cref="ImageFolderDataset"/> in evaluation mode (or from an in-memory dataset whose images
/// are CropSize×CropSize).
/// </summary>
/// <example><code>
/// var pre = new EvalPreprocess { ResizeShorter = 256, CropSize = 224 };          // ImageNet's defaults
/// string json = pre.ToJson();  // {"resize":256,"crop":224,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"channels":"RGB","interpolation":"bilinear"}
/// float[] x = EvalPreprocess.FromJson(json).PreprocessFile("cat.jpg");          // [3, 224, 224]
/// </code></example>
public sealed record EvalPreprocess
{
    /// <summary>ImageNet's per-channel mean (R, G, B) of x/255.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];
    /// <summary>ImageNet's per-channel standard deviation (R, G, B) of x/255.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>The only interpolation used (ImageSharp's triangle filter, antialiased when shrinking), written "bilinear".</summary>
    public const string Interpolation = "bilinear";

    private static readonly Lazy<ImageFileReader> DefaultReader = new(() => new ImageFileReader(new ImageLimits()));

    /// <summary>The shorter side after resizing (default 256).</summary>
    public int ResizeShorter { get; init; } = 256;
    /// <summary>The side of the centred square crop (default 224); at most <see cref="ResizeShorter"/>.</summary>
    public int CropSize { get; init; } = 224;
    /// <summary>Per-channel mean of x/255 (one value per channel, or one for all; default ImageNet's).</summary>
    public float[] Mean { get; init; } = [.. ImageNetMean];
    /// <summary>Per-channel standard deviation of x/255 (default ImageNet's).</summary>
    public float[] Std { get; init; } = [.. ImageNetStd];
    /// <summary>RGB (three planes, the default) or grey (one plane).</summary>
    public PixelOrder Channels { get; init; } = PixelOrder.Rgb;

    /// <summary>Number of channels of the output: 3 for RGB, 1 for grey.</summary>
    public int ChannelCount => Channels == PixelOrder.Rgb ? 3 : 1;
    /// <summary>The output shape [C, CropSize, CropSize].</summary>
    public int[] OutputShape => [ChannelCount, CropSize, CropSize];

    /// <summary>Throws <see cref="ArgumentException"/> when a field is out of range (called by every use).</summary>
    public void Validate()
    {
        if (CropSize < 1) throw new ArgumentException($"eval preprocess: crop {CropSize} must be at least 1");
        if (ResizeShorter < CropSize) throw new ArgumentException($"eval preprocess: resize {ResizeShorter} is smaller than the crop {CropSize}");
        if (Mean is null || Std is null) throw new ArgumentException("eval preprocess: mean and std are required");
        foreach (var (what, v) in new[] { ("mean", Mean), ("std", Std) })
            if (v.Length != 1 && v.Length != ChannelCount)
                throw new ArgumentException($"eval preprocess: {v.Length} {what} values for {ChannelCount} channel(s) (give 1 or {ChannelCount})");
        for (int c = 0; c < ChannelCount; c++)
        {
            float m = Mean[Math.Min(c, Mean.Length - 1)], s = Std[Math.Min(c, Std.Length - 1)];
            if (!float.IsFinite(m) || !float.IsFinite(s) || !(s > 0))
                throw new ArgumentException($"eval preprocess: channel {c} has mean {m} and std {s}; std must be positive and both finite");
        }
    }

    /// <summary>
    /// Reads one image file (PNG, JPEG, … through ImageSharp, under <paramref name="limits"/>) and returns the model's input,
    /// float32 [C, CropSize, CropSize] in CHW order. Errors name the file (<see cref="DatasetException"/>).
    /// </summary>
    public float[] PreprocessFile(string path, ImageLimits? limits = null) => Normalize(LoadPixels(path, limits));

    /// <summary>The 8-bit CHW pixels [C, CropSize, CropSize] of <paramref name="path"/> after resize and crop, before normalisation.</summary>
    public byte[] LoadPixels(string path, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Validate();
        var pixels = new byte[ChannelCount * CropSize * CropSize];
        (limits is null ? DefaultReader.Value : new ImageFileReader(limits)).Eval(path, ResizeShorter, CropSize, Channels, pixels);
        return pixels;
    }

    /// <summary>(x/255 − mean[c]) / std[c] for 8-bit CHW pixels (computed in double, rounded to float once: the same values as <see cref="DataLoader"/>).</summary>
    public float[] Normalize(ReadOnlySpan<byte> chw)
    {
        Validate();
        int plane = CropSize * CropSize;
        if (chw.Length != ChannelCount * plane) throw new ArgumentException($"eval preprocess: {chw.Length} bytes, expected {ChannelCount}×{CropSize}×{CropSize}");
        var result = new float[chw.Length];
        for (int c = 0; c < ChannelCount; c++)
        {
            double m = Mean[Math.Min(c, Mean.Length - 1)], s = Std[Math.Min(c, Std.Length - 1)];
            for (int i = c * plane; i < (c + 1) * plane; i++) result[i] = (float)((chw[i] / 255.0 - m) / s);
        }
        return result;
    }

    /// <summary>One JSON object: {"resize":…,"crop":…,"mean":[…],"std":[…],"channels":"RGB"|"L","interpolation":"bilinear"}; floats round-trip exactly.</summary>
    public string ToJson()
    {
        Validate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("resize", ResizeShorter);
            w.WriteNumber("crop", CropSize);
            w.WriteStartArray("mean");
            foreach (var v in Mean) w.WriteNumberValue(v);
            w.WriteEndArray();
            w.WriteStartArray("std");
            foreach (var v in Std) w.WriteNumberValue(v);
            w.WriteEndArray();
            w.WriteString("channels", Channels == PixelOrder.Rgb ? "RGB" : "L");
            w.WriteString("interpolation", Interpolation);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The JSON of <see cref="ToJson"/>.</summary>
    public override string ToString() => ToJson();

    /// <summary>
    /// Parses <see cref="ToJson"/>'s form. Every key is required except "interpolation"; an unknown key, a wrong type or an
    /// out-of-range value is a <see cref="FormatException"/> saying which (nothing is silently ignored, so what eval applies
    /// is what training wrote).
    /// </summary>
    public static EvalPreprocess FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"eval preprocess: not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"eval preprocess: expected a JSON object, got {root.ValueKind}");
            int? resize = null, crop = null;
            float[]? mean = null, std = null;
            PixelOrder? channels = null;
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "resize": resize = Int(p); break;
                    case "crop": crop = Int(p); break;
                    case "mean": mean = Floats(p); break;
                    case "std": std = Floats(p); break;
                    case "channels":
                        channels = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() switch
                        {
                            "RGB" => PixelOrder.Rgb,
                            "L" => PixelOrder.Grey,
                            var s => throw new FormatException($"eval preprocess: channels \"{s}\" is not \"RGB\" or \"L\""),
                        } : throw new FormatException($"eval preprocess: channels must be a string (\"RGB\" or \"L\"), got {p.Value.ValueKind}");
                        break;
                    case "interpolation":
                        if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() != Interpolation)
                            throw new FormatException($"eval preprocess: interpolation {p.Value.GetRawText()} is not supported (only \"{Interpolation}\")");
                        break;
                    default: throw new FormatException($"eval preprocess: unknown key \"{p.Name}\" (known: resize, crop, mean, std, channels, interpolation)");
                }
            }
            var missing = new[] { ("resize", resize is null), ("crop", crop is null), ("mean", mean is null), ("std", std is null), ("channels", channels is null) }
                .Where(t => t.Item2).Select(t => t.Item1).ToList();
            if (missing.Count > 0) throw new FormatException($"eval preprocess: missing {string.Join(", ", missing)}");
            var result = new EvalPreprocess { ResizeShorter = resize!.Value, CropSize = crop!.Value, Mean = mean!, Std = std!, Channels = channels!.Value };
            try
            {
                result.Validate();
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message, e);
            }
            return result;
        }

        static int Int(JsonProperty p) => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int v)
            ? v
            : throw new FormatException($"eval preprocess: {p.Name} must be an integer, got {p.Value.GetRawText()}");

        static float[] Floats(JsonProperty p)
        {
            if (p.Value.ValueKind != JsonValueKind.Array) throw new FormatException($"eval preprocess: {p.Name} must be an array of numbers, got {p.Value.GetRawText()}");
            var list = new List<float>();
            foreach (var e in p.Value.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Number || !float.TryParse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out float f))
                    throw new FormatException($"eval preprocess: {p.Name} must be an array of numbers, got {p.Value.GetRawText()}");
                list.Add(f);
            }
            return [.. list];
        }
    }

    /// <summary>Field-by-field equality (the arrays by value).</summary>
    public bool Equals(EvalPreprocess? other) =>
        other is not null && ResizeShorter == other.ResizeShorter && CropSize == other.CropSize && Channels == other.Channels
        && Mean.AsSpan().SequenceEqual(other.Mean) && Std.AsSpan().SequenceEqual(other.Std);

    /// <summary>A hash over every field.</summary>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(ResizeShorter);
        h.Add(CropSize);
        h.Add(Channels);
        foreach (var v in Mean) h.Add(v);
        foreach (var v in Std) h.Add(v);
        return h.ToHashCode();
    }
}
