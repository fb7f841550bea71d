using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

public class LayerGradTests
{
    public static TheoryData<int[], int[]> MatMulShapes => new()
    {
        { [3, 4], [4, 5] },
        { [4], [4] },
        { [4], [4, 2] },
        { [3, 4], [4] },
        { [2, 3, 4], [4, 5] },
        { [3, 4], [2, 4, 5] },
        { [2, 1, 3, 4], [3, 4, 2] },
        { [5], [2, 5, 3] },
    };

    [Theory, MemberData(nameof(MatMulShapes))]
    public void MatMul(int[] sa, int[] sb) => Check(v => Functions.MatMul(v[0], v[1]), RandN(sa, 1), RandN(sb, 2));

    [Fact]
    public void MatMulOfTransposedView() => Check(v => Functions.MatMul(v[0], Functions.Transpose(v[1], 0, 1)), RandN([3, 4], 3), RandN([5, 4], 4));

    [Fact]
    public void Linear()
    {
        Check(v => Functions.Linear(v[0], v[1], v[2]), RandN([5, 4], 5), RandN([3, 4], 6), RandN([3], 7));
        Check(v => Functions.Linear(v[0], v[1]), RandN([2, 3, 4], 8), RandN([3, 4], 9));
        Check(v => Functions.Linear(v[0], v[1], v[2]), RandN([4], 10), RandN([2, 4], 11), RandN([2], 12));
    }

    public static TheoryData<int[], int[], int, int, int, int, bool> ConvCases => new()
    {
        // x shape, w shape, stride, padding, dilation, groups, bias
        { [2, 3, 5, 5], [4, 3, 3, 3], 1, 0, 1, 1, true },
        { [1, 2, 6, 7], [3, 2, 3, 2], 2, 1, 1, 1, true },
        { [2, 2, 7, 7], [2, 2, 3, 3], 1, 2, 2, 1, false },
        { [1, 4, 5, 5], [6, 2, 3, 3], 1, 1, 1, 2, true },
        { [2, 3, 5, 4], [3, 1, 3, 3], 2, 1, 1, 3, true },   // depthwise
        { [1, 3, 4, 4], [2, 3, 1, 1], 1, 0, 1, 1, false },  // 1×1
    };

    [Theory, MemberData(nameof(ConvCases))]
    public void Conv2d(int[] xs, int[] ws, int stride, int padding, int dilation, int groups, bool bias)
    {
        if (bias)
            Check(v => Functions.Conv2d(v[0], v[1], v[2], (stride, stride), (padding, padding), (dilation, dilation), groups),
                RandN(xs, 13), RandN(ws, 14), RandN([ws[0]], 15));
        else
            Check(v => Functions.Conv2d(v[0], v[1], null, (stride, stride), (padding, padding), (dilation, dilation), groups),
                RandN(xs, 16), RandN(ws, 17));
    }

    [Fact]
    public void Conv2dRectangularGeometry() =>
        Check(v => Functions.Conv2d(v[0], v[1], v[2], stride: (2, 1), padding: (0, 1), dilation: (1, 2)),
            RandN([1, 2, 6, 5], 18), RandN([3, 2, 2, 3], 19), RandN([3], 20));

    [Fact]
    public void MaxPool2d()
    {
        Check(v => Functions.MaxPool2d(v[0], (2, 2)), RandN([2, 3, 4, 6], 21));
        Check(v => Functions.MaxPool2d(v[0], (3, 3), stride: (2, 2), padding: (1, 1)), RandN([1, 2, 5, 5], 22));
        Check(v => Functions.MaxPool2d(v[0], (3, 2), stride: (1, 1)), RandN([1, 2, 4, 4], 23)); // overlapping windows
    }

    [Fact]
    public void AvgPool2d()
    {
        Check(v => Functions.AvgPool2d(v[0], (2, 2)), RandN([2, 3, 4, 6], 24));
        Check(v => Functions.AvgPool2d(v[0], (3, 3), stride: (2, 2), padding: (1, 1)), RandN([1, 2, 5, 5], 25));
    }

    [Theory]
    [InlineData(0, 1, 0, 1)]   // Keras's stride-2 "same": one extra row and column at the bottom/right
    [InlineData(2, 1, 0, 3)]
    [InlineData(0, 0, 0, 0)]
    public void ZeroPad2d(int left, int right, int top, int bottom) =>
        Check(v => Functions.ZeroPad2d(v[0], left, right, top, bottom), RandN([2, 3, 4, 5], 36));

