using VecQ.Nn;

namespace VecQ.Onnx;

/// <summary>
/// The text classifiers (<see cref="ImdbCnnLstm"/>, <see cref="CharLstmClassifier"/>) as ONNX nodes, each following its
/// model's Forward in evaluation mode through the layers' registered names ("embedding", "conv", "pool", "lstm_in_act",
/// "lstm", "lstm_out_act", "fc"):
/// <list type="bullet">
/// <item>the token ids are the graph input "input", int64 [batch, T] (ONNX Gather's indices; T the model's sequence
/// length), gathered from the embedding table (float, or the DequantizeLinear of its codes); ids must be in [0, V) as
/// for our models (ONNX's Gather would read negative ones from the end of the table);</item>
/// <item>Conv1d and MaxPool1d are ONNX Conv and MaxPool with 1-D kernels on our [N, C, L] layout, with Transposes
/// where the model transposes; dropout is the identity;</item>
/// <item>the LSTM is one ONNX LSTM node (opset 7 form: X [T, batch, in], so the batch-first input is transposed) whose
/// W [1, 4H, in] and R [1, 4H, H] are our weight_ih and weight_hh with their gate blocks reordered from ours
/// (i, f, g, o) to ONNX's (i, o, f, c), integer codes and per-row scales alike, and B [1, 8H] = (b_ih, b_hh) reordered
/// the same way; its final hidden state Y_h is what the classifier reads;</item>
/// <item>the activation quantizers sit where the models put them (VECQ.md §4): on the LSTM's input features and on its
/// final hidden state; gates and internal states stay float;</item>
/// <item>two classes give the model's logit pair (0, z) of one dense output z: Concat(ConstantOfShape(Shape(z)), z).</item>
/// </list>
/// </summary>
internal static class TextGraph
{
    // ONNX's gate blocks (i, o, f, c) as blocks of ours (i, f, g, o)
    private static readonly int[] OnnxGates = [0, 3, 1, 2];

    /// <summary>True for the models <see cref="Write"/> writes.</summary>
    public static bool Writes(Module model) => model is ImdbCnnLstm or CharLstmClassifier;

    public static void Write(OnnxGraph g, Module model)
    {
        if (model is not TextClassifier text) throw new InvalidDataException($"{g.Source}: {model.GetType().Name} is not a text classifier");
        string ids = g.TokenInput(text.SequenceLength);                          // [N, T] int64
        string h = model switch
        {
            ImdbCnnLstm m => WriteImdbCnnLstm(g, m, ids),
            CharLstmClassifier m => WriteCharLstm(g, m, ids),
            _ => throw new InvalidDataException($"{g.Source}: {model.GetType().Name} has no ONNX form"),
        };                                                                       // [N, H]
        h = g.Slot("lstm_out_act", Find(model, "lstm_out_act"), h, rank: 2);
        var fc = Get<Linear>(g, model, "fc");
        int outputs = text.NumClasses == 2 ? 1 : text.NumClasses;
        if (fc.OutFeatures != outputs)
            throw new InvalidDataException($"{g.Source}: fc: {fc.OutFeatures} outputs for {text.NumClasses} classes (expected {outputs})");
        string z = g.Gemm("fc", fc, h);                                          // [N, outputs]
        if (text.NumClasses == 2) z = LogitPair(g, z);                           // [N, 2] = (0, z)
        g.Output(z, text.NumClasses);
    }

    // embedding → dropout → conv1d → ReLU → max-pool → [slot] → LSTM: ids [N, T] → h_n [N, H]
    private static string WriteImdbCnnLstm(OnnxGraph g, ImdbCnnLstm m, string ids)
    {
        string e = Embedding(g, Get<Embedding>(g, m, "embedding"), ids);         // [N, T, E]; dropout: the identity
        e = g.Transpose("embedding.transpose", e, 0, 2, 1);                      // [N, E, T]
        string c = g.Relu("conv.relu", Conv1d(g, Get<Conv1d>(g, m, "conv"), e)); // [N, F, T − k + 1]
        string p = MaxPool1d(g, Get<MaxPool1d>(g, m, "pool"), c);                // [N, F, L]
        p = g.Slot("lstm_in_act", Find(m, "lstm_in_act"), p, rank: 3);
        p = g.Transpose("lstm.input", p, 2, 0, 1);                               // [L, N, F]
        return Lstm(g, Get<Lstm>(g, m, "lstm"), p);                              // [N, H]
    }

    // embedding → [slot] → LSTM: ids [N, T] → h_n [N, H]
    private static string WriteCharLstm(OnnxGraph g, CharLstmClassifier m, string ids)
    {
        string e = Embedding(g, Get<Embedding>(g, m, "embedding"), ids);         // [N, T, E]
        e = g.Slot("lstm_in_act", Find(m, "lstm_in_act"), e, rank: 3);          // per channel: axis 1, as our quantizer
        e = g.Transpose("lstm.input", e, 1, 0, 2);                               // [T, N, E]
        return Lstm(g, Get<Lstm>(g, m, "lstm"), e);                              // [N, H]
    }

