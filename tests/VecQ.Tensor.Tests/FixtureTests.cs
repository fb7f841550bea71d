using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Compares <see cref="Under"/> (the reference backend) with the PyTorch fixtures in Fixtures/*.json
/// (see tools/fixtures). Another backend reuses every case by subclassing and overriding <see cref="Under"/>.
/// </summary>
public class FixtureTests
{
    /// <summary>The backend every test runs on.</summary>
    protected virtual IBackend Under => Backend.Reference;

    public static TheoryData<string> ConvCases =>
        ["conv2d_basic", "conv2d_stride2_rect", "conv2d_dilation2", "conv2d_groups2", "conv2d_depthwise", "conv2d_1x1_nobias"];

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dMatchesPyTorch(string name)
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load(name);
        var (stride, padding, dilation, groups) = (Pair(f.Ints("stride")), Pair(f.Ints("padding")), Pair(f.Ints("dilation")), f.Int("groups"));
        using var x = T(f.Tensor("x"));
        using var w = T(f.Tensor("weight"));
        using var bias = f.Bool("has_bias") ? T(f.Tensor("bias")) : null;
        using var dy = T(f.Tensor("dy"));

        using (var y = ConvOps.Conv2d(x, w, bias, stride, padding, dilation, groups)) AssertClose(f.Tensor("y"), y, $"{name} y");
        using (var dx = ConvOps.Conv2dBackwardData(dy, w, x.Dims, stride, padding, dilation, groups)) AssertClose(f.Tensor("dx"), dx, $"{name} dx");
        using (var dw = ConvOps.Conv2dBackwardWeight(x, dy, w.Dims, stride, padding, dilation, groups)) AssertClose(f.Tensor("dw"), dw, $"{name} dw");
        if (f.HasTensor("db"))
            using (var db = dy.Sum([0, 2, 3])) AssertClose(f.Tensor("db"), db, $"{name} db");
    }

    [Theory]
    [InlineData("max_pool2d_k2s2")]
    [InlineData("max_pool2d_k3s2p1")]
    public void MaxPool2dMatchesPyTorch(string name)
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load(name);
        var (kernel, stride, padding) = (Pair(f.Ints("kernel")), Pair(f.Ints("stride")), Pair(f.Ints("padding")));
        using var x = T(f.Tensor("x"));
        var (y, indices) = ConvOps.MaxPool2d(x, kernel, stride, padding);
        using (y) AssertClose(f.Tensor("y"), y, $"{name} y");
        using (indices)
        {
            var (idxShape, idx) = f.IntTensor("indices");
            AssertShape(idxShape, indices, $"{name} indices");
            Assert.Equal(idx, indices.ToArray<int>());
            using var dy = T(f.Tensor("dy"));
            using var dx = ConvOps.MaxPool2dBackward(dy, indices, x.Dims, kernel, stride, padding);
            AssertClose(f.Tensor("dx"), dx, $"{name} dx");
        }
    }

    [Theory]
    [InlineData("avg_pool2d_k2s2")]
    [InlineData("avg_pool2d_k3s2p1")]
    public void AvgPool2dMatchesPyTorch(string name)
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load(name);
        Assert.True(f.Bool("count_include_pad"));
        var (kernel, stride, padding) = (Pair(f.Ints("kernel")), Pair(f.Ints("stride")), Pair(f.Ints("padding")));
        using var x = T(f.Tensor("x"));
        using (var y = ConvOps.AvgPool2d(x, kernel, stride, padding)) AssertClose(f.Tensor("y"), y, $"{name} y");
        using var dy = T(f.Tensor("dy"));
        using (var dx = ConvOps.AvgPool2dBackward(dy, x.Dims, kernel, stride, padding)) AssertClose(f.Tensor("dx"), dx, $"{name} dx");
    }

    [Theory]
    [InlineData("softmax_axis1", false)]
    [InlineData("softmax_axis2", false)]
    [InlineData("log_softmax_axis1", true)]
    [InlineData("log_softmax_axis2", true)]
    public void SoftmaxMatchesPyTorch(string name, bool log)
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load(name);
        using var x = T(f.Tensor("x"));
        using var y = log ? NnOps.LogSoftmax(x, f.Int("axis")) : NnOps.Softmax(x, f.Int("axis"));
        AssertClose(f.Tensor("y"), y, $"{name} y");
    }

    [Theory]
    [InlineData("cross_entropy")]
    [InlineData("cross_entropy_smooth01")]
    public void CrossEntropyMatchesPyTorch(string name)
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load(name);
        double smoothing = f.Double("label_smoothing");
        using var logits = T(f.Tensor("logits"));
        var (_, labelData) = f.IntTensor("labels");
        using var labels = T(labelData);
        int n = labelData.Length;
        var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, smoothing);
        using (loss)
        using (probs)
        {
            using (var mean = loss.Mean()) AssertClose(f.Tensor("loss"), mean, $"{name} loss");
            using var dloss = Tensor.Full([n], 1.0 / n); // d(mean)/d(loss_r)
            using var dlogits = NnOps.SoftmaxCrossEntropyBackward(probs, labels, dloss, smoothing);
            AssertClose(f.Tensor("dlogits"), dlogits, $"{name} dlogits");
        }
    }

    [Fact]
    public void BatchNormStatsMatchPyTorch()
    {
        using var scope = Backend.Use(Under);
        var f = Fixture.Load("batch_norm_stats");
        using var x = T(f.Tensor("x"));
        var (mean, var) = NnOps.BatchNormStats(x);
        using (mean) AssertClose(f.Tensor("mean"), mean, "batch_norm_stats mean");
        using (var) AssertClose(f.Tensor("var"), var, "batch_norm_stats var");
        using (var unbiased = x.Var([0, 2, 3])) AssertClose(f.Tensor("var_unbiased"), unbiased, "var (unbiased) over N, H, W");
    }

    private static (int H, int W) Pair(int[] v) => (v[0], v[1]);
}
