using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// index_select / index_add_ / gather / scatter_add_ on every backend column.
public partial class BackendOpTests
{
    [BackendTheory]
    public void IndexSelectMatchesOnEveryAxis(BackendCase b)
    {
        foreach (var shape in new int[][] { [5, 4, 3], [7], [1, 6], [1000, 64] })
            for (int axis = 0; axis < shape.Length; axis++)
            {
                int a = axis, n = shape[axis];
                foreach (var (layout, make) in Layouts(20 + axis, shape))
                    Same(b, $"index_select {Shape.Format(shape)} {layout} axis {a}", d =>
                    {
                        using var x = make(d);
                        using var idx = d.RandInt(21, n, 2 * n + 1); // with repeats
                        return x.IndexSelect(a, idx);
                    }, 0, 0);
            }
        Same(b, "index_select int32", d =>
        {
            using var x = d.RandInt(22, 100, 9, 4);
            using var idx = d.T([8, 0, 0, 3]);
            return x.IndexSelect(0, idx);
        });
        Same(b, "index_select empty", d =>
        {
            using var x = d.Rand(1, 3, 4);
            using var idx = d.T(Array.Empty<int>(), 0);
            return x.IndexSelect(1, idx);
        }, 0, 0);
    }

    [BackendTheory]
    public void IndexAddAccumulatesLikeTheReference(BackendCase b)
    {
        foreach (var (shape, axis, k) in new (int[], int, int)[] { ([6, 4], 0, 9), ([3, 5, 4], 1, 7), ([4, 3], 1, 5), ([100, 256], 0, 500), ([3, 40000], 1, 3), ([1, 1], 0, 4) })
        {
            var srcShape = (int[])shape.Clone();
            srcShape[axis] = k;
            Same(b, $"index_add {Shape.Format(shape)} axis {axis}", d =>
            {
                var dst = d.Rand(30, shape);
                using var idx = d.RandInt(31, shape[axis], k);
                using var src0 = d.Rand(32, srcShape);
                using var src = src0.Contiguous();
                dst.IndexAdd_(axis, idx, src);
                return dst;
            }, 1e-6, 1e-5);
        }
    }

    [BackendTheory]
    public void GatherAndScatterAddMatch(BackendCase b)
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
            Same(b, $"gather {Shape.Format(xs)} by {Shape.Format(ishape)} axis {axis}", d =>
            {
                using var x0 = d.Rand(40, xs);
                using var x = x0 * 1.0;
                using var idx = d.RandInt(41, xs[axis], ishape);
                return x.Gather(axis, idx);
            }, 0, 0);
            Same(b, $"gather of a transposed view {Shape.Format(xs)} axis {axis}", d =>
            {
                var ts = (int[])xs.Clone();
                Array.Reverse(ts);
                using var x0 = d.Rand(42, ts);
                var perm = Enumerable.Range(0, xs.Length).Reverse().ToArray();
                using var x = x0.Permute(perm);
                using var idx = d.RandInt(41, xs[axis], ishape);
                return x.Gather(axis, idx);
            }, 0, 0);
            Same(b, $"scatter_add {Shape.Format(xs)} by {Shape.Format(ishape)} axis {axis}", d =>
            {
                var dst = d.Rand(43, xs);
                using var idx = d.RandInt(44, xs[axis], ishape);
                using var src = d.Rand(45, ishape);
                dst.ScatterAdd_(axis, idx, src);
                return dst;
            }, 1e-6, 1e-5);
        }
        Same(b, "gather int32", d =>
        {
            using var x = d.RandInt(46, 1000, 5, 6);
            using var idx = d.RandInt(47, 6, 5, 2);
            return x.Gather(1, idx);
        });
    }

    [BackendTheory]
    public void IndexKernelsReadStridedOperandsWhenCalledDirectly(BackendCase b)
    {
        // the op layer hands contiguous tensors over; a direct backend call may pass any view
        Tensor Run(BackendCase d, string op)
        {
            var be = d.Backend;
            using var idxBase = d.T([3, 9, 0, 9, 4, 9, 3, 9, 1, 9]);
            using var idx = idxBase.Slice(0, 0, 10, 2);                 // [3, 0, 4, 3, 1], stride 2
            switch (op)
            {
                case "index_select":
                {
                    using var x0 = d.Rand(1, 6, 8);
                    using var x = x0.T();                                // [8, 6]
                    var y = d.Empty([8, 5]);
                    be.IndexSelect(x, 1, idx, y);
                    return y;
                }
                case "index_add":
                {
                    var t = d.Rand(2, 6, 10);
                    using var dst = t.Slice(1, 0, 10, 2);                // [6, 5], stride 2
                    using var s0 = d.Rand(3, 5, 6);
                    using var src = s0.T();                              // [6, 5]
                    be.IndexAdd(dst, 1, idx, src);
                    return t;
                }
                case "gather":
                {
                    using var x = d.Rand(4, 6, 5);
                    using var i0 = d.RandInt(5, 5, 4, 6);
                    using var i = i0.T();                                // [6, 4]
                    var y = d.Empty([6, 4]);
                    be.Gather(x, 1, i, y);
                    return y;
                }
                default:
                {
                    var dst = d.Rand(6, 6, 5);
                    using var i0 = d.RandInt(7, 5, 4, 6);
                    using var i = i0.T();
                    using var s0 = d.Rand(8, 4, 6);
                    using var src = s0.T();
                    be.ScatterAdd(dst, 1, i, src);
                    return dst;
                }
            }
        }
        foreach (var op in new[] { "index_select", "index_add", "gather", "scatter_add" })
            Same(b, op, d => Run(d, op), 1e-6, 1e-5);
    }

    [BackendTheory]
    public void IndexOpsRejectOutOfRangeIndices(BackendCase b)
    {
        using var scope = b.Enter();
        using var x = b.Rand(1, 4, 3);
        using var bad = b.T([0, 4]);
        Assert.Contains("4", Fails<ArgumentException>(b, () => x.IndexSelect(0, bad).Dispose()).Message);
        using var src = b.Zeros([2, 3]);
        Fails<ArgumentException>(b, () => x.IndexAdd_(0, bad, src));
        using var neg = b.T([0, -1, 2, 1], 4, 1);
        Assert.Contains("-1", Fails<ArgumentException>(b, () => x.Gather(1, neg).Dispose()).Message);
        using var ones = b.Ones([4, 1]);
        Fails<ArgumentException>(b, () => x.ScatterAdd_(1, neg, ones));
    }
}
