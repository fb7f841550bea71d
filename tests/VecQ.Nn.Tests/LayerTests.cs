using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

public class LinearTests
{
    [Fact]
    public void ShapesAndParameters()
    {
        var fc = new Linear(6, 3, rng: new Rng(1));
        Assert.Equal([3, 6], fc.Weight.Shape);
        Assert.Equal([3], fc.Bias!.Shape);
        Assert.Equal(["weight", "bias"], fc.NamedParameters().Select(p => p.Name));
        Assert.Equal(21, fc.ParameterCount());
        using var x = Input([5, 6], 2);
        using var y = fc.Forward(x);                       // [5, 6] → [5, 3]
        Assert.Equal([5, 3], y.Shape);
        using var x3 = Input([2, 4, 6], 3);
        using var y3 = fc.Forward(x3);                     // [2, 4, 6] → [2, 4, 3]
        Assert.Equal([2, 4, 3], y3.Shape);

        var nb = new Linear(6, 3, bias: false);
        Assert.Null(nb.Bias);
        Assert.Equal(["weight"], nb.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void MatchesXWTransposePlusB()
    {
        var fc = new Linear(3, 2, rng: new Rng(5));
        fc.Weight.Data.CopyFrom(Tensor.FromArray(new float[] { 1, 2, 3, -1, 0, 1 }, [2, 3]));
        fc.Bias!.Data.CopyFrom(Tensor.FromArray(new float[] { 0.5f, -0.5f }));
        using var x = new Variable(Tensor.FromArray(new float[] { 1, 1, 1, 2, 0, -1 }, [2, 3]));
        using var y = fc.Forward(x);
        Assert.Equal(new float[] { 6.5f, -0.5f, -0.5f, -3.5f }, F(y.Value));
    }

    [Fact]
    public void DefaultInitIsPyTorchs()
    {
        var fc = new Linear(400, 300, rng: new Rng(9));
        double bound = 1 / Math.Sqrt(400);
        var w = F(fc.Weight.Data);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.98 * bound && w.Min() < -0.98 * bound);
        double std = Math.Sqrt(w.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.97 * bound / Math.Sqrt(3), 1.03 * bound / Math.Sqrt(3));   // U(−b, b): std b/√3
        var b = F(fc.Bias!.Data);
        Assert.All(b, v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void ReadsWeightsThroughTheParameterTransform()
    {
        var fc = new Linear(3, 2, rng: new Rng(5));
        fc.Weight.Transform = new Scale(0.5);
        using var x = Input([4, 3], 1);
        using var y = fc.Forward(x);
        using (Autograd.NoGrad())
        {
            using var half = fc.Weight.Data.Mul(0.5);
            using var expect = x.Value.MatMul(half.T()).Add(fc.Bias!.Data);
            AssertClose(expect, y.Value, "y with transform");
        }
        using var loss = Functions.Sum(y);
        loss.Backward();
        // dL/dW = 0.5·Σ_n x_n (straight through the 0.5 scale)
        using var colSum = x.Value.Sum([0]);
        using var expectGrad = colSum.Mul(0.5).Reshape(1, 3).Expand(2, 3);
        AssertClose(expectGrad, fc.Weight.Grad!, "weight grad through transform");
    }

    private sealed class Scale(double s) : IParameterTransform
    {
        public Variable Apply(Parameter p, bool training) => Functions.Mul(p.Variable, s);
    }
}

public class Conv2dTests
{
    [Fact]
    public void WeightShapeAndOutputShape()
    {
        var conv = new Conv2d(4, 6, 3, stride: 2, padding: 1, rng: new Rng(0));
        Assert.Equal([6, 4, 3, 3], conv.Weight.Shape);
        Assert.Equal([6], conv.Bias!.Shape);
        using var x = Input([2, 4, 9, 9], 1);
        using var y = conv.Forward(x);                     // (9 + 2 − 3)/2 + 1 = 5
        Assert.Equal([2, 6, 5, 5], y.Shape);

        var grouped = new Conv2d(4, 8, (3, 5), groups: 2, bias: false);
        Assert.Equal([8, 2, 3, 5], grouped.Weight.Shape);
        Assert.Null(grouped.Bias);
        var depthwise = new Conv2d(8, 8, 3, padding: 1, groups: 8);
        Assert.Equal([8, 1, 3, 3], depthwise.Weight.Shape);
        using var xd = Input([1, 8, 6, 6], 2);
        using var yd = depthwise.Forward(xd);
        Assert.Equal([1, 8, 6, 6], yd.Shape);
    }

    [Fact]
    public void MatchesFunctionsConv2d()
    {
        var conv = new Conv2d(3, 5, 3, stride: (2, 1), padding: (1, 2), dilation: (1, 2), rng: new Rng(3));
        using var x = Input([2, 3, 7, 8], 4);
        using var y = conv.Forward(x);
        using var expect = Functions.Conv2d(x, conv.Weight.Variable, conv.Bias!.Variable, (2, 1), (1, 2), (1, 2));
        AssertClose(expect.Value, y.Value, "conv");
    }

    [Theory]
    [InlineData(5, 1, 2)]
    [InlineData(3, 1, 1)]
    [InlineData(3, 2, 2)]
    [InlineData(1, 1, 0)]
    [InlineData(4, 2, 3)]   // even kernel, even dilation: total 6 splits evenly
    public void SamePaddingKeepsTheSize(int k, int dilation, int expectedPad)
    {
        var conv = new Conv2d(2, 3, k, padding: "same", dilation: dilation);
        Assert.Equal(new Size2(expectedPad, expectedPad), conv.ResolvedPadding);
        using var x = Input([1, 2, 11, 10], 5);
        using var y = conv.Forward(x);
        Assert.Equal([1, 3, 11, 10], y.Shape);
    }

    [Fact]
    public void SamePaddingRectangularKernel()
    {
        var conv = new Conv2d(1, 1, (3, 5), padding: "same");
        Assert.Equal(new Size2(1, 2), conv.ResolvedPadding);
        var valid = new Conv2d(1, 1, 5, padding: "valid");
        Assert.Equal(new Size2(0, 0), valid.ResolvedPadding);
        using var x = Input([1, 1, 28, 28], 1);
        using var y = valid.Forward(x);
        Assert.Equal([1, 1, 24, 24], y.Shape);
    }

    [Fact]
    public void SamePaddingErrors()
    {
        var even = Assert.Throws<ArgumentException>(() => new Conv2d(1, 1, 4, padding: "same"));
        Assert.Contains("asymmetric", even.Message);
        var strided = Assert.Throws<ArgumentException>(() => new Conv2d(1, 1, 3, stride: 2, padding: "same"));
        Assert.Contains("stride 1", strided.Message);
        Assert.Throws<ArgumentException>(() => new Conv2d(1, 1, 3, padding: "full"));
        Assert.Throws<ArgumentException>(() => new Conv2d(4, 6, 3, groups: 4));    // 6 % 4 ≠ 0
        var conv = new Conv2d(3, 4, 3);
        using var x = Input([1, 2, 5, 5], 1);
        var e = Assert.Throws<ArgumentException>(() => conv.Forward(x));
        Assert.Contains("[N, 3, H, W]", e.Message);
    }

    [Fact]
    public void DefaultInitUsesFanInOfTheGroup()
    {
        var conv = new Conv2d(16, 32, 3, groups: 4, rng: new Rng(2));   // fan_in = 16/4·9 = 36
        double bound = 1 / Math.Sqrt(36);
        var w = F(conv.Weight.Data);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.95 * bound);
        Assert.All(F(conv.Bias!.Data), v => Assert.InRange(v, -bound, bound));
    }
}

public class BatchNormTests
{
    private static double[] ChannelValues(float[] x, int[] shape, int c)
    {
        int n = shape[0], ch = shape[1], s = x.Length / (n * ch);
        var r = new List<double>();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < s; j++) r.Add(x[(i * ch + c) * s + j]);
        return r.ToArray();
    }

    [Fact]
    public void ParametersAndBuffers()
    {
        var bn = new BatchNorm2d(3);
        Assert.Equal(["weight", "bias"], bn.NamedParameters().Select(p => p.Name));
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.NamedBuffers().Select(b => b.Name));
        Assert.Equal(new float[] { 1, 1, 1 }, F(bn.Weight!.Data));
        Assert.Equal(new float[] { 0, 0, 0 }, F(bn.Bias!.Data));
        Assert.Equal(new float[] { 0, 0, 0 }, F(bn.RunningMean!.Value));
        Assert.Equal(new float[] { 1, 1, 1 }, F(bn.RunningVar!.Value));
        Assert.Equal(DType.Int32, bn.NumBatchesTracked!.Value.DType);
        Assert.Empty(bn.NumBatchesTracked.Value.Dims);
        Assert.Equal(0, bn.NumBatchesTracked.Value.Item());

        var plain = new BatchNorm1d(4, affine: false, trackRunningStats: false);
        Assert.Empty(plain.NamedParameters());
        Assert.Empty(plain.NamedBuffers());
    }

