using System.Text.Json;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Integer;

/// <summary>
/// Integer inference of a packed VecQ model (<c>vecq export</c>, PACKED_FORMAT.md): the weights stay in memory as int8
/// codes and every hidden layer after the first runs as an int8 × uint8 product (<see cref="Int8Gemm"/>, VNNI where the
/// CPU has it) on the activation quantizers' codes; float remains where the method keeps it: the first layer (its input
/// is the float image), the batch norms (folded into the per-channel maps of the next layer's input and into its
/// bias), and the last layer (the logits).
/// </summary>
/// <remarks>
/// Exact by construction: a hidden layer's input in the fake-quantized model is z = s_c·u + t_c with u an integer code
/// and (s_c, t_c) per channel, and its weights are α_o·(c + ½) with c an integer code. The integer path sums c·u within
/// each input channel in int32 (exact) and applies s_c, α_o and the t_c terms in float, so it computes what the
/// fake-quantized model computes up to the order of float additions: predictions differ only where a value falls
/// within rounding of an activation grid point or two logits tie. The code c (not m = 2c + 1) is stored as int8 so
/// 8-bit weights fit too (m reaches ±255); the ½ comes back through the per-column code sums.
/// <para>
/// Supported: the conv → ReLU → quantize → BN → pool chains (LeNet5, VGG-like, AlexNet; <see cref="IConvChain"/>) with
/// activation quantizers of ≤ 8 bits after every hidden ReLU, weights of ≤ 8 bits on the zero-centred grids (VecQ, L2,
/// TWN, binary). Anything else is refused with a message naming what: evaluate it with the float simulation
/// (<c>vecq eval --fake-quant</c>). Thread-safe: <see cref="Predict"/> and <see cref="Logits"/> keep no state between calls.
/// </para>
/// </remarks>
/// <example><code>
/// using var m = QuantizedModel.Load("lenet5-w2a8.vecq");
/// float[] probs = m.Predict(image);          // image: 28·28 floats, normalised as in training
/// int best = Array.IndexOf(probs, probs.Max());
/// </code></example>
public sealed class QuantizedModel : IDisposable
{
    private readonly FloatStage _first;
    private readonly object[] _middle;        // IntLayer or FloatStage, in order
    private readonly FloatStage _last;

    private QuantizedModel(string name, int[] inputShape, int classes, FloatStage first, object[] middle, FloatStage last, long floatBytes,
        IReadOnlyDictionary<string, string> metadata)
    {
        ModelName = name;
        InputShape = inputShape;
        NumClasses = classes;
        _first = first;
        _middle = middle;
        _last = last;
        FloatWeightBytes = floatBytes;
        Metadata = metadata;
    }

    /// <summary>The model's type ("LeNet5", "VggLike", or your own <see cref="IConvChain"/> module's).</summary>
    public string ModelName { get; }

    /// <summary>One input example: [C, H, W].</summary>
    public int[] InputShape { get; }

    /// <summary>Number of outputs.</summary>
    public int NumClasses { get; }

    /// <summary>The file's own metadata (dataset, preprocessing, class names…).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The ISA of the integer products (the fastest this CPU runs unless set).</summary>
    public Int8Isa Isa { get; set; } = Int8Gemm.Best;

    /// <summary>Bytes of the weights as this object holds them: int8 codes, the float layers, the per-channel vectors and bias maps.</summary>
    public long WeightBytes => _first.Bytes + _last.Bytes + _middle.Sum(s => s is IntLayer l ? l.Bytes : ((FloatStage)s).Bytes);

    /// <summary>Bytes the same weights take as float32 (every conv/dense weight and bias, the batch norms' and quantizers' vectors).</summary>
    public long FloatWeightBytes { get; }

    /// <summary>One line per layer: how it runs ("conv2: int8 × u8, 32 segments of 25 taps").</summary>
    public IReadOnlyList<string> Layers => [_first.Describe(), .. _middle.Select(s => s is IntLayer l ? Describe(l) : ((FloatStage)s).Describe()), _last.Describe()];

