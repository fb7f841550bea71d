using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using VecQ.Nn;
using VecQ.Quant;

namespace VecQ.Onnx;

/// <summary>
/// One ONNX graph being written: nodes with unique names (each writes "name.out"), initializers, and the layer
/// primitives the model writers share (<see cref="ChainGraph"/>, <see cref="ResidualGraph"/>, <see cref="TextGraph"/>):
/// Conv, Gemm, BatchNormalization, Relu, Clip (ReLU6), Add, MaxPool, GlobalAveragePool, Flatten, Transpose, the weights
/// (QDQ integers from a packed file, else float; rows reordered where ONNX orders them otherwise) and the activation
/// quantizers as QDQ pairs (<see cref="OnnxExport"/>'s remarks).
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<Parameter, string> _names;
    private readonly PackedModel? _packed;
    private readonly HashSet<string> _nodes = new(StringComparer.Ordinal), _initializers = new(StringComparer.Ordinal);

    /// <summary>Starts the graph of <paramref name="model"/> (its weights' names key the packed codes).</summary>
    public OnnxGraph(Module model, PackedModel? packed, string source)
    {
        _names = model.NamedParameters().ToDictionary(e => e.Parameter, e => e.Name);
        _packed = packed;
        Source = source;
        Graph.Name = model.GetType().Name;
    }

    public GraphProto Graph { get; } = new();

    /// <summary>What errors name first: the packed file or the model's type.</summary>
    public string Source { get; }

    public int QuantizedWeights { get; private set; }

    public int QuantizedActivations { get; private set; }

    /// <summary>Declares the float input "input" of shape [batch, ..dims] (ints, or strings for symbolic sizes).</summary>
    public string Input(params object[] dims)
    {
        Graph.Input.Add(ValueInfo("input", ["batch", .. dims]));
        return "input";
    }

    /// <summary>Declares the token-id input "input": int64 [batch, <paramref name="sequenceLength"/>] (Gather's indices).</summary>
    public string TokenInput(int sequenceLength)
    {
        Graph.Input.Add(ValueInfo("input", ["batch", sequenceLength], TensorProto.Types.DataType.Int64));
        return "input";
    }

    /// <summary>x: [N, classes] becomes the graph output "logits".</summary>
    public void Output(string x, int classes)
    {
        var logits = Node("Identity", "logits", [x]);
        logits.Output[0] = "logits";
        Graph.Output.Add(ValueInfo("logits", ["batch", classes]));
    }

    // x: [N, C, H, W] → [N, out, OH, OW]; a ZeroPad2d right before the conv goes into its pads
    public string Conv(string name, Conv2d conv, string x, ZeroPad2d? pad = null)
    {
        string w = Weight(name, conv.Weight);
        var (ph, pw) = conv.ResolvedPadding.ToTuple();
        var node = Node("Conv", name, conv.Bias is null ? [x, w] : [x, w, Float(name + ".bias", conv.Bias.Data.ToArray(), [conv.OutChannels])]);
        node.Attribute.Add(Ints("kernel_shape", conv.Kernel.H, conv.Kernel.W));
        node.Attribute.Add(Ints("strides", conv.Stride.H, conv.Stride.W));
        node.Attribute.Add(Ints("pads", ph + (pad?.Top ?? 0), pw + (pad?.Left ?? 0), ph + (pad?.Bottom ?? 0), pw + (pad?.Right ?? 0)));
        node.Attribute.Add(Ints("dilations", conv.Dilation.H, conv.Dilation.W));
        node.Attribute.Add(Int("group", conv.Groups));
        return node.Output[0];
    }

    // x: [N, in] → [N, out]
    public string Gemm(string name, Linear fc, string x)
    {
        string w = Weight(name, fc.Weight);
        var node = Node("Gemm", name, fc.Bias is null ? [x, w] : [x, w, Float(name + ".bias", fc.Bias.Data.ToArray(), [fc.OutFeatures])]);
        node.Attribute.Add(Int("transB", 1));
        return node.Output[0];
    }

    // x: [N, C, …] → the same shape, with the running statistics (inference form; not folded into the conv)
    public string BatchNorm(string name, BatchNorm bn, string x)
    {
        int c = bn.NumFeatures;
        if (bn.RunningMean is null || bn.RunningVar is null) throw new InvalidDataException($"{Source}: {name}: a batch norm without running statistics has no inference form");
        var node = Node("BatchNormalization", name,
        [
            x,
            Float(name + ".weight", bn.Weight?.Data.ToArray() ?? Enumerable.Repeat(1f, c).ToArray(), [c]),
            Float(name + ".bias", bn.Bias?.Data.ToArray() ?? new float[c], [c]),
            Float(name + ".running_mean", bn.RunningMean.Value.ToArray(), [c]),
            Float(name + ".running_var", bn.RunningVar.Value.ToArray(), [c]),
        ]);
        node.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = (float)bn.Eps });
        return node.Output[0];
    }

    public string Relu(string name, string x) => Node("Relu", name, [x]).Output[0];

    // ReLU6 = Clip(x, 0, 6); opset 13 takes the bounds as (shared, scalar) inputs
    public string Relu6(string name, string x) => Node("Clip", name, [x, Scalar("relu6.min", 0), Scalar("relu6.max", 6)]).Output[0];

    public string Add(string name, string a, string b) => Node("Add", name, [a, b]).Output[0];

    // x: [N, C, H, W] → [N, C, OH, OW]
    public string MaxPool(string name, Size2 kernel, Size2 stride, Size2 padding, string x)
    {
        var pool = Node("MaxPool", name, [x]);
        pool.Attribute.Add(Ints("kernel_shape", kernel.H, kernel.W));
        pool.Attribute.Add(Ints("strides", stride.H, stride.W));
        pool.Attribute.Add(Ints("pads", padding.H, padding.W, padding.H, padding.W));
        return pool.Output[0];
    }

    // x: [N, C, H, W] → [N, C, 1, 1]
    public string GlobalAveragePool(string name, string x) => Node("GlobalAveragePool", name, [x]).Output[0];

    // x: [N, C, H, W] → [N, C·H·W]
    public string Flatten(string name, string x)
    {
        var flat = Node("Flatten", name, [x]);
        flat.Attribute.Add(Int("axis", 1));
        return flat.Output[0];
    }

    // x: [dims] → Transpose(x, perm)
    public string Transpose(string name, string x, params long[] perm)
    {
        var t = Node("Transpose", name, [x]);
        t.Attribute.Add(Ints("perm", perm));
        return t.Output[0];
    }

    /// <summary>
    /// x through the activation quantizer <paramref name="slot"/> (x itself when the slot is empty), in QDQ operators
    /// (<see cref="OnnxExport"/>'s remarks); <paramref name="rank"/>: x's rank ([N, C, H, W]: 4, [N, C, L]: 3, [N, C]: 2),
    /// per-channel steps on axis 1.
    /// </summary>
    public string Slot(string name, Module? slot, string x, int rank = 4)
    {
        if (slot is null) return x;
        if (slot is not ActivationQuantizer q) throw new InvalidDataException($"{Source}: {name}: {slot.GetType().Name} has no ONNX form");
        if (q.Bits > 8) throw new InvalidDataException($"{Source}: {name}: {q.Bits}-bit activations do not fit QuantizeLinear's int8");
        float[] step = q.StepBuffer.Value.ToArray(), a = q.ScaleBuffer.Value.ToArray();
        bool perChannel = q.Channels > 0;
        int c = step.Length;
        int[] broadcast = perChannel ? Enumerable.Range(0, rank).Select(a => a == 1 ? c : 1).ToArray() : [], axisShape = perChannel ? [c] : [];   // [1, C, 1, …]
        float lo = -(1 << (q.Bits - 1)), hi = (1 << (q.Bits - 1)) - 1;
        string h = Node("Sub", name + ".shift", [x, Float(name + ".half_step", step.Select(v => v / 2).ToArray(), broadcast)]).Output[0];
        if (q.Bits < 8)
        {
            h = Node("Min", name + ".hi", [h, Float(name + ".hi_value", step.Select(v => v * hi).ToArray(), broadcast)]).Output[0];
            h = Node("Max", name + ".lo", [h, Float(name + ".lo_value", step.Select(v => v * lo).ToArray(), broadcast)]).Output[0];
        }
        var quant = Node("QuantizeLinear", name + ".q", [h, Float(name + ".step", step, axisShape), Int8(name + ".zero", new sbyte[c], axisShape)]);
        var dequant = Node("DequantizeLinear", name + ".dq", [quant.Output[0], Float(name + ".scale", a, axisShape), Int8(name + ".zero2", new sbyte[c], axisShape)]);
        if (perChannel)
        {
            quant.Attribute.Add(Int("axis", 1));
            dequant.Attribute.Add(Int("axis", 1));
        }
        QuantizedActivations++;
        return Node("Add", name + ".half", [dequant.Output[0], Float(name + ".half_scale", a.Select(v => v / 2).ToArray(), broadcast)]).Output[0];
    }

    /// <summary>
    /// A weight: QDQ integers when the packed file holds its codes on a zero-centred grid, else float.
    /// <paramref name="rows"/>: the order its rows (axis 0) are written in (null: as they are; per-row scales follow
    /// their rows); <paramref name="leading"/>: written with a leading axis of 1 (ONNX LSTM's num_directions; the
    /// per-row scales then on axis 1); <paramref name="tag"/> suffixes its initializers' names (a reordered copy).
    /// </summary>
    public string Weight(string layer, Parameter p, int[]? rows = null, bool leading = false, string tag = "")
    {
        string name = _names[p] + tag;
        int[] dims = p.Data.Dims;                                            // [R, …]
        int[] shape = leading ? [1, .. dims] : dims;
        int n = dims[0], row = n == 0 ? 0 : (int)(p.Data.Numel / n);
        int[] order = rows ?? Enumerable.Range(0, n).ToArray();
        if (order.Length != n || order.Order().Where((r, i) => r != i).Any())
            throw new InvalidOperationException($"onnx export: {layer}: the row order of '{_names[p]}' is not a permutation of its {n} rows");
        if (_packed?.Quantized.GetValueOrDefault(_names[p]) is { Bits: <= 8 } pt && pt.Groups.All(q => q.Shift == 0))
        {
            bool perChannel = pt.Groups.Count > 1;
            if (!pt.Shape.SequenceEqual(dims) || (perChannel && pt.Groups.Count != n))
                throw new InvalidDataException($"{Source}: {_names[p]}: the packed codes ({string.Join("×", pt.Shape)}, {pt.Groups.Count} groups) do not fit the model's weight {string.Join("×", dims)}");
            // m = 2(c + o) with scale α/2: every k ≤ 7 fits int8, 8-bit codes (m up to ±255) go to int32
            int offset = (int)(2 * pt.Groups[0].CodeOffset);
            var m = new int[pt.Codes.Length];
            for (int r = 0; r < n; r++)
                for (int j = 0; j < row; j++) m[(long)r * row + j] = 2 * pt.Codes[(long)order[r] * row + j] + offset;
            bool int8 = pt.Bits <= 7;
            string q = int8 ? Int8(name + ".q", m.Select(v => (sbyte)v).ToArray(), shape) : Int32(name + ".q", m, shape);
            int[] scaleShape = perChannel ? [n] : [];
            string scale = Float(name + ".scale", perChannel ? order.Select(r => pt.Groups[r].Alpha / 2).ToArray() : [pt.Groups[0].Alpha / 2], scaleShape);
            string zero = int8 ? Int8(name + ".zero", new sbyte[perChannel ? n : 1], scaleShape)
                               : Int32(name + ".zero", new int[perChannel ? n : 1], scaleShape);
            var dq = Node("DequantizeLinear", layer + ".weight_dq", [q, scale, zero]);
            if (perChannel) dq.Attribute.Add(Int("axis", leading ? 1 : 0));
            QuantizedWeights++;
            return dq.Output[0];
        }
        float[] w = p.Data.ToArray();
        if (rows is null) return Float(name, w, shape);
        var permuted = new float[w.Length];
        for (int r = 0; r < n; r++) Array.Copy(w, (long)order[r] * row, permuted, (long)r * row, row);
        return Float(name, permuted, shape);
    }

    /// <summary>A node <paramref name="op"/> named <paramref name="name"/> (unique) writing "name.out".</summary>
    public NodeProto Node(string op, string name, string[] inputs)
    {
        if (!_nodes.Add(name)) throw new InvalidOperationException($"onnx export: node '{name}' written twice");
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.Add(inputs);
        n.Output.Add(name + ".out");
        Graph.Node.Add(n);
        return n;
    }

    // a scalar initializer written once and shared by every node that reads it
    private string Scalar(string name, float v) => _initializers.Contains(name) ? name : Float(name, [v], []);

    public string Float(string name, float[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    private string Int8(string name, sbyte[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    private string Int32(string name, int[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    public string Int64(string name, long[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    // raw little-endian data, as ONNX stores it
    private string Add(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, int[] dims)
    {
        if (!_initializers.Add(name)) throw new InvalidOperationException($"onnx export: initializer '{name}' written twice");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.Add(dims.Select(d => (long)d));
        Graph.Initializer.Add(t);
        return name;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        return a;
    }

    // dims: ints, or strings for symbolic dimensions
    private static ValueInfoProto ValueInfo(string name, object[] dims, TensorProto.Types.DataType type = TensorProto.Types.DataType.Float)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = (int)d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
