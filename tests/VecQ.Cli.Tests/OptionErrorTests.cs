namespace VecQ.Cli.Tests;

[Collection("cli")]
public sealed class OptionErrorTests
{
    [Theory]
    [InlineData(new[] { "train", "--epochs", "0" }, "--epochs 0")]
    [InlineData(new[] { "train", "--epochs", "ten" }, "ten")]
    [InlineData(new[] { "train", "--batch-size", "-5" }, "--batch-size -5")]
    [InlineData(new[] { "train", "--lr", "0" }, "--lr 0")]
    [InlineData(new[] { "train", "--optimizer", "rmsprop" }, "--optimizer 'rmsprop'")]
    [InlineData(new[] { "train", "--model", "resnet99" }, "--model 'resnet99'")]
    [InlineData(new[] { "train", "--dataset", "svhn" }, "--dataset 'svhn'")]
    [InlineData(new[] { "train", "--schedule", "multistep" }, "needs --milestones")]
    [InlineData(new[] { "train", "--schedule", "multistep", "--milestones", "3,x" }, "'x' is not an integer")]
    [InlineData(new[] { "train", "--momentum", "1.5" }, "--momentum 1.5")]
    [InlineData(new[] { "train", "--threads", "0" }, "--threads 0")]
    [InlineData(new[] { "train", "--no-such-option" }, "--no-such-option")]
    [InlineData(new[] { "bench", "--steps", "0" }, "--steps 0")]
    [InlineData(new[] { "eval" }, "--checkpoint")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public void BadOptions_ExitWith2_AndNameTheOption(string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Err);
    }

    [Fact]
    public void Eval_MissingCheckpointFile_ExitsWith2_NamingThePath()
    {
        var r = CliRunner.Run("eval", "--checkpoint", "/nonexistent/model.safetensors");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/model.safetensors", r.Err);
    }

    [Fact]
    public void Eval_CorruptCheckpoint_ExitsWith1_NamingTheFile()
    {
        var dir = CliRunner.TempDir();
        var path = Path.Combine(dir, "bad.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        var r = CliRunner.Run("eval", "--checkpoint", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(path, r.Err);
        Assert.Contains("header length", r.Err);
    }

    [Fact]
    public void Resume_WithoutCheckpoint_ExitsWith2()
    {
        var dir = CliRunner.TempDir();
        var r = CliRunner.Run("train", "--resume", "--out", dir, "--limit-train", "100");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("last.safetensors", r.Err);
    }

    [Fact]
    public void MissingDataFolder_IsAClearError()
    {
        var r = CliRunner.Run("train", "--dataset", "mnist", "--data", "/nonexistent/mnist-dir", "--epochs", "1", "--out", CliRunner.TempDir());
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("mnist", r.Err);
        Assert.Contains("/nonexistent/mnist-dir", r.Err);
    }
}
