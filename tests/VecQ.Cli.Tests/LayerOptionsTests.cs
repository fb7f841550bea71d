using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Quant;

namespace VecQ.Cli.Tests;

/// <summary>
/// --first-layer-bits, --last-layer-bits, --quantize-biases and --act-quant: parsing, validation, the
/// checkpoint metadata round trip, and packed exports that `vecq eval` evaluates like their checkpoints.
/// </summary>
[Collection("cli")]
public sealed class LayerOptionsTests
{
    private static readonly string[] Small = ["--epochs", "1", "--limit-train", "300", "--limit-test", "100", "--seed", "5", "--threads", "2"];

    [Theory]
    [InlineData(new[] { "train", "--wbits", "2", "--first-layer-bits", "0" }, "--first-layer-bits 0")]
    [InlineData(new[] { "train", "--wbits", "2", "--last-layer-bits", "17" }, "--last-layer-bits 17")]
    [InlineData(new[] { "train", "--wbits", "2", "--first-layer-bits", "x" }, "--first-layer-bits")]
    [InlineData(new[] { "train", "--first-layer-bits", "8" }, "--first-layer-bits 8: the weights are float")]
    [InlineData(new[] { "train", "--last-layer-bits", "32" }, "--last-layer-bits 32: the weights are float")]
    [InlineData(new[] { "train", "--quantize-biases" }, "--quantize-biases")]
    [InlineData(new[] { "train", "--wbits", "2", "--quantizer", "twn", "--first-layer-bits", "8" }, "--first-layer-bits 8: --quantizer twn supports only 2 bits")]
    [InlineData(new[] { "train", "--wbits", "1", "--quantizer", "binary", "--last-layer-bits", "2" }, "--last-layer-bits 2")]
    [InlineData(new[] { "train", "--act-quant", "paper" }, "--act-quant paper: activations are float")]
    [InlineData(new[] { "train", "--abits", "8", "--act-quant", "gaussian" }, "--act-quant 'gaussian'")]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "2", "--first-layer-bits", "0", "--out", "y" }, "--first-layer-bits 0")]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "2", "--last-layer-bits", "99", "--out", "y" }, "--last-layer-bits 99")]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "2", "--abits", "8", "--act-quant", "foo", "--out", "y" }, "--act-quant 'foo'")]
    [InlineData(new[] { "quantize", "--checkpoint", "x", "--wbits", "2", "--abits", "32", "--act-quant", "paper", "--out", "y" }, "--act-quant paper")]
    [InlineData(new[] { "bench", "--abits", "8", "--act-quant", "nope" }, "--act-quant 'nope'")]
    [InlineData(new[] { "bench", "--act-quant", "paper" }, "--act-quant paper")]
    public void BadLayerOptions_ExitWith2_AndNameTheOption(string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Err);
    }

    [Fact]
    public void QuantSpec_RoundTripsThroughCheckpointMetadata()
    {
        var spec = QuantSpec.Parse(3, 8, "vecq", "exact", "channel").WithOptions(8, 32, true, "paper");
        var extra = new Dictionary<string, string>();
        spec.WriteTo(extra);
        Assert.Equal("8", extra["first_layer_bits"]);
        Assert.Equal("32", extra["last_layer_bits"]);
        Assert.Equal("true", extra["quantize_biases"]);
        Assert.Equal("paper", extra["act_quant"]);
        var back = QuantSpec.FromExtra(extra, "test");
        Assert.Equal(spec, back);
        Assert.Equal(new QuantizeConfig { WeightBits = 3, LambdaMode = LambdaMode.Exact, Granularity = Granularity.PerChannel, FirstLayerBits = 8, LastLayerBits = 32, QuantizeBiases = true },
            back.WeightConfig);

        // unset overrides are not written (a previous value is removed), and files without the keys read as the defaults
        var plain = QuantSpec.Parse(2, 32, "vecq", "gaussian", "tensor").WithOptions(null, null, false, null);
        plain.WriteTo(extra);
        Assert.False(extra.ContainsKey("first_layer_bits") || extra.ContainsKey("last_layer_bits"));
        Assert.Equal(plain, QuantSpec.FromExtra(extra, "test"));
        var old = new Dictionary<string, string> { ["wbits"] = "2", ["abits"] = "8", ["quantizer"] = "vecq" };
        var fromOld = QuantSpec.FromExtra(old, "old");
        Assert.Equal((null, null, false, ActQuantMode.Searched), (fromOld.FirstLayerBits, fromOld.LastLayerBits, fromOld.QuantizeBiases, fromOld.ActQuant));

        // corrupt values are clear errors naming the file and key
        var bad = new Dictionary<string, string>(extra) { ["quantize_biases"] = "yes" };
        Assert.Contains("quantize_biases", Assert.Throws<InvalidDataException>(() => QuantSpec.FromExtra(bad, "f.safetensors")).Message);
        bad = new Dictionary<string, string>(extra) { ["act_quant"] = "magic" };
        Assert.Contains("f.safetensors", Assert.Throws<InvalidDataException>(() => QuantSpec.FromExtra(bad, "f.safetensors")).Message);
        bad = new Dictionary<string, string>(extra) { ["first_layer_bits"] = "0" };
        Assert.Contains("first_layer_bits", Assert.Throws<InvalidDataException>(() => QuantSpec.FromExtra(bad, "f.safetensors")).Message);
    }

    [Fact]
    public void Train_RecordsTheLayerOptions_EvalRebuildsThem_AndThePackedExportEvaluatesTheSame()
    {
        RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Small, "--wbits", "2", "--abits", "8", "--act-quant", "paper",
            "--first-layer-bits", "8", "--last-layer-bits", "32", "--quantize-biases", "--out", dir, "--json"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(8, j.GetProperty("first_layer_bits").GetInt32());
        Assert.Equal(32, j.GetProperty("last_layer_bits").GetInt32());
        Assert.True(j.GetProperty("quantize_biases").GetBoolean());
        Assert.Equal("paper", j.GetProperty("act_quant").GetString());
        Assert.Contains("first layer 8-bit, last layer float, biases quantized", r.Err);
        string ckpt = Path.Combine(dir, "best.safetensors");
        using (var c = Checkpoint.Load(ckpt))
        {
            Assert.Equal("8", c.Metadata.Extra["first_layer_bits"]);
            Assert.Equal("32", c.Metadata.Extra["last_layer_bits"]);
            Assert.Equal("true", c.Metadata.Extra["quantize_biases"]);
            Assert.Equal("paper", c.Metadata.Extra["act_quant"]);
            Assert.Equal([], c.Tensors["act1.step"].Dims);   // one step for the tensor
        }

        var e = CliRunner.Run("eval", "--checkpoint", ckpt, "--limit-test", "100", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        var ej = e.Json();
        Assert.Equal(j.GetProperty("test_accuracy").GetDouble(), ej.GetProperty("test_accuracy").GetDouble(), 9);
        Assert.Equal(j.GetProperty("test_loss").GetDouble(), ej.GetProperty("test_loss").GetDouble(), 5);
        Assert.Equal(j.GetProperty("model_bytes_quantized").GetInt64(), ej.GetProperty("model_bytes_quantized").GetInt64());
        Assert.Equal("paper", ej.GetProperty("act_quant").GetString());
        Assert.True(ej.GetProperty("quantize_biases").GetBoolean());
        Assert.False(ej.GetProperty("packed").GetBoolean());

        // the export keeps the options: conv1 at 8 bits, fc2 float, biases quantized
        var packedPath = Path.Combine(dir, "w2a8.vecq");
        var x = CliRunner.Run("export", "--checkpoint", ckpt, "--out", packedPath, "--json");
        Assert.True(x.ExitCode == 0, x.Err);
        using (var packed = PackedModel.Load(packedPath))
        {
            Assert.Equal(8, packed.Quantized["conv1.weight"].Bits);
            Assert.Equal(2, packed.Quantized["conv2.weight"].Bits);
            Assert.False(packed.Quantized.ContainsKey("fc2.weight"));
            Assert.True(packed.Quantized.ContainsKey("fc1.bias"));
            Assert.Equal("paper", packed.Metadata["act_quant"]);
        }
        // an overridden method that cannot use the recorded first-layer bits is an option error naming both
        var twn = CliRunner.Run("export", "--checkpoint", ckpt, "--method", "twn", "--out", Path.Combine(dir, "twn.vecq"));
        Assert.Equal(2, twn.ExitCode);
        Assert.Contains("--first-layer-bits 8", twn.Err);
        Assert.Contains("export keeps the checkpoint's layer options", twn.Err);
        // the float simulation of the packed file is the checkpoint's model, bit for bit
        var pe = CliRunner.Run("eval", "--checkpoint", packedPath, "--limit-test", "100", "--fake-quant", "--json");
        Assert.True(pe.ExitCode == 0, pe.Err);
        var pj = pe.Json();
        Assert.True(pj.GetProperty("packed").GetBoolean());
        Assert.False(pj.TryGetProperty("integer", out _));
        Assert.Equal(ej.GetProperty("test_accuracy").GetDouble(), pj.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(ej.GetProperty("test_loss").GetDouble(), pj.GetProperty("test_loss").GetDouble(), 9);
        // the default, the integer path, predicts the same (here with per-tensor activation steps, 8-bit conv1 and a float fc2)
        var ie = CliRunner.Run("eval", "--checkpoint", packedPath, "--limit-test", "100", "--compare", "--json");
        Assert.True(ie.ExitCode == 0, ie.Err);
        var ij = ie.Json();
        Assert.True(ij.GetProperty("integer").GetBoolean());
        Assert.Equal(0, ij.GetProperty("predictions_differing").GetInt32());
        Assert.Equal(ej.GetProperty("test_accuracy").GetDouble(), ij.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(ej.GetProperty("test_loss").GetDouble(), ij.GetProperty("test_loss").GetDouble(), 4);
        Assert.True(ij.GetProperty("weight_bytes_held").GetInt64() * 3 < ij.GetProperty("weight_bytes_float").GetInt64());
        Assert.Equal(ej.GetProperty("model_bytes_quantized").GetInt64(), pj.GetProperty("model_bytes_quantized").GetInt64());
        Assert.Equal(1, pj.GetProperty("epochs").GetInt32());
        Assert.Equal(8, pj.GetProperty("first_layer_bits").GetInt32());
    }

    [Fact]
    public void ActQuant_Searched_IsTheDefault_WithOneStepPerChannel()
    {
        RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Small, "--wbits", "2", "--abits", "8", "--out", dir, "--json"]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("searched", r.Json().GetProperty("act_quant").GetString());
        using var c = Checkpoint.Load(Path.Combine(dir, "best.safetensors"));
        Assert.Equal("searched", c.Metadata.Extra["act_quant"]);
        Assert.Equal([32], c.Tensors["act1.step"].Dims);
        Assert.Equal([512], c.Tensors["act3.step"].Dims);
    }

    [Fact]
    public void Quantize_TakesTheLayerOptions_AndRecordsThem()
    {
        var ckpt = FloatCheckpoint();
        var dir = CliRunner.TempDir();
        var dest = Path.Combine(dir, "w2.safetensors");
        var r = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "2", "--first-layer-bits", "8", "--quantize-biases", "--out", dest, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(8, r.Json().GetProperty("first_layer_bits").GetInt32());
        var e = CliRunner.Run("eval", "--checkpoint", dest, "--limit-test", "100", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(8, e.Json().GetProperty("first_layer_bits").GetInt32());
        Assert.True(e.Json().GetProperty("quantize_biases").GetBoolean());
        Assert.Equal(r.Json().GetProperty("model_bytes_quantized").GetInt64(), e.Json().GetProperty("model_bytes_quantized").GetInt64());
        // more bits in conv1 and quantized biases: not the size of the plain 2-bit model
        var plain = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "2", "--out", Path.Combine(dir, "plain.safetensors"), "--json");
        Assert.True(plain.ExitCode == 0, plain.Err);
        Assert.NotEqual(plain.Json().GetProperty("model_bytes_quantized").GetInt64(), r.Json().GetProperty("model_bytes_quantized").GetInt64());

        // paper activation quantizers on a float checkpoint: recorded, one step per tensor
        var a8 = Path.Combine(dir, "w2a8p.safetensors");
        var q = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "2", "--abits", "8", "--act-quant", "paper", "--out", a8, "--json");
        Assert.True(q.ExitCode == 0, q.Err);
        using (var c = Checkpoint.Load(a8))
        {
            Assert.Equal("paper", c.Metadata.Extra["act_quant"]);
            Assert.Equal([], c.Tensors["act2.step"].Dims);
        }
        // --act-quant without activation bits (the float checkpoint has none) is an option error
        var bad = CliRunner.Run("quantize", "--checkpoint", ckpt, "--wbits", "2", "--act-quant", "paper", "--out", Path.Combine(dir, "bad.safetensors"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--act-quant paper", bad.Err);
    }

    [Fact]
    public void Bench_WithActQuantPaper_Runs()
    {
        var r = CliRunner.Run("bench", "--batch-size", "4", "--steps", "1", "--wbits", "2", "--abits", "8", "--act-quant", "paper", "--threads", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("paper", r.Json().GetProperty("act_quant").GetString());
    }

    private static readonly object Gate = new();
    private static string? _floatCheckpoint;

    private static string FloatCheckpoint()
    {
        lock (Gate)
        {
            if (_floatCheckpoint != null) return _floatCheckpoint;
            RequireSystemData();
            var dir = CliRunner.TempDir();
            var r = CliRunner.Run(["train", .. Small, "--out", dir, "--json"]);
            Assert.True(r.ExitCode == 0, r.Err);
            _floatCheckpoint = r.Json().GetProperty("checkpoint").GetString()!;
            return _floatCheckpoint;
        }
    }

    private static void RequireSystemData()
    {
        if (!Directory.Exists("/usr/share/datasets/fashion-mnist"))
            Assert.Fail("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does this)");
    }
}
