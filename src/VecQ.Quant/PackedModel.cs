using System.Globalization;
using System.Text;
using System.Text.Json;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>One quantized tensor of a <see cref="PackedModel"/>: its codes and per-group parameters.</summary>
/// <param name="Name">State-dict name ("conv1.weight").</param>
/// <param name="Method">The method that quantized it.</param>
/// <param name="Bits">Bits per code.</param>
/// <param name="Granularity">Per tensor or per channel (axis 0).</param>
/// <param name="Shape">Shape of the weight.</param>
/// <param name="Codes">The codes, row-major.</param>
/// <param name="Groups">α, shift, code offset, λ and σ per group (λ and σ as stored, float32).</param>
/// <example><code>var t = packed.Quantized["fc1.weight"]; int c = t.Codes[0]; float a = t.Groups[0].Alpha;</code></example>
public sealed record PackedTensor(string Name, QuantMethod Method, int Bits, Granularity Granularity, int[] Shape, int[] Codes, IReadOnlyList<QuantGroup> Groups);

/// <summary>Model size as float32 against the packed file.</summary>
/// <param name="FloatBytes">Σ elements × 4 over every stored tensor (the model in float32).</param>
/// <param name="PackedBytes">Bytes of tensor data in the packed file (code words, per-group scalars, float tensors).</param>
/// <param name="FileBytes">Size of the file (header included), 0 when not written.</param>
/// <example><code>var s = PackedModel.Export(model, "m.vecq.safetensors"); Console.WriteLine($"{s.Ratio:F1}x");</code></example>
public sealed record PackedSizeReport(long FloatBytes, long PackedBytes, long FileBytes)
{
    /// <summary>FloatBytes / PackedBytes.</summary>
    public double Ratio => PackedBytes > 0 ? (double)FloatBytes / PackedBytes : 0;
}

/// <summary>
/// Packed export of a quantized model (format in PACKED_FORMAT.md): for every parameter carrying a
/// <see cref="WeightQuantizer"/>, the codes bit-packed at k bits into int32 words
/// (<see cref="PackedCodes"/>) plus α, shift, λ and σ per group; every other parameter and buffer as
/// it is (float32, or int32 for counters). A safetensors file with "__metadata__" describing the
/// quantized tensors. <see cref="Load"/> rebuilds the dequantized float tensors with the same
/// formula and values as the forward pass, so they equal the fake-quantized weights bit for bit.
/// </summary>
/// <example><code>
/// model.Quantize(new QuantizeConfig { WeightBits = 4 });
/// PackedSizeReport size = PackedModel.Export(model, "lenet5-w4.safetensors");
/// using var packed = PackedModel.Load("lenet5-w4.safetensors");
/// fresh.LoadStateDict(packed.Tensors);      // dequantized weights
/// </code></example>
public sealed class PackedModel : IDisposable
{
    /// <summary>Value of the "vecq.format" metadata key.</summary>
    public const string FormatName = "vecq-packed";

    /// <summary>Value of the "vecq.format_version" metadata key.</summary>
    public const int FormatVersion = 2;

    private const string KeyFormat = "vecq.format", KeyVersion = "vecq.format_version", KeyBitOrder = "vecq.bit_order", KeyTensors = "vecq.tensors", KeyChecksum = "vecq.checksum";
    private const string BitOrder = "lsb-first";

    private readonly Dictionary<string, Tensor> _tensors;

    private PackedModel(Dictionary<string, Tensor> tensors, Dictionary<string, PackedTensor> quantized, Dictionary<string, string> metadata, PackedSizeReport size, List<string> order)
    {
        _tensors = tensors;
        Quantized = quantized;
        Metadata = metadata;
        Size = size;
        Order = order;
    }

    /// <summary>Every state tensor by name: quantized weights dequantized, the rest as stored. Owned by this object.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    /// <summary>The quantized tensors by name.</summary>
    public IReadOnlyDictionary<string, PackedTensor> Quantized { get; }

