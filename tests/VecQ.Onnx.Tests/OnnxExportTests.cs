using VecQ.Autograd;
using VecQ.Datasets;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Quant.Integer;
using VecQ.Tensors;
using Tensor = VecQ.Tensors.Tensor;

namespace VecQ.Onnx.Tests;

/// <summary>Exported graphs run in ONNX Runtime and pass onnx.checker; their outputs are ours.</summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vecq-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, int> Small = new() { ["c1"] = 6, ["c2"] = 8, ["hidden"] = 16, ["classes"] = 10 };

    // 1000 Fashion-MNIST test images, normalised as vecq train does ([N, 1, 28, 28])
    private static float[] TestImages(int n, out int[] labels)
    {
        if (!Directory.Exists("/usr/share/datasets/fashion-mnist"))
            Assert.Fail("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does this)");
        var test = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, new DataLocator { Report = null });
        var x = new float[n * 784];
        for (int i = 0; i < n * 784; i++) x[i] = (test.Images[i] / 255f - 0.2860f) / 0.3530f;
        labels = test.Labels.Take(n).Select(b => (int)b).ToArray();
        return x;
    }

    // a small LeNet5 trained 60 steps on Fashion-MNIST, so its batch norms, quantizers and margins are a trained model's
    private static LeNet5 Trained(int wbits, int abits, bool perTensor, bool perChannelWeights = false)
    {
        var model = new LeNet5(6, 8, 16, 10, rng: new Rng(11), activations: abits >= 32 ? null : slot =>
            new ActivationQuantizer(abits, 0.9, perTensor ? LambdaMode.Gaussian : LambdaMode.Exact, channels: perTensor ? 0 : slot switch { "act1" => 6, "act2" => 8, _ => 16 }));
        if (wbits < 32) model.Quantize(new QuantizeConfig { WeightBits = wbits, Granularity = perChannelWeights ? Granularity.PerChannel : Granularity.PerTensor });
        var train = MnistDataset.Load("fashion-mnist", DatasetSplit.Train, new DataLocator { Report = null });
        using var opt = new Sgd(model, 0.02, momentum: 0.9);
        for (int step = 0; step < 60; step++)
        {
            using var scope = TensorScope.Begin();
            var xb = new float[50 * 784];
            var yb = new int[50];
            for (int i = 0; i < 50; i++)
            {
                int k = step * 50 + i;
                for (int j = 0; j < 784; j++) xb[i * 784 + j] = (train.Images[k * 784 + j] / 255f - 0.2860f) / 0.3530f;
                yb[i] = train.Labels[k];
            }
            var loss = Functions.SoftmaxCrossEntropy(model.Forward(new Variable(Tensor.FromArray(xb, [50, 1, 28, 28]))), Tensor.FromArray(yb));
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        model.Eval();
        return model;
    }

    private string Packed(LeNet5 model, int abits, bool perTensor, string name)
    {
        string path = Path.Combine(_dir, name + ".vecq");
        PackedModel.Export(model, path, new Dictionary<string, string>
        {
            ["config"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "lenet5", ["sizes"] = Small }),
            ["abits"] = abits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["act_quant"] = perTensor ? "paper" : "searched",
        });
        return path;
    }

    private static readonly int[] Images28 = [1, 28, 28];

    private static float[] Ours(Module model, float[] x, int n) => OnnxChecks.Ours(model, x, [n, .. Images28]);

    private static float[] Ort(string path, float[] x, int n) => OnnxChecks.Ort(path, x, [n, .. Images28]);

    [Fact]
    public void FloatLeNet5_RunsInOnnxRuntime_WithOurLogits()
    {
        using var model = Trained(32, 32, false);
        string path = Path.Combine(_dir, "float.onnx");
        var r = OnnxExport.FromModel(model, path);
        Assert.Equal(0, r.QuantizedWeights);
        var x = TestImages(200, out _);
        var want = Ours(model, x, 200);
        var got = Ort(path, x, 200);
        OnnxChecks.Close(want, got, "LeNet5");
        OnnxChecks.Checker(path);
    }

    /// <summary>
    /// QDQ exports of W2/A8 (int8 weights), W8/A8 (int32 weights), per-output-channel weight scales at 2 and 8 bits (the
    /// DequantizeLinear axis), and W4/A4 with per-tensor activation steps: the same top-1 on 1000 test images.
    /// </summary>
    [Theory]
    [InlineData(2, 8, false, false)]
    [InlineData(8, 8, false, false)]
    [InlineData(2, 8, false, true)]
    [InlineData(8, 8, false, true)]
    [InlineData(4, 4, true, false)]
    public void QdqLeNet5_RunsInOnnxRuntime_WithTheFakeQuantizedPredictions(int wbits, int abits, bool perTensor, bool perChannelWeights)
    {
        using var model = Trained(wbits, abits, perTensor, perChannelWeights);
        string packed = Packed(model, abits, perTensor, $"w{wbits}a{abits}{(perChannelWeights ? "c" : "")}");
        string path = Path.Combine(_dir, $"w{wbits}a{abits}{(perChannelWeights ? "c" : "")}.onnx");
        var r = OnnxExport.FromPacked(packed, path);
        Assert.Equal(4, r.QuantizedWeights);
        Assert.Equal(3, r.QuantizedActivations);
        var x = TestImages(1000, out _);
        using var fake = QuantizedModel.LoadFloatSimulation(packed);
        var want = OnnxChecks.Top1(Ours(fake, x, 1000), 1000);
        var got = OnnxChecks.Top1(Ort(path, x, 1000), 1000);
        int differ = want.Zip(got).Count(p => p.First != p.Second);
        Assert.True(differ == 0, $"{differ} of 1000 top-1 predictions differ between ONNX Runtime and the fake-quantized model");
        OnnxChecks.Checker(path);
    }

    /// <summary>Float weights with trained 8-bit activation quantizers (W32/A8): float initializers, QDQ activations, our top-1.</summary>
    [Fact]
    public void FloatWeightsWithQuantizedActivations_RunInOnnxRuntime_WithOurPredictions()
    {
        using var model = Trained(32, 8, false);
        string path = Path.Combine(_dir, "w32a8.onnx");
        var r = OnnxExport.FromModel(model, path);
        Assert.Equal((0, 3), (r.QuantizedWeights, r.QuantizedActivations));
        var x = TestImages(1000, out _);
        var want = OnnxChecks.Top1(Ours(model, x, 1000), 1000);
        var got = OnnxChecks.Top1(Ort(path, x, 1000), 1000);
        Assert.Equal(want, got);
        OnnxChecks.Checker(path);
    }

    [Fact]
    public void ModelWithWeightQuantizers_IsRefused_AndUnsupportedModelsAreNamed()
    {
        using var model = new LeNet5(6, 8, 16, 10, rng: new Rng(1));
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.FromModel(model, Path.Combine(_dir, "x.onnx")));
        Assert.Contains("packed file", e.Message);
        // a model the exporter does not write is named, with what it writes; no file is left
        using var plain = new Sequential(new Linear(4, 2, rng: new Rng(1)));
        var e2 = Assert.Throws<InvalidDataException>(() => OnnxExport.FromModel(plain, Path.Combine(_dir, "t.onnx")));
        Assert.Contains("Sequential", e2.Message);
        Assert.Contains("mobilenet-v2", e2.Message);
        Assert.Contains("thucnews", e2.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "t.onnx")));
        using var plainPacked = PackedModel.Load(PackedOf(plain, "plain.vecq", "{\"model\":\"lenet5\",\"sizes\":{}}"));
        var e3 = Assert.Throws<InvalidDataException>(() => OnnxExport.FromPacked(plain, plainPacked, Path.Combine(_dir, "t.onnx")));
        Assert.Contains("Sequential", e3.Message);
        // every model a packed file can be rebuilt as is exported: a config naming another model (a tampered file) is
        // refused, naming the file and the model
        string packed = PackedOf(plain, "unknown.vecq", "{\"model\":\"gru-classifier\",\"sizes\":{\"vocab\":50,\"seq_len\":16,\"classes\":2}}");
        var e4 = Assert.Throws<InvalidDataException>(() => OnnxExport.FromPacked(packed, Path.Combine(_dir, "t.onnx")));
        Assert.Contains("'gru-classifier'", e4.Message);
        Assert.Contains(packed, e4.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "t.onnx")));
    }

    private string PackedOf(Module model, string name, string config)
    {
        string path = Path.Combine(_dir, name);
        PackedModel.Export(model, path, new Dictionary<string, string> { ["config"] = config });
        return path;
    }
}

