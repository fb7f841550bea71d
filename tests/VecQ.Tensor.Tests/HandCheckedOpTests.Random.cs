namespace VecQ.Tensors.Tests;

// Random fills: deterministic per (seed, counter), the shared Rng.Sample definition, and distributions.
public partial class HandCheckedOpTests
{
    [BackendTheory]
    public void SameSeedGivesSameNumbersAndTheCounterAdvances(BackendCase dev)
    {
        using var scope = dev.Enter();
        var r1 = new Rng(42);
        var r2 = new Rng(42);
        using var a = Tensor.RandN([100], r1, device: dev.Device);
        using var b = Tensor.RandN([100], r2, device: dev.Device);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(100UL, r1.Counter);
        using var c = Tensor.RandN([100], r1, device: dev.Device); // next 100 positions: different numbers
        Assert.NotEqual(a.ToArray(), c.ToArray());
        using var other = Tensor.RandN([100], new Rng(43), device: dev.Device);
        Assert.NotEqual(a.ToArray(), other.ToArray());
    }

    [BackendTheory]
    public void ElementIUsesStreamPositionCounterPlusI(BackendCase dev)
    {
        using var scope = dev.Enter();
        var rng = new Rng(7) { Counter = 1000 };
        using var u = Tensor.Rand([2, 3], rng, -1, 1, device: dev.Device);
        var v = u.ToArray();
        for (int i = 0; i < 6; i++)
            Assert.Equal((float)Rng.Sample(RandomKind.Uniform, 7, 1000 + (ulong)i, -1, 1), v[i]);
        using var d = Tensor.RandN([4], new Rng(7), 2, 3, DType.Float64, device: dev.Device);
        var dv = d.ToArray<double>();
        for (int i = 0; i < 4; i++) Assert.Equal(Rng.Sample(RandomKind.Normal, 7, (ulong)i, 2, 3), dv[i]);
    }

    [BackendTheory]
    public void UniformStaysInRange(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var u = Tensor.Rand([100_000], new Rng(1), -2, 3, device: dev.Device);
        var v = u.ToArray();
        Assert.All(v, x => Assert.InRange(x, -2f, 3f));
        Assert.Equal(0.5, v.Average(x => (double)x), 0.05);
        Assert.True(v.Min() < -1.99f && v.Max() > 2.99f);
    }

    [BackendTheory]
    public void NormalHasTheRequestedMeanAndStd(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var n = Tensor.RandN([100_000], new Rng(2), 1.5, 2, device: dev.Device);
        var v = n.ToArray().Select(x => (double)x).ToArray();
        double mean = v.Average();
        double std = Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average());
        Assert.Equal(1.5, mean, 0.03);
        Assert.Equal(2.0, std, 0.03);
    }

    [BackendTheory]
    public void BernoulliHitsTheRate(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var m = Tensor.Bernoulli([100_000], new Rng(3), 0.3, device: dev.Device);
        var v = m.ToArray();
        Assert.All(v, x => Assert.True(x == 0f || x == 1f));
        Assert.Equal(0.3, v.Average(x => (double)x), 0.01);
    }
}
