namespace VecQ.Tensors.Tests;

// Random fill: bit-for-bit the same numbers as the reference backend, however the work is split.
public partial class CpuBackendTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void RandomFillEqualsTheReferenceExactly(int n)
    {
        foreach (var kind in new[] { "uniform", "normal", "bernoulli" })
        {
            float[] Draw(IBackend backend)
            {
                using (Backend.Use(backend))
                {
                    var rng = new Rng(12345) { Counter = 77 };
                    using var skip = Tensor.Rand([3], rng); // advances the counter first
                    using var t = kind switch
                    {
                        "uniform" => Tensor.Rand([n], rng, -2, 3),
                        "normal" => Tensor.RandN([n], rng, 0.5, 2),
                        _ => Tensor.Bernoulli([n], rng, 0.3),
                    };
                    return t.ToArray();
                }
            }
            Assert.Equal(Draw(Backend.Reference), Draw(Backend.Cpu));
        }
    }

    [Fact]
    public void RandomFillElementIUsesCounterPlusI()
    {
        using var scope = Backend.Use(Backend.Cpu);
        var rng = new Rng(9) { Counter = 1000 };
        using var t = Tensor.RandN([5, 7], rng, 1, 3);
        var v = t.ToArray();
        for (int i = 0; i < v.Length; i++)
            Assert.Equal((float)Rng.Sample(RandomKind.Normal, 9, 1000 + (ulong)i, 1, 3), v[i]);
        Assert.Equal(1035UL, rng.Counter);
    }

    [Fact]
    public void RandomFillIntoAStridedViewFollowsRowMajorOrder()
    {
        float[] Fill(IBackend backend)
        {
            using var b = Tensor.Zeros([6, 8]);
            using var view = b.Slice(1, 0, 8, 2); // [6, 4], not contiguous
            backend.RandomFill(view, RandomKind.Uniform, 5, 10, 0, 1);
            return b.ToArray();
        }
        Assert.Equal(Fill(Backend.Reference), Fill(Backend.Cpu));
    }
}
