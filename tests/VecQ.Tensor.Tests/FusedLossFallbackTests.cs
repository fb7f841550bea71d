using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>
/// The softmax cross-entropy from primitives (what a backend without <see cref="IFusedLoss"/> runs) against
/// the fused kernels, forward and backward, with and without label smoothing, float32 and float64.
/// </summary>
public sealed class FusedLossFallbackTests
{
    [Theory]
    [InlineData(1, 1, 0.0)]
    [InlineData(7, 10, 0.0)]
    [InlineData(13, 5, 0.1)]
    [InlineData(64, 97, 0.25)]
    public void UnfusedCrossEntropy_MatchesTheFusedKernel(int rows, int cols, double smoothing)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            using var logits0 = Tensor.RandN([rows, cols], new Rng((ulong)(rows * 100 + cols)), 0, 3);
            using var logits = logits0.Cast(dtype);
            var r = new Random(rows + cols);
            using var labels = Tensor.FromArray(Enumerable.Range(0, rows).Select(_ => r.Next(cols)).ToArray());
            using var dloss0 = Tensor.Rand([rows], new Rng(9), -1, 1);
            using var dloss = dloss0.Cast(dtype);
            using var loss = Tensor.Empty([rows], dtype);
            using var probs = Tensor.Empty([rows, cols], dtype);
            using var lossU = Tensor.Empty([rows], dtype);
            using var probsU = Tensor.Empty([rows, cols], dtype);
            using var d = Tensor.Empty([rows, cols], dtype);
            using var dU = Tensor.Empty([rows, cols], dtype);
            ((IFusedLoss)Backend.Reference).SoftmaxCrossEntropy(logits, labels, (float)smoothing, loss, probs);
            ((IFusedLoss)Backend.Reference).SoftmaxCrossEntropyBackward(probs, labels, (float)smoothing, dloss, d);
            NnOps.SoftmaxCrossEntropyUnfused(logits, labels, (float)smoothing, lossU, probsU);
            NnOps.SoftmaxCrossEntropyBackwardUnfused(probs, labels, (float)smoothing, dloss, dU);
            double tol = dtype == DType.Float32 ? 2e-5 : 1e-12;
            string what = $"{dtype.Name()} [{rows}, {cols}] ε={smoothing}";
            AssertClose(Doubles(loss), Doubles(lossU), tol, tol, "loss " + what);
            AssertClose(Doubles(probs), Doubles(probsU), tol, tol, "probs " + what);
            AssertClose(Doubles(d), Doubles(dU), tol, tol, "dlogits " + what);
        }
    }

    [Fact]
    public void UnfusedCrossEntropy_RejectsALabelOutOfRange()
    {
        using var logits = Tensor.Zeros([2, 3]);
        using var labels = Tensor.FromArray(new[] { 0, 3 });
        using var loss = Tensor.Empty([2]);
        using var probs = Tensor.Empty([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropyUnfused(logits, labels, 0, loss, probs));
        Assert.Contains("3", e.Message);
    }

    private static double[] Doubles(Tensor t) => t.DType == DType.Float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);
}