    [Fact]
    public void TrainingNormalizesAndUpdatesRunningStatsLikePyTorch()
    {
        var bn = new BatchNorm2d(3, momentum: 0.1);
        int[] shape = [4, 3, 5, 5];
        using var x = new Variable(RandN(shape, 7, mean: 2, std: 3));
        var xs = F(x.Value);
        using (var y = bn.Forward(x))
        {
            var ys = F(y.Value);
            for (int c = 0; c < 3; c++)
            {
                var v = ChannelValues(ys, shape, c);
                double m = v.Average(), var = v.Select(t => (t - m) * (t - m)).Average();
                Assert.InRange(m, -1e-5, 1e-5);
                Assert.InRange(var, 1 - 1e-3, 1 + 1e-5);   // biased variance ≈ 1 (ε = 1e-5)
            }
        }
        var rm = F(bn.RunningMean!.Value);
        var rv = F(bn.RunningVar!.Value);
        for (int c = 0; c < 3; c++)
        {
            var v = ChannelValues(xs, shape, c);
            double m = v.Average();
            double unbiased = v.Select(t => (t - m) * (t - m)).Sum() / (v.Length - 1);
            Assert.Equal(0.9 * 0 + 0.1 * m, rm[c], 1e-5);
            Assert.Equal(0.9 * 1 + 0.1 * unbiased, rv[c], 1e-4);
        }
        Assert.Equal(1, bn.NumBatchesTracked!.Value.Item());

        // A second step: running = 0.9·running + 0.1·batch again.
        using var x2 = new Variable(RandN(shape, 8));
        var xs2 = F(x2.Value);
        using (bn.Forward(x2)) { }
        var rm2 = F(bn.RunningMean.Value);
        for (int c = 0; c < 3; c++)
            Assert.Equal(0.9 * rm[c] + 0.1 * ChannelValues(xs2, shape, c).Average(), rm2[c], 1e-5);
        Assert.Equal(2, bn.NumBatchesTracked.Value.Item());
    }

