using static VecQ.Tensors.Tests.TestUtil;

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
    public void IndexKernelsReadStridedOperandsWhenCalledDirectly()
    {
        // the op layer hands contiguous tensors over; a direct backend call may pass any view
        float[] Run(IBackend be, string op)
        {
            using var idxBase = Tensor.FromArray(new[] { 3, 9, 0, 9, 4, 9, 3, 9, 1, 9 }, [10]);
            using var idx = idxBase.Slice(0, 0, 10, 2);                 // [3, 0, 4, 3, 1], stride 2
            switch (op)
            {
                case "index_select":
                {
                    using var x0 = Rand(1, 6, 8);
                    using var x = x0.T();                                // [8, 6]
                    using var y = Tensor.Empty([8, 5]);
                    be.IndexSelect(x, 1, idx, y);
                    return y.ToArray();
                }
                case "index_add":
                {
                    using var b = Rand(2, 6, 10);
                    using var dst = b.Slice(1, 0, 10, 2);                // [6, 5], stride 2
                    using var s0 = Rand(3, 5, 6);
                    using var src = s0.T();                              // [6, 5]
                    be.IndexAdd(dst, 1, idx, src);
                    return b.ToArray();
                }
                case "gather":
                {
                    using var x = Rand(4, 6, 5);
                    using var i0 = RandInt(5, 5, 4, 6);
                    using var i = i0.T();                                // [6, 4]
                    using var y = Tensor.Empty([6, 4]);
                    be.Gather(x, 1, i, y);
                    return y.ToArray();
                }
                default:
                {
                    using var dst = Rand(6, 6, 5);
                    using var i0 = RandInt(7, 5, 4, 6);
                    using var i = i0.T();
                    using var s0 = Rand(8, 4, 6);
                    using var src = s0.T();
                    be.ScatterAdd(dst, 1, i, src);
                    return dst.ToArray();
                }
            }
        }
        foreach (var op in new[] { "index_select", "index_add", "gather", "scatter_add" })
            AssertClose(Run(Backend.Reference, op), Run(Backend.Cpu, op), 1e-6, 1e-5, op);
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
