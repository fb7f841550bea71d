namespace VecQ.Tensors.Tests;

// Reductions over every subset of axes, arg-reductions, batch-norm statistics.
public partial class CpuBackendTests
{
    private static Tensor ApplyReduce(string op, Tensor x, int[] axes, bool keep) => op switch
    {
        "sum" => x.Sum(axes, keep),
        "mean" => x.Mean(axes, keep),
        "max" => x.Max(axes, keep),
        _ => x.Min(axes, keep),
    };

    private static IEnumerable<int[]> AxisSubsets(int rank)
    {
        for (int mask = 0; mask < 1 << rank; mask++)
            yield return Enumerable.Range(0, rank).Where(i => (mask >> i & 1) != 0).ToArray();
    }

    public static TheoryData<string> ReduceNames => ["sum", "mean", "max", "min"];

    [Theory]
    [MemberData(nameof(ReduceNames))]
    public void ReductionsMatchOverEveryAxisSubsetAndLayout(string op)
    {
        int seed = 200;
        foreach (var shape in new int[][] { [], [1], [7], [3, 5], [1, 13], [2, 3, 4], [4, 1, 6, 5], [2, 3, 5, 7] })
            foreach (var (layout, make) in Layouts(seed++, shape))
                foreach (var axes in AxisSubsets(shape.Length))
                    Same($"{op} {Shape.Format(shape)} {layout} axes {Shape.Format(axes)}", () =>
                    {
                        using var x = make();
                        return ApplyReduce(op, x, axes, keep: axes.Length % 2 == 0);
                    }, 1e-5, 1e-4);
    }

    [Theory]
    [MemberData(nameof(ReduceNames))]
    public void LargeReductionsMatch(string op)
    {
        // big enough for the multi-threaded paths: trailing rows, leading rows (bias gradients), both, the whole tensor
        foreach (var (shape, axes) in new (int[], int[])[]
        {
            ([300, 257], [1]),
            ([300, 257], [0]),
            ([100, 32, 14, 14], [0, 2, 3]),
            ([100, 32, 14, 14], [1]),
            ([3, 64, 1025], [0, 2]),
            ([2, 70001], [1]),
            ([150001], []),
            ([17, 5000], [0]),
        })
            foreach (var (layout, make) in Layouts(7, shape).Where(l => l.Name is "contiguous" or "transposed"))
                Same($"{op} {Shape.Format(shape)} {layout} axes {Shape.Format(axes)}", () =>
                {
                    using var x = make();
                    return ApplyReduce(op, x, axes, keep: false);
                }, 2e-4, 1e-4);
    }

    [Fact]
    public void SumsOfLongRowsStayAccurate()
    {
        // 2^20 values of 0.1: a naive float running sum drifts far off; blocked sums do not
        using var x = Tensor.Full([1 << 20], 0.1);
        using var xr = Tensor.Full([1 << 20, 3], 0.1);
        Same("sum of 2^20 × 0.1", () => x.Sum(), 0, 1e-6);
        Same("column sums of 2^20 × 0.1", () => xr.Sum([0]), 0, 1e-5);
        Same("mean of 2^20 × 0.1", () => x.Mean(), 0, 1e-6);
    }

    [Fact]
    public void EmptyReductionsGiveTheIdentity()
    {
        using var x = Tensor.Zeros([0, 3]);
        Same("sum over empty axis", () => x.Sum([0]), 0, 0);
        Same("mean over empty axis", () => x.Mean([0]), 0, 0);
    }

    [Fact]
    public void NaNPropagatesThroughMaxAndMin()
    {
        using var x = CpuBackendTestsData.WithNaN();
        foreach (var op in new[] { "max", "min", "sum" })
            foreach (var axes in new int[][] { [0], [1], [] })
                Same($"{op} with NaN axes {Shape.Format(axes)}", () => ApplyReduce(op, x, axes, false), 0, 0);
    }

    [Fact]
    public void ArgMaxAndArgMinMatch()
    {
        int seed = 300;
        foreach (var shape in new int[][] { [7], [3, 5], [2, 3, 4], [4, 1, 6, 5], [300, 257] })
            foreach (var (layout, make) in Layouts(seed++, shape))
                for (int axis = 0; axis < shape.Length; axis++)
                {
                    int a = axis;
                    SameInts($"argmax {Shape.Format(shape)} {layout} axis {a}", () => { using var x = make(); return x.ArgMax(a); });
                    SameInts($"argmin {Shape.Format(shape)} {layout} axis {a}", () => { using var x = make(); return x.ArgMin(a); });
                }
        // ties and NaN: the first extreme wins, the first NaN wins outright
        using var t = Tensor.FromArray(new float[] { 1, 3, 3, 0, 2, 2, 0, 0, float.NaN, 5, float.NaN, 9 }, [3, 4]);
        SameInts("argmax ties/NaN", () => t.ArgMax(1));
        SameInts("argmin ties/NaN", () => t.ArgMin(1));
        SameInts("argmax column", () => t.ArgMax(0));
    }

    [Fact]
    public void BatchNormStatsMatch()
    {
        foreach (var shape in new int[][] { [8, 3, 25], [4, 6], [2, 3, 4, 5], [1, 5, 1], [100, 32, 14, 14], [7, 1, 13] })
        {
            Same($"bn mean {Shape.Format(shape)}", () => { using var x = Rand(5, shape); var (m, v) = NnOps.BatchNormStats(x); v.Dispose(); return m; }, 1e-6, 1e-4);
            Same($"bn var {Shape.Format(shape)}", () => { using var x = Rand(5, shape); var (m, v) = NnOps.BatchNormStats(x); m.Dispose(); return v; }, 1e-6, 1e-4);
        }
        // a large common offset: the variance must not cancel away
        Same("bn var with offset", () =>
        {
            using var x0 = Rand(6, 16, 4, 50);
            using var x = x0 + 300.0;
            var (m, v) = NnOps.BatchNormStats(x);
            m.Dispose();
            return v;
        }, 1e-4, 1e-3);
        Same("bn of transposed view", () =>
        {
            using var x0 = Rand(7, 9, 6, 5);
            using var x = x0.Transpose(0, 2);
            var (m, v) = NnOps.BatchNormStats(x);
            m.Dispose();
            return v;
        }, 1e-6, 1e-4);
    }
}

/// <summary>Small fixed inputs shared by the CPU backend tests.</summary>
internal static class CpuBackendTestsData
{
    /// <summary>A [3, 4] tensor with NaN in rows 1 and 2.</summary>
    public static Tensor WithNaN() =>
        Tensor.FromArray(new float[] { 1, -2, 3, 0.5f, 4, float.NaN, -1, 2, float.NaN, 1, 1, float.NaN }, [3, 4]);
}