    [Fact]
    public void CumulativeAverageWhenMomentumIsNull()
    {
        var bn = new BatchNorm1d(2, momentum: null);
        using var a = new Variable(Tensor.FromArray(new float[] { 1, 10, 3, 20 }, [2, 2]));   // means 2, 15
        using var b = new Variable(Tensor.FromArray(new float[] { 5, 0, 7, 2 }, [2, 2]));     // means 6, 1
        using (bn.Forward(a)) { }
        using (bn.Forward(b)) { }
        Assert.Equal(new float[] { 4, 8 }, F(bn.RunningMean!.Value));
        // unbiased variances: a (2, 50), b (2, 2) → cumulative average (2, 26)
        Assert.Equal(new float[] { 2, 26 }, F(bn.RunningVar!.Value));
    }

    [Fact]
    public void EvalUsesRunningStats()
    {
        var bn = new BatchNorm2d(2, eps: 1e-3);
        bn.Weight!.Data.CopyFrom(Tensor.FromArray(new float[] { 2, -1 }));
        bn.Bias!.Data.CopyFrom(Tensor.FromArray(new float[] { 0.5f, 1 }));
        bn.RunningMean!.Value.CopyFrom(Tensor.FromArray(new float[] { 1, -2 }));
        bn.RunningVar!.Value.CopyFrom(Tensor.FromArray(new float[] { 4, 0.25f }));
        bn.Eval();
        int[] shape = [3, 2, 2, 2];
        using var x = new Variable(RandN(shape, 3), requiresGrad: true);
        using var y = bn.Forward(x);
        var xs = F(x.Value);
        var expect = new double[xs.Length];
        double[] g = [2, -1], b = [0.5, 1], m = [1, -2], v = [4, 0.25];
        for (int i = 0; i < xs.Length; i++)
        {
            int c = i / 4 % 2;
            expect[i] = (xs[i] - m[c]) / Math.Sqrt(v[c] + 1e-3) * g[c] + b[c];
        }
        AssertClose(expect, F(y.Value).Select(t => (double)t).ToArray(), 1e-5, 1e-5, "eval output");
        Assert.Equal(0, bn.NumBatchesTracked!.Value.Item());               // no update in eval
        Assert.Equal(new float[] { 1, -2 }, F(bn.RunningMean.Value));

        // Gradients still flow in eval: dγ = Σ x̂, dβ = Σ 1, dx = γ/√(var + ε).
        using var loss = Functions.Sum(y);
        loss.Backward();
        Assert.Equal(new float[] { 12, 12 }, F(bn.Bias.Grad!));
        var dg = F(bn.Weight.Grad!);
        for (int c = 0; c < 2; c++)
        {
            double s = 0;
            for (int i = 0; i < xs.Length; i++) if (i / 4 % 2 == c) s += (xs[i] - m[c]) / Math.Sqrt(v[c] + 1e-3);
            Assert.Equal(s, dg[c], 1e-4);
        }
        var dx = F(x.Grad!);
        for (int i = 0; i < xs.Length; i++) Assert.Equal(g[i / 4 % 2] / Math.Sqrt(v[i / 4 % 2] + 1e-3), dx[i], 1e-5);
    }

