namespace VecQ.Tensors.Tests;

// index_select / index_add_ / gather / scatter_add_.
public partial class CpuBackendTests
{
    [Fact]
    public void IndexSelectMatchesOnEveryAxis()
    {
        foreach (var shape in new int[][] { [5, 4, 3], [7], [1, 6], [1000, 64] })
            for (int axis = 0; axis < shape.Length; axis++)
            {
                int a = axis, n = shape[axis];
                foreach (var (layout, make) in Layouts(20 + axis, shape))
                    Same($"index_select {Shape.Format(shape)} {layout} axis {a}", () =>
                    {
                        using var x = make();
                        using var idx = RandInt(21, n, 2 * n + 1); // with repeats
                        return x.IndexSelect(a, idx);
                    }, 0, 0);
            }
        SameInts("index_select int32", () =>
        {
            using var x = RandInt(22, 100, 9, 4);
            using var idx = Tensor.FromArray(new[] { 8, 0, 0, 3 }, [4]);
            return x.IndexSelect(0, idx);
        });
        Same("index_select empty", () =>
        {
            using var x = Rand(1, 3, 4);
            using var idx = Tensor.FromArray(Array.Empty<int>(), [0]);
            return x.IndexSelect(1, idx);
        }, 0, 0);
    }

    [Fact]
    public void IndexAddAccumulatesLikeTheReference()
    {
        foreach (var (shape, axis, k) in new (int[], int, int)[] { ([6, 4], 0, 9), ([3, 5, 4], 1, 7), ([4, 3], 1, 5), ([100, 256], 0, 500), ([3, 40000], 1, 3), ([1, 1], 0, 4) })
        {
            var srcShape = (int[])shape.Clone();
            srcShape[axis] = k;
            Same($"index_add {Shape.Format(shape)} axis {axis}", () =>
            {
                var dst = Rand(30, shape);
                using var idx = RandInt(31, shape[axis], k);
                using var src0 = Rand(32, srcShape);
                using var src = src0.Contiguous();
                dst.IndexAdd_(axis, idx, src);
                return dst;
            }, 1e-6, 1e-5);
        }
    }

    [Fact]
    public void GatherAndScatterAddMatch()
    {
        foreach (var (xs, ishape, axis) in new (int[], int[], int)[]
        {
            ([4, 5], [4, 3], 1),
            ([4, 5], [2, 5], 0),
            ([3, 4, 5], [2, 3, 4], 1),
            ([3, 4, 5], [3, 4, 9], 2),
            ([100, 10], [100, 1], 1),   // the cross-entropy pick
            ([6], [11], 0),
        })
        {
            Same($"gather {Shape.Format(xs)} by {Shape.Format(ishape)} axis {axis}", () =>
            {
                using var x0 = Rand(40, xs);
                using var x = x0 * 1.0;
                using var idx = RandInt(41, xs[axis], ishape);
                return x.Gather(axis, idx);
            }, 0, 0);
            Same($"gather of a transposed view {Shape.Format(xs)} axis {axis}", () =>
            {
                var ts = (int[])xs.Clone();
                Array.Reverse(ts);
                using var x0 = Rand(42, ts);
                var perm = Enumerable.Range(0, xs.Length).Reverse().ToArray();
                using var x = x0.Permute(perm);
                using var idx = RandInt(41, xs[axis], ishape);
                return x.Gather(axis, idx);
            }, 0, 0);
            Same($"scatter_add {Shape.Format(xs)} by {Shape.Format(ishape)} axis {axis}", () =>
            {
                var dst = Rand(43, xs);
                using var idx = RandInt(44, xs[axis], ishape);
                using var src = Rand(45, ishape);
                dst.ScatterAdd_(axis, idx, src);
                return dst;
            }, 1e-6, 1e-5);
        }
        SameInts("gather int32", () =>
        {
            using var x = RandInt(46, 1000, 5, 6);
            using var idx = RandInt(47, 6, 5, 2);
            return x.Gather(1, idx);
        });
    }

    [Fact]
    public void IndexOpsRejectOutOfRangeIndices()
    {
        using var scope = Backend.Use(Backend.Cpu);
        using var x = Rand(1, 4, 3);
        using var bad = Tensor.FromArray(new[] { 0, 4 }, [2]);
        Assert.Contains("4", Assert.Throws<ArgumentException>(() => x.IndexSelect(0, bad)).Message);
        using var src = Tensor.Zeros([2, 3]);
        Assert.Throws<ArgumentException>(() => x.IndexAdd_(0, bad, src));
        using var neg = Tensor.FromArray(new[] { 0, -1, 2, 1 }, [4, 1]);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => x.Gather(1, neg)).Message);
        using var ones = Tensor.Ones([4, 1]);
        Assert.Throws<ArgumentException>(() => x.ScatterAdd_(1, neg, ones));
    }
}
