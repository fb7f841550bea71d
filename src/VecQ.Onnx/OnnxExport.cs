using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Quant.Integer;

namespace VecQ.Onnx;

/// <summary>What <see cref="OnnxExport"/> wrote.</summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Nodes">Nodes in the graph.</param>
/// <param name="QuantizedWeights">Weights stored as integers behind a DequantizeLinear.</param>
/// <param name="QuantizedActivations">Activation quantizers written as QuantizeLinear/DequantizeLinear pairs.</param>
/// <param name="Bytes">Size of the file.</param>
/// <example><code>var r = OnnxExport.FromPacked("m.vecq", "m.onnx"); Console.WriteLine(r.Nodes);</code></example>
public sealed record OnnxExportReport(string Path, int Nodes, int QuantizedWeights, int QuantizedActivations, long Bytes);

/// <summary>
/// Writes a VecQ.NET model as ONNX (opset 13, IR version 7) with Google.Protobuf over the official onnx.proto (the C# in
/// Generated/ is protoc's output, tools/codegen/gen_onnx.sh): a float model as plain Conv/Gemm/Relu/BatchNormalization/
/// MaxPool nodes; a quantized one in the QDQ form. The graph computes what the fake-quantized model computes:
/// <list type="bullet">
/// <item>weights w = α·(c + o) as the integers m = 2(c + o) (int8, or int32 for 8-bit codes, whose m reaches ±255) behind a
/// DequantizeLinear with scale α/2 (per tensor, or per output channel on axis 0); weights on a shifted grid stay float;</item>
/// <item>an activation quantizer (k ≤ 8 bits, step s and scale a per tensor or per channel) as
/// Sub(x, s/2) → [Min/Max to the k-bit range] → QuantizeLinear(scale s) → DequantizeLinear(scale a) → Add(a/2): the
/// half-integer grid a·(clamp(round(x/s − ½)) + ½) in the operators ONNX has (round half to even in both).</item>
/// </list>
/// The conv → ReLU → BN → pool chains (<see cref="IConvChain"/>: LeNet5, VGG-like, AlexNet) are exported.
/// </summary>
/// <example><code>
/// OnnxExport.FromPacked("lenet5-w2a8.vecq", "lenet5-w2a8.onnx");     // QDQ
/// OnnxExport.FromModel(floatLeNet5, "lenet5.onnx");                  // plain float
/// </code></example>
public static class OnnxExport
{
    /// <summary>The opset the graphs use.</summary>
    public const int Opset = 13;

    /// <summary>A packed file (<c>vecq export</c>) as QDQ ONNX.</summary>
    /// <exception cref="InvalidDataException">A damaged packed file, or a model this exporter does not write (named).</exception>
    /// <example><code>OnnxExport.FromPacked("vgg-w4a8.vecq", "vgg-w4a8.onnx");</code></example>
    public static OnnxExportReport FromPacked(string packedPath, string onnxPath)
    {
        using var model = QuantizedModel.LoadFloatSimulation(packedPath);
        using var packed = PackedModel.Load(packedPath);
        return Write(model, packed, onnxPath, packedPath);
    }