    [Fact]
    public void EvalWithoutRunningStatsUsesTheBatch()
    {
        var bn = new BatchNorm1d(3, trackRunningStats: false);
        bn.Eval();
        using var x = new Variable(RandN([6, 3], 1, mean: 5));
        using var y = bn.Forward(x);
        var ys = F(y.Value);
        for (int c = 0; c < 3; c++) Assert.InRange(ChannelValues(ys, [6, 3], c).Average(), -1e-5, 1e-5);
    }

    // A 3-channel batch norm (momentum 0.2) with the given γ and β and fixed running statistics, in training or evaluation.
    private static BatchNorm2d ThreeChannelBn(float[] gamma, float[] beta, bool training)
    {
        var bn = new BatchNorm2d(3, momentum: 0.2);
        bn.Weight!.Data.CopyFrom(Tensor.FromArray(gamma));
        bn.Bias!.Data.CopyFrom(Tensor.FromArray(beta));
        bn.RunningMean!.Value.CopyFrom(Tensor.FromArray(new float[] { 0.2f, 0.5f, -0.1f }));
        bn.RunningVar!.Value.CopyFrom(Tensor.FromArray(new float[] { 0.8f, 1.3f, 0.6f }));
        if (!training) bn.Eval();
        return bn;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReluForwardMaxPoolEqualsTheThreeSteps(bool training)
    {
        // Two identical layers: one runs the fused tail, the other ReLU → Forward → MaxPool2d. Outputs,
        // gradients (x, γ, β) and the running statistics must agree, in training and in evaluation.
        int[] shape = [4, 3, 6, 10];
        BatchNorm2d Make() => ThreeChannelBn([1.5f, -0.7f, 0.3f], [0.1f, -0.2f, 0.4f], training);
        var (fused, plain) = (Make(), Make());
        using var x0 = RandN(shape, 12);
        using var xa = new Variable(x0.Clone(), requiresGrad: true);
        using var xb = new Variable(x0.Clone(), requiresGrad: true);
        using var dy = RandN([4, 3, 3, 5], 13);
        using var ya = fused.ReluForwardMaxPool(xa, (2, 2));
        using (var r = Functions.Relu(xb))
        using (var t = plain.Forward(r))
        using (var yb = Functions.MaxPool2d(t, (2, 2)))
        {
            AssertClose(F(yb.Value).Select(v => (double)v).ToArray(), F(ya.Value).Select(v => (double)v).ToArray(), 1e-6, 1e-6, "output");
            using var la = Functions.Sum(Functions.Mul(ya, new Variable(dy)));
            using var lb = Functions.Sum(Functions.Mul(yb, new Variable(dy)));
            la.Backward();
            lb.Backward();
        }
        foreach (var (what, a, b) in new[] { ("dx", xa.Grad!, xb.Grad!), ("dgamma", fused.Weight!.Grad!, plain.Weight!.Grad!), ("dbeta", fused.Bias!.Grad!, plain.Bias!.Grad!) })
            AssertClose(F(b).Select(v => (double)v).ToArray(), F(a).Select(v => (double)v).ToArray(), 1e-5, 1e-4, what);
        Assert.Equal(F(plain.RunningMean!.Value), F(fused.RunningMean!.Value));
        Assert.Equal(F(plain.RunningVar!.Value), F(fused.RunningVar!.Value));
        Assert.Equal(training ? 1 : 0, fused.NumBatchesTracked!.Value.Item());
        using var wrong = Input([4, 2, 6, 10], 1);
        var e = Assert.Throws<ArgumentException>(() => fused.ReluForwardMaxPool(wrong, (2, 2)));
        Assert.Contains("has 2 channels", e.Message);
    }

    [Theory]
    [InlineData(true, FusedActivation.Relu)]
    [InlineData(false, FusedActivation.Relu)]
    [InlineData(true, FusedActivation.Relu6)]
    [InlineData(false, FusedActivation.Relu6)]
    public void ForwardWithActivationEqualsForwardThenTheActivation(bool training, FusedActivation act)
    {
        // Two identical layers: Forward(x, act) (one pass in evaluation without gradients) against Forward then the
        // function; equal bit for bit, with and without gradients, and the same gradients when they are taken.
        BatchNorm2d Make() => ThreeChannelBn([6.5f, -4.7f, 0.3f], [0.1f, -0.2f, 2.4f], training);
        var (fused, plain) = (Make(), Make());
        Variable Act(Variable v) => act == FusedActivation.Relu ? Functions.Relu(v) : Functions.Relu6(v);
        using var x0 = RandN([4, 3, 5, 7], 21);
        var profiler = new ProfilingBackend(Backend.Cpu);
        using (var noGrad = new Variable(x0.Clone()))
        using (Backend.Use(profiler))
        using (VecQ.Autograd.Autograd.NoGrad())
        using (var ya = fused.Forward(noGrad, act))
        using (var t = plain.Forward(noGrad))
        using (var yb = Act(t))
        {
            // in evaluation the one-pass kernel ran (in training, batch statistics: the two functions)
            Assert.Equal(!training, profiler.Totals().Any(op => op.Op == "BatchNormActivation"));
            Assert.Equal(F(yb.Value), F(ya.Value));
            Assert.Contains(F(ya.Value), v => v == 0f);
            if (act == FusedActivation.Relu6) Assert.Contains(F(ya.Value), v => v == 6f);
        }
        using var xa = new Variable(x0.Clone(), requiresGrad: true);
        using var xb = new Variable(x0.Clone(), requiresGrad: true);
        using var dy = RandN([4, 3, 5, 7], 22);
        using var y1 = fused.Forward(xa, act);
        using (var t = plain.Forward(xb))
        using (var y2 = Act(t))
        {
            Assert.Equal(F(y2.Value), F(y1.Value));
            using var la = Functions.Sum(Functions.Mul(y1, new Variable(dy)));
            using var lb = Functions.Sum(Functions.Mul(y2, new Variable(dy)));
            la.Backward();
            lb.Backward();
        }
        foreach (var (what, a, b) in new[] { ("dx", xa.Grad!, xb.Grad!), ("dgamma", fused.Weight!.Grad!, plain.Weight!.Grad!), ("dbeta", fused.Bias!.Grad!, plain.Bias!.Grad!) })
            Assert.True(F(b).SequenceEqual(F(a)), what);
        Assert.Equal(F(plain.RunningMean!.Value), F(fused.RunningMean!.Value));
    }

    [Fact]
    public void BatchNorm1dTakesTwoOrThreeDims()
    {
        var bn = new BatchNorm1d(4);
        using var x2 = Input([5, 4], 1);
        using var y2 = bn.Forward(x2);
        Assert.Equal([5, 4], y2.Shape);
        using var x3 = Input([5, 4, 7], 2);
        using var y3 = bn.Forward(x3);
        Assert.Equal([5, 4, 7], y3.Shape);
        using var x4 = Input([5, 4, 2, 2], 3);
        Assert.Throws<ArgumentException>(() => bn.Forward(x4));
        using var wrong = Input([5, 3], 3);
        Assert.Throws<ArgumentException>(() => bn.Forward(wrong));
        using var single = Input([1, 4], 4);
        var e = Assert.Throws<ArgumentException>(() => bn.Forward(single));
        Assert.Contains("more than 1 value per channel", e.Message);
        var bn2 = new BatchNorm2d(4);
        Assert.Throws<ArgumentException>(() => bn2.Forward(x3));
    }
}

public class PoolingAndShapeTests
{
    [Fact]
    public void MaxPoolAvgPoolShapes()
    {
        using var x = Input([2, 3, 28, 28], 1);
        using var y = new MaxPool2d(2).Forward(x);
        Assert.Equal([2, 3, 14, 14], y.Shape);
        using var z = new AvgPool2d(3, stride: 2, padding: 1).Forward(x);
        Assert.Equal([2, 3, 14, 14], z.Shape);
        using var w = new MaxPool2d((2, 4), stride: (2, 2)).Forward(x);
        Assert.Equal([2, 3, 14, 13], w.Shape);
        Assert.Throws<ArgumentException>(() => new MaxPool2d(2, padding: 2));
    }

