using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Softmax, cross-entropy, convolution and pooling on cases small enough to check by hand
// (FixtureTests compares the same ops with PyTorch on larger ones).
public partial class HandCheckedOpTests
{
    private static readonly float Ln3 = MathF.Log(3);

    [BackendTheory]
    public void SoftmaxIsStableForLargeLogits(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([0f, Ln3, 1000, 1000], 2, 2);
        using (var p = NnOps.Softmax(x, 1)) AssertClose([0.25f, 0.75f, 0.5f, 0.5f], [2, 2], p);
        using (var lp = NnOps.LogSoftmax(x, -1)) AssertClose([MathF.Log(0.25f), MathF.Log(0.75f), -MathF.Log(2), -MathF.Log(2)], [2, 2], lp);
        using var cols = dev.T([0f, 0, Ln3, 0], 2, 2);
        using (var p = NnOps.Softmax(cols, 0)) AssertClose([0.25f, 0.5f, 0.75f, 0.5f], [2, 2], p);
    }

    [BackendTheory]
    public void CrossEntropyUsesTheSmoothedTarget(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var logits = dev.T([0f, Ln3], 1, 2); // probabilities 0.25, 0.75
        using var labels = dev.T([1]);
        var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels);
        using (loss) AssertClose([-MathF.Log(0.75f)], [1], loss);
        using (probs) AssertClose([0.25f, 0.75f], [1, 2], probs);
        // ε = 0.2, C = 2: target = (0.1, 0.9)
        var (sLoss, sProbs) = NnOps.SoftmaxCrossEntropy(logits, labels, 0.2);
        using (sLoss) AssertClose([-(0.1f * MathF.Log(0.25f) + 0.9f * MathF.Log(0.75f))], [1], sLoss);
        using var dloss = dev.T([2f]);
        using (sProbs)
        using (var d = NnOps.SoftmaxCrossEntropyBackward(sProbs, labels, dloss, 0.2))
            AssertClose([0.3f, -0.3f], [1, 2], d);
    }

    [BackendTheory]
    public void Conv2dSumsNeighbourhoods(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x0 = dev.Iota(1, 1, 3, 3);
        using var x = x0.Add(1); // 1..9
        using var w = dev.Ones([1, 1, 3, 3]);
        using var b = dev.T([1f]);
        float[] sums = [12, 21, 16, 27, 45, 33, 24, 39, 28];
        using (var y = ConvOps.Conv2d(x, w, b, (1, 1), (1, 1))) AssertClose(sums.Select(s => s + 1).ToArray(), [1, 1, 3, 3], y);
        using var dy = dev.Ones([1, 1, 3, 3]);
        using (var dx = ConvOps.Conv2dBackwardData(dy, w, [1, 1, 3, 3], (1, 1), (1, 1)))
            AssertClose([4f, 6, 4, 6, 9, 6, 4, 6, 4], [1, 1, 3, 3], dx); // how many windows cover each input
        using (var dw = ConvOps.Conv2dBackwardWeight(x, dy, [1, 1, 3, 3], (1, 1), (1, 1)))
            AssertClose(sums, [1, 1, 3, 3], dw);
    }

    [BackendTheory]
    public void Conv2dGroupsKeepChannelsApart(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([3f, 5], 1, 2, 1, 1);
        using var w = dev.T([2f, 10], 2, 1, 1, 1);
        using (var y = ConvOps.Conv2d(x, w, null, (1, 1), (0, 0), groups: 2)) AssertClose([6f, 50], [1, 2, 1, 1], y);
        using var w2 = dev.T([1f, 1], 1, 2, 1, 1); // groups = 1: one output mixes both channels
        using (var y = ConvOps.Conv2d(x, w2, null, (1, 1), (0, 0))) AssertClose([8f], [1, 1, 1, 1], y);
    }

    [BackendTheory]
    public void MaxPoolRecordsTheFirstMaximumPerPlane(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([1f, 5, 2, 2, 5, 0, 3, 1], 1, 1, 2, 4);
        var (y, idx) = ConvOps.MaxPool2d(x, (2, 2));
        using (y) AssertClose([5f, 3], [1, 1, 1, 2], y);
        using (idx)
        {
            Assert.Equal([1, 6], idx.ToArray<int>()); // h·W + w; the 5 at (0, 1) beats the tie at (1, 0)
            using var dy = dev.T([1f, 2], 1, 1, 1, 2);
            using var dx = ConvOps.MaxPool2dBackward(dy, idx, [1, 1, 2, 4], (2, 2));
            AssertClose([0f, 1, 0, 0, 0, 0, 2, 0], [1, 1, 2, 4], dx);
        }
        // overlapping windows both pick the middle element; its gradient accumulates
        using var row = dev.T([0f, 9, 0], 1, 1, 1, 3);
        var (y2, idx2) = ConvOps.MaxPool2d(row, (1, 2), (1, 1));
        using (y2) AssertClose([9f, 9], [1, 1, 1, 2], y2);
        using (idx2)
        {
            using var dy2 = dev.T([1f, 2], 1, 1, 1, 2);
            using var dx2 = ConvOps.MaxPool2dBackward(dy2, idx2, [1, 1, 1, 3], (1, 2), (1, 1));
            AssertClose([0f, 3, 0], [1, 1, 1, 3], dx2);
        }
    }

    [BackendTheory]
    public void AvgPoolCountsPaddingInTheDivisor(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([1f, 2, 3, 4], 1, 1, 2, 2);
        using (var y = ConvOps.AvgPool2d(x, (3, 3), (1, 1), (1, 1))) AssertClose([10f / 9, 10f / 9, 10f / 9, 10f / 9], [1, 1, 2, 2], y);
        using var dy = dev.Ones([1, 1, 2, 2]);
        using (var dx = ConvOps.AvgPool2dBackward(dy, [1, 1, 2, 2], (3, 3), (1, 1), (1, 1)))
            AssertClose([4f / 9, 4f / 9, 4f / 9, 4f / 9], [1, 1, 2, 2], dx);
        using (var y = ConvOps.AvgPool2d(x, (2, 2))) AssertClose([2.5f], [1, 1, 1, 1], y);
    }
}
