using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Every float op also runs in float64 (gradient checks need it) and agrees with float32.
public partial class HandCheckedOpTests
{
    [BackendTheory]
    public void Float64OpsAgreeWithFloat32(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T(Values(2 * 4 * 5 * 5, 11), 2, 4, 5, 5);
        using var w = dev.T(Values(6 * 2 * 3 * 3, 12), 6, 2, 3, 3);
        using var b = dev.T(Values(6, 13));
        using var x64 = x.Cast(DType.Float64);
        using var w64 = w.Cast(DType.Float64);
        using var b64 = b.Cast(DType.Float64);

        void Same(string what, Tensor f32, Tensor f64)
        {
            using (f32)
            using (f64)
            using (var back = f64.Cast(DType.Float32))
            {
                Assert.Equal(DType.Float64, f64.DType);
                AssertClose(f32.ToArray(), back.ToArray(), 1e-5, 1e-4, what);
            }
        }

        Same("conv2d", ConvOps.Conv2d(x, w, b, (2, 1), (1, 1), (1, 2), groups: 2), ConvOps.Conv2d(x64, w64, b64, (2, 1), (1, 1), (1, 2), groups: 2));
        using var y = ConvOps.Conv2d(x, w, null, (1, 1), (1, 1), groups: 2);
        using var y64 = y.Cast(DType.Float64);
        Same("conv2d dx", ConvOps.Conv2dBackwardData(y, w, x.Dims, (1, 1), (1, 1), groups: 2), ConvOps.Conv2dBackwardData(y64, w64, x.Dims, (1, 1), (1, 1), groups: 2));
        Same("conv2d dw", ConvOps.Conv2dBackwardWeight(x, y, w.Dims, (1, 1), (1, 1), groups: 2), ConvOps.Conv2dBackwardWeight(x64, y64, w.Dims, (1, 1), (1, 1), groups: 2));

        var (m, mi) = ConvOps.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
        var (m64, mi64) = ConvOps.MaxPool2d(x64, (3, 3), (2, 2), (1, 1));
        using (mi) using (mi64) Assert.Equal(mi.ToArray<int>(), mi64.ToArray<int>());
        Same("max_pool2d", m, m64);
        Same("avg_pool2d", ConvOps.AvgPool2d(x, (3, 3), (2, 2), (1, 1)), ConvOps.AvgPool2d(x64, (3, 3), (2, 2), (1, 1)));

        Same("log_softmax", NnOps.LogSoftmax(x, 1), NnOps.LogSoftmax(x64, 1));
        Same("sum", x.Sum([0, 2]), x64.Sum([0, 2]));
        Same("max", x.Max([3], keepDim: true), x64.Max([3], keepDim: true));
        using (var a = x.ArgMax(2)) using (var a64 = x64.ArgMax(2)) Assert.Equal(a.ToArray<int>(), a64.ToArray<int>());
        var (bm, bv) = NnOps.BatchNormStats(x);
        var (bm64, bv64) = NnOps.BatchNormStats(x64);
        Same("batch_norm mean", bm, bm64);
        Same("batch_norm var", bv, bv64);

        using var logits = x.Reshape(10, 20);
        using var logits64 = x64.Reshape(10, 20);
        using var labels = dev.T([0, 19, 3, 4, 5, 6, 7, 8, 9, 1]);
        var (l, p) = NnOps.SoftmaxCrossEntropy(logits, labels, 0.1);
        var (l64, p64) = NnOps.SoftmaxCrossEntropy(logits64, labels, 0.1);
        using var dl = dev.Ones([10]);
        using var dl64 = dev.Ones([10], DType.Float64);
        Same("cross_entropy backward", NnOps.SoftmaxCrossEntropyBackward(p, labels, dl, 0.1), NnOps.SoftmaxCrossEntropyBackward(p64, labels, dl64, 0.1));
        Same("cross_entropy", l, l64);
        Same("softmax", p, p64);

        using var idx = dev.T([4, 0, 4]);
        Same("index_select", logits.IndexSelect(0, idx), logits64.IndexSelect(0, idx));
        using var g = dev.T([1, 2, 3, 0, 19, 19], 3, 2);
        Same("gather", logits.Gather(1, g), logits64.Gather(1, g));
    }
}
