using System.Text.Json;
using VecQ.Quant;

namespace VecQ.Cli.Tests;

/// <summary>The quantization subcommands: theory, dql, export, quantized train/eval/bench, quantize.</summary>
[Collection("cli")]
public sealed class QuantCommandTests
{
    private static readonly object Gate = new();
    private static string? _floatCheckpoint;

    /// <summary>A tiny float checkpoint (1 epoch on 300 images), trained once per test run.</summary>
    private static string FloatCheckpoint()
    {
        lock (Gate)
        {
            if (_floatCheckpoint != null) return _floatCheckpoint;
            RequireSystemData();
            var dir = CliRunner.TempDir();
            var r = CliRunner.Run("train", "--epochs", "1", "--limit-train", "300", "--limit-test", "100", "--seed", "5", "--threads", "2", "--out", dir, "--json");
            Assert.True(r.ExitCode == 0, r.Err);
            _floatCheckpoint = r.Json().GetProperty("checkpoint").GetString()!;
            return _floatCheckpoint;
        }
    }

    [Fact]
    public void Theory_Json_HasTheOptimalLambdas_AndLossesFallWithBits()
    {
        var r = CliRunner.Run("theory", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var rows = r.Json().GetProperty("lambdas").EnumerateArray().ToList();
        Assert.Equal([2, 3, 4, 5, 6, 7, 8], rows.Select(x => x.GetProperty("bits").GetInt32()));
        double previous = double.PositiveInfinity, previousDql = double.PositiveInfinity;
        foreach (var row in rows)
        {
            int k = row.GetProperty("bits").GetInt32();
            Assert.Equal(VecQTheory.OptimalLambda(k), row.GetProperty("lambda").GetDouble(), 12);
            Assert.Equal(VecQTheory.OptimalMuL2QLambda(k), row.GetProperty("lambda_ul2q").GetDouble(), 12);
            double jo = row.GetProperty("orientation_loss").GetDouble();
            Assert.Equal(VecQTheory.ExpectedOrientationLoss(k), jo, 12);
            Assert.True(jo > 0 && jo < previous, $"E[J_o] at {k} bits = {jo}, not below {previous}");
            double dql = row.GetProperty("normalized_dql").GetDouble();
            Assert.True(dql > 0 && dql < previousDql);
            (previous, previousDql) = (jo, dql);
        }
        Assert.False(r.Json().TryGetProperty("layers", out _));
        var one = CliRunner.Run("theory", "--bits", "1", "--json");
        Assert.True(one.ExitCode == 0, one.Err);
        Assert.Equal(2 * Math.Sqrt(2 / Math.PI), one.Json().GetProperty("lambdas")[0].GetProperty("lambda_ul2q").GetDouble(), 3);
    }

    [Fact]
    public void Theory_WithCheckpoint_ListsLayers_AndWritesCsv()
    {
        var ckpt = FloatCheckpoint();
        var csv = Path.Combine(CliRunner.TempDir(), "theory.csv");
        var r = CliRunner.Run("theory", "--bits", "2,4", "--checkpoint", ckpt, "--csv", csv, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var layers = r.Json().GetProperty("layers").EnumerateArray().ToList();
        var names = layers.Select(l => l.GetProperty("name").GetString()).Distinct().ToList();
        Assert.Equal(["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"], names);
        Assert.Equal(8, layers.Count);
        foreach (var l in layers)
        {
            int k = l.GetProperty("bits").GetInt32();
            Assert.Equal(VecQTheory.OptimalLambda(k), l.GetProperty("lambda_theory").GetDouble(), 12);
            double actual = l.GetProperty("lambda_actual").GetDouble();
            Assert.InRange(actual, 0.001, 3.0);
        }
        var lines = File.ReadAllLines(csv);
        Assert.Equal(1 + 2 + 8, lines.Length);
        Assert.StartsWith("table,layer,bits,lambda", lines[0]);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(csv)!, "*.tmp"));
    }