    [Fact]
    public void MaxPoolValues()
    {
        using var x = new Variable(Tensor.FromArray(new float[] { 1, 5, 2, 0, 3, 4, 9, 8, -1, -2, 7, 6, -3, -4, 0, 1 }, [1, 1, 4, 4]));
        using var y = new MaxPool2d(2).Forward(x);
        Assert.Equal(new float[] { 5, 9, -1, 7 }, F(y.Value));
        using var a = new AvgPool2d(2).Forward(x);
        Assert.Equal(new float[] { 3.25f, 4.75f, -2.5f, 3.5f }, F(a.Value));
    }

    [Fact]
    public void GlobalAvgPool()
    {
        using var x = Input([2, 3, 4, 5], 1);
        using var y = new GlobalAvgPool2d().Forward(x);
        Assert.Equal([2, 3, 1, 1], y.Shape);
        using var z = new GlobalAvgPool2d(flatten: true).Forward(x);
        Assert.Equal([2, 3], z.Shape);
        using var expect = x.Value.Mean([2, 3]);
        AssertClose(expect, z.Value, "gap");
    }

    [Fact]
    public void FlattenShapes()
    {
        using var x = Input([2, 64, 7, 7], 1);
        using var y = new Flatten().Forward(x);
        Assert.Equal([2, 3136], y.Shape);
        using var z = new Flatten(0).Forward(x);
        Assert.Equal([6272], z.Shape);
        using var w = new Flatten(1, 2).Forward(x);
        Assert.Equal([2, 448, 7], w.Shape);
    }

