using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

public class InitTests
{
    private static (double Mean, double Std, double Min, double Max) Stats(Tensor t)
    {
        var v = ToDoubles(t);
        double m = v.Average();
        return (m, Math.Sqrt(v.Select(x => (x - m) * (x - m)).Average()), v.Min(), v.Max());
    }

    [Fact]
    public void FansLikePyTorch()
    {
        Assert.Equal((4L, 10L), Init.CalculateFans([10, 4]));              // Linear [out, in]
        Assert.Equal((800L, 1600L), Init.CalculateFans([64, 32, 5, 5]));   // Conv2d [O, C, KH, KW]
        Assert.Equal((9L, 288L), Init.CalculateFans([32, 1, 3, 3]));       // depthwise
        Assert.Equal((15L, 6L), Init.CalculateFans([2, 5, 3]));            // Conv1d
        var e = Assert.Throws<ArgumentException>(() => Init.CalculateFans([5]));
        Assert.Contains("fewer than 2 dimensions", e.Message);
    }

    [Fact]
    public void Gains()
    {
        Assert.Equal(1, Init.CalculateGain(Nonlinearity.Linear));
        Assert.Equal(1, Init.CalculateGain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3, Init.CalculateGain(Nonlinearity.Tanh), 12);
        Assert.Equal(Math.Sqrt(2), Init.CalculateGain(Nonlinearity.Relu), 12);
        Assert.Equal(Math.Sqrt(2 / 1.0001), Init.CalculateGain(Nonlinearity.LeakyRelu), 12);
        Assert.Equal(Math.Sqrt(1.0 / 3), Init.CalculateGain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 12);
        Assert.Equal(0.75, Init.CalculateGain(Nonlinearity.Selu));
    }

    [Fact]
    public void KaimingUniformBoundAndStd()
    {
        using var w = Tensor.Zeros([256, 128]);
        Init.KaimingUniform(w, new Rng(1), nonlinearity: Nonlinearity.Relu);
        double bound = Math.Sqrt(2) * Math.Sqrt(3.0 / 128);
        var s = Stats(w);
        Assert.True(s.Min >= -bound && s.Max <= bound);
        Assert.True(s.Max > 0.99 * bound && s.Min < -0.99 * bound);
        Assert.InRange(s.Std, 0.98 * Math.Sqrt(2.0 / 128), 1.02 * Math.Sqrt(2.0 / 128));
        Assert.InRange(s.Mean, -0.002, 0.002);
    }

    [Fact]
    public void KaimingNormalFanOut()
    {
        using var w = Tensor.Zeros([64, 32, 3, 3]);   // fan_out = 64·9 = 576
        Init.KaimingNormal(w, new Rng(2), mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        var s = Stats(w);
        double std = Math.Sqrt(2.0 / 576);
        Assert.InRange(s.Std, 0.98 * std, 1.02 * std);
        Assert.InRange(s.Mean, -0.05 * std, 0.05 * std);
    }

    [Fact]
    public void XavierUniformAndNormal()
    {
        using var w = Tensor.Zeros([300, 200]);
        Init.XavierUniform(w, new Rng(3), gain: 2);
        double bound = 2 * Math.Sqrt(6.0 / 500);
        var s = Stats(w);
        Assert.True(s.Min >= -bound && s.Max <= bound && s.Max > 0.99 * bound);
        Init.XavierNormal(w, new Rng(4));
        s = Stats(w);
        Assert.InRange(s.Std, 0.98 * Math.Sqrt(2.0 / 500), 1.02 * Math.Sqrt(2.0 / 500));
    }

    [Fact]
    public void UniformNormalZerosOnes()
    {
        using var t = Tensor.Zeros([100_000]);
        Init.Uniform(t, new Rng(5), -3, 1);
        var s = Stats(t);
        Assert.True(s.Min >= -3 && s.Max < 1);
        Assert.InRange(s.Mean, -1.02, -0.98);
        Init.Normal(t, new Rng(6), 2, 0.5);
        s = Stats(t);
        Assert.InRange(s.Mean, 1.99, 2.01);
        Assert.InRange(s.Std, 0.49, 0.51);
        Init.Zeros(t);
        Assert.All(F(t), v => Assert.Equal(0, v));
        Init.Ones(t);
        Assert.All(F(t), v => Assert.Equal(1, v));
        using var ints = Tensor.Zeros([3], DType.Int32);
        Assert.Throws<ArgumentException>(() => Init.Normal(ints, new Rng(1)));
    }

    [Fact]
    public void SeededInitIsReproducible()
    {
        var a = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(3));
        var b = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(3));
        var c = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(4));
        foreach (var ((name, pa), (_, pb), (_, pc)) in a.NamedParameters().Zip(b.NamedParameters(), c.NamedParameters()))
        {
            Assert.Equal(F(pa.Data), F(pb.Data));
            if (!name.StartsWith("bn", StringComparison.Ordinal)) Assert.NotEqual(F(pa.Data), F(pc.Data));
        }
    }

    [Fact]
    public void DefaultRngIsSeededZeroAndReplaceable()
    {
        // Replacing the global generator reseeds layers built without an explicit Rng.
        var saved = Init.DefaultRng;
        try
        {
            Init.DefaultRng = new Rng(0);
            var a = new Linear(5, 3);
            Init.DefaultRng = new Rng(0);
            var b = new Linear(5, 3);
            Assert.Equal(F(a.Weight.Data), F(b.Weight.Data));
            var c = new Linear(5, 3, rng: new Rng(0));
            Assert.Equal(F(a.Weight.Data), F(c.Weight.Data));
        }
        finally { Init.DefaultRng = saved; }
    }
}