    private static string Describe(IntLayer l) =>
        $"{(l.Dense ? "dense" : "conv")} {l.Out}: int8 × u8 ({l.In} segments of {l.Taps} taps{(l.Dense ? "" : $", {l.OH}×{l.OW} positions")})";

    /// <summary>Loads a packed file and prepares it for integer inference.</summary>
    /// <exception cref="InvalidDataException">Not a packed VecQ file, damaged, or a model this path does not run (the message names the file and why).</exception>
    /// <example><code>using var m = QuantizedModel.Load("vgg-w4a8.vecq");</code></example>
    public static QuantizedModel Load(string path)
    {
        using var packed = PackedModel.Load(path);
        int abits = packed.Metadata.TryGetValue("abits", out var ab) && int.TryParse(ab, out int a) ? a : 32;
        if (abits > 8) throw Bad(path, $"its activations are {abits}-bit; integer inference needs quantized activations of at most 8 bits (use the float simulation, --fake-quant)");
        using var model = Build(packed, path, withActivationQuantizers: true);
        return Compile(model, packed, path);
    }

    /// <summary>
    /// Integer inference of your own conv → ReLU → quantize → BN chain (a <see cref="Module"/> that is an
    /// <see cref="IConvChain"/>, built like the model that was exported, without weight quantizers): the packed tensors
    /// are loaded into it, and it is compiled. The model can be disposed afterwards.
    /// </summary>
    /// <exception cref="InvalidDataException">The model or the file does not suit the integer path (the message says why).</exception>
    /// <example><code>
    /// using var packed = PackedModel.Load("mynet.vecq");
    /// using var q = QuantizedModel.FromPacked(new MyNet(activations: slot => new ActivationQuantizer(8)), packed);
    /// </code></example>
    public static QuantizedModel FromPacked(Module model, PackedModel packed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(packed);
        return Compile(model, packed, model.GetType().Name);
    }

    private static QuantizedModel Compile(Module model, PackedModel packed, string source)
    {
        if (model is not IConvChain chain)
            throw Bad(source, $"{model.GetType().Name} is not a conv → ReLU → BN chain (IConvChain); integer inference runs lenet5, vgg-like and alexnet (use --fake-quant)");
        packed.LoadInto(model);
        model.Eval();
        var names = model.NamedParameters().ToDictionary(e => e.Parameter, e => e.Name);
        long floatBytes = model.NamedParameters().Sum(e => 4L * e.Parameter.Data.Numel) + model.NamedBuffers().Sum(e => 4L * e.Buffer.Value.Numel);
        try
        {
            return Compile(chain, packed, names, floatBytes, packed.Metadata, source);
        }
        catch (ArgumentException e) { throw Bad(source, e.Message); }
    }

    /// <summary>
    /// The same packed file as a float model in evaluation mode: dequantized weights, with
    /// (<paramref name="withActivationQuantizers"/>) or without its activation quantizers — the fake-quantized model the
    /// integer path reproduces, or the float network of the same weights (what it is timed against).
    /// </summary>
    /// <exception cref="InvalidDataException">As <see cref="Load"/>.</exception>
    /// <example><code>using var fake = QuantizedModel.LoadFloatSimulation("lenet5-w2a8.vecq");</code></example>
    public static Module LoadFloatSimulation(string path, bool withActivationQuantizers = true)
    {
        using var packed = PackedModel.Load(path);
        var model = Build(packed, path, withActivationQuantizers);
        packed.LoadInto(model, strict: withActivationQuantizers);
        model.Eval();
        return model;
    }