    /// <summary>A model with its current weights (float, or fake-quantized activations with float weights) as ONNX.</summary>
    /// <exception cref="ArgumentException">The model is not a conv → ReLU → BN chain, or has weight quantizers attached (export those through a packed file).</exception>
    /// <example><code>OnnxExport.FromModel(model, "lenet5.onnx");</code></example>
    public static OnnxExportReport FromModel(Module model, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, p) in model.NamedParameters())
            if (p.Transform != null) throw new ArgumentException($"onnx export: '{name}' has a weight quantizer; export the quantized model from its packed file (vecq export) so the codes are written as integers");
        return Write(model, null, onnxPath, model.GetType().Name);
    }

    private static OnnxExportReport Write(Module model, PackedModel? packed, string onnxPath, string source)
    {
        if (model is not IConvChain chain)
            throw new InvalidDataException($"{source}: ONNX export writes the conv → ReLU → BN chains (lenet5, vgg-like, alexnet); {model.GetType().Name} is not one");
        model.Eval();
        var names = model.NamedParameters().ToDictionary(e => e.Parameter, e => e.Name);
        var g = new GraphBuilder();
        int[] input = chain.InputShape;
        g.Graph.Input.Add(ValueInfo("input", ["batch", .. input.Select(d => (object)d)]));
        string x = "input";
        bool spatial = true;
        int qWeights = 0, qActs = 0;
        foreach (var s in chain.Chain)
        {
            if (s.Layer is Conv2d conv)
            {
                if (!spatial) throw new InvalidDataException($"{source}: {s.Name}: a convolution after a dense layer");
                string w = Weight(g, s.Name, conv.Weight, names, packed, ref qWeights);
                var (ph, pw) = conv.ResolvedPadding.ToTuple();
                var node = g.Node("Conv", s.Name, conv.Bias is null ? [x, w] : [x, w, g.Float(s.Name + ".bias", conv.Bias.Data.ToArray(), [conv.OutChannels])]);
                node.Attribute.Add(Ints("kernel_shape", conv.Kernel.H, conv.Kernel.W));
                node.Attribute.Add(Ints("strides", conv.Stride.H, conv.Stride.W));
                node.Attribute.Add(Ints("pads", ph, pw, ph, pw));
                node.Attribute.Add(Ints("dilations", conv.Dilation.H, conv.Dilation.W));
                node.Attribute.Add(Int("group", conv.Groups));
                x = node.Output[0];
            }
            else if (s.Layer is Linear fc)
            {
                if (spatial)
                {
                    var flat = g.Node("Flatten", s.Name + ".flatten", [x]);
                    flat.Attribute.Add(Int("axis", 1));
                    x = flat.Output[0];
                    spatial = false;
                }
                string w = Weight(g, s.Name, fc.Weight, names, packed, ref qWeights);
                var node = g.Node("Gemm", s.Name, fc.Bias is null ? [x, w] : [x, w, g.Float(s.Name + ".bias", fc.Bias.Data.ToArray(), [fc.OutFeatures])]);
                node.Attribute.Add(Int("transB", 1));
                x = node.Output[0];
            }
            else throw new InvalidDataException($"{source}: {s.Name}: {s.Layer.GetType().Name} is not a Conv2d or Linear layer");
            if (s.ConvSlot != null) { x = Activation(g, s.Name + ".act_out", s.ConvSlot, x, spatial, source); qActs++; }
            if (s.Relu) x = g.Node("Relu", s.Name + ".relu", [x]).Output[0];
            if (s.ReluSlot != null) { x = Activation(g, s.Name + ".act", s.ReluSlot, x, spatial, source); qActs++; }
            if (s.Norm is { } bn) x = BatchNorm(g, s.Name + ".bn", bn, x);
            if (s.Pool is var ((kh, kw), (sh, sw)))
            {
                var pool = g.Node("MaxPool", s.Name + ".pool", [x]);
                pool.Attribute.Add(Ints("kernel_shape", kh, kw));
                pool.Attribute.Add(Ints("strides", sh, sw));
                x = pool.Output[0];
            }
        }
        var last = (Linear)chain.Chain[^1].Layer;
        var logits = g.Node("Identity", "logits", [x]);
        logits.Output[0] = "logits";
        g.Graph.Output.Add(ValueInfo("logits", ["batch", last.OutFeatures]));
        var m = new ModelProto
        {
            IrVersion = 7, ProducerName = "VecQ.NET", ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0", Graph = g.Graph,
            DocString = packed is null ? "float model" : "QDQ model from a packed VecQ file",
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        g.Graph.Name = chain.GetType().Name;
        WriteAtomically(onnxPath, m);
        return new OnnxExportReport(onnxPath, g.Graph.Node.Count, qWeights, qActs, new FileInfo(onnxPath).Length);
    }

    private static void WriteAtomically(string path, ModelProto m)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var f = File.Create(tmp)) m.WriteTo(f);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    // A weight: QDQ integers when the packed file holds its codes on a zero-centred grid, else float.
    private static string Weight(GraphBuilder g, string layer, Parameter p, Dictionary<Parameter, string> names, PackedModel? packed, ref int quantized)
    {
        string name = names[p];
        if (packed?.Quantized.GetValueOrDefault(name) is { Bits: <= 8 } pt && pt.Groups.All(q => q.Shift == 0))
        {
            // m = 2(c + o) with scale α/2: every k ≤ 7 fits int8, 8-bit codes (m up to ±255) go to int32
            var m = pt.Codes.Select(c => 2 * c + (int)(2 * pt.Groups[0].CodeOffset)).ToArray();
            bool int8 = pt.Bits <= 7;
            string q = int8 ? g.Int8(name + ".q", m.Select(v => (sbyte)v).ToArray(), pt.Shape) : g.Int32(name + ".q", m, pt.Shape);
            bool perChannel = pt.Groups.Count > 1;
            int[] scaleShape = perChannel ? [pt.Groups.Count] : [];
            string scale = g.Float(name + ".scale", pt.Groups.Select(q => q.Alpha / 2).ToArray(), scaleShape);
            string zero = int8 ? g.Int8(name + ".zero", new sbyte[perChannel ? pt.Groups.Count : 1], scaleShape)
                               : g.Int32(name + ".zero", new int[perChannel ? pt.Groups.Count : 1], scaleShape);
            var dq = g.Node("DequantizeLinear", layer + ".weight_dq", [q, scale, zero]);
            if (perChannel) dq.Attribute.Add(Int("axis", 0));
            quantized++;
            return dq.Output[0];
        }
        return g.Float(name, p.Data.ToArray(), p.Data.Dims);
    }

    // The activation quantizer in QDQ operators (class remarks).
    private static string Activation(GraphBuilder g, string name, Module slot, string x, bool spatial, string source)
    {
        if (slot is not ActivationQuantizer q) throw new InvalidDataException($"{source}: {name}: {slot.GetType().Name} has no ONNX form");
        if (q.Bits > 8) throw new InvalidDataException($"{source}: {name}: {q.Bits}-bit activations do not fit QuantizeLinear's int8");
        float[] step = q.StepBuffer.Value.ToArray(), a = q.ScaleBuffer.Value.ToArray();
        bool perChannel = q.Channels > 0;
        int c = step.Length;
        int[] broadcast = perChannel ? (spatial ? [1, c, 1, 1] : [1, c]) : [], axisShape = perChannel ? [c] : [];
        float lo = -(1 << (q.Bits - 1)), hi = (1 << (q.Bits - 1)) - 1;
        string h = g.Node("Sub", name + ".shift", [x, g.Float(name + ".half_step", step.Select(v => v / 2).ToArray(), broadcast)]).Output[0];
        if (q.Bits < 8)
        {
            h = g.Node("Min", name + ".hi", [h, g.Float(name + ".hi_value", step.Select(v => v * hi).ToArray(), broadcast)]).Output[0];
            h = g.Node("Max", name + ".lo", [h, g.Float(name + ".lo_value", step.Select(v => v * lo).ToArray(), broadcast)]).Output[0];
        }
        var quant = g.Node("QuantizeLinear", name + ".q", [h, g.Float(name + ".step", step, axisShape), g.Int8(name + ".zero", new sbyte[c], axisShape)]);
        var dequant = g.Node("DequantizeLinear", name + ".dq", [quant.Output[0], g.Float(name + ".scale", a, axisShape), g.Int8(name + ".zero2", new sbyte[c], axisShape)]);
        if (perChannel)
        {
            quant.Attribute.Add(Int("axis", 1));
            dequant.Attribute.Add(Int("axis", 1));
        }
        return g.Node("Add", name + ".half", [dequant.Output[0], g.Float(name + ".half_scale", a.Select(v => v / 2).ToArray(), broadcast)]).Output[0];
    }

    private static string BatchNorm(GraphBuilder g, string name, BatchNorm bn, string x)
    {
        int c = bn.NumFeatures;
        if (bn.RunningMean is null || bn.RunningVar is null) throw new InvalidDataException($"{name}: a batch norm without running statistics has no inference form");
        var node = g.Node("BatchNormalization", name,
        [
            x,
            g.Float(name + ".weight", bn.Weight?.Data.ToArray() ?? Enumerable.Repeat(1f, c).ToArray(), [c]),
            g.Float(name + ".bias", bn.Bias?.Data.ToArray() ?? new float[c], [c]),
            g.Float(name + ".running_mean", bn.RunningMean.Value.ToArray(), [c]),
            g.Float(name + ".running_var", bn.RunningVar.Value.ToArray(), [c]),
        ]);
        node.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = (float)bn.Eps });
        return node.Output[0];
    }

    private static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    private static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        return a;
    }

    // dims: ints, or strings for symbolic dimensions
    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = (int)d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>Nodes and initializers of one graph, with unique output names.</summary>
    private sealed class GraphBuilder
    {
        public GraphProto Graph { get; } = new();

        public NodeProto Node(string op, string name, string[] inputs)
        {
            var n = new NodeProto { OpType = op, Name = name };
            n.Input.Add(inputs);
            n.Output.Add(name + ".out");
            Graph.Node.Add(n);
            return n;
        }

        public string Float(string name, float[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(data.AsSpan()), dims);

        public string Int8(string name, sbyte[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(data.AsSpan()), dims);

        public string Int32(string name, int[] data, int[] dims) => Add(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(data.AsSpan()), dims);

        // raw little-endian data, as ONNX stores it
        private string Add(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, int[] dims)
        {
            var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
            t.Dims.Add(dims.Select(d => (long)d));
            Graph.Initializer.Add(t);
            return name;
        }
    }
}
