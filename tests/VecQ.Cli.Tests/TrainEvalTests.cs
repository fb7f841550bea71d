using VecQ.Nn;

namespace VecQ.Cli.Tests;

/// <summary>Short real-data runs on Fashion-MNIST (Debian's dataset-fashion-mnist, installed by .ci/run).</summary>
[Collection("cli")]
public sealed class TrainEvalTests
{
    private static readonly string[] Small =
        ["--dataset", "fashion-mnist", "--limit-train", "1000", "--limit-test", "500", "--batch-size", "50", "--lr", "0.05", "--seed", "3", "--threads", "2"];

    [Fact]
    public void ShortTraining_OnRealData_Learns_AndEvalAgrees()
    {
        RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Small, "--epochs", "2", "--out", dir, "--json"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        double acc = j.GetProperty("test_accuracy").GetDouble();
        Assert.True(acc > 0.70, $"test accuracy {acc} after 2 short epochs; expected > 0.70\n{r.Err}");
        Assert.Equal("lenet5", j.GetProperty("model").GetString());
        Assert.True(File.Exists(Path.Combine(dir, "best.safetensors")));
        Assert.Empty(Directory.GetFiles(dir, "epoch-*.safetensors"));   // default: best and last only
        var metrics = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal("epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds", metrics[0]);
        Assert.Equal(3, metrics.Length);
        Assert.Equal(acc, double.Parse(metrics[2].Split(',')[4], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

        var e = CliRunner.Run("eval", "--checkpoint", Path.Combine(dir, "last.safetensors"), "--limit-test", "500", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(acc, e.Json().GetProperty("test_accuracy").GetDouble(), 6);
    }

    [Fact]
    public void SameSeed_GivesTheSameResult()
    {
        RequireSystemData();
        var a = CliRunner.Run(["train", .. Small, "--epochs", "1", "--out", CliRunner.TempDir(), "--json"]);
        var b = CliRunner.Run(["train", .. Small, "--epochs", "1", "--out", CliRunner.TempDir(), "--json"]);
        Assert.True(a.ExitCode == 0 && b.ExitCode == 0, a.Err + b.Err);
        Assert.Equal(a.Json().GetProperty("test_loss").GetDouble(), b.Json().GetProperty("test_loss").GetDouble());
    }

    [Fact]
    public void Resume_AfterAKillMidEpoch_ContinuesToTheSameResult()
    {
        RequireSystemData();
        // 1000 images / 50 = 20 steps per epoch; resumable checkpoints every 7 steps.
        string[] run = ["train", .. Small, "--epochs", "2", "--checkpoint-every", "7", "--json"];
        var straightDir = CliRunner.TempDir();
        var straight = CliRunner.Run([.. run, "--out", straightDir]);
        Assert.True(straight.ExitCode == 0, straight.Err);

        var dir = CliRunner.TempDir();
        var killed = CliRunner.Run([.. run, "--out", dir, "--stop-after-steps", "31"]); // dies in epoch 2 after step 11
        Assert.Equal(1, killed.ExitCode);
        var resumed = CliRunner.Run([.. run, "--out", dir, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Contains("resuming", resumed.Err);
        Assert.Contains("step 7", resumed.Err); // the last periodic checkpoint before the kill
        Assert.Equal(straight.Json().GetProperty("test_accuracy").GetDouble(), resumed.Json().GetProperty("test_accuracy").GetDouble());
        Assert.Equal(straight.Json().GetProperty("test_loss").GetDouble(), resumed.Json().GetProperty("test_loss").GetDouble());

        using var x = Checkpoint.Load(Path.Combine(straightDir, "last.safetensors"));
        using var y = Checkpoint.Load(Path.Combine(dir, "last.safetensors"));
        Assert.Equal(File.ReadAllText(Path.Combine(straightDir, "metrics.csv")).Split('\n').Length,
            File.ReadAllText(Path.Combine(dir, "metrics.csv")).Split('\n').Length);   // the resumed run's csv has each epoch once
        foreach (var (name, t) in x.Tensors)
            Assert.True(Bytes(t).SequenceEqual(Bytes(y.Tensors[name])), $"{name} differs after resume");
    }

    [Fact]
    public void Bench_PrintsJsonWithTheDocumentedKeys()
    {
        var r = CliRunner.Run("bench", "--model", "lenet5", "--batch-size", "8", "--steps", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        foreach (var key in new[] { "model", "batch_size", "wbits", "train_ms_per_step", "infer_ms_per_step", "train_images_per_second", "infer_images_per_second", "fma_peak_gflops" })
            Assert.True(j.TryGetProperty(key, out _), $"missing key {key}");
        Assert.True(j.GetProperty("train_ms_per_step").GetDouble() > 0);
    }

    [Fact]
    public void BenchProfile_ListsTheBackendOperationsOfTheStep()
    {
        var r = CliRunner.Run("bench", "--batch-size", "4", "--steps", "1", "--profile", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var ops = r.Json().GetProperty("profile").EnumerateArray().Select(o => o.GetProperty("op").GetString()).ToList();
        foreach (var op in new[] { "Conv2d:5x5", "Conv2dBackwardWeight:5x5", "MatMul", "BatchNormBackward", "SgdStep" })
            Assert.Contains(op, ops);
        Assert.Contains("train step by backend operation", r.Out);
        Assert.True(r.Json().GetProperty("train_ms_per_step_best").GetDouble() <= r.Json().GetProperty("train_ms_per_step").GetDouble());
    }

    [Fact]
    public void BenchQuantized_TimesTheFloatStepAlternately()
    {
        var r = CliRunner.Run("bench", "--batch-size", "4", "--steps", "2", "--wbits", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.True(j.GetProperty("float_train_ms_per_step").GetDouble() > 0);
        Assert.True(j.GetProperty("train_cost_vs_float").GetDouble() > 0);
        Assert.Contains("costs", r.Out);
        var plain = CliRunner.Run("bench", "--batch-size", "4", "--steps", "1", "--json");
        Assert.False(plain.Json().TryGetProperty("train_cost_vs_float", out _), "a float bench has no float comparison");
    }

    private static byte[] Bytes(VecQ.Tensors.Tensor t) => t.DType == VecQ.Tensors.DType.Int32
        ? System.Runtime.InteropServices.MemoryMarshal.AsBytes<int>(t.ToArray<int>()).ToArray()
        : System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>(t.ToArray<float>()).ToArray();

    internal static void RequireSystemData()
    {
        if (!Directory.Exists("/usr/share/datasets/fashion-mnist"))
            Assert.Fail("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (.ci/run does this)");
    }
}