    [Fact]
    public void ActivationValues()
    {
        using var x = new Variable(Tensor.FromArray(new float[] { -2, -0.5f, 0, 0.5f, 3, 7 }));
        using var r = new ReLU().Forward(x);
        Assert.Equal(new float[] { 0, 0, 0, 0.5f, 3, 7 }, F(r.Value));
        using var r6 = new ReLU6().Forward(x);
        Assert.Equal(new float[] { 0, 0, 0, 0.5f, 3, 6 }, F(r6.Value));
        using var s = new Sigmoid().Forward(x);
        Assert.Equal(1 / (1 + Math.Exp(2)), F(s.Value)[0], 1e-6);
        using var t = new Tanh().Forward(x);
        Assert.Equal(Math.Tanh(0.5), F(t.Value)[3], 1e-6);
    }

    [Fact]
    public void SequentialOfLayers()
    {
        var mlp = new Sequential(new Linear(4, 8, rng: new Rng(1)), new ReLU(), new Dropout(0.5, new Rng(2)), new Linear(8, 2, rng: new Rng(3)));
        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias"], mlp.NamedParameters().Select(p => p.Name));
        using var x = Input([5, 4], 1);
        using var y = mlp.Forward(x);
        Assert.Equal([5, 2], y.Shape);
    }
}

public class DropoutTests
{
    [Fact]
    public void RateAndScaling()
    {
        var drop = new Dropout(0.3, new Rng(11));
        using var x = new Variable(Tensor.Ones([200, 500]), requiresGrad: true);
        using var y = drop.Forward(x);
        var ys = F(y.Value);
        double zeroFrac = ys.Count(v => v == 0) / (double)ys.Length;
        Assert.InRange(zeroFrac, 0.29, 0.31);
        Assert.All(ys.Where(v => v != 0), v => Assert.Equal(1 / 0.7, v, 1e-6));
        Assert.InRange(ys.Average(), 0.98, 1.02);   // expectation preserved
        using var loss = Functions.Sum(y);
        loss.Backward();
        Assert.Equal(ys, F(x.Grad!));               // dx = mask/(1 − p) (x = 1)
    }

