using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using VecQ.Datasets;

namespace VecQ.Cli.Tests;

/// <summary>
/// The image models on real images through the real readers: Fashion-MNIST laid out as a 32×32 RGB image-folder
/// tree by tools/datasets/fashion_mnist_export.py; `vecq eval` and `vecq predict` agree; LeNet5 predicts PNG files.
/// </summary>
[Collection("cli")]
public sealed class ImageModelTests
{
    private static string Tree()
    {
        TrainEvalTests.RequireSystemData();
        var dir = CliRunner.TempDir();
        var script = Path.Combine(RepoRoot(), "tools", "datasets", "fashion_mnist_export.py");
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", [script, "imagefolder", dir, "--per-class", "5"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{script}: {err}");
        return dir;
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "VecQ.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("VecQ.sln not found above " + AppContext.BaseDirectory);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet-v2")]
    public void ImageModel_TrainsAnEpochOnTheImageFolderTree_AndEvalAndPredictAgree(string model)
    {
        var tree = Tree();
        var run = CliRunner.TempDir();
        var r = CliRunner.Run("train", "--model", model, "--dataset", "imagefolder", "--data", tree, "--image-size", "32", "--epochs", "1",
            "--batch-size", "25", "--seed", "2", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        double acc = r.Json().GetProperty("test_accuracy").GetDouble();
        string ckpt = Path.Combine(run, "last.safetensors");
        var e = CliRunner.Run("eval", "--checkpoint", ckpt, "--data", tree, "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(acc, e.Json().GetProperty("test_accuracy").GetDouble(), 12);
        var p = CliRunner.Run("predict", "--checkpoint", ckpt, Path.Combine(tree, "val"), "--json");
        Assert.True(p.ExitCode == 0, p.Err);
        var rows = p.Json().GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(50, rows.Count);
        int hits = rows.Count(x => x.GetProperty("top")[0].GetProperty("class").GetString() == Path.GetFileName(Path.GetDirectoryName(x.GetProperty("path").GetString())));
        Assert.Equal(acc, hits / 50.0, 12);
        Assert.Equal(10, rows[0].GetProperty("logits").GetArrayLength());
    }

    [Fact]
    public void LeNet5_PredictsPngFiles_AsEvalScoresTheSameImages()
    {
        TrainEvalTests.RequireSystemData();
        var run = CliRunner.TempDir();
        var r = CliRunner.Run("train", "--limit-train", "500", "--limit-test", "40", "--epochs", "1", "--seed", "4", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        double acc = r.Json().GetProperty("test_accuracy").GetDouble();
        var test = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, new DataLocator { Report = null });
        var dir = CliRunner.TempDir();
        for (int i = 0; i < 40; i++)
        {
            using var img = Image.LoadPixelData<L8>(test.Image(i).ToArray(), 28, 28);
            img.SaveAsPng(Path.Combine(dir, $"{i:D3}_{test.Label(i)}.png"));
        }
        var p = CliRunner.Run("predict", "--checkpoint", Path.Combine(run, "best.safetensors"), dir, "--top", "2", "--json");
        Assert.True(p.ExitCode == 0, p.Err);
        var rows = p.Json().GetProperty("predictions").EnumerateArray().ToList();
        int hits = rows.Count(x => x.GetProperty("top")[0].GetProperty("index").GetInt32().ToString() == Path.GetFileNameWithoutExtension(x.GetProperty("path").GetString())!.Split('_')[1]);
        Assert.Equal(acc, hits / 40.0, 12);
        string first = rows[0].GetProperty("top")[0].GetProperty("class").GetString()!;
        Assert.Contains(first, test.ClassNames);                                            // class names travel in the checkpoint
        Assert.Contains($"000_{test.Label(0)}.png: {first} ", p.Out);
    }

    /// <summary>A W2/A8 LeNet5's packed export predicts PNG files on the integer path as the float simulation does.</summary>
    [Fact]
    public void PackedW2A8LeNet5_PredictsPngFilesOnTheIntegerPath_AsTheFloatSimulation()
    {
        TrainEvalTests.RequireSystemData();
        var run = CliRunner.TempDir();
        var r = CliRunner.Run("train", "--limit-train", "500", "--limit-test", "40", "--epochs", "1", "--seed", "4", "--wbits", "2", "--abits", "8", "--out", run);
        Assert.True(r.ExitCode == 0, r.Err);
        string packed = Path.Combine(run, "w2a8.vecq");
        Assert.Equal(0, CliRunner.Run("export", "--checkpoint", Path.Combine(run, "best.safetensors"), "--out", packed).ExitCode);
        var test = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, new DataLocator { Report = null });
        var dir = CliRunner.TempDir();
        for (int i = 0; i < 20; i++)
        {
            using var img = Image.LoadPixelData<L8>(test.Image(i).ToArray(), 28, 28);
            img.SaveAsPng(Path.Combine(dir, $"{i:D3}.png"));
        }
        var a = CliRunner.Run("predict", "--checkpoint", packed, dir, "--json");
        var b = CliRunner.Run("predict", "--checkpoint", packed, dir, "--fake-quant", "--json");
        Assert.True(a.ExitCode == 0 && b.ExitCode == 0, a.Err + b.Err);
        int Top(System.Text.Json.JsonElement row) => row.GetProperty("top")[0].GetProperty("index").GetInt32();
        var ia = a.Json().GetProperty("predictions").EnumerateArray().Select(Top).ToList();
        var ib = b.Json().GetProperty("predictions").EnumerateArray().Select(Top).ToList();
        Assert.Equal(20, ia.Count);
        Assert.Equal(ib, ia);
    }

    [Theory]
    [InlineData(new[] { "predict", "--checkpoint", "/nonexistent.safetensors", "x.png" }, "--checkpoint /nonexistent.safetensors: file not found")]
    [InlineData(new[] { "train", "--dataset", "imagefolder" }, "--dataset imagefolder needs --data DIR")]
    [InlineData(new[] { "train", "--dataset", "svhn" }, "--dataset 'svhn': expected one of")]
    public void BadImageOptions_AreOptionErrors(string[] args, string message)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Err);
    }
}
