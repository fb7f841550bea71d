using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Reads and writes the safetensors format (what PyTorch's safetensors and TorchSharp read):
/// 8-byte little-endian header length, a UTF-8 JSON header mapping each name to
/// {dtype, shape, data_offsets} plus optional string "__metadata__", then the raw little-endian data.
/// Writes go to a temp file that is renamed into place; loads validate every field.
/// </summary>
/// <example><code>
/// Safetensors.Save("model.safetensors", new Dictionary&lt;string, Tensor&gt; { ["fc.weight"] = w }, new() { ["epoch"] = "3" });
/// var file = Safetensors.Load("model.safetensors");
/// Tensor w2 = file.Tensors["fc.weight"];
/// </code></example>
public static class Safetensors
{
    private const long MaxHeaderBytes = 100L << 20;

    /// <summary>Writes tensors (in the given order) and string metadata atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.ToList();
        var names = new HashSet<string>();
        foreach (var (name, _) in entries)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__") throw new ArgumentException($"safetensors: invalid tensor name '{name}'");
            if (!names.Add(name)) throw new ArgumentException($"safetensors: tensor name '{name}' appears twice");
        }
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in entries)
            {
                long bytes = (long)t.Numel * t.DType.Size();
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeCode(t.DType));
                json.WriteStartArray("shape");
                foreach (int d in t.Dims) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // pad the header with spaces so the data starts 8-byte aligned (as the reference writer does)
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        var header = ms.ToArray();

        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            foreach (var (_, t) in entries) WriteData(stream, t);
        });
    }

    private static void WriteData(Stream stream, Tensor t)
    {
        switch (t.DType)
        {
            case DType.Float32: stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>(t.ToArray<float>())); break;
            case DType.Float64: stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes<double>(t.ToArray<double>())); break;
            default: stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes<int>(t.ToArray<int>())); break;
        }
    }

    /// <summary>Reads and validates a safetensors file.</summary>
    public static SafetensorsFile Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors: file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        return Parse(bytes, path);
    }

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names the file in errors.</summary>
    public static SafetensorsFile Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 8) throw Bad(source, $"file is {bytes.Length} bytes; a safetensors file starts with an 8-byte header length");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > MaxHeaderBytes || (long)headerLen > bytes.Length - 8)
            throw Bad(source, $"header length {headerLen} does not fit in a file of {bytes.Length} bytes (truncated or not a safetensors file)");
        var data = bytes[(8 + (int)headerLen)..];
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.Slice(8, (int)headerLen).ToArray()); }
        catch (JsonException e) { throw Bad(source, $"header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(source, "header JSON is not an object");
            var metadata = new Dictionary<string, string>();
            var specs = new List<(string Name, DType DType, int[] Shape, long Begin, long End)>();
            try
            {
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (prop.Name == "__metadata__")
                    {
                        if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(source, "__metadata__ is not an object");
                        foreach (var m in prop.Value.EnumerateObject())
                        {
                            if (m.Value.ValueKind != JsonValueKind.String) throw Bad(source, $"__metadata__ value '{m.Name}' is not a string");
                            metadata[m.Name] = m.Value.GetString()!;
                        }
                        continue;
                    }
                    specs.Add(ParseSpec(prop, source));
                }
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument checks the structure but transcodes names and strings only when they are read:
                // a name or value that is not valid UTF-8 fails there
                throw Bad(source, $"header holds text that is not valid UTF-8 ({e.Message})");
            }
            // offsets must tile the data region exactly: no overlap, no hole, nothing past the end
            var ordered = specs.OrderBy(s => s.Begin).ToList();
            long expect = 0;
            foreach (var s in ordered)
            {
                if (s.Begin != expect)
                    throw Bad(source, $"tensor '{s.Name}' starts at byte {s.Begin} but the previous tensor ends at {expect} (overlap or hole)");
                expect = s.End;
            }
            if (expect != data.Length)
                throw Bad(source, $"tensors cover {expect} bytes of data but the file has {data.Length} (truncated or trailing bytes)");
            var tensors = new Dictionary<string, Tensor>();
            foreach (var s in specs) tensors[s.Name] = MakeTensor(data[(int)s.Begin..(int)s.End], s.DType, s.Shape);
            return new SafetensorsFile(tensors, metadata, specs.Select(s => s.Name).ToList());
        }
    }

    private static (string, DType, int[], long, long) ParseSpec(JsonProperty prop, string source)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(source, $"entry '{prop.Name}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(source, $"tensor '{prop.Name}' has no dtype");
        var dtype = ParseDType(dt.GetString()!, prop.Name, source);
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(source, $"tensor '{prop.Name}' has no shape");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (!d.TryGetInt32(out int di) || di < 0) throw Bad(source, $"tensor '{prop.Name}' has an invalid dimension {d}");
            shape.Add(di);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || !off[0].TryGetInt64(out long b) || !off[1].TryGetInt64(out long e) || b < 0 || e < b)
            throw Bad(source, $"tensor '{prop.Name}' has invalid data_offsets");
        long numel = 1;
        foreach (int d in shape) numel *= d;
        if (numel * dtype.Size() != e - b)
            throw Bad(source, $"tensor '{prop.Name}': shape {Shape.Format(shape.ToArray())} of {dtype.Name()} needs {numel * dtype.Size()} bytes but data_offsets span {e - b}");
        return (prop.Name, dtype, shape.ToArray(), b, e);
    }

    private static Tensor MakeTensor(ReadOnlySpan<byte> raw, DType dtype, int[] shape) => dtype switch
    {
        DType.Float32 => Tensor.FromSpan(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw), shape),
        DType.Float64 => Tensor.FromSpan(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw), shape),
        _ => Tensor.FromSpan(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw), shape),
    };

    private static string DTypeCode(DType t) => t switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        _ => "I32",
    };

    private static DType ParseDType(string code, string name, string source) => code switch
    {
        "F32" => DType.Float32,
        "F64" => DType.Float64,
        "I32" => DType.Int32,
        _ => throw Bad(source, $"tensor '{name}' has dtype {code}; supported: F32, F64, I32"),
    };

    private static InvalidDataException Bad(string source, string what) => new($"{source}: invalid safetensors file: {what}");
}

/// <summary>The contents of a safetensors file.</summary>
/// <param name="Tensors">Tensors by name (host tensors, owned by the caller).</param>
/// <param name="Metadata">The "__metadata__" strings.</param>
/// <param name="Order">Tensor names in header order.</param>
public sealed record SafetensorsFile(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<string> Order);

/// <summary>Writes a file through a temp file in the same folder and an atomic rename, so no half-written file is ever left.</summary>
/// <example><code>AtomicFile.Write("out.bin", s => s.Write(bytes));</code></example>
public static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temp file, flushes it, then renames it to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Writes text atomically.</summary>
    public static void WriteText(string path, string text) => Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));
}