/// <summary>
/// Seeded mutation fuzzing of the ONNX reader on an exported QDQ model: 10,000 mutants each read back or fail with
/// <see cref="InvalidDataException"/> naming the file, allocating no more than a small multiple of its size.
/// </summary>
public sealed class OnnxReaderFuzzTests
{
    [Fact]
    public void ExportedModel_ReadsBack_AndTenThousandMutantsReadOrThrowInvalidDataNamingTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("vecq-onnx-fuzz-").FullName;
        try
        {
            string packed = Path.Combine(dir, "tiny.vecq"), path = Path.Combine(dir, "tiny.onnx");
            using (var model = new LeNet5(c1: 2, c2: 2, hidden: 4, rng: new Rng(1), activations: _ => new ActivationQuantizer(8)))
            {
                model.Quantize(new QuantizeConfig { WeightBits = 2 });
                model.Eval();
                PackedModel.Export(model, packed, new Dictionary<string, string>
                {
                    ["config"] = "{\"model\":\"lenet5\",\"sizes\":{\"c1\":2,\"c2\":2,\"hidden\":4,\"classes\":10}}", ["abits"] = "8", ["act_quant"] = "paper",
                });
            }
            OnnxExport.FromPacked(packed, path);
            var s = OnnxReader.Read(path);
            Assert.Equal(OnnxExport.Opset, s.Opset);
            Assert.Equal(["input"], s.Inputs);
            Assert.Equal(["logits"], s.Outputs);
            Assert.Contains("QuantizeLinear", s.Operators);
            Assert.Contains("DequantizeLinear", s.Operators);
            byte[] good = File.ReadAllBytes(path);
            var (parsed, refused) = VecQ.Tests.Shared.Mutator.Run<InvalidDataException>(good, good.Length, 10_000, 23, (m, name) =>
            {
                string file = Path.Combine(dir, name + ".onnx");
                File.WriteAllBytes(file, m);
                try { OnnxReader.Read(file); return null; }
                finally { File.Delete(file); }
            });
            Assert.True(refused > 1_000 && parsed > 0, $"read {parsed}, refused {refused}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
