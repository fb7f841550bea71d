using Google.Protobuf;
using Onnx;

namespace VecQ.Onnx;

/// <summary>What <see cref="OnnxReader.Read"/> found in an ONNX file.</summary>
/// <param name="IrVersion">The file's IR version.</param>
/// <param name="Opset">The default-domain opset it imports.</param>
/// <param name="Inputs">Graph inputs (initializers excluded).</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="Nodes">Node count.</param>
/// <param name="Initializers">Initializer count.</param>
/// <param name="Operators">The distinct operator types, sorted.</param>
/// <example><code>var s = OnnxReader.Read("m.onnx"); Console.WriteLine(string.Join(", ", s.Operators));</code></example>
public sealed record OnnxSummary(long IrVersion, long Opset, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, int Nodes, int Initializers,
    IReadOnlyList<string> Operators);

/// <summary>
/// Reads an ONNX model back (ours or another tool's) and checks what the exporter guarantees: it parses as a ModelProto,
/// imports the default opset, every initializer's data matches its dims and type, every node input is defined before use
/// and every graph output is produced. Any failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
/// <example><code>OnnxSummary s = OnnxReader.Read("lenet5-w2a8.onnx");   // s.Opset == 13</code></example>
public static class OnnxReader
{
    /// <summary>The largest file read (protobuf's 2 GiB message limit).</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>Parses and checks <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not a well-formed ONNX model (the message names the file and what is wrong).</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static OnnxSummary Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such ONNX file", path);
        if (info.Length > MaxBytes) throw Bad(path, $"{info.Length} bytes is more than an ONNX protobuf can hold ({MaxBytes})");
        ModelProto m;
        try
        {
            m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or ArgumentException or InvalidOperationException)
        {
            throw Bad(path, $"not an ONNX protobuf: {e.Message}");
        }
        var g = m.Graph ?? throw Bad(path, "the model has no graph");
        long opset = m.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain)).Select(o => o.Version).DefaultIfEmpty(-1).Max();
        if (opset < 1) throw Bad(path, "no default-domain opset is imported");
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            CheckTensor(path, t);
            if (!defined.Add(t.Name)) throw Bad(path, $"initializer '{t.Name}' is defined twice");
        }
        var inputs = new List<string>();
        foreach (var v in g.Input)
        {
            if (string.IsNullOrEmpty(v.Name)) throw Bad(path, "a graph input has no name");
            if (defined.Add(v.Name)) inputs.Add(v.Name);
        }
        foreach (var n in g.Node)
        {
            foreach (var i in n.Input)
                if (i.Length > 0 && !defined.Contains(i)) throw Bad(path, $"node '{n.Name}' ({n.OpType}) reads '{i}', which nothing before it defines");
            foreach (var o in n.Output)
                if (o.Length > 0 && !defined.Add(o)) throw Bad(path, $"node '{n.Name}' ({n.OpType}) writes '{o}', which is already defined");
        }
        foreach (var o in g.Output)
            if (!defined.Contains(o.Name)) throw Bad(path, $"graph output '{o.Name}' is produced by no node");
        return new OnnxSummary(m.IrVersion, opset, inputs, g.Output.Select(o => o.Name).ToList(), g.Node.Count, g.Initializer.Count,
            g.Node.Select(n => n.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList());
    }

    private static void CheckTensor(string path, TensorProto t)
    {
        long count = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0) throw Bad(path, $"initializer '{t.Name}' has dimension {d}");
            count = d == 0 ? 0 : count > MaxBytes / d ? MaxBytes + 1 : count * d;
        }
        int size = (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
            TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 => 1,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Double => 8,
            _ => throw Bad(path, $"initializer '{t.Name}' has data type {t.DataType}, which this reader does not check"),
        };
        long have = t.HasRawData ? t.RawData.Length : (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => 4L * t.FloatData.Count,
            TensorProto.Types.DataType.Int64 => 8L * t.Int64Data.Count,
            TensorProto.Types.DataType.Double => 8L * t.DoubleData.Count,
            _ => (long)size * t.Int32Data.Count,
        };
        if (have != count * size) throw Bad(path, $"initializer '{t.Name}' holds {have} bytes; its dims [{string.Join(", ", t.Dims)}] need {count * size}");
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: invalid ONNX model: {what}");
}
