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
/// Generated/ is protoc's output, tools/codegen/gen_onnx.sh): a float model as plain Conv (with group: depthwise) / Gemm /
/// BatchNormalization / Relu / Clip (ReLU6, bounds 0 and 6) / Add (residual joins) / MaxPool / GlobalAveragePool /
/// Flatten nodes (the text models: Gather / Transpose / 1-D Conv and MaxPool / LSTM / Gemm); a quantized one in the QDQ
/// form. Batch norms stay BatchNormalization nodes with the running statistics (not folded into the convs), so the graph
/// keeps the model's layers and names. The graph computes what the
/// fake-quantized model computes:
/// <list type="bullet">
/// <item>weights w = α·(c + o) as the integers m = 2(c + o) (int8, or int32 for 8-bit codes, whose m reaches ±255) behind a
/// DequantizeLinear with scale α/2 (per tensor, or per output channel on axis 0; on axis 1 of the LSTM's [1, 4H, ·]
/// weights); weights on a shifted grid stay float;</item>
/// <item>an activation quantizer (k ≤ 8 bits, step s and scale a per tensor or per channel) as
/// Sub(x, s/2) → [Min/Max to the k-bit range] → QuantizeLinear(scale s) → DequantizeLinear(scale a) → Add(a/2): the
/// half-integer grid a·(clamp(round(x/s − ½)) + ½) in the operators ONNX has (round half to even in both), wherever the
/// model's Forward applies it (conv outputs, after a ReLU, after a residual join's ReLU, the LSTM's input features and its
/// final hidden state).</item>
/// </list>
/// Where quantizers sit on conv outputs (ResNet, MobileNet), a value within float rounding of a decision boundary (0 is
/// one: sums that cancel land there) can take the neighbouring code in another runtime's summation order, so compare a
/// QDQ graph with the fake-quantized model by predictions, not logit by logit.
/// Exported: the conv → ReLU → BN → pool chains (<see cref="IConvChain"/>: LeNet5, VGG-like, AlexNet; input
/// [batch, C, H, W] at the model's size) and ResNet18, PreActResNet18, MobileNetV1 and MobileNetV2 (input
/// [batch, C, height, width] with symbolic sizes; dropout is the identity), and the text models ImdbCnnLstm and
/// CharLstmClassifier, whose graph input is the token ids as int64 [batch, T] (ONNX Gather's indices; our models take
/// int32, the values are the same) at the model's sequence length T, and whose LSTM is one ONNX LSTM node
/// (our gate blocks i, f, g, o reordered to ONNX's i, o, f, c, in the integer codes and their per-row scales alike). Anything else is refused with an <see cref="InvalidDataException"/> naming it; no file is
/// written then.
/// </summary>
/// <example><code>
/// OnnxExport.FromPacked("lenet5-w2a8.vecq", "lenet5-w2a8.onnx");     // QDQ
/// OnnxExport.FromModel(floatResNet18, "resnet18.onnx");              // plain float
/// OnnxExport.FromModel(new ImdbCnnLstm(), "imdb.onnx");               // input: int64 token ids [batch, 100]
/// </code></example>
public static class OnnxExport
{
    /// <summary>The opset the graphs use.</summary>
    public const int Opset = 13;

    // what the errors list
    internal const string Exportable = "the conv → ReLU → BN chains (lenet5, vgg-like, alexnet), resnet18, resnet18-preact, mobilenet-v1, mobilenet-v2 and the text models imdb (ImdbCnnLstm) and thucnews (CharLstmClassifier)";

    /// <summary>
    /// A packed file (<c>vecq export</c>) as QDQ ONNX: its model is rebuilt from the file's "config" metadata as
    /// <c>vecq train</c> builds it (lenet5, vgg-like, alexnet, resnet18, resnet18-preact, mobilenet-v1, mobilenet-v2 at
    /// their standard widths; imdb and thucnews at the vocabulary size and sequence length the config records), with
    /// evaluation-only activation quantizers whose steps and scales come from the file. A text model's vocabulary (the
    /// side file <c>vecq export</c> writes beside the packed file) is not part of the graph: its input is the token ids.
    /// </summary>
    /// <exception cref="InvalidDataException">A damaged packed file, or a model this exporter does not write (named).</exception>
    /// <example><code>OnnxExport.FromPacked("vgg-w4a8.vecq", "vgg-w4a8.onnx");</code></example>
    public static OnnxExportReport FromPacked(string packedPath, string onnxPath)
    {
        using var packed = PackedModel.Load(packedPath);
        using var model = QuantizedModel.LoadFloatSimulation(packedPath);
        return Write(model, packed, onnxPath, packedPath);
    }

    /// <summary>
    /// A packed file as QDQ ONNX through your own instance of its model (for sizes its config does not record, e.g. a
    /// small-width ResNet18): <paramref name="model"/> is built like the model that was exported, with its activation
    /// quantizers and without weight quantizers; the packed tensors are loaded into it (strictly) and it is exported.
    /// </summary>
    /// <exception cref="InvalidDataException">A model this exporter does not write (named).</exception>
    /// <exception cref="ArgumentException">The packed tensors do not match the model's (all listed).</exception>
    /// <exception cref="InvalidOperationException">The model has weight quantizers attached.</exception>
    /// <example><code>
    /// using var packed = PackedModel.Load("resnet-w4a8.vecq");
    /// OnnxExport.FromPacked(new ResNet18(10, width: 16, activations: s => new ActivationQuantizer(8, channels: s.Channels)), packed, "resnet-w4a8.onnx");
    /// </code></example>
    public static OnnxExportReport FromPacked(Module model, PackedModel packed, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(packed);
        Check(model, model.GetType().Name);
        packed.LoadInto(model);
        return Write(model, packed, onnxPath, model.GetType().Name);
    }

    /// <summary>A model with its current weights (float, or fake-quantized activations with float weights) as ONNX.</summary>
    /// <exception cref="InvalidDataException">A model this exporter does not write (named).</exception>
    /// <exception cref="ArgumentException">The model has weight quantizers attached (export those through a packed file).</exception>
    /// <example><code>OnnxExport.FromModel(model, "lenet5.onnx");</code></example>
    public static OnnxExportReport FromModel(Module model, string onnxPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, p) in model.NamedParameters())
            if (p.Transform != null) throw new ArgumentException($"onnx export: '{name}' has a weight quantizer; export the quantized model from its packed file (vecq export) so the codes are written as integers");
        return Write(model, null, onnxPath, model.GetType().Name);
    }

    private static void Check(Module model, string source)
    {
        if (model is not IConvChain && !ResidualGraph.Writes(model) && !TextGraph.Writes(model))
            throw new InvalidDataException($"{source}: ONNX export writes {Exportable}; {model.GetType().Name} is not one");
    }

    private static OnnxExportReport Write(Module model, PackedModel? packed, string onnxPath, string source)
    {
        Check(model, source);
        model.Eval();
        var g = new OnnxGraph(model, packed, source);
        if (model is IConvChain chain) ChainGraph.Write(g, chain);
        else if (TextGraph.Writes(model)) TextGraph.Write(g, model);
        else ResidualGraph.Write(g, model);
        var m = new ModelProto
        {
            IrVersion = 7, ProducerName = "VecQ.NET", ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0", Graph = g.Graph,
            DocString = packed is null ? "float model" : "QDQ model from a packed VecQ file",
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        WriteAtomically(onnxPath, m);
        return new OnnxExportReport(onnxPath, g.Graph.Node.Count, g.QuantizedWeights, g.QuantizedActivations, new FileInfo(onnxPath).Length);
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
}