    [Fact]
    public void ZeroPad2dPlacesTheInputAndRejectsNegativePadding()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2, 3, 4], [1, 1, 2, 2]);
        using var y = Functions.ZeroPad2d(x, 0, 1, 1, 0);   // [1, 1, 3, 3]
        Assert.Equal([1, 1, 3, 3], y.Shape);
        AssertClose([0, 0, 0, 1, 2, 0, 3, 4, 0], y.Value);
        Assert.Throws<ArgumentException>(() => Functions.ZeroPad2d(x, -1, 0, 0, 0));
    }

    [Theory]
    [InlineData(1, 1)]   // global mean
    [InlineData(2, 3)]   // divides 4×6: an average pool
    [InlineData(3, 4)]   // uneven, overlapping bins: the matrix form
    [InlineData(5, 7)]   // more outputs than inputs (repeated rows/columns)
    public void AdaptiveAvgPool2d(int oh, int ow) =>
        Check(v => Functions.AdaptiveAvgPool2d(v[0], (oh, ow)), RandN([2, 3, 4, 6], 37));

    [Fact]
    public void AdaptiveAvgPool2dUsesPyTorchsBins()
    {
        using var _ = Reference();
        // one row of 5 columns pooled to 3: bins [0, 2), [1, 4), [3, 5) (start ⌊i·5/3⌋, end ⌈(i+1)·5/3⌉)
        using var x = Leaf([1, 2, 3, 4, 5], [1, 1, 1, 5]);
        using var y = Functions.AdaptiveAvgPool2d(x, (1, 3));
        AssertClose([1.5, 3, 4.5], y.Value);
        Assert.Throws<ArgumentException>(() => Functions.AdaptiveAvgPool2d(x, (0, 3)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    public void SoftmaxAndLogSoftmax(int axis)
    {
        Check(v => Functions.Softmax(v[0], axis), RandN([3, 4, 2], 26));
        Check(v => Functions.LogSoftmax(v[0], axis), RandN([3, 4, 2], 27));
    }

    [Theory]
    [InlineData(0.0, Reduction.Mean)]
    [InlineData(0.0, Reduction.Sum)]
    [InlineData(0.0, Reduction.None)]
    [InlineData(0.1, Reduction.Mean)]
    [InlineData(0.2, Reduction.None)]
    public void SoftmaxCrossEntropy(double smoothing, Reduction reduction) =>
        Check(v => Functions.SoftmaxCrossEntropy(v[0], v[1].Value, smoothing, reduction), RandN([5, 4], 28, std: 2), RandInt([5], 29, 4));

    [Fact]
    public void SoftmaxCrossEntropyMatchesComposedLogSoftmax()
    {
        using var _ = Reference();
        using var logits = new Variable(RandN([6, 5], 30), requiresGrad: true);
        using var labels = RandInt([6], 31, 5);
        using var fused = Functions.SoftmaxCrossEntropy(logits, labels);
        fused.Backward();
        using var fusedGrad = logits.Grad!.Clone();
        logits.ZeroGrad();
        using var logp = Functions.LogSoftmax(logits, 1);
        using var picked = Functions.Gather(logp, 1, labels.Reshape(6, 1));
        using var composed = Functions.Neg(Functions.Mean(picked));
        composed.Backward();
        AssertClose(Values(composed.Value), fused.Value, 1e-12);
        AssertClose(Values(logits.Grad!), fusedGrad, 1e-12);
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void Mse(Reduction reduction) => Check(v => Functions.Mse(v[0], v[1], reduction), RandN([3, 4], 32), RandN([3, 4], 33));

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void BceWithLogits(Reduction reduction) => Check(v => Functions.BceWithLogits(v[0], v[1], reduction), RandN([3, 4], 34, std: 3), Rand([3, 4], 35, 0, 1));

    [Fact]
    public void BceWithLogitsIsStableForLargeLogits()
    {
        using var _ = Reference();
        using var x = Leaf([800, -800, 0], [3]);
        using var t = Leaf([1, 0, 1], [3], requiresGrad: false);
        using var loss = Functions.BceWithLogits(x, t, Reduction.None);
        AssertClose([0, 0, Math.Log(2)], loss.Value, 1e-12);
    }

    [Theory]
    [InlineData(new[] { 6, 3 }, true)]
    [InlineData(new[] { 4, 3, 2, 3 }, true)]
    [InlineData(new[] { 3, 2, 5 }, false)]
    public void BatchNorm(int[] xs, bool affine)
    {
        int c = xs[1];
        if (affine)
            Check(v => Functions.BatchNorm(v[0], v[1], v[2], eps: 1e-3).Output, RandN(xs, 36, std: 2), Rand([c], 37, 0.5, 1.5), RandN([c], 38));
        else
            Check(v => Functions.BatchNorm(v[0], null, null, eps: 1e-3).Output, RandN(xs, 39, std: 2));
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 6 }, 2, 2, 0, true)]
    [InlineData(new[] { 2, 2, 5, 5 }, 3, 2, 1, true)]
    [InlineData(new[] { 3, 2, 4, 5 }, 2, 2, 0, false)]
    public void ReluBatchNormMaxPool2d(int[] xs, int k, int s, int p, bool affine)
    {
        int c = xs[1];
        if (affine)
            Check(v => Functions.ReluBatchNormMaxPool2d(v[0], v[1], v[2], 1e-3, (k, k), (s, s), (p, p)).Output,
                RandN(xs, 41, std: 2), RandN([c], 42), RandN([c], 43));   // γ of either sign: a negative one flips the max
        else
            Check(v => Functions.ReluBatchNormMaxPool2d(v[0], null, null, 1e-3, (k, k), (s, s), (p, p)).Output, RandN(xs, 44, std: 2));
    }

    [Fact]
    public void BatchNormWithShiftOnly() =>   // β without γ (PreActResNet18's input batch norm)
        Check(v => Functions.BatchNorm(v[0], null, v[1], eps: 2e-5).Output, RandN([3, 2, 3, 3], 45, std: 2), RandN([2], 46));

    [Fact]
    public void BatchNormReturnsBatchStatistics()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2, 3, 4, 5, 6], [3, 2]);
        var bn = Functions.BatchNorm(x, null, null, eps: 0);
        using (bn.Output)
        using (bn.Mean)
        using (bn.Var)
        {
            AssertClose([3, 4], bn.Mean);
            AssertClose([8.0 / 3, 8.0 / 3], bn.Var, 1e-12);
            Assert.Equal(3, bn.Count);
            double s = Math.Sqrt(8.0 / 3);
            AssertClose([-2 / s, -2 / s, 0, 0, 2 / s, 2 / s], bn.Output.Value, 1e-12);
        }
    }

    [Fact]
    public void Dropout()
    {
        // a fresh Rng per call keeps the mask fixed across the finite-difference evaluations
        Check(v => Functions.Dropout(v[0], 0.4, new Rng(7)), RandN([6, 5], 40));

        using var _ = Reference();
        using var x = new Variable(Tensor.Ones([1000], DType.Float64), requiresGrad: true);
        using var y = Functions.Dropout(x, 0.25, new Rng(3));
        var values = y.Value.ToArray<double>();
        Assert.All(values, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.75) < 1e-12));
        int kept = values.Count(v => v != 0);
        Assert.InRange(kept, 700, 800);
        using var s = Functions.Sum(y);
        s.Backward();
        AssertClose(values, x.Grad!); // dx = mask
        using var eval = Functions.Dropout(x, 0.25, new Rng(3), training: false);
        AssertClose(Enumerable.Repeat(1.0, 1000).ToArray(), eval.Value);
    }

    [Fact]
    public void IndexSelectAndEmbedding()
    {
        using var _ = Reference();
        using var ids = Tensor.FromArray(new[] { 2, 0, 2, 3 });            // duplicates accumulate
        Check(v => Functions.IndexSelect(v[0], 0, ids), RandN([4, 3], 41));
        Check(v => Functions.IndexSelect(v[0], 1, ids), RandN([2, 5], 42));
        using var tokens = Tensor.FromArray(new[] { 1, 4, 1, 0, 2, 4 }, [2, 3]);
        Check(v => Functions.Embedding(v[0], tokens), RandN([5, 3], 43));
    }

    [Fact]
    public void Gather()
    {
        using var _ = Reference();
        using var idx = RandInt([4, 3], 44, 5);                            // repeats accumulate
        Check(v => Functions.Gather(v[0], 1, idx), RandN([4, 5], 45));
        using var idx0 = RandInt([2, 3], 46, 4);
        Check(v => Functions.Gather(v[0], 0, idx0), RandN([4, 3], 47));
    }

    [Fact]
    public void StraightThroughPassesTheGradientUnchanged()
    {
        // forward y = x + 0.3 computed outside the graph; backward identity: numeric and analytic agree
        Check(v =>
        {
            using var shifted = v[0].Value.Add(0.3);
            return Functions.StraightThrough(v[0], shifted);
        }, RandN([3, 4], 48));

        using var _ = Reference();
        using var x = Leaf([0.2, 0.7, -1.4], [3]);
        using var yq = x.Value.Round();
        using var y = Functions.StraightThrough(x, yq);
        AssertClose([0, 1, -1], y.Value);
        using var loss = Functions.Sum(Functions.Mul(y, 2.0));
        loss.Backward();
        AssertClose([2, 2, 2], x.Grad!);
        Assert.Throws<ArgumentException>(() => Functions.StraightThrough(x, Tensor.Zeros([2], DType.Float64)));
    }
}