    // The model the file's metadata describes (config, abits, act_quant), as vecq export recorded it.
    private static Module Build(PackedModel packed, string path, bool withActivationQuantizers)
    {
        var meta = packed.Metadata;
        if (!meta.TryGetValue("config", out var configJson))
            throw Unbuildable(path, "it has no 'config' metadata (the model's description; files written by vecq export have it)");
        var (name, sizes) = ParseConfig(configJson, path);
        int abits = meta.TryGetValue("abits", out var ab) && int.TryParse(ab, out int a) ? a : 32;
        return Build(name, sizes, withActivationQuantizers ? abits : 32, meta.GetValueOrDefault("act_quant") == "paper", path);
    }

    private static InvalidDataException Bad(string path, string what) => new($"{path}: cannot run as integers: {what}");

    // The file does not describe a model we can build (both the integer path and the float simulation stop here).
    private static InvalidDataException Unbuildable(string path, string what) => new($"{path}: {what}");

    private static (string Name, Dictionary<string, int> Sizes) ParseConfig(string json, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            string name = doc.RootElement.GetProperty("model").GetString() ?? "";
            var sizes = doc.RootElement.GetProperty("sizes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
            return (name, sizes);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Unbuildable(path, $"its model config '{json}' is not valid: {e.Message}");
        }
    }

    // The models as vecq train builds them (ModelFactory in the CLI), with evaluation-only activation quantizers:
    // their running step and scale come from the file.
    private static Module Build(string name, Dictionary<string, int> z, int abits, bool perTensor, string path)
    {
        int Get(string key) => z.TryGetValue(key, out int v) ? v : throw Unbuildable(path, $"its {name} config lacks '{key}'");
        Module? Act(int channels) => abits > 16 ? null : new ActivationQuantizer(abits, channels: perTensor ? 0 : channels);
        return name switch
        {
            "lenet5" => new LeNet5(Get("c1"), Get("c2"), Get("hidden"), Get("classes"),
                activations: s => Act(s switch { "act1" => z["c1"], "act2" => z["c2"], _ => z["hidden"] })),
            "vgg-like" => new VggLike(Get("classes"), Get("channels"), inputSize: Get("image_size"), activations: s => Act(s.Channels)),
            "alexnet" => new AlexNet(Get("classes"), Get("channels"), inputSize: Get("image_size"), activations: s => Act(s.Channels)),
            // the residual and MobileNet families run only as the float simulation (Compile refuses them for integers)
            "resnet18" => new ResNet18(Get("classes"), Get("channels"), activations: s => Act(s.Channels)),
            "resnet18-preact" => new PreActResNet18(Get("classes"), Get("channels"), activations: s => Act(s.Channels)),
            "mobilenet-v1" => new MobileNetV1(Get("classes"), Get("channels"), activations: s => Act(s.Channels)),
            "mobilenet-v2" => new MobileNetV2(Get("classes"), Get("channels"), activations: s => Act(s.Channels)),
            // the text models (token ids in) too: the vocabulary and sequence length the config records ("embed" and
            // "hidden" where thucnews was built at other widths)
            "imdb" => new ImdbCnnLstm(Get("vocab"), Get("classes"), Get("seq_len"), activations: s => Act(s.Channels)),
            "thucnews" => new CharLstmClassifier(Get("vocab"), Get("classes"), Get("seq_len"), embeddingDim: z.GetValueOrDefault("embed", 128),
                hidden: z.GetValueOrDefault("hidden", 140), activations: s => Act(s.Channels)),
            _ => throw Unbuildable(path, $"model '{name}' is not a model a packed file can be rebuilt as (lenet5, vgg-like, alexnet, resnet18, resnet18-preact, mobilenet-v1, mobilenet-v2, imdb, thucnews)"),
        };
    }