    // ids: [N, T] int64 → [N, T, D] rows of the table [V, D]
    private static string Embedding(OnnxGraph g, Embedding emb, string ids)
    {
        var gather = g.Node("Gather", "embedding", [g.Weight("embedding", emb.Weight), ids]);
        gather.Attribute.Add(OnnxGraph.Int("axis", 0));
        return gather.Output[0];
    }

    // x: [N, C, L] → [N, O, L']
    private static string Conv1d(OnnxGraph g, Conv1d conv, string x)
    {
        string w = g.Weight("conv", conv.Weight);                                // [O, C/groups, K]
        var node = g.Node("Conv", "conv", conv.Bias is null ? [x, w] : [x, w, g.Float("conv.bias", conv.Bias.Data.ToArray(), [conv.OutChannels])]);
        node.Attribute.Add(OnnxGraph.Ints("kernel_shape", conv.Kernel));
        node.Attribute.Add(OnnxGraph.Ints("strides", conv.Stride));
        node.Attribute.Add(OnnxGraph.Ints("pads", conv.Padding, conv.Padding));
        node.Attribute.Add(OnnxGraph.Ints("dilations", conv.Dilation));
        node.Attribute.Add(OnnxGraph.Int("group", conv.Groups));
        return node.Output[0];
    }

    // x: [N, C, L] → [N, C, L'] (floor, padding ignored by the max as our −∞ padding is)
    private static string MaxPool1d(OnnxGraph g, MaxPool1d pool, string x)
    {
        var node = g.Node("MaxPool", "pool", [x]);
        node.Attribute.Add(OnnxGraph.Ints("kernel_shape", pool.Kernel));
        node.Attribute.Add(OnnxGraph.Ints("strides", pool.Stride));
        node.Attribute.Add(OnnxGraph.Ints("pads", pool.Padding, pool.Padding));
        return node.Output[0];
    }

    // x: [T, N, In] → Y_h [1, N, H] → [N, H]: one layer, one direction, zero initial states
    private static string Lstm(OnnxGraph g, Lstm lstm, string x)
    {
        if (lstm.NumLayers != 1 || lstm.Bidirectional || !lstm.BatchFirst)
            throw new InvalidDataException($"{g.Source}: lstm: {lstm.NumLayers} layer(s), {lstm.Directions} direction(s), batch_first {lstm.BatchFirst}: "
                + "the text models' LSTM is one batch-first layer in one direction");
        int hidden = lstm.HiddenSize;
        var p = lstm.NamedParameters().ToDictionary(e => e.Name, e => e.Parameter);
        int[] rows = Enumerable.Range(0, 4 * hidden).Select(r => OnnxGates[r / hidden] * hidden + r % hidden).ToArray();
        string w = g.Weight("lstm.input", p["weight_ih_l0"], rows, leading: true, tag: ".iofc");     // [1, 4H, In]
        string r = g.Weight("lstm.recurrent", p["weight_hh_l0"], rows, leading: true, tag: ".iofc"); // [1, 4H, H]
        string[] inputs = [x, w, r];
        if (lstm.HasBias)
        {
            float[] bih = p["bias_ih_l0"].Data.ToArray(), bhh = p["bias_hh_l0"].Data.ToArray();
            var b = rows.Select(i => bih[i]).Concat(rows.Select(i => bhh[i])).ToArray();             // (Wb, Rb) in ONNX's gate order
            inputs = [.. inputs, g.Float("lstm.bias.iofc", b, [1, 8 * hidden])];                     // [1, 8H]
        }
        var node = g.Node("LSTM", "lstm", inputs);
        node.Attribute.Add(OnnxGraph.Int("hidden_size", hidden));
        node.Output[0] = "";                                                     // Y (every step) is not read
        node.Output.Add("lstm.Y_h");                                             // [1, N, H]
        var squeeze = g.Node("Squeeze", "lstm.h_n", [node.Output[1], g.Int64("lstm.h_n.axes", [0], [1])]);
        return squeeze.Output[0];                                                // [N, H]
    }

    // z: [N, 1] → [N, 2] = (0, z), the model's two-class logits
    private static string LogitPair(OnnxGraph g, string z)
    {
        string shape = g.Node("Shape", "logits.shape", [z]).Output[0];           // [2] int64: (N, 1)
        string zeros = g.Node("ConstantOfShape", "logits.zero", [shape]).Output[0];   // [N, 1] float zeros
        var concat = g.Node("Concat", "logits.pair", [zeros, z]);
        concat.Attribute.Add(OnnxGraph.Int("axis", 1));
        return concat.Output[0];
    }

    private static T Get<T>(OnnxGraph g, Module parent, string child) where T : Module =>
        Find(parent, child) as T ?? throw new InvalidDataException(
            $"{g.Source}: {child}: expected a {typeof(T).Name}, found {Find(parent, child)?.GetType().Name ?? "no such layer"}");

    private static Module? Find(Module parent, string child) => parent.Children().FirstOrDefault(c => c.Name == child).Module;
}
