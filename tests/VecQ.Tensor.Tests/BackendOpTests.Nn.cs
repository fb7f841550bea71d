using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Softmax, log-softmax and the fused softmax cross-entropy, on every backend column.
public partial class BackendOpTests
{
    [BackendTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void SoftmaxMatchesAlongEveryAxis(BackendCase b, bool log)
    {
        foreach (var (shape, scale) in new (int[], double)[] { ([5, 7], 1), ([1, 1], 1), ([3, 4, 6], 10), ([2, 1, 9], 1), ([300, 130], 30), ([4, 3000], 5) })
            for (int axis = 0; axis < shape.Length; axis++)
            {
                int a = axis;
                Same(b, $"{(log ? "log_softmax" : "softmax")} {Shape.Format(shape)} ×{scale} axis {a}", d =>
                {
                    using var x0 = d.Rand(3, shape);
                    using var x = x0 * scale;
                    return log ? NnOps.LogSoftmax(x, a) : NnOps.Softmax(x, a);
                }, 1e-5, 1e-4);
            }
        Same(b, "softmax of huge logits", d =>
        {
            using var x = d.T([1000, 1001, 1002, -1000, -999, -1e4f], 2, 3);
            return log ? NnOps.LogSoftmax(x, 1) : NnOps.Softmax(x, 1);
        }, 1e-5, 1e-5);
    }

    [BackendTheory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(1.0)]
    public void CrossEntropyForwardAndBackwardMatch(BackendCase b, double smoothing)
    {
        foreach (var (rows, classes, scale) in new[] { (8, 5, 1.0), (1, 1, 1.0), (3, 2, 20.0), (512, 100, 4.0), (7, 1000, 3.0) })
            SameAll(b, $"cross_entropy {rows}x{classes} ×{scale} ε={smoothing}", d =>
            {
                using var x0 = d.Rand(5, rows, classes);
                using var logits = x0 * scale;
                using var labels = d.RandInt(6, classes, rows);
                var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, smoothing);
                using var dloss = d.Rand(7, rows);
                var dlogits = NnOps.SoftmaxCrossEntropyBackward(probs, labels, dloss, smoothing);
                return [loss, probs, dlogits];
            }, 1e-5, 1e-4);
    }

    [BackendTheory]
    public void CrossEntropyRejectsALabelOutOfRangeNamingRowAndLabel(BackendCase b)
    {
        using var scope = b.Enter();
        using var logits = b.Rand(1, 4, 5);
        using var labels = b.T([0, 4, 7, 1], 4);
        var e = Fails<ArgumentException>(b, () => { var (l, p) = NnOps.SoftmaxCrossEntropy(logits, labels); l.Dispose(); p.Dispose(); });
        Assert.Contains("row 2", e.Message);
        Assert.Contains("label 7", e.Message);
        using var negative = b.T([0, -1, 2, 1], 4);
        using var dloss = b.Ones([4]);
        var e2 = Fails<ArgumentException>(b, () => NnOps.SoftmaxCrossEntropyBackward(logits, negative, dloss).Dispose());
        Assert.Contains("row 1", e2.Message);
        Assert.Contains("label -1", e2.Message);
    }
}
