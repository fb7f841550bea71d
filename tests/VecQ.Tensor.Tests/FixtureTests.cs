using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Compares every backend column (<see cref="BackendCase"/>: reference, cpu, sim; cuda when a CUDA backend is
/// registered, Skipped otherwise) with the PyTorch fixtures in Fixtures/*.json (see tools/fixtures).
/// </summary>
public class FixtureTests
{
    public static TheoryData<string> ConvCases =>
        ["conv2d_basic", "conv2d_stride2_rect", "conv2d_dilation2", "conv2d_groups2", "conv2d_depthwise", "conv2d_1x1_nobias"];

    [BackendTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dMatchesPyTorch(BackendCase dev, string name)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load(name);
        var (stride, padding, dilation, groups) = (Pair(f.Ints("stride")), Pair(f.Ints("padding")), Pair(f.Ints("dilation")), f.Int("groups"));
        using var x = dev.T(f.Tensor("x"));
        using var w = dev.T(f.Tensor("weight"));
        using var bias = f.Bool("has_bias") ? dev.T(f.Tensor("bias")) : null;
        using var dy = dev.T(f.Tensor("dy"));

        using (var y = ConvOps.Conv2d(x, w, bias, stride, padding, dilation, groups)) AssertClose(f.Tensor("y"), y, $"{name} y");
        using (var dx = ConvOps.Conv2dBackwardData(dy, w, x.Dims, stride, padding, dilation, groups)) AssertClose(f.Tensor("dx"), dx, $"{name} dx");
        using (var dw = ConvOps.Conv2dBackwardWeight(x, dy, w.Dims, stride, padding, dilation, groups)) AssertClose(f.Tensor("dw"), dw, $"{name} dw");
        if (f.HasTensor("db"))
            using (var db = dy.Sum([0, 2, 3])) AssertClose(f.Tensor("db"), db, $"{name} db");
    }

    [BackendTheory]
    [InlineData("max_pool2d_k2s2")]
    [InlineData("max_pool2d_k3s2p1")]
    public void MaxPool2dMatchesPyTorch(BackendCase dev, string name)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load(name);
        var (kernel, stride, padding) = (Pair(f.Ints("kernel")), Pair(f.Ints("stride")), Pair(f.Ints("padding")));
        using var x = dev.T(f.Tensor("x"));
        var (y, indices) = ConvOps.MaxPool2d(x, kernel, stride, padding);
        using (y) AssertClose(f.Tensor("y"), y, $"{name} y");
        using (indices)
        {
            var (idxShape, idx) = f.IntTensor("indices");
            AssertShape(idxShape, indices, $"{name} indices");
            Assert.Equal(idx, indices.ToArray<int>());
            using var dy = dev.T(f.Tensor("dy"));
            using var dx = ConvOps.MaxPool2dBackward(dy, indices, x.Dims, kernel, stride, padding);
            AssertClose(f.Tensor("dx"), dx, $"{name} dx");
        }
    }

    [BackendTheory]
    [InlineData("avg_pool2d_k2s2")]
    [InlineData("avg_pool2d_k3s2p1")]
    public void AvgPool2dMatchesPyTorch(BackendCase dev, string name)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load(name);
        Assert.True(f.Bool("count_include_pad"));
        var (kernel, stride, padding) = (Pair(f.Ints("kernel")), Pair(f.Ints("stride")), Pair(f.Ints("padding")));
        using var x = dev.T(f.Tensor("x"));
        using (var y = ConvOps.AvgPool2d(x, kernel, stride, padding)) AssertClose(f.Tensor("y"), y, $"{name} y");
        using var dy = dev.T(f.Tensor("dy"));
        using (var dx = ConvOps.AvgPool2dBackward(dy, x.Dims, kernel, stride, padding)) AssertClose(f.Tensor("dx"), dx, $"{name} dx");
    }

    [BackendTheory]
    [InlineData("softmax_axis1", false)]
    [InlineData("softmax_axis2", false)]
    [InlineData("log_softmax_axis1", true)]
    [InlineData("log_softmax_axis2", true)]
    public void SoftmaxMatchesPyTorch(BackendCase dev, string name, bool log)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load(name);
        using var x = dev.T(f.Tensor("x"));
        using var y = log ? NnOps.LogSoftmax(x, f.Int("axis")) : NnOps.Softmax(x, f.Int("axis"));
        AssertClose(f.Tensor("y"), y, $"{name} y");
    }

    [BackendTheory]
    [InlineData("cross_entropy")]
    [InlineData("cross_entropy_smooth01")]
    public void CrossEntropyMatchesPyTorch(BackendCase dev, string name)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load(name);
        double smoothing = f.Double("label_smoothing");
        using var logits = dev.T(f.Tensor("logits"));
        var (_, labelData) = f.IntTensor("labels");
        using var labels = dev.T(labelData);
        int n = labelData.Length;
        var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, smoothing);
        using (loss)
        using (probs)
        {
            using (var mean = loss.Mean()) AssertClose(f.Tensor("loss"), mean, $"{name} loss");
            using var dloss = dev.Full([n], 1.0 / n); // d(mean)/d(loss_r)
            using var dlogits = NnOps.SoftmaxCrossEntropyBackward(probs, labels, dloss, smoothing);
            AssertClose(f.Tensor("dlogits"), dlogits, $"{name} dlogits");
        }
    }

    [BackendTheory]
    public void BatchNormStatsMatchPyTorch(BackendCase dev)
    {
        using var scope = dev.Enter();
        var f = Fixture.Load("batch_norm_stats");
        using var x = dev.T(f.Tensor("x"));
        var (mean, var) = NnOps.BatchNormStats(x);
        using (mean) AssertClose(f.Tensor("mean"), mean, "batch_norm_stats mean");
        using (var) AssertClose(f.Tensor("var"), var, "batch_norm_stats var");
        using (var unbiased = x.Var([0, 2, 3])) AssertClose(f.Tensor("var_unbiased"), unbiased, "var (unbiased) over N, H, W");
    }

    private static (int H, int W) Pair(int[] v) => (v[0], v[1]);
}
