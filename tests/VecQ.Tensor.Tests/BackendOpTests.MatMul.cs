using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Matrix products: plain, transposed, stepped, batched, broadcast, vectors, on every backend column.
public partial class BackendOpTests
{
    public static TheoryData<int, int, int> GemmShapes => new()
    {
        { 1, 1, 1 }, { 5, 7, 3 }, { 13, 1, 9 }, { 1, 17, 1 }, { 6, 16, 16 }, { 7, 23, 31 },
        { 64, 25, 97 }, { 130, 257, 190 }, { 3, 800, 2 },
    };

    [BackendTheory]
    [MemberData(nameof(GemmShapes))]
    public void MatMulMatchesForEveryOperandLayout(BackendCase b, int m, int k, int n)
    {
        double atol = 1e-5 * Math.Sqrt(k) + 1e-6;
        Func<BackendCase, Tensor>[] aViews =
        [
            d => d.Rand(1, m, k),
            d => { using var t = d.Rand(1, k, m); return t.T(); },                       // transposed
            d => { using var t = d.Rand(1, 2 * m, k); return t.Slice(0, 0, 2 * m, 2); },  // every other row
            d => { using var t = d.Rand(1, m, k + 5); return t.Narrow(1, 3, k); },       // inside wider rows
        ];
        Func<BackendCase, Tensor>[] bViews =
        [
            d => d.Rand(2, k, n),
            d => { using var t = d.Rand(2, n, k); return t.T(); },
            d => { using var t = d.Rand(2, k, n + 4); return t.Narrow(1, 1, n); },
            d => { using var t = d.Rand(2, n, 2 * k); using var s = t.Slice(1, 0, 2 * k, 2); return s.T(); }, // neither stride 1: copied
        ];
        bool big = (long)m * k * n > 1_000_000; // the scalar reference is slow: fewer pairs
        for (int i = 0; i < aViews.Length; i++)
            for (int j = 0; j < bViews.Length; j++)
            {
                if (big && j != i) continue;
                var (ma, mb) = (aViews[i], bViews[j]);
                Same(b, $"matmul {m}x{k}x{n} a{i} b{j}", d =>
                {
                    using var x = ma(d);
                    using var y = mb(d);
                    return x.MatMul(y);
                }, atol, 1e-4);
            }
    }

    [BackendTheory]
    public void BatchedAndBroadcastMatMulMatch(BackendCase b)
    {
        foreach (var (sa, sb) in new (int[], int[])[]
        {
            ([4, 5, 7], [4, 7, 3]),
            ([5, 7], [4, 7, 3]),          // a broadcast over the batch (stride 0)
            ([4, 5, 7], [7, 3]),          // b broadcast
            ([2, 1, 5, 7], [3, 7, 2]),    // batch dims broadcast both ways
            ([7], [3, 7, 2]),             // vector · batched matrix
            ([3, 5, 7], [7]),             // batched matrix · vector
            ([7], [7]),                   // dot product
            ([200, 16, 16], [200, 16, 16]), // many small products: parallel over the batch
            ([3, 100, 64], [3, 64, 120]),
            ([1, 1, 1], [1, 1, 1]),
        })
        {
            Same(b, $"matmul {Shape.Format(sa)} x {Shape.Format(sb)}", d =>
            {
                using var x = d.Rand(3, sa);
                using var y = d.Rand(4, sb);
                return x.MatMul(y);
            }, 1e-4, 1e-4);
        }
        Same(b, "batched transposed operands", d =>
        {
            using var a0 = d.Rand(5, 6, 9, 11);
            using var x = a0.Transpose(1, 2);   // [6, 11, 9] with stride[-2] == 1
            using var b0 = d.Rand(6, 6, 13, 9);
            using var y = b0.Transpose(1, 2);   // [6, 9, 13]
            return x.MatMul(y);
        }, 1e-5, 1e-4);
    }

    [BackendTheory]
    public void MatMulWithAnExpandedRowOperandIsCopiedFirst(BackendCase b)
    {
        // a: [5, 7] whose rows are all the same memory (stride 0): the SGEMM cannot read it in place
        Same(b, "expanded rows", d =>
        {
            using var row = d.Rand(7, 1, 7);
            using var x = row.Expand(5, 7);
            using var y = d.Rand(8, 7, 4);
            return x.MatMul(y);
        });
        Same(b, "expanded columns", d =>
        {
            using var col = d.Rand(9, 7, 1);
            using var y = col.Expand(7, 6);
            using var x = d.Rand(10, 3, 7);
            return x.MatMul(y);
        });
    }

    [BackendTheory]
    public void BackendMatMulAppliesAlphaAndBetaLikeTheReference(BackendCase b)
    {
        // the backend's MatMul called directly: c = alpha·a×b + beta·c with a transposed, batched b
        foreach (var (alpha, beta) in new[] { (1f, 0f), (2f, 0.5f), (-0.5f, 1f), (0f, 3f) })
            Same(b, $"alpha {alpha} beta {beta}", d =>
            {
                using var x = d.Rand(1, 2, 9, 6);
                using var b0 = d.Rand(2, 2, 8, 6);
                using var y = b0.Transpose(1, 2); // [2, 6, 8]
                var c = d.Rand(3, 2, 9, 8);
                d.Backend.MatMul(x, y, c, alpha, beta);
                return c;
            }, 1e-5, 1e-4);
    }

    [BackendTheory]
    public void MatMulWithEmptyInnerDimensionIsZero(BackendCase b)
    {
        Same(b, "k = 0", d =>
        {
            using var x = d.Zeros([3, 0]);
            using var y = d.Zeros([0, 4]);
            return x.MatMul(y);
        }, 0, 0);
    }
}
