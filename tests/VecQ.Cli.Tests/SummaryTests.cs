namespace VecQ.Cli.Tests;

/// <summary>`vecq summary`: layers, traced output shapes and parameter counts.</summary>
[Collection("cli")]
public sealed class SummaryTests
{
    [Fact]
    public void LeNet5Summary_ListsItsLayersWithShapes_AndCountsAsVecqMdSays()
    {
        var r = CliRunner.Run("summary", "--model", "lenet5", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(1_664_586, j.GetProperty("parameters").GetInt64());                  // VECQ.md §6: 1.66 M
        Assert.Equal(832 + 51_264 + 1_606_144 + 5_130, j.GetProperty("weights").GetInt64()); // conv/linear weights and biases
        var layers = j.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(["conv1", "bn1", "conv2", "bn2", "fc1", "bn3", "fc2"], layers.Select(l => l.GetProperty("name").GetString()));
        Assert.Equal([1, 10], layers[^1].GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 64, 14, 14], layers[2].GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Contains("fc1", r.Out);
    }

    // The counts of the issue: VECQ.md §6 (vgg-like: weights and biases of its conv/linear layers), torchvision's
    // parameters for resnet18 and mobilenet-v2, and the reference Keras models' for the others (all parameters,
    // batch-norm γ and β included; Keras's moving statistics are buffers here).
    [Theory]
    [InlineData("vgg-like", 5_354_826, 5_350_986)]
    [InlineData("alexnet", 50_863_144, 50_844_008)]
    [InlineData("resnet18", 11_689_512, 11_679_912)]
    [InlineData("resnet18-preact", 11_691_947, 11_684_008)]
    [InlineData("mobilenet-v1", 4_231_976, 4_210_088)]
    [InlineData("mobilenet-v2", 3_504_872, 3_470_760)]
    public void ImageModels_HaveTheReferenceCounts(string model, long parameters, long weights)
    {
        var r = CliRunner.Run("summary", "--model", model, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(parameters, j.GetProperty("parameters").GetInt64());
        Assert.Equal(weights, j.GetProperty("weights").GetInt64());
    }

    [Fact]
    public void SmallInputs_WorkThroughAdaptivePooling_AndAlexNetNamesItsSmallestSize()
    {
        var r = CliRunner.Run("summary", "--model", "resnet18", "--image-size", "32", "--classes", "10", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal([1, 10], r.Json().GetProperty("layers").EnumerateArray().Last().GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
        var a = CliRunner.Run("summary", "--model", "alexnet", "--image-size", "32");
        Assert.Equal(2, a.ExitCode);
        Assert.Contains("--image-size 32: alexnet's strides need at least 67×67 inputs", a.Err);
    }

    [Fact]
    public void UnknownModel_IsAnOptionError()
    {
        var r = CliRunner.Run("summary", "--model", "lenet7");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--model 'lenet7': expected one of", r.Err);
    }
}
