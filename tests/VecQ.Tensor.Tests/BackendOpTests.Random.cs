using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Random fill on every backend column: bit-for-bit the same numbers as the reference backend, however the work is split.
public partial class BackendOpTests
{
    [BackendTheory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void RandomFillEqualsTheReferenceExactly(BackendCase b, int n)
    {
        // the Bernoulli rates 0, ½, 1 and out of range (1.5, −0.25, NaN) test the CPU's integer threshold (k < ⌈a·2⁵³⌉) at its edges
        foreach (var kind in new[] { "uniform", "uniform reversed", "normal", "bernoulli", "bernoulli 0", "bernoulli 0.5", "bernoulli 1",
                     "bernoulli 1.5", "bernoulli -0.25", "bernoulli NaN" })
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                SameBits(b, $"random {kind} {dtype.Name()} [{n}]", d =>
                {
                    var rng = new Rng(12345) { Counter = 77 };
                    using var skip = Tensor.Rand([3], rng, device: d.Device); // advances the counter first
                    return
                    [
                        kind switch
                        {
                            "uniform" => Tensor.Rand([n], rng, -2, 3, dtype, d.Device),
                            "uniform reversed" => Tensor.Rand([n], rng, 3, -2, dtype, d.Device),   // b < a
                            "normal" => Tensor.RandN([n], rng, 0.5, 2, dtype, d.Device),
                            "bernoulli" => Tensor.Bernoulli([n], rng, 0.3, dtype, d.Device),
                            // the backend directly: Tensor.Bernoulli refuses rates outside [0, 1], the kernels must still agree on them
                            _ => BernoulliFill(d, n, dtype, double.Parse(kind[10..], System.Globalization.CultureInfo.InvariantCulture)),
                        },
                    ];
                });
    }

    private static Tensor BernoulliFill(BackendCase d, int n, DType dtype, double rate)
    {
        var t = d.Zeros([n], dtype);
        d.Backend.RandomFill(t, RandomKind.Bernoulli, 12345, 80, rate, 0);
        return t;
    }

    [BackendTheory]
    public void RandomFillElementIUsesCounterPlusI(BackendCase b)
    {
        using var scope = b.Enter();
        var rng = new Rng(9) { Counter = 1000 };
        using var t = Tensor.RandN([5, 7], rng, 1, 3, device: b.Device);
        var v = t.ToArray();
        for (int i = 0; i < v.Length; i++)
            Assert.Equal((float)Rng.Sample(RandomKind.Normal, 9, 1000 + (ulong)i, 1, 3), v[i]);
        Assert.Equal(1035UL, rng.Counter);
    }

    [BackendTheory]
    public void RandomFillIntoAStridedViewFollowsRowMajorOrder(BackendCase b)
    {
        // the backend's RandomFill called directly on a view that is not contiguous
        SameBits(b, "random fill of a strided view", d =>
        {
            var t = d.Zeros([6, 8]);
            using var view = t.Slice(1, 0, 8, 2); // [6, 4]
            d.Backend.RandomFill(view, RandomKind.Uniform, 5, 10, 0, 1);
            return [t];
        });
    }
}