    private static QuantizedModel Compile(IConvChain model, PackedModel packed, Dictionary<Parameter, string> names, long floatBytes,
        IReadOnlyDictionary<string, string> meta, string path)
    {
        var chain = model.Chain;
        int[] shape = model.InputShape;                          // [C, H, W] of the current stage's input
        FloatStage? first = null;
        var middle = new List<object>();
        int segments = shape[0], h = shape[1], w = shape[2];
        CodeEpilogue? prev = null;                               // the map of the current stage's input (null: the float image)
        for (int i = 0; i < chain.Count - 1; i++)
        {
            var s = chain[i];
            var epilogue = Epilogue(s, path);
            if (s.Layer is Conv2d conv)
            {
                var (oh, ow) = FloatStage.OutputSize(conv, h, w);
                var pt = packed.Quantized.GetValueOrDefault(names[conv.Weight]);
                if (i == 0 || !IntegerWeights(pt) || conv.Groups != 1)
                {
                    var stage = new FloatStage(s.Name, conv, epilogue, i == 0 ? null : (h, w));
                    if (i == 0) first = stage; else middle.Add(stage);
                }
                else middle.Add(IntConv(conv, pt!, epilogue, (h, w), (oh, ow), prev!.Shift));
                (segments, h, w) = (conv.OutChannels, oh, ow);
                (h, w) = epilogue.OutSize(h, w);
            }
            else if (s.Layer is Linear fc)
            {
                if (s.Pool != null) throw new ArgumentException($"{s.Name}: a max pool after a dense layer");
                int taps = h * w;
                var pt = packed.Quantized.GetValueOrDefault(names[fc.Weight]);
                if (i == 0) throw new ArgumentException($"{s.Name}: the first layer must be a convolution");
                if (taps < 4 || !IntegerWeights(pt)) middle.Add(new FloatStage(s.Name, fc, epilogue, (h, w)));
                else middle.Add(IntDense(fc, pt!, epilogue, segments, taps, prev!.Shift));
                (segments, h, w) = (fc.OutFeatures, 1, 1);
            }
            else throw new ArgumentException($"{s.Name}: {s.Layer.GetType().Name} is not a Conv2d or Linear layer");
            prev = epilogue;
        }
        var lastStage = chain[^1];
        if (lastStage.Layer is not Linear head || lastStage.Relu || lastStage.Norm != null)
            throw new ArgumentException($"{lastStage.Name}: the last layer must be a dense layer without ReLU or batch norm (the logits)");
        var last = new FloatStage(lastStage.Name, head, null, (h, w));
        return new QuantizedModel(((Module)model).GetType().Name, model.InputShape, head.OutFeatures, first!, middle.ToArray(), last, floatBytes,
            meta.Where(kv => kv.Key != "config").ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    // the codes fit int8 on a zero-centred grid: w = α·(c + o), o ∈ {0, ½}, |c| ≤ 128
    private static bool IntegerWeights(PackedTensor? pt) => pt is { Bits: <= 8 } && pt.Groups.All(g => g.Shift == 0);

    private static CodeEpilogue Epilogue(ChainStage s, string path)
    {
        if (!s.Relu || s.ConvSlot != null || s.ReluSlot is not ActivationQuantizer q || s.Norm is not { } bn)
            throw new ArgumentException($"{s.Name}: integer inference needs ReLU → activation quantizer → batch norm after every hidden layer "
                + "(the LeNet5/VGG-like/AlexNet order with --abits ≤ 8)");
        if (q.Bits > 8) throw new ArgumentException($"{s.Name}: {q.Bits}-bit activations do not fit one byte");
        if (!bn.TrackRunningStats || bn.RunningMean is null || bn.RunningVar is null) throw new ArgumentException($"{s.Name}: its batch norm keeps no running statistics");
        int c = bn.NumFeatures;
        float[] Expand(Tensor t) => t.Numel == 1 ? Enumerable.Repeat(t.ToArray()[0], c).ToArray() : t.ToArray();
        float[] step = Expand(q.StepBuffer.Value), a = Expand(q.ScaleBuffer.Value);
        float[] mean = bn.RunningMean.Value.ToArray(), var = bn.RunningVar.Value.ToArray();
        float[] gamma = bn.Weight?.Data.ToArray() ?? Enumerable.Repeat(1f, c).ToArray(), beta = bn.Bias?.Data.ToArray() ?? new float[c];
        var scale = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            double g = gamma[i] / Math.Sqrt(var[i] + bn.Eps);
            scale[i] = (float)(a[i] * g / 2);                  // z = a·v·g + … with v = u/2
            shift[i] = (float)(beta[i] - mean[i] * g);
        }
        (int, int, int, int)? pool = s.Pool is var (k, st) ? (k.H, k.W, st.H, st.W) : null;
        return new CodeEpilogue(step, q.Bits, scale, shift, pool);
    }

    private static (sbyte[] Codes, float[] Alpha, float Offset) PackWeights(PackedTensor pt, int outputs, int segments, int taps, int taps4)
    {
        var codes = new sbyte[(long)Int8Gemm.PaddedRows(outputs + 1) * segments * taps4];
        codes.AsSpan(outputs * segments * taps4, segments * taps4).Fill(1);     // the row of ones
        for (int o = 0; o < outputs; o++)
            for (int c = 0; c < segments; c++)
                for (int t = 0; t < taps; t++)
                    codes[((long)o * segments + c) * taps4 + t] = (sbyte)pt.Codes[((long)o * segments + c) * taps + t];
        var alpha = new float[outputs];
        for (int o = 0; o < outputs; o++) alpha[o] = pt.Groups[pt.Groups.Count == 1 ? 0 : o].Alpha;
        return (codes, alpha, pt.Groups[0].CodeOffset);
    }

    private static IntLayer IntConv(Conv2d conv, PackedTensor pt, CodeEpilogue epilogue, (int H, int W) input, (int H, int W) output,
        float[] inputShift)
    {
        int taps = conv.Kernel.H * conv.Kernel.W, taps4 = Int8Gemm.PaddedTaps(taps);
        var (codes, alpha, offset) = PackWeights(pt, conv.OutChannels, conv.InChannels, taps, taps4);
        // bias + Σ_c t_c·Σ_{taps inside the image} w: the convolution of the image whose every pixel of channel c is t_c
        using var shiftImage = Tensor.FromArray(Enumerable.Range(0, conv.InChannels).SelectMany(c => Enumerable.Repeat(inputShift[c], input.H * input.W)).ToArray(),
            [1, conv.InChannels, input.H, input.W]);
        var (ph, pw) = conv.ResolvedPadding.ToTuple();
        using var border = ConvOps.Conv2d(shiftImage, conv.Weight.Data, conv.Bias?.Data, conv.Stride.ToTuple(), (ph, pw), conv.Dilation.ToTuple());
        return new IntLayer
        {
            Codes = codes, Out = conv.OutChannels, In = conv.InChannels, Taps = taps, Taps4 = taps4, Alpha = alpha, CodeOffset = offset,
            Bias = border.ToArray(), Positions = output.H * output.W, Epilogue = epilogue,
            H = input.H, W = input.W, Kh = conv.Kernel.H, Kw = conv.Kernel.W, Sh = conv.Stride.H, Sw = conv.Stride.W, Ph = ph, Pw = pw,
            Dh = conv.Dilation.H, Dw = conv.Dilation.W, OH = output.H, OW = output.W,
        };
    }

    private static IntLayer IntDense(Linear fc, PackedTensor pt, CodeEpilogue epilogue, int segments, int taps, float[] inputShift)
    {
        if (segments * taps != fc.InFeatures) throw new ArgumentException($"dense layer of {fc.InFeatures} inputs after {segments}×{taps} features");
        int taps4 = Int8Gemm.PaddedTaps(taps);
        var (codes, alpha, offset) = PackWeights(pt, fc.OutFeatures, segments, taps, taps4);
        float[] w = fc.Weight.Data.ToArray(), b = fc.Bias?.Data.ToArray() ?? new float[fc.OutFeatures];
        var bias = new float[fc.OutFeatures];
        for (int o = 0; o < fc.OutFeatures; o++)
        {
            double sum = b[o];
            for (int k = 0; k < fc.InFeatures; k++) sum += (double)w[(long)o * fc.InFeatures + k] * inputShift[k / taps];
            bias[o] = (float)sum;
        }
        return new IntLayer
        {
            Codes = codes, Out = fc.OutFeatures, In = segments, Taps = taps, Taps4 = taps4, Alpha = alpha, CodeOffset = offset, Bias = bias,
            Positions = 1, Epilogue = epilogue, Dense = true,
        };
    }

    /// <summary>Logits for <paramref name="count"/> examples laid out one after another ([count, C, H, W] floats).</summary>
    /// <returns>[count, classes] row-major.</returns>
    /// <exception cref="ArgumentException">The span's length is not count × C·H·W.</exception>
    /// <example><code>float[] logits = m.Logits(batch, 100);</code></example>
    public float[] Logits(ReadOnlySpan<float> inputs, int count)
    {
        int per = InputShape[0] * InputShape[1] * InputShape[2];
        if (count < 1 || inputs.Length != (long)count * per)
            throw new ArgumentException($"{ModelName}: {inputs.Length} values for {count} examples; expected {count} × {Shape.Format(InputShape)} = {(long)count * per}");
        using var x = Tensor.FromArray(inputs.ToArray(), [count, .. InputShape]);
        return Forward(x);
    }

    /// <summary>x: [N, C, H, W] float32 → logits [N, classes] (row-major floats).</summary>
    /// <example><code>float[] logits = m.Forward(batch);   // batch: [100, 1, 28, 28]</code></example>
    public float[] Forward(Tensor x) => Run(x, null);

    /// <summary>
    /// <see cref="Forward"/> timed layer by layer: one row per entry of <see cref="Layers"/>, wall milliseconds of this
    /// call (what a benchmark prints to say where the time goes).
    /// </summary>
    /// <example><code>foreach (var (layer, ms) in m.Profile(batch)) Console.WriteLine($"{layer}: {ms:F2} ms");</code></example>
    public IReadOnlyList<(string Layer, double Milliseconds)> Profile(Tensor x)
    {
        var times = new List<double>();
        Run(x, times);
        return Layers.Zip(times).ToList();
    }

    private float[] Run(Tensor x, List<double>? times)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4 || x.Dims[1] != InputShape[0] || x.Dims[2] != InputShape[1] || x.Dims[3] != InputShape[2] || x.DType != DType.Float32)
            throw new ArgumentException($"{ModelName}: input {x.ShapeText} {x.DType.Name()} must be float32 [N, {InputShape[0]}, {InputShape[1]}, {InputShape[2]}]");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        void Lap()
        {
            if (times is null) return;
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            times.Add((now - start) * 1e3 / System.Diagnostics.Stopwatch.Frequency);
            start = now;
        }
        using var xc = x.Device == Device.Cpu ? x.Contiguous() : x.To(Device.Cpu);
        var h = _first.RunToCodes(xc);
        Lap();
        foreach (var s in _middle)
        {
            var next = s is IntLayer l ? l.Run(h, Isa) : ((FloatStage)s).RunToCodes(h);
            h.Release();                                                             // the codes go back to the pool
            h = next;
            Lap();
        }
        var logits = _last.RunToLogits(h);
        h.Release();
        Lap();
        return logits;
    }

    /// <summary>Class probabilities (softmax of the logits) of one example of C·H·W floats.</summary>
    /// <example><code>float[] probs = m.Predict(pixels);</code></example>
    public float[] Predict(ReadOnlySpan<float> example)
    {
        var logits = Logits(example, 1);
        float max = logits.Max();
        double sum = 0;
        var p = new float[logits.Length];
        for (int i = 0; i < p.Length; i++) sum += p[i] = MathF.Exp(logits[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] = (float)(p[i] / sum);
        return p;
    }

    /// <summary>Releases the float layers' tensors.</summary>
    public void Dispose()
    {
        _first.Dispose();
        _last.Dispose();
        foreach (var s in _middle) (s as FloatStage)?.Dispose();
    }
}
