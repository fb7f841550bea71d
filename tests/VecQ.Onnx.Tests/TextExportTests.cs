using Microsoft.ML.OnnxRuntime;
using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Quant.Integer;
using VecQ.Tensors;
using Tensor = VecQ.Tensors.Tensor;

namespace VecQ.Onnx.Tests;

/// <summary>
/// The text models (ImdbCnnLstm, CharLstmClassifier) exported as ONNX with int64 token ids in: float graphs give our
/// logits in ONNX Runtime, QDQ graphs from packed files (rebuilt from the config as vecq export writes it) our
/// fake-quantized predictions, and onnx.checker accepts them.
/// </summary>
public sealed class TextExportTests : IDisposable
{
    private const int Vocab = 50, Seq = 20;

    private readonly string _dir = Directory.CreateTempSubdirectory("vecq-onnx-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // n sequences of Seq ids in [0, Vocab): every other one left-padded with id 0 (the padding id vecq's vocabulary
    // reserves) over a random length, the others with a few 0s inside
    private static int[] Ids(int n, int seed)
    {
        var rng = new Random(seed);
        var ids = new int[n * Seq];
        for (int i = 0; i < n; i++)
        {
            int pad = i % 2 == 0 ? rng.Next(1, Seq / 2) : 0;
            for (int t = 0; t < Seq; t++) ids[i * Seq + t] = t < pad || rng.Next(8) == 0 ? 0 : rng.Next(1, Vocab);
        }
        return ids;
    }

    private static int[] Batch(int n) => [n, Seq];

    private static Module Small(string name, int classes, Func<ActivationSlot, Module?>? activations = null) => name switch
    {
        "imdb" => new ImdbCnnLstm(Vocab, classes, Seq, embeddingDim: 8, filters: 6, kernel: 3, pool: 2, hidden: 6, activations: activations, rng: new Rng(3)),
        "thucnews" => new CharLstmClassifier(Vocab, classes, Seq, embeddingDim: 8, hidden: 6, activations: activations, rng: new Rng(3)),
        _ => throw new ArgumentException(name),
    };

    // training forwards (the activation quantizers' running steps and scales; dropout on), then evaluation mode
    private static void Settle(Module model, int seed)
    {
        model.Train();
        for (int i = 0; i < 4; i++)
        {
            using var noGrad = Autograd.Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            model.Forward(new Variable(Tensor.FromArray(Ids(16, seed + i), Batch(16))));
        }
        model.Eval();
    }

    public static TheoryData<string, int> FloatModels => new() { { "imdb", 2 }, { "imdb", 3 }, { "thucnews", 5 }, { "thucnews", 2 } };

    /// <summary>
    /// Float ImdbCnnLstm and CharLstmClassifier (vocabulary 50, embedding 8, sequence 20, hidden 6; two classes as the
    /// logit pair (0, z), or one logit per class): the graph's input is int64 [batch, 20], and ONNX Runtime's logits are
    /// ours within 1e-4 of the largest on 16 sequences with padding ids.
    /// </summary>
    [Theory]
    [MemberData(nameof(FloatModels))]
    public void FloatTextModel_RunsInOnnxRuntime_WithOurLogits(string name, int classes)
    {
        using var model = Small(name, classes);
        model.Eval();
        string path = Path.Combine(_dir, $"{name}-{classes}.onnx");
        var r = OnnxExport.FromModel(model, path);
        Assert.Equal((0, 0), (r.QuantizedWeights, r.QuantizedActivations));
        using (var session = new InferenceSession(path))
        {
            var input = session.InputMetadata["input"];
            Assert.Equal(typeof(long), input.ElementType);
            Assert.Equal([-1, Seq], input.Dimensions);
            Assert.Equal([-1, classes], session.OutputMetadata["logits"].Dimensions);
        }
        Assert.Contains("LSTM", OnnxReader.Read(path).Operators);
        var ids = Ids(16, 40);
        float[] ours = OnnxChecks.Ours(model, ids, Batch(16)), ort = OnnxChecks.Ort(path, ids, Batch(16));
        OnnxChecks.Close(ours, ort, $"{name} ({classes} classes)");
        if (classes == 2) Assert.All(Enumerable.Range(0, 16), i => Assert.Equal(0f, ort[2 * i]));
        OnnxChecks.Checker(path);
    }

    public static TheoryData<string, int, int, bool> QdqModels => new()
    {
        { "imdb", 4, 8, false },       // int8 codes, per-row weight scales (the LSTM's on axis 1), per-channel activation steps
        { "thucnews", 2, 4, true },    // per-tensor weight scales and activation steps, 4-bit activations (Min/Max clamps)
        { "thucnews", 8, 8, false },   // int32 codes for 8-bit weights
    };

    /// <summary>
    /// A packed file as vecq export writes it (config "imdb" {vocab, seq_len, classes}: the standard widths; "thucnews"
    /// with "embed" 8 and "hidden" 6), exported through <see cref="OnnxExport.FromPacked(string, string)"/>: every
    /// weight an integer tensor behind DequantizeLinear, a QDQ pair on the LSTM's input and on its final hidden state,
    /// and ONNX Runtime's predictions (the sign of z for imdb's two classes) are the fake-quantized model's on all 32
    /// sequences. The integer path (<see cref="QuantizedModel.Load"/>) still refuses the file.
    /// </summary>
    [Theory]
    [MemberData(nameof(QdqModels))]
    public void QdqTextModel_FromPackedFile_RunsInOnnxRuntime_WithTheFakeQuantizedPredictions(string name, int wbits, int abits, bool perTensor)
    {
        int classes = name == "imdb" ? 2 : 5;
        Module? Act(ActivationSlot s) => new ActivationQuantizer(abits, lambdaMode: perTensor ? LambdaMode.Gaussian : LambdaMode.Exact, channels: perTensor ? 0 : s.Channels);
        var sizes = name == "imdb"
            ? new Dictionary<string, int> { ["vocab"] = Vocab, ["seq_len"] = Seq, ["classes"] = classes }
            : new Dictionary<string, int> { ["vocab"] = Vocab, ["seq_len"] = Seq, ["classes"] = classes, ["embed"] = 8, ["hidden"] = 6 };
        string tag = $"{name}-w{wbits}a{abits}", packedPath = Path.Combine(_dir, tag + ".vecq"), path = Path.Combine(_dir, tag + ".onnx");
        int weights;
        using (var model = name == "imdb"
            ? (Module)new ImdbCnnLstm(Vocab, classes, Seq, activations: Act, rng: new Rng(21))
            : new CharLstmClassifier(Vocab, classes, Seq, embeddingDim: 8, hidden: 6, activations: Act, rng: new Rng(21)))
        {
            // a wider embedding and dense layer than the inits, so untrained sequences do not all get the same prediction
            Init.Normal(Parameter(model, "embedding.weight").Data, new Rng(22), 0, 1);
            Init.Normal(Parameter(model, "fc.weight").Data, new Rng(23), 0, 1);
            weights = model.Quantize(new QuantizeConfig { WeightBits = wbits, Granularity = perTensor ? Granularity.PerTensor : Granularity.PerChannel }).Count;
            Settle(model, 30);
            if (classes == 2)
            {
                // z centred on the test sequences (the bias stays float, so the codes do not move): both signs occur
                var z = OnnxChecks.Ours(model, Ids(32, 500), Batch(32)).Where((_, i) => i % 2 == 1).Order().ToArray();
                var bias = Parameter(model, "fc.bias").Data;
                bias.Fill(bias.ToArray()[0] - (z[15] + z[16]) / 2);
            }
            PackedModel.Export(model, packedPath, new Dictionary<string, string>
            {
                ["config"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = name, ["sizes"] = sizes }),
                ["abits"] = abits.ToString(System.Globalization.CultureInfo.InvariantCulture), ["act_quant"] = perTensor ? "paper" : "searched",
            });
        }
        var r = OnnxExport.FromPacked(packedPath, path);
        Assert.Equal(name == "imdb" ? 5 : 4, weights);                          // embedding, [conv,] LSTM input and recurrent, dense
        Assert.Equal((weights, 2), (r.QuantizedWeights, r.QuantizedActivations));
        using var fake = QuantizedModel.LoadFloatSimulation(packedPath);
        var ids = Ids(32, 500);
        float[] ours = OnnxChecks.Ours(fake, ids, Batch(32)), ort = OnnxChecks.Ort(path, ids, Batch(32));
        var want = OnnxChecks.Top1(ours, 32);
        var got = OnnxChecks.Top1(ort, 32);
        Assert.True(want.Distinct().Count() > 1, $"every sequence gets class {want[0]}: the comparison would say nothing ({string.Join(", ", ours)})");
        int differ = want.Zip(got).Count(p => p.First != p.Second);
        Assert.True(differ == 0, $"{differ} of 32 predictions differ between ONNX Runtime and the fake-quantized {name}");
        // coarse: an activation code that flips at a decision boundary moves the logits a little; a wrong graph moves them by their size
        double scale = ours.Max(Math.Abs), worst = ours.Zip(ort).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 0.05 * scale, $"logits differ by up to {worst} (largest |logit| {scale})");
        OnnxChecks.Checker(path);
        // the integer path still refuses it (it runs the conv → ReLU → BN chains), naming the file and the model
        var e = Assert.Throws<InvalidDataException>(() => QuantizedModel.Load(packedPath));
        Assert.Contains(packedPath, e.Message);
        Assert.Contains(fake.GetType().Name, e.Message);
    }

    private static Parameter Parameter(Module model, string name) => model.NamedParameters().First(p => p.Name == name).Parameter;

    /// <summary>
    /// A small ImdbCnnLstm (sizes no config records) through <see cref="OnnxExport.FromPacked(Module, PackedModel, string)"/>
    /// with per-channel steps on the [N, F, L] conv features: the fake-quantized model's logits within 1e-4 of the largest.
    /// </summary>
    [Fact]
    public void QdqSmallImdb_FromPackedWithTheModel_GivesTheFakeQuantizedLogits()
    {
        Module? Act(ActivationSlot s) => new ActivationQuantizer(8, channels: s.Channels);
        string packedPath = Path.Combine(_dir, "imdb-small.vecq"), path = Path.Combine(_dir, "imdb-small.onnx");
        using (var model = Small("imdb", 3, Act))
        {
            model.Quantize(new QuantizeConfig { WeightBits = 3, Granularity = Granularity.PerChannel });
            Settle(model, 60);
            PackedModel.Export(model, packedPath);
        }
        using var packed = PackedModel.Load(packedPath);
        using var fake = Small("imdb", 3, Act);
        var r = OnnxExport.FromPacked(fake, packed, path);
        Assert.Equal((5, 2), (r.QuantizedWeights, r.QuantizedActivations));
        var ids = Ids(16, 70);
        OnnxChecks.Close(OnnxChecks.Ours(fake, ids, Batch(16)), OnnxChecks.Ort(path, ids, Batch(16)), "W3/A8 ImdbCnnLstm");
        OnnxChecks.Checker(path);
    }
}
