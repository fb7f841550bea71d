namespace VecQ.Tensors.Tests;

// Softmax, log-softmax and the fused softmax cross-entropy.
public partial class CpuBackendTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SoftmaxMatchesAlongEveryAxis(bool log)
    {
        foreach (var (shape, scale) in new (int[], double)[] { ([5, 7], 1), ([1, 1], 1), ([3, 4, 6], 10), ([2, 1, 9], 1), ([300, 130], 30), ([4, 3000], 5) })
            for (int axis = 0; axis < shape.Length; axis++)
            {
                int a = axis;
                Same($"{(log ? "log_softmax" : "softmax")} {Shape.Format(shape)} ×{scale} axis {a}", () =>
                {
                    using var x0 = Rand(3, shape);
                    using var x = x0 * scale;
                    return log ? NnOps.LogSoftmax(x, a) : NnOps.Softmax(x, a);
                }, 1e-5, 1e-4);
            }
        Same("softmax of huge logits", () =>
        {
            using var x = Tensor.FromArray(new float[] { 1000, 1001, 1002, -1000, -999, -1e4f }, [2, 3]);
            return log ? NnOps.LogSoftmax(x, 1) : NnOps.Softmax(x, 1);
        }, 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(1.0)]
    public void CrossEntropyForwardAndBackwardMatch(double smoothing)
    {
        foreach (var (rows, classes, scale) in new[] { (8, 5, 1.0), (1, 1, 1.0), (3, 2, 20.0), (512, 100, 4.0), (7, 1000, 3.0) })
            SameAll($"cross_entropy {rows}x{classes} ×{scale} ε={smoothing}", () =>
            {
                using var x0 = Rand(5, rows, classes);
                using var logits = x0 * scale;
                using var labels = RandInt(6, classes, rows);
                var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, smoothing);
                using var dloss = Rand(7, rows);
                var d = NnOps.SoftmaxCrossEntropyBackward(probs, labels, dloss, smoothing);
                return [loss, probs, d];
            }, 1e-5, 1e-4);
    }

    [Fact]
    public void CrossEntropyRejectsALabelOutOfRangeNamingRowAndLabel()
    {
        using var scope = Backend.Use(Backend.Cpu);
        using var logits = Rand(1, 4, 5);
        using var labels = Tensor.FromArray(new[] { 0, 4, 7, 1 }, [4]);
        var e = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropy(logits, labels));
        Assert.Contains("row 2", e.Message);
        Assert.Contains("label 7", e.Message);
        using var negative = Tensor.FromArray(new[] { 0, -1, 2, 1 }, [4]);
        using var dloss = Tensor.Ones([4]);
        var e2 = Assert.Throws<ArgumentException>(() => NnOps.SoftmaxCrossEntropyBackward(logits, negative, dloss));
        Assert.Contains("row 1", e2.Message);
        Assert.Contains("label -1", e2.Message);
    }
}