    [Fact]
    public void Theory_Plot_WritesAPng()
    {
        var png = Path.Combine(CliRunner.TempDir(), "theory.png");
        var r = CliRunner.Run("theory", "--bits", "2-4", "--plot", png, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(png, r.Json().GetProperty("plot").GetString());
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public void Dql_ListsEveryLayerMethodAndBits_WithVecQAtBothLambdas_AndTheLambdaUsed()
    {
        var ckpt = FloatCheckpoint();
        var r = CliRunner.Run("dql", "--checkpoint", ckpt, "--bits", "2,3,4,8", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("skipping twn at 3 bits", r.Err);
        Assert.Contains("skipping binary at 2 bits", r.Err);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        string[] layers = ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"];
        foreach (var layer in layers)
        {
            foreach (var m in new[] { "vecq", "vecq-exact", "ul2q", "l2", "uniform" })
                foreach (int k in new[] { 2, 3, 4, 8 })
                    Assert.Single(rows, x => Key(x) == (layer, m, k));
            Assert.Single(rows, x => Key(x) == (layer, "twn", 2));
            Assert.DoesNotContain(rows, x => x.GetProperty("layer").GetString() == layer && x.GetProperty("method").GetString() is "binary");
            double exact = Find(rows, layer, "vecq-exact", 2).GetProperty("dql").GetDouble();
            double uniform = Find(rows, layer, "uniform", 2).GetProperty("dql").GetDouble();
            Assert.True(exact <= uniform, $"{layer}: VecQ (exact λ) DQL {exact} > uniform {uniform} at 2 bits");
            foreach (int k in new[] { 2, 3, 4, 8 })
            {
                Assert.Equal(VecQTheory.OptimalLambda(k), Find(rows, layer, "vecq", k).GetProperty("lambda").GetDouble(), 12);
                Assert.Equal(VecQTheory.OptimalMuL2QLambda(k), Find(rows, layer, "ul2q", k).GetProperty("lambda").GetDouble(), 12);
                double searched = Find(rows, layer, "vecq-exact", k).GetProperty("lambda").GetDouble();
                Assert.InRange(searched, 1e-4, 3.0);
                Assert.NotEqual(VecQTheory.OptimalLambda(k), searched);
                Assert.Equal(JsonValueKind.Null, Find(rows, layer, "uniform", k).GetProperty("lambda").ValueKind);
            }
        }
        Assert.Equal(layers.Length * (5 * 4 + 1), rows.Count);
        foreach (var x in rows)
        {
            Assert.True(x.TryGetProperty("lambda", out _), "every row has a lambda key");
            foreach (var key in new[] { "orientation_loss", "modulus_loss", "dql", "normalized_dql" })
                Assert.True(x.GetProperty(key).GetDouble() >= 0);
        }
        Assert.Contains("vecq-exact", r.Out);
    }

    [Fact]
    public void Dql_OneBitMuL2Q_UsesItsOwnLambda()
    {
        var ckpt = FloatCheckpoint();
        var r = CliRunner.Run("dql", "--checkpoint", ckpt, "--bits", "1", "--methods", "ul2q", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var rows = r.Json().GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(4, rows.Count);
        foreach (var x in rows)
        {
            Assert.Equal("ul2q", x.GetProperty("method").GetString());
            double lambda = x.GetProperty("lambda").GetDouble();
            Assert.True(Math.Abs(lambda - 1.5958) <= 1e-3, $"{x.GetProperty("layer").GetString()}: 1-bit μL2Q λ {lambda}, expected 2·√(2/π) ≈ 1.5958");
        }
    }

    [Fact]
    public void Export_At2Bits_CompressesMoreThan10x_AndTheFileLoads()
    {
        var ckpt = FloatCheckpoint();
        var path = Path.Combine(CliRunner.TempDir(), "lenet5-w2.vecq");
        var r = CliRunner.Run("export", "--checkpoint", ckpt, "--wbits", "2", "--out", path, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(path, j.GetProperty("path").GetString());
        Assert.True(j.GetProperty("ratio").GetDouble() > 10, $"ratio {j.GetProperty("ratio").GetDouble()}");
        Assert.True(j.GetProperty("bytes_packed").GetInt64() < j.GetProperty("bytes_float").GetInt64());
        using var packed = PackedModel.Load(path);
        Assert.Equal(4, packed.Quantized.Count);
        Assert.All(packed.Quantized.Values, t => Assert.Equal(2, t.Bits));
        Assert.Equal("lenet5", packed.Metadata["model"]);
    }

    [Fact]
    public void QuantizedTraining_W2A8_Runs_AndEvalReproducesItsAccuracy()
    {
        RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("train", "--epochs", "1", "--limit-train", "300", "--limit-test", "100", "--seed", "5", "--threads", "2",
            "--wbits", "2", "--abits", "8", "--quantizer", "vecq", "--out", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(2, j.GetProperty("wbits").GetInt32());
        Assert.Equal(8, j.GetProperty("abits").GetInt32());
        Assert.Equal("vecq", j.GetProperty("quantizer").GetString());
        long floatBytes = j.GetProperty("model_bytes_float").GetInt64(), quantBytes = j.GetProperty("model_bytes_quantized").GetInt64();
        Assert.True(quantBytes * 10 < floatBytes, $"quantized {quantBytes} vs float {floatBytes}");
        double acc = j.GetProperty("test_accuracy").GetDouble();
        Assert.True(acc > 0.2, $"accuracy {acc}");

        var e = CliRunner.Run("eval", "--checkpoint", j.GetProperty("checkpoint").GetString()!, "--limit-test", "100", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        var ej = e.Json();
        Assert.Equal(acc, ej.GetProperty("test_accuracy").GetDouble(), 9);
        Assert.Equal(j.GetProperty("test_loss").GetDouble(), ej.GetProperty("test_loss").GetDouble(), 5);
        Assert.Equal(2, ej.GetProperty("wbits").GetInt32());
        Assert.Equal(8, ej.GetProperty("abits").GetInt32());
        Assert.Equal(quantBytes, ej.GetProperty("model_bytes_quantized").GetInt64());

        // its 2-bit packed export evaluates exactly like the checkpoint (issue 11: it failed with "missing 'conv1.weight'")
        var packedPath = Path.Combine(dir, "w2a8.vecq");
        var x = CliRunner.Run("export", "--checkpoint", j.GetProperty("checkpoint").GetString()!, "--out", packedPath, "--json");
        Assert.True(x.ExitCode == 0, x.Err);
        Assert.Equal(2, x.Json().GetProperty("wbits").GetInt32());
        var pe = CliRunner.Run("eval", "--checkpoint", packedPath, "--limit-test", "100", "--fake-quant", "--json");
        Assert.True(pe.ExitCode == 0, pe.Err);
        var pj = pe.Json();
        Assert.True(pj.GetProperty("packed").GetBoolean());
        Assert.Equal(acc, pj.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(ej.GetProperty("test_loss").GetDouble(), pj.GetProperty("test_loss").GetDouble(), 9);
        // by default a packed file runs as integers: the same accuracy, the loss to float rounding
        var ie = CliRunner.Run("eval", "--checkpoint", packedPath, "--limit-test", "100", "--json");
        Assert.True(ie.ExitCode == 0, ie.Err);
        Assert.True(ie.Json().GetProperty("integer").GetBoolean());
        Assert.Equal(acc, ie.Json().GetProperty("test_accuracy").GetDouble());
        Assert.Equal(ej.GetProperty("test_loss").GetDouble(), ie.Json().GetProperty("test_loss").GetDouble(), 4);
        Assert.Contains("integer path", ie.Out);

        // ONNX: the packed file and the checkpoint both as QDQ (4 integer weights, 3 QDQ activations), read back
        foreach (var source in new[] { packedPath, j.GetProperty("checkpoint").GetString()! })
        {
            string onnx = Path.Combine(dir, Path.GetFileName(source) + ".onnx");
            var ox = CliRunner.Run("export", "--format", "onnx", "--checkpoint", source, "--out", onnx, "--json");
            Assert.True(ox.ExitCode == 0, ox.Err);
            Assert.Equal((4, 3), (ox.Json().GetProperty("quantized_weights").GetInt32(), ox.Json().GetProperty("quantized_activations").GetInt32()));
            Assert.Equal(13, VecQ.Onnx.OnnxReader.Read(onnx).Opset);
            Assert.Empty(Directory.GetFiles(dir, "*.vecq-*"));                               // the intermediate packed file is gone
        }
        var bad = CliRunner.Run("export", "--format", "tflite", "--checkpoint", packedPath, "--out", Path.Combine(dir, "x"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--format 'tflite': expected vecq or onnx", bad.Err);
        Assert.Equal((2, 8, "vecq"), (pj.GetProperty("wbits").GetInt32(), pj.GetProperty("abits").GetInt32(), pj.GetProperty("quantizer").GetString()));
        Assert.Equal(quantBytes, pj.GetProperty("model_bytes_quantized").GetInt64());
        Assert.Contains("packed", pe.Out);

        // the other commands need the float checkpoint, and say so
        var d = CliRunner.Run("dql", "--checkpoint", packedPath, "--bits", "2");
        Assert.Equal(1, d.ExitCode);
        Assert.Contains("packed export", d.Err);
        Assert.Contains(packedPath, d.Err);
    }

    [Fact]
    public void Eval_PackedFileWithoutModelConfig_IsAClearError()
    {
        var model = new VecQ.Nn.LeNet5(rng: new VecQ.Tensors.Rng(1));
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        var path = Path.Combine(CliRunner.TempDir(), "library.vecq");
        PackedModel.Export(model, path);
        var r = CliRunner.Run("eval", "--checkpoint", path, "--limit-test", "10");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(path, r.Err);
        Assert.Contains("no 'config'", r.Err);
        Assert.Contains("LoadInto", r.Err);
    }

    [Fact]
    public void Bench_WithWbits_TimesTheQuantizedStep()
    {
        var r = CliRunner.Run("bench", "--batch-size", "4", "--steps", "1", "--wbits", "2", "--threads", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(2, r.Json().GetProperty("wbits").GetInt32());
        Assert.True(r.Json().GetProperty("train_ms_per_step").GetDouble() > 0);
    }

    [Fact]
    public void Quantize_WritesACheckpointThatEvalRebuildsQuantized()
    {
        var ckpt = FloatCheckpoint();
        var dir = CliRunner.TempDir();
        var q4 = Path.Combine(dir, "w4.safetensors");
        var r = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "4", "--out", q4, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(4, r.Json().GetProperty("wbits").GetInt32());
        var e = CliRunner.Run("eval", "--checkpoint", q4, "--limit-test", "100", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(4, e.Json().GetProperty("wbits").GetInt32());
        Assert.Equal(r.Json().GetProperty("model_bytes_quantized").GetInt64(), e.Json().GetProperty("model_bytes_quantized").GetInt64());

        var q2 = Path.Combine(dir, "w2a8.safetensors");
        var f = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "2", "--abits", "8", "--finetune-epochs", "1",
            "--limit-train", "200", "--limit-test", "100", "--threads", "2", "--out", q2, "--json");
        Assert.True(f.ExitCode == 0, f.Err);
        Assert.Contains("starting from the weights of", f.Err);
        var fe = CliRunner.Run("eval", "--checkpoint", q2, "--limit-test", "100", "--json");
        Assert.True(fe.ExitCode == 0, fe.Err);
        Assert.Equal(8, fe.Json().GetProperty("abits").GetInt32());
        Assert.Equal(f.Json().GetProperty("test_accuracy").GetDouble(), fe.Json().GetProperty("test_accuracy").GetDouble(), 9);
    }

    [Theory]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "0", "--out", "y" }, "--wbits 0")]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "2", "--finetune-epochs", "-1", "--out", "y" }, "--finetune-epochs -1")]
    [InlineData(new[] { "quantize", "--checkpoint", "/no/such.safetensors", "--wbits", "2", "--out", "y" }, "/no/such.safetensors")]
    [InlineData(new[] { "theory", "--bits", "9" }, "bits 9")]
    [InlineData(new[] { "theory", "--plot", "out.jpg" }, "--plot 'out.jpg'")]
    [InlineData(new[] { "theory", "--bits", "0" }, "bits 0")]
    [InlineData(new[] { "theory", "--bits", "2,x" }, "'x'")]
    [InlineData(new[] { "theory", "--checkpoint", "/no/such.safetensors" }, "/no/such.safetensors")]
    [InlineData(new[] { "dql" }, "--checkpoint")]
    [InlineData(new[] { "dql", "--checkpoint", "/no/such.safetensors" }, "/no/such.safetensors")]
    [InlineData(new[] { "dql", "--checkpoint", "x", "--methods", "vecq,foo" }, "--methods 'foo'")]
    [InlineData(new[] { "dql", "--checkpoint", "x", "--lambda", "magic" }, "--lambda 'magic'")]
    [InlineData(new[] { "dql", "--checkpoint", "x", "--lambda", "exact" }, "--methods vecq (λ_k) and/or vecq-exact")]
    [InlineData(new[] { "dql", "--checkpoint", "x", "--methods", "vecq-exactly" }, "--methods 'vecq-exactly'")]
    [InlineData(new[] { "dql", "--checkpoint", "x", "--bits", "17" }, "bits 17")]
    [InlineData(new[] { "export", "--checkpoint", "x", "--wbits", "0", "--out", "y" }, "--wbits 0")]
    [InlineData(new[] { "export", "--checkpoint", "/no/such.safetensors", "--wbits", "2", "--out", "y" }, "/no/such.safetensors")]
    [InlineData(new[] { "export", "--checkpoint", "x", "--wbits", "2" }, "--out")]
    [InlineData(new[] { "train", "--wbits", "0" }, "--wbits 0")]
    [InlineData(new[] { "train", "--wbits", "20" }, "--wbits 20")]
    [InlineData(new[] { "train", "--abits", "0" }, "--abits 0")]
    [InlineData(new[] { "train", "--wbits", "2", "--quantizer", "foo" }, "--quantizer 'foo'")]
    [InlineData(new[] { "train", "--wbits", "3", "--quantizer", "twn" }, "--wbits 3")]
    [InlineData(new[] { "train", "--granularity", "row" }, "--granularity 'row'")]
    [InlineData(new[] { "train", "--lambda", "x" }, "--lambda 'x'")]
    [InlineData(new[] { "bench", "--wbits", "0" }, "--wbits 0")]
    public void BadQuantOptions_ExitWith2_AndNameTheProblem(string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Err);
    }

    private static (string?, string?, int) Key(JsonElement x) =>
        (x.GetProperty("layer").GetString(), x.GetProperty("method").GetString(), x.GetProperty("bits").GetInt32());

    private static JsonElement Find(List<JsonElement> rows, string layer, string method, int bits) =>
        rows.Single(x => Key(x) == (layer, method, bits));

    private static void RequireSystemData()
    {
        if (!Directory.Exists("/usr/share/datasets/fashion-mnist"))
            Assert.Fail("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does this)");
    }
}
