using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Reductions: sum/mean/max/min over several axes with keepdim both ways, argmax/argmin, var, batch-norm stats.
public partial class HandCheckedOpTests
{
    // x[i, j, k] = 12i + 4j + k
    [BackendTheory]
    public void SumOverEachAxisAndSeveral(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3, 4);
        using (var s = x.Sum([0])) AssertClose([12f, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34], [3, 4], s);
        using (var s = x.Sum([1])) AssertClose([12f, 15, 18, 21, 48, 51, 54, 57], [2, 4], s);
        using (var s = x.Sum([2], keepDim: true)) AssertClose([6f, 22, 38, 54, 70, 86], [2, 3, 1], s);
        using (var s = x.Sum([-1], keepDim: false)) AssertClose([6f, 22, 38, 54, 70, 86], [2, 3], s);
        using (var s = x.Sum([0, 2])) AssertClose([60f, 92, 124], [3], s);
        using (var s = x.Sum([2, 0], keepDim: true)) AssertClose([60f, 92, 124], [1, 3, 1], s);
        using (var s = x.Sum()) AssertClose([276f], [], s);
        using (var s = x.Sum(keepDim: true)) AssertClose([276f], [1, 1, 1], s);
    }

    [BackendTheory]
    public void MeanMaxMinKeepDimBothWays(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3, 4);
        using (var m = x.Mean()) AssertClose([11.5f], [], m);
        using (var m = x.Mean([0, 2], keepDim: true)) AssertClose([7.5f, 11.5f, 15.5f], [1, 3, 1], m);
        using (var m = x.Max([1])) AssertClose([8f, 9, 10, 11, 20, 21, 22, 23], [2, 4], m);
        using (var m = x.Max([-1, 0])) AssertClose([15f, 19, 23], [3], m);
        using (var m = x.Min([2], keepDim: true)) AssertClose([0f, 4, 8, 12, 16, 20], [2, 3, 1], m);
        using (var m = x.Min()) AssertClose([0f], [], m);
    }

    [BackendTheory]
    public void ReductionsReadStridedAndBroadcastViews(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3, 4);
        using var t = x.Transpose(0, 2); // [4, 3, 2]
        using (var s = t.Sum([0])) AssertClose([6f, 54, 22, 70, 38, 86], [3, 2], s);
        using var col = dev.T([1f, 2, 3], 3, 1);
        using var e = col.Expand(3, 4);
        using (var s = e.Sum([1])) AssertClose([4f, 8, 12], [3], s);
        using (var m = e.Max([0], keepDim: true)) AssertClose([3f, 3, 3, 3], [1, 4], m);
    }

    [BackendTheory]
    public void SumAccumulatesFloat32InDouble(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Full([1_000_000], 0.1);
        double exact = 1_000_000 * (double)0.1f;
        using (var s = x.Sum()) Assert.Equal(exact, s.Item(), exact * 1e-6);
        using (var m = x.Mean()) Assert.Equal((double)0.1f, m.Item(), 1e-7);
    }

    [BackendTheory]
    public void ArgMaxArgMinTakeTheFirstOfTies(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([1f, 3, 3, 2, 2, 1], 2, 3);
        using (var i = x.ArgMax(1)) { Assert.Equal(DType.Int32, i.DType); AssertShape([2], i); Assert.Equal([1, 0], i.ToArray<int>()); }
        using (var i = x.ArgMin(1, keepDim: true)) { AssertShape([2, 1], i); Assert.Equal([0, 2], i.ToArray<int>()); }
        using (var i = x.ArgMax(0)) Assert.Equal([1, 0, 0], i.ToArray<int>());
        using (var i = x.ArgMin(-2)) Assert.Equal([0, 1, 1], i.ToArray<int>());
        using var t = x.T(); // strided input
        using (var i = t.ArgMax(0)) Assert.Equal([1, 0], i.ToArray<int>());
    }

    [BackendTheory]
    public void VarianceUsesTheCorrection(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([1f, 2, 3, 4, 2, 4, 6, 8], 2, 4);
        using (var v = x.Var([1])) AssertClose([5f / 3, 20f / 3], [2], v);
        using (var v = x.Var([1], keepDim: true, correction: 0)) AssertClose([1.25f, 5], [2, 1], v);
        using (var v = x.Var([0], correction: 0)) AssertClose([0.25f, 1, 2.25f, 4], [4], v);
        using (var v = x.Var(keepDim: true)) AssertClose([37.5f / 7], [1, 1], v); // mean 3.75, Σ(x−μ)² = 37.5
    }

    [BackendTheory]
    public void BatchNormStatsArePerChannelAndBiased(BackendCase dev)
    {
        using var scope = dev.Enter();
        // [N=2, C=2, S=2]: channel 0 holds 1, 2, 3, 4; channel 1 holds 10 four times
        using var x = dev.T([1f, 2, 10, 10, 3, 4, 10, 10], 2, 2, 2);
        var (mean, var) = NnOps.BatchNormStats(x);
        using (mean) AssertClose([2.5f, 10], [2], mean);
        using (var) AssertClose([1.25f, 0], [2], var);
    }
}
