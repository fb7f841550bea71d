using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Reductions over every subset of axes, arg-reductions, batch-norm statistics, on every backend column.
public partial class BackendOpTests
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

    [BackendTheory]
    [MemberData(nameof(ReduceNames))]
    public void ReductionsMatchOverEveryAxisSubsetAndLayout(BackendCase b, string op)
    {
        int seed = 200;
        foreach (var shape in new int[][] { [], [1], [7], [3, 5], [1, 13], [2, 3, 4], [4, 1, 6, 5], [2, 3, 5, 7] })
            foreach (var (layout, make) in Layouts(seed++, shape))
                foreach (var axes in AxisSubsets(shape.Length))
                    Same(b, $"{op} {Shape.Format(shape)} {layout} axes {Shape.Format(axes)}", d =>
                    {
                        using var x = make(d);
                        return ApplyReduce(op, x, axes, keep: axes.Length % 2 == 0);
                    }, 1e-5, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(ReduceNames))]
    public void LargeReductionsMatch(BackendCase b, string op)
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
                Same(b, $"{op} {Shape.Format(shape)} {layout} axes {Shape.Format(axes)}", d =>
                {
                    using var x = make(d);
                    return ApplyReduce(op, x, axes, keep: false);
                }, 2e-4, 1e-4);
    }

    [BackendTheory]
    public void SumsOfLongRowsStayAccurate(BackendCase b)
    {
        // 2^20 values of 0.1: a naive float running sum drifts far off; blocked sums do not
        Same(b, "sum of 2^20 × 0.1", d => { using var x = d.Full([1 << 20], 0.1); return x.Sum(); }, 0, 1e-6);
        Same(b, "column sums of 2^20 × 0.1", d => { using var x = d.Full([1 << 20, 3], 0.1); return x.Sum([0]); }, 0, 1e-5);
        Same(b, "mean of 2^20 × 0.1", d => { using var x = d.Full([1 << 20], 0.1); return x.Mean(); }, 0, 1e-6);
    }

    [BackendTheory]
    public void EmptyReductionsGiveTheIdentity(BackendCase b)
    {
        Same(b, "sum over empty axis", d => { using var x = d.Zeros([0, 3]); return x.Sum([0]); }, 0, 0);
        Same(b, "mean over empty axis", d => { using var x = d.Zeros([0, 3]); return x.Mean([0]); }, 0, 0);
        Same(b, "max over a non-empty axis of an empty tensor", d => { using var x = d.Zeros([0, 3]); return x.Max([1]); }, 0, 0);
    }

    [BackendTheory]
    public void NaNPropagatesThroughMaxAndMin(BackendCase b)
    {
        foreach (var op in new[] { "max", "min", "sum" })
            foreach (var axes in new int[][] { [0], [1], [] })
                Same(b, $"{op} with NaN axes {Shape.Format(axes)}", d => { using var x = WithNaN(d); return ApplyReduce(op, x, axes, false); }, 0, 0);
    }

    [BackendTheory]
    public void ArgMaxAndArgMinMatch(BackendCase b)
    {
        int seed = 300;
        foreach (var shape in new int[][] { [7], [3, 5], [2, 3, 4], [4, 1, 6, 5], [300, 257] })
            foreach (var (layout, make) in Layouts(seed++, shape))
                for (int axis = 0; axis < shape.Length; axis++)
                {
                    int a = axis;
                    Same(b, $"argmax {Shape.Format(shape)} {layout} axis {a}", d => { using var x = make(d); return x.ArgMax(a); });
                    Same(b, $"argmin {Shape.Format(shape)} {layout} axis {a}", d => { using var x = make(d); return x.ArgMin(a); });
                }
        // ties and NaN: the first extreme wins, the first NaN wins outright
        Tensor Ties(BackendCase d) => d.T([1, 3, 3, 0, 2, 2, 0, 0, float.NaN, 5, float.NaN, 9], 3, 4);
        Same(b, "argmax ties/NaN", d => { using var t = Ties(d); return t.ArgMax(1); });
        Same(b, "argmin ties/NaN", d => { using var t = Ties(d); return t.ArgMin(1); });
        Same(b, "argmax column", d => { using var t = Ties(d); return t.ArgMax(0); });
    }

    [BackendTheory]
    public void BatchNormStatsMatch(BackendCase b)
    {
        foreach (var shape in new int[][] { [8, 3, 25], [4, 6], [2, 3, 4, 5], [1, 5, 1], [100, 32, 14, 14], [7, 1, 13] })
        {
            Same(b, $"bn mean {Shape.Format(shape)}", d => { using var x = d.Rand(5, shape); var (m, v) = NnOps.BatchNormStats(x); v.Dispose(); return m; }, 1e-6, 1e-4);
            Same(b, $"bn var {Shape.Format(shape)}", d => { using var x = d.Rand(5, shape); var (m, v) = NnOps.BatchNormStats(x); m.Dispose(); return v; }, 1e-6, 1e-4);
        }
        // a large common offset: the variance must not cancel away
        Same(b, "bn var with offset", d =>
        {
            using var x0 = d.Rand(6, 16, 4, 50);
            using var x = x0 + 300.0;
            var (m, v) = NnOps.BatchNormStats(x);
            m.Dispose();
            return v;
        }, 1e-4, 1e-3);
        Same(b, "bn of transposed view", d =>
        {
            using var x0 = d.Rand(7, 9, 6, 5);
            using var x = x0.Transpose(0, 2);
            var (m, v) = NnOps.BatchNormStats(x);
            m.Dispose();
            return v;
        }, 1e-6, 1e-4);
    }

    /// <summary>A [3, 4] tensor with NaN in rows 1 and 2.</summary>
    private static Tensor WithNaN(BackendCase d) => d.T([1, -2, 3, 0.5f, 4, float.NaN, -1, 2, float.NaN, 1, 1, float.NaN], 3, 4);
}
