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

    [Fact]
    public void UnknownModel_IsAnOptionError()
    {
        var r = CliRunner.Run("summary", "--model", "lenet7");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--model 'lenet7': expected one of", r.Err);
    }
}
