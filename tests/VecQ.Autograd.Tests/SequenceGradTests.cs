using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

/// <summary>float64 GradCheck of the sequence layers' functions on the reference backend: Embedding with a padding row, Conv1d, the 1-D pools, the LSTM layer.</summary>
public class SequenceGradTests
{
    [Fact]
    public void EmbeddingWithPaddingIndex()
    {
        // the padding row's gradient is zero by definition (PyTorch's padding_idx), not the derivative: check the
        // other rows with ids that avoid it; EmbeddingPaddingRowGetsNoGradient checks the padding row
        using var tokens = Tensor.FromArray(new[] { 1, 2, 3, 1, 4, 2 }, [2, 3]);   // 1 and 2 repeat
        Check(v => Functions.Embedding(v[0], tokens, paddingIdx: 0), RandN([5, 3], 51));
    }

    [Fact]
    public void EmbeddingPaddingRowGetsNoGradient()
    {
        using var _ = Reference();
        using var tokens = Tensor.FromArray(new[] { 2, 2, 0 }, [3]);
        using var w = new Variable(RandN([4, 2], 52), requiresGrad: true);
        using var y = Functions.Embedding(w, tokens, paddingIdx: 2);
        using var s = Functions.Sum(y);
        s.Backward();
        Assert.Equal(new double[] { 1, 1, 0, 0, 0, 0, 0, 0 }, w.Grad!.ToArray<double>());
    }

    [Theory]
    [InlineData(1, 0, 1, 1, true)]
    [InlineData(2, 1, 2, 2, true)]
    [InlineData(3, 2, 1, 1, false)]
    public void Conv1d(int stride, int padding, int dilation, int groups, bool bias)
    {
        if (bias)
            Check(v => Functions.Conv1d(v[0], v[1], v[2], stride, padding, dilation, groups), RandN([2, 4, 9], 53), RandN([6, 4 / groups, 3], 54), RandN([6], 55));
        else
            Check(v => Functions.Conv1d(v[0], v[1], null, stride, padding, dilation, groups), RandN([2, 4, 9], 56), RandN([6, 4 / groups, 3], 57));
    }

    [Fact]
    public void Pools1d()
    {
        Check(v => Functions.MaxPool1d(v[0], 3, stride: 2, padding: 1), RandN([2, 3, 10], 58));
        Check(v => Functions.AvgPool1d(v[0], 4, stride: 3, padding: 2), RandN([2, 3, 11], 59));
    }

    [Theory]
    [InlineData(4, 2, 3, 3, false, true)]
    [InlineData(3, 3, 2, 4, true, true)]    // reverse direction
    [InlineData(1, 1, 1, 1, false, false)]  // one step, no biases
    public void Lstm(int steps, int batch, int input, int hidden, bool reverse, bool bias)
    {
        // every input of the node: x, h0, c0, weight_ih, weight_hh, b_ih, b_hh; the packed output holds the
        // outputs and c_n, so one check covers the gradients arriving at y, h_n and c_n
        var inputs = new List<Tensor>
        {
            RandN([steps, batch, input], 62), RandN([batch, hidden], 63), RandN([batch, hidden], 64),
            RandN([4 * hidden, input], 65), RandN([4 * hidden, hidden], 66),
        };
        if (bias) { inputs.Add(RandN([4 * hidden], 67)); inputs.Add(RandN([4 * hidden], 68)); }
        Check(v => Functions.Lstm(v[0], v[1], v[2], v[3], v[4], bias ? v[5] : null, bias ? v[6] : null, reverse), inputs.ToArray());
    }

    [Fact]
    public void BadInputNamesTheShapeOrValue()
    {
        using var _ = Reference();
        using var w = new Variable(RandN([5, 3], 60), requiresGrad: true);
        using var ids = Tensor.FromArray(new[] { 1, 7 });
        Assert.Contains("7", Assert.Throws<ArgumentException>(() => Functions.Embedding(w, ids)).Message);
        Assert.Contains("padding index 9", Assert.Throws<ArgumentException>(() => Functions.Embedding(w, ids, paddingIdx: 9)).Message);
        using var x = new Variable(RandN([2, 4], 61));
        Assert.Contains("[N, C, L]", Assert.Throws<ArgumentException>(() => Functions.Conv1d(x, w)).Message);
        Assert.Contains("[N, C, L]", Assert.Throws<ArgumentException>(() => Functions.MaxPool1d(x, 2)).Message);
    }
}
