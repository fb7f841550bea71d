namespace VecQ.Cli.Tests;

/// <summary>What a run folder holds and how a run ends: metrics.csv, kept checkpoints, curves, divergence.</summary>
[Collection("cli")]
public sealed class RunFolderTests
{
    private static readonly string[] Tiny =
        ["--dataset", "fashion-mnist", "--limit-train", "300", "--limit-test", "200", "--batch-size", "50", "--seed", "3", "--json"];

    [Fact]
    public void KeepCheckpoints_KeepsTheNewestEpochs_AndPlotDrawsTheCurves()
    {
        TrainEvalTests.RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Tiny, "--epochs", "3", "--keep-checkpoints", "2", "--plot", "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(["epoch-2.safetensors", "epoch-3.safetensors"], Directory.GetFiles(dir, "epoch-*.safetensors").Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(dir, "best.safetensors")) && File.Exists(Path.Combine(dir, "last.safetensors")));
        var png = File.ReadAllBytes(Path.Combine(dir, "curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);   // header + 3 epochs

        var p = CliRunner.Run("plot", dir, "--out", Path.Combine(dir, "again.png"));
        Assert.True(p.ExitCode == 0, p.Err);
        Assert.True(new FileInfo(Path.Combine(dir, "again.png")).Length > 1000);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void ANonFiniteLoss_StopsTheRun_NamingEpochAndStep_AndSavesNoBestCheckpoint()
    {
        TrainEvalTests.RequireSystemData();
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Tiny, "--epochs", "2", "--lr", "1e30", "--out", dir]);
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"epoch 1 step \d+: the training loss is (NaN|∞|-∞|Infinity|-Infinity); stopped", r.Err);
        Assert.False(File.Exists(Path.Combine(dir, "best.safetensors")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void AnExplicitDataFolderWithoutTheFiles_IsAnError_AndTheDataLookupPrintsOneLine()
    {
        TrainEvalTests.RequireSystemData();
        var empty = CliRunner.TempDir();
        var r = CliRunner.Run(["train", .. Tiny, "--epochs", "1", "--data", empty, "--out", CliRunner.TempDir()]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"fashion-mnist not found: fashion-mnist: --data {empty}: missing train-images-idx3-ubyte.gz", r.Err);
        Assert.DoesNotContain("/usr/share/datasets", r.Err);

        var ok = CliRunner.Run(["train", .. Tiny, "--epochs", "1", "--out", CliRunner.TempDir()]);
        Assert.True(ok.ExitCode == 0, ok.Err);
        Assert.Single(ok.Err.Split('\n'), l => l.StartsWith("fashion-mnist: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new[] { "train", "--keep-checkpoints", "-1" }, "--keep-checkpoints -1: expected an integer >= 0")]
    [InlineData(new[] { "plot", "/nonexistent/run" }, "plot /nonexistent/run: no metrics.csv there")]
    public void BadRunFolderOptions_AreOptionErrors(string[] args, string message)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Err);
    }
}