    /// <summary>The caller's metadata (without the format keys).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>State tensor names in file order.</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>Sizes of the loaded file.</summary>
    public PackedSizeReport Size { get; }

    /// <summary>
    /// Writes <paramref name="model"/>'s state (parameters then buffers) to <paramref name="path"/>
    /// atomically: quantized parameters packed (quantized now from the current float weights, exactly as an
    /// evaluation forward would), the rest as they are.
    /// </summary>
    /// <returns>The size report.</returns>
    /// <example><code>var size = PackedModel.Export(model, "out.safetensors", new Dictionary&lt;string, string&gt; { ["model"] = "lenet5" });</code></example>
    public static PackedSizeReport Export(Module model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        var entries = new List<KeyValuePair<string, Tensor>>();
        var owned = new List<Tensor>();
        try
        {
            long floatBytes = 0, packedBytes = 0;
            using var ms = new MemoryStream();
            using (var json = new Utf8JsonWriter(ms))
            {
                json.WriteStartObject();
                var parameters = model.NamedParameters().ToList();
                foreach (var (name, p) in parameters)
                {
                    CheckName(name);
                    floatBytes += 4L * p.Data.Numel;
                    if (p.Transform is WeightQuantizer q)
                    {
                        var r = q.QuantizeTensor(p.Data);
                        var words = PackedCodes.Pack(r.Codes, r.Bits);
                        int g = r.Groups.Count;
                        Add(entries, owned, name + ":codes", Tensor.FromArray(words, [words.Length]));
                        Add(entries, owned, name + ":alpha", Tensor.FromArray(r.Groups.Select(x => x.Alpha).ToArray(), [g]));
                        Add(entries, owned, name + ":shift", Tensor.FromArray(r.Groups.Select(x => x.Shift).ToArray(), [g]));
                        Add(entries, owned, name + ":lambda", Tensor.FromArray(r.Groups.Select(x => (float)x.Lambda).ToArray(), [g]));
                        Add(entries, owned, name + ":sigma", Tensor.FromArray(r.Groups.Select(x => (float)x.Sigma).ToArray(), [g]));
                        packedBytes += 4L * words.Length + 4L * 4 * g;
                        json.WriteStartObject(name);
                        json.WriteString("method", r.Method.Name());
                        json.WriteNumber("bits", r.Bits);
                        json.WriteString("granularity", r.Granularity == Granularity.PerChannel ? "per_channel" : "per_tensor");
                        json.WriteStartArray("shape");
                        foreach (int d in r.Shape) json.WriteNumberValue(d);
                        json.WriteEndArray();
                        json.WriteNumber("count", r.Codes.Length);
                        json.WriteNumber("groups", g);
                        json.WriteNumber("code_offset", r.Groups[0].CodeOffset);
                        json.WriteNumber("words", words.Length);
                        json.WriteEndObject();
                    }
                    else
                    {
                        entries.Add(new(name, p.Data));
                        packedBytes += (long)p.Data.Numel * p.Data.DType.Size();
                    }
                }
                foreach (var (name, b) in model.NamedBuffers())
                {
                    CheckName(name);
                    floatBytes += 4L * b.Value.Numel;
                    entries.Add(new(name, b.Value));
                    packedBytes += (long)b.Value.Numel * b.Value.DType.Size();
                }
                json.WriteEndObject();
            }
            var meta = new Dictionary<string, string>();
            if (metadata != null)
                foreach (var (k, v) in metadata)
                {
                    if (k.StartsWith("vecq.", StringComparison.Ordinal)) throw new ArgumentException($"packed export: metadata key '{k}' is reserved (vecq.*)");
                    meta[k] = v;
                }
            meta[KeyFormat] = FormatName;
            meta[KeyVersion] = FormatVersion.ToString(CultureInfo.InvariantCulture);
            meta[KeyBitOrder] = BitOrder;
            meta[KeyTensors] = Encoding.UTF8.GetString(ms.ToArray());
            meta[KeyChecksum] = Checksum(meta[KeyTensors], entries);
            Safetensors.Save(path, entries, meta);
            return new PackedSizeReport(floatBytes, packedBytes, new FileInfo(path).Length);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    private static void CheckName(string name)
    {
        if (name.Contains(':')) throw new ArgumentException($"packed export: state name '{name}' contains ':', which the format reserves for quantized parts");
    }

    private static void Add(List<KeyValuePair<string, Tensor>> entries, List<Tensor> owned, string name, Tensor t)
    {
        owned.Add(t);
        entries.Add(new(name, t));
    }

    /// <summary>Reads a packed file, unpacks the codes and dequantizes them.</summary>
    /// <exception cref="InvalidDataException">Not a packed VecQ file, or inconsistent contents (the message names the file and tensor).</exception>
    /// <example><code>using var packed = PackedModel.Load("lenet5-w4.safetensors");</code></example>
    public static PackedModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = Safetensors.Load(path);
        var stored = new Dictionary<string, Tensor>(file.Tensors);
        var tensors = new Dictionary<string, Tensor>();
        var quantized = new Dictionary<string, PackedTensor>();
        var order = new List<string>();
        try
        {
            if (!file.Metadata.TryGetValue(KeyFormat, out var format) || format != FormatName)
                throw Bad(path, $"metadata '{KeyFormat}' is missing or not '{FormatName}' (not a packed VecQ model)");
            if (!file.Metadata.TryGetValue(KeyVersion, out var version) || version is not ("1" or "2"))
                throw Bad(path, $"format version '{version}' is not supported (expected {FormatVersion}, or 1)");
            // version 2 carries a checksum of every tensor (names, dtypes, shapes, bytes); version 1 files had none
            if (version == "2")
            {
                if (!file.Metadata.TryGetValue(KeyChecksum, out var sum)) throw Bad(path, $"metadata '{KeyChecksum}' is missing");
                string actual = Checksum(file.Metadata.GetValueOrDefault(KeyTensors, ""), stored);
                if (sum != actual) throw Bad(path, $"the tensor data does not match its checksum ({sum} recorded, {actual} computed): the file was changed or damaged");
            }
            if (!file.Metadata.TryGetValue(KeyBitOrder, out var bitOrder) || bitOrder != BitOrder)
                throw Bad(path, $"bit order '{bitOrder}' is not supported (expected {BitOrder})");
            if (!file.Metadata.TryGetValue(KeyTensors, out var desc)) throw Bad(path, $"metadata '{KeyTensors}' is missing");
            long floatBytes = 0, packedBytes = 0;
            using (var doc = ParseJson(desc, path))
            {
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    var pt = ReadQuantized(path, prop, stored);
                    quantized[pt.Name] = pt;
                    var values = new float[pt.Codes.Length];
                    WeightQuantizer.Dequantize(pt.Codes, pt.Groups, values);
                    tensors[pt.Name] = Tensor.FromArray(values, pt.Shape);
                    floatBytes += 4L * values.Length;
                    packedBytes += 4L * PackedCodes.WordCount(pt.Codes.Length, pt.Bits) + 4L * 4 * pt.Groups.Count;
                }
            }
            foreach (var name in file.Order)
            {
                if (!stored.Remove(name, out var t)) continue;   // consumed by a quantized tensor
                if (name.Contains(':')) { t.Dispose(); throw Bad(path, $"tensor '{name}' belongs to no quantized tensor described in '{KeyTensors}'"); }
                tensors[name] = t;
                floatBytes += 4L * t.Numel;
                packedBytes += (long)t.Numel * t.DType.Size();
            }
            foreach (var name in file.Order)
            {
                int colon = name.IndexOf(':');
                string baseName = colon < 0 ? name : name[..colon];
                if (!order.Contains(baseName)) order.Add(baseName);
            }
            var meta = file.Metadata.Where(kv => !kv.Key.StartsWith("vecq.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
            return new PackedModel(tensors, quantized, meta, new PackedSizeReport(floatBytes, packedBytes, new FileInfo(path).Length), order);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in stored.Values) t.Dispose();
        }
    }

    private static JsonDocument ParseJson(string text, string path)
    {
        try
        {
            var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) { doc.Dispose(); throw Bad(path, $"'{KeyTensors}' is not a JSON object"); }
            return doc;
        }
        catch (JsonException e) { throw Bad(path, $"'{KeyTensors}' is not valid JSON: {e.Message}"); }
    }

