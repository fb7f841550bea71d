using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Batch-norm forward/backward primitives and the 2×2 / stride 2 max-pool fast path, on every backend column.
public partial class BackendOpTests
{
    public static TheoryData<int, int, int, bool, bool> BatchNormCases() => new()
    {
        { 5, 7, 9, true, true },
        { 1, 3, 13, true, false },
        { 4, 11, 1, false, true },
        { 3, 2, 17, false, false },
        { 1, 1, 1, true, true },
        { 20, 13, 33, true, true },
        // S = 1 ([N, C] after a linear layer): the row-wise path, single and multi-threaded
        { 100, 37, 1, true, true },
        { 7, 512, 1, false, false },
        { 33, 5, 1, true, false },
        { 300, 257, 1, true, true },
    };

    [BackendTheory]
    [MemberData(nameof(BatchNormCases))]
    public void BatchNormForwardAndBackwardMatch(BackendCase b, int n, int c, int s, bool withGamma, bool withBeta)
    {
        SameAll(b, $"batch_norm [{n}, {c}, {s}] gamma={withGamma} beta={withBeta}", d =>
        {
            using var x = d.Rand(1, n, c, s);
            using var dy = d.Rand(2, n, c, s);
            using var gamma = withGamma ? d.Rand(3, c) : null;
            using var beta = withBeta ? d.Rand(4, c) : null;
            var (mean, var) = NnOps.BatchNormStats(x);
            using var varEps = var.Add(1e-5);
            using var std = varEps.Sqrt();
            using var invStd = 1.0 / std;
            var y = NnOps.BatchNormForward(x, mean, invStd, gamma, beta);
            var (dx, dg, db) = NnOps.BatchNormBackward(dy, x, mean, invStd, gamma, gammaGrad: true, betaGrad: true);
            return [mean, var, y, dx, dg!, db!];
        }, 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(BatchNormCases))]
    public void BatchNormWithActivationMatchesBatchNormThenTheActivation(BackendCase b, int n, int c, int s, bool withGamma, bool withBeta)
    {
        foreach (var act in new[] { FusedActivation.Relu, FusedActivation.Relu6 })
            SameAll(b, $"batch_norm_activation {act} [{n}, {c}, {s}] gamma={withGamma} beta={withBeta}", d =>
            {
                using var x = d.Rand(1, n, c, s);
                using var g0 = d.Rand(3, c);
                using var gamma = withGamma ? g0.Mul(8.0) : null;           // wide enough that ReLU6 clips at 6
                using var beta = withBeta ? d.Rand(4, c) : null;
                using var mean = d.Rand(5, c);
                using var inv0 = d.Rand(6, c);
                using var invStd = inv0.Abs().Add(0.5);
                var fused = NnOps.BatchNormForward(x, mean, invStd, gamma, beta, act);
                using var plain = NnOps.BatchNormForward(x, mean, invStd, gamma, beta);
                var composed = act == FusedActivation.Relu ? plain.Relu() : plain.Relu6();
                // the same roundings in one pass or two: equal bit for bit on every backend
                Assert.Equal(composed.ToArray<float>(), fused.ToArray<float>());
                return [fused, composed];
            }, 1e-5, 1e-5);
    }

    [BackendTheory]
    public void BatchNormOpsNameTheOpAndShapes(BackendCase b)
    {
        using var scope = b.Enter();
        using var x = b.Zeros([2, 3, 4]);
        using var mean = b.Zeros([3]);
        using var bad = b.Zeros([4]);
        var e = Assert.Throws<ArgumentException>(() => NnOps.BatchNormForward(x, mean, bad, null, null));
        Assert.Contains("batch_norm_forward", e.Message);
        Assert.Contains("invStd", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        using var dy = b.Zeros([2, 3, 5]);
        var e2 = Assert.Throws<ArgumentException>(() => NnOps.BatchNormBackward(dy, x, mean, mean, null, false, false));
        Assert.Contains("batch_norm_backward", e2.Message);
        Assert.Contains("[2, 3, 5]", e2.Message);
        using var x1 = b.Zeros([3]);
        var e3 = Assert.Throws<ArgumentException>(() => NnOps.BatchNormForward(x1, mean, mean, null, null));
        Assert.Contains("batch_norm_forward", e3.Message);
    }

    [BackendTheory]
    [InlineData(2, 3, 8, 8)]
    [InlineData(1, 2, 7, 9)]
    [InlineData(3, 1, 2, 2)]
    [InlineData(2, 5, 5, 3)]
    public void MaxPool2x2FastPathMatches(BackendCase b, int n, int c, int h, int w)
    {
        SameAll(b, $"max_pool2d 2x2 [{n}, {c}, {h}, {w}]", d =>
        {
            using var x = d.Rand(1, n, c, h, w);
            var (y, idx) = ConvOps.MaxPool2d(x, (2, 2), (2, 2), (0, 0));
            using var dy = d.Rand(2, y.Dims);
            var dx = ConvOps.MaxPool2dBackward(dy, idx, x.Dims, (2, 2), (2, 2), (0, 0));
            return [y, idx, dx];
        }, 1e-6, 1e-5);
    }

    [BackendTheory]
    public void MaxPool2x2TiesNaNAndInfinityMatch(BackendCase b)
    {
        // [1, 1, 5, 7]: three windows per row (scalar loop only); [1, 2, 6, 21]: ten (two 4-wide vector
        // steps and an overlapping third), the last column unused. NaN, −∞ and ties land in every window position.
        float[] pattern = [1f, 1f, float.NaN, -2f, float.NegativeInfinity, 3f, 3f, float.NaN, 0f, -0f, 5f];
        foreach (int[] shape in new[] { new[] { 1, 1, 5, 7 }, new[] { 1, 2, 6, 21 } })
        {
            int len = shape.Aggregate(1, (a, b) => a * b);
            foreach (var (name, values) in new (string, float[])[]
            {
                ("constant", Enumerable.Repeat(0.5f, len).ToArray()),
                ("all -inf", Enumerable.Repeat(float.NegativeInfinity, len).ToArray()),
                ("all NaN", Enumerable.Repeat(float.NaN, len).ToArray()),
                ("ties", Enumerable.Range(0, len).Select(i => (float)(i % 3)).ToArray()),
                ("NaN", Enumerable.Range(0, len).Select(i => i % 7 == 3 ? float.NaN : i % 5).Select(v => (float)v).ToArray()),
                ("NaN later", Enumerable.Range(0, len).Select(i => i % 6 == 5 ? float.NaN : i % 4 == 0 ? float.NegativeInfinity : 1f).ToArray()),
                ("pattern", Enumerable.Range(0, len).Select(i => pattern[(i * 7) % pattern.Length]).ToArray()),
            })
                SameAll(b, $"max_pool2d 2x2 {name} {Shape.Format(shape)}", d =>
                {
                    using var x = d.T(values, shape);
                    var (y, idx) = ConvOps.MaxPool2d(x, (2, 2), (2, 2), (0, 0));
                    return [y, idx];
                }, 0, 0);
        }
    }
}