    [Fact]
    public void EvalIsIdentityAndSeedsReproduce()
    {
        using var x = Input([10, 10], 3);
        var drop = new Dropout(0.5, new Rng(4));
        drop.Eval();
        using (var y = drop.Forward(x)) Assert.Equal(F(x.Value), F(y.Value));
        using (var y0 = new Dropout(0).Forward(x)) Assert.Equal(F(x.Value), F(y0.Value));

        using var a = new Dropout(0.5, new Rng(4)).Forward(x);
        using var b = new Dropout(0.5, new Rng(4)).Forward(x);
        Assert.Equal(F(a.Value), F(b.Value));
        Assert.Throws<ArgumentException>(() => new Dropout(1.5));
    }
}

public class LossTests
{
    [Fact]
    public void CrossEntropyMatchesManualFormula()
    {
        var logits = new float[] { 1, 2, 0.5f, -1, 0, 3 };
        using var x = new Variable(Tensor.FromArray(logits, [2, 3]), requiresGrad: true);
        using var labels = Tensor.FromArray(new[] { 1, 2 });
        using var loss = new CrossEntropyLoss().Forward(x, labels);
        double Ce(int row, int label, double eps)
        {
            double[] z = logits.Skip(row * 3).Take(3).Select(v => (double)v).ToArray();
            double lse = Math.Log(z.Sum(Math.Exp));
            return z.Select((v, k) => -((k == label ? 1 - eps : 0) + eps / 3) * (v - lse)).Sum();
        }
        Assert.Equal((Ce(0, 1, 0) + Ce(1, 2, 0)) / 2, loss.Value.Item(), 1e-5);
        using var smooth = new CrossEntropyLoss(labelSmoothing: 0.1).Forward(x, labels);
        Assert.Equal((Ce(0, 1, 0.1) + Ce(1, 2, 0.1)) / 2, smooth.Value.Item(), 1e-5);
        using var none = new CrossEntropyLoss(reduction: Reduction.None).Forward(x, labels);
        Assert.Equal([2], none.Shape);
        Assert.False(labels.IsDisposed);

        using var floatLabels = Tensor.FromArray(new float[] { 1, 2 });
        Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(x, floatLabels));
    }

    [Fact]
    public void MseAndBce()
    {
        using var p = new Variable(Tensor.FromArray(new float[] { 1, -2, 0.5f }), requiresGrad: true);
        using var t = Tensor.FromArray(new float[] { 0, 1, 0.5f });
        using var mse = new MSELoss().Forward(p, t);
        Assert.Equal((1 + 9 + 0) / 3.0, mse.Value.Item(), 1e-6);
        mse.Backward();
        Assert.Equal(new float[] { 2f / 3, -2, 0 }, F(p.Grad!));
        Assert.False(t.IsDisposed);
        using var sum = new MSELoss(Reduction.Sum).Forward(p, t);
        Assert.Equal(10, sum.Value.Item(), 1e-6);

        using var bce = new BCEWithLogitsLoss().Forward(p, t);
        double B(double x, double y) => Math.Max(x, 0) - x * y + Math.Log(1 + Math.Exp(-Math.Abs(x)));
        Assert.Equal((B(1, 0) + B(-2, 1) + B(0.5, 0.5)) / 3, bce.Value.Item(), 1e-6);
        Assert.False(t.IsDisposed);
        using var wrong = Tensor.Zeros([2]);
        Assert.Throws<ArgumentException>(() => new MSELoss().Forward(p, wrong));
    }
}