    private static PackedTensor ReadQuantized(string path, JsonProperty prop, Dictionary<string, Tensor> stored)
    {
        string name = prop.Name;
        var o = prop.Value;
        if (o.ValueKind != JsonValueKind.Object) throw Bad(path, $"description of '{name}' is not an object");
        QuantMethod method;
        try { method = QuantMethods.Parse(GetString(o, "method", name, path)); }
        catch (ArgumentException e) { throw Bad(path, $"'{name}': {e.Message}"); }
        int bits = GetInt(o, "bits", name, path);
        if (bits < 1 || bits > WeightQuantizer.MaxBits) throw Bad(path, $"'{name}': bits {bits} is out of range 1..{WeightQuantizer.MaxBits}");
        var granularity = GetString(o, "granularity", name, path) switch
        {
            "per_tensor" => Granularity.PerTensor,
            "per_channel" => Granularity.PerChannel,
            var s => throw Bad(path, $"'{name}': granularity '{s}' is not per_tensor or per_channel"),
        };
        if (!o.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array) throw Bad(path, $"'{name}': no shape");
        var shape = new List<int>();
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (!d.TryGetInt32(out int di) || di < 0) throw Bad(path, $"'{name}': invalid dimension {d}");
            shape.Add(di);
        }
        long numel = 1;
        foreach (int d in shape) numel *= d;
        int count = GetInt(o, "count", name, path), groups = GetInt(o, "groups", name, path), words = GetInt(o, "words", name, path);
        if (count != numel) throw Bad(path, $"'{name}': count {count} does not match shape {Shape.Format(shape.ToArray())}");
        if (groups < 1 || count % groups != 0) throw Bad(path, $"'{name}': {groups} groups cannot split {count} codes");
        if (words != PackedCodes.WordCount(count, bits)) throw Bad(path, $"'{name}': {words} words cannot hold {count} codes of {bits} bits");
        if (!o.TryGetProperty("code_offset", out var offEl) || !offEl.TryGetDouble(out double codeOffset) || (codeOffset != 0 && codeOffset != 0.5))
            throw Bad(path, $"'{name}': code_offset must be 0 or 0.5");
        int[] codeWords = Take<int>(path, stored, name + ":codes", words, DType.Int32);
        float[] alpha = Take<float>(path, stored, name + ":alpha", groups, DType.Float32);
        float[] shift = Take<float>(path, stored, name + ":shift", groups, DType.Float32);
        float[] lambda = Take<float>(path, stored, name + ":lambda", groups, DType.Float32);
        float[] sigma = Take<float>(path, stored, name + ":sigma", groups, DType.Float32);
        var codes = new int[count];
        PackedCodes.Unpack(codeWords, bits, codes);
        var grp = new QuantGroup[groups];
        for (int g = 0; g < groups; g++) grp[g] = new QuantGroup(alpha[g], shift[g], (float)codeOffset, lambda[g], sigma[g], 0);
        return new PackedTensor(name, method, bits, granularity, shape.ToArray(), codes, grp);
    }

    private static T[] Take<T>(string path, Dictionary<string, Tensor> stored, string key, int length, DType dtype) where T : unmanaged
    {
        if (!stored.Remove(key, out var t)) throw Bad(path, $"tensor '{key}' is missing");
        using (t)
        {
            if (t.DType != dtype || t.Rank != 1 || t.Numel != length)
                throw Bad(path, $"tensor '{key}' is {t.DType.Name()} {t.ShapeText}; expected {dtype.Name()} [{length}]");
            return t.ToArray<T>();
        }
    }

    private static string GetString(JsonElement o, string key, string name, string path) =>
        o.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad(path, $"'{name}': '{key}' is missing or not a string");

    private static int GetInt(JsonElement o, string key, string name, string path) =>
        o.TryGetProperty(key, out var e) && e.TryGetInt32(out int v) ? v : throw Bad(path, $"'{name}': '{key}' is missing or not an integer");

    /// <summary>
    /// "fnv1a64:" and 16 hex digits: FNV-1a over the packing description (<c>vecq.tensors</c>, UTF-8) and then every
    /// tensor in ordinal name order (its UTF-8 name, dtype name, dimensions as little-endian int32 and its little-endian
    /// bytes), so any changed code word, scale, name, bit width or shape shows.
    /// </summary>
    private static string Checksum(string description, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var h = new Fnv1a();
        h.Add(Encoding.UTF8.GetBytes(description));
        Span<byte> dim = stackalloc byte[4];
        foreach (var (name, t) in tensors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            h.Add(Encoding.UTF8.GetBytes(name));
            h.Add(Encoding.UTF8.GetBytes(t.DType.Name()));
            foreach (int d in t.Dims)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(dim, d);
                h.Add(dim);
            }
            switch (t.DType)
            {
                case DType.Float32: h.Add(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.ToArray<float>().AsSpan())); break;
                case DType.Float64: h.Add(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.ToArray<double>().AsSpan())); break;
                default: h.Add(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.ToArray<int>().AsSpan())); break;
            }
        }
        return "fnv1a64:" + h.Value.ToString("x16", CultureInfo.InvariantCulture);
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: invalid packed VecQ model: {what}");

    /// <summary>
    /// Copies the (dequantized) tensors into <paramref name="model"/> by name (see <see cref="Module.LoadStateDict"/>):
    /// the model then computes what the exported model computed, without weight quantizers (its weights are the
    /// quantized values already). Build it as the exported one was (same layers and activation quantizers, whose
    /// running step and scale are loaded too) and leave weight quantizers off.
    /// </summary>
    /// <exception cref="InvalidOperationException">A parameter stored quantized has a <see cref="WeightQuantizer"/>
    /// attached in <paramref name="model"/>: it would quantize the quantized weights again (detach with
    /// <see cref="ModelQuantization.RemoveQuantizers"/>).</exception>
    /// <exception cref="ArgumentException">With <paramref name="strict"/>: missing, unexpected or mis-shaped tensors (all listed).</exception>
    /// <example><code>
    /// using var packed = PackedModel.Load("lenet5-w2.vecq");
    /// var model = new LeNet5();
    /// packed.LoadInto(model);
    /// model.Eval();
    /// </code></example>
    public void LoadInto(Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, p) in model.NamedParameters())
            if (p.Transform is WeightQuantizer && Quantized.ContainsKey(name))
                throw new InvalidOperationException($"packed load: '{name}' has a weight quantizer attached; the packed weights are quantized already "
                    + "(load into a model without weight quantizers, or call model.RemoveQuantizers() first)");
        model.LoadStateDict(_tensors, strict);
    }

    /// <summary>The size a packed export of <paramref name="model"/> would have (no file written; FileBytes 0).</summary>
    /// <example><code>var s = PackedModel.Measure(model); Console.WriteLine(s.Ratio);</code></example>
    public static PackedSizeReport Measure(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long floatBytes = 0, packedBytes = 0;
        foreach (var (_, p) in model.NamedParameters())
        {
            floatBytes += 4L * p.Data.Numel;
            if (p.Transform is WeightQuantizer q)
                packedBytes += 4L * PackedCodes.WordCount(p.Data.Numel, q.Bits) + 4L * 4 * q.GroupCount(p.Data.Dims);
            else packedBytes += (long)p.Data.Numel * p.Data.DType.Size();
        }
        foreach (var (_, b) in model.NamedBuffers())
        {
            floatBytes += 4L * b.Value.Numel;
            packedBytes += (long)b.Value.Numel * b.Value.DType.Size();
        }
        return new PackedSizeReport(floatBytes, packedBytes, 0);
    }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}
