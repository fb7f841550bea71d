using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Matrix products through the SGEMM: plain, transposed, stepped, batched, broadcast, vectors.
public partial class CpuBackendTests
{
    public static TheoryData<int, int, int> GemmShapes => new()
    {
        { 1, 1, 1 }, { 5, 7, 3 }, { 13, 1, 9 }, { 1, 17, 1 }, { 6, 16, 16 }, { 7, 23, 31 },
        { 64, 25, 97 }, { 130, 257, 190 }, { 3, 800, 2 },
    };

    [Theory]
    [MemberData(nameof(GemmShapes))]
    public void MatMulMatchesForEveryOperandLayout(int m, int k, int n)
    {
        double atol = 1e-5 * Math.Sqrt(k) + 1e-6;
        Func<Tensor>[] aViews =
        [
            () => Rand(1, m, k),
            () => { using var t = Rand(1, k, m); return t.T(); },                       // transposed
            () => { using var t = Rand(1, 2 * m, k); return t.Slice(0, 0, 2 * m, 2); },  // every other row
            () => { using var t = Rand(1, m, k + 5); return t.Narrow(1, 3, k); },       // inside wider rows
        ];
        Func<Tensor>[] bViews =
        [
            () => Rand(2, k, n),
            () => { using var t = Rand(2, n, k); return t.T(); },
            () => { using var t = Rand(2, k, n + 4); return t.Narrow(1, 1, n); },
            () => { using var t = Rand(2, n, 2 * k); using var s = t.Slice(1, 0, 2 * k, 2); return s.T(); }, // neither stride 1: copied
        ];
        bool big = (long)m * k * n > 1_000_000; // the scalar reference is slow: fewer pairs
        for (int i = 0; i < aViews.Length; i++)
            for (int j = 0; j < bViews.Length; j++)
            {
                if (big && j != i) continue;
                var (ma, mb) = (aViews[i], bViews[j]);
                Same($"matmul {m}x{k}x{n} a{i} b{j}", () =>
                {
                    using var a = ma();
                    using var b = mb();
                    return a.MatMul(b);
                }, atol, 1e-4);
            }
    }

    [Fact]
    public void BatchedAndBroadcastMatMulMatch()
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
            Same($"matmul {Shape.Format(sa)} x {Shape.Format(sb)}", () =>
            {
                using var a = Rand(3, sa);
                using var b = Rand(4, sb);
                return a.MatMul(b);
            }, 1e-4, 1e-4);
        }
        Same("batched transposed operands", () =>
        {
            using var a0 = Rand(5, 6, 9, 11);
            using var a = a0.Transpose(1, 2);   // [6, 11, 9] with stride[-2] == 1
            using var b0 = Rand(6, 6, 13, 9);
            using var b = b0.Transpose(1, 2);   // [6, 9, 13]
            return a.MatMul(b);
        }, 1e-5, 1e-4);
    }

    [Fact]
    public void MatMulWithAnExpandedRowOperandIsCopiedFirst()
    {
        // a: [5, 7] whose rows are all the same memory (stride 0): the SGEMM cannot read it in place
        Same("expanded rows", () =>
        {
            using var row = Rand(7, 1, 7);
            using var a = row.Expand(5, 7);
            using var b = Rand(8, 7, 4);
            return a.MatMul(b);
        });
        Same("expanded columns", () =>
        {
            using var col = Rand(9, 7, 1);
            using var b = col.Expand(7, 6);
            using var a = Rand(10, 3, 7);
            return a.MatMul(b);
        });
    }

    [Fact]
    public void BackendMatMulAppliesAlphaAndBetaLikeTheReference()
    {
        float[] Run(IBackend backend, float alpha, float beta)
        {
            using var a = Rand(1, 2, 9, 6);
            using var b0 = Rand(2, 2, 8, 6);
            using var b = b0.Transpose(1, 2); // [2, 6, 8]
            using var c = Rand(3, 2, 9, 8);
            backend.MatMul(a, b, c, alpha, beta);
            return c.ToArray();
        }
        foreach (var (alpha, beta) in new[] { (1f, 0f), (2f, 0.5f), (-0.5f, 1f), (0f, 3f) })
            AssertClose(Run(Backend.Reference, alpha, beta), Run(Backend.Cpu, alpha, beta), 1e-5, 1e-4, $"alpha {alpha} beta {beta}");
    }

    [Fact]
    public void MatMulWithEmptyInnerDimensionIsZero()
    {
        Same("k = 0", () =>
        {
            using var a = Tensor.Zeros([3, 0]);
            using var b = Tensor.Zeros([0, 4]);
            return a.MatMul(b);
        }, 0, 0);
    }
}
