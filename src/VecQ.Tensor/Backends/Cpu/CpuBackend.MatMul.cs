using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Batched matrix product on the SGEMM. Each operand's last two strides map to a GEMM layout:
//   last stride 1      → not transposed, ld = stride[-2]
//   stride[-2] == 1    → transposed,     ld = stride[-1]
// (size-1 dimensions accept either); anything else (e.g. an expanded row, stride 0) is copied first.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Multiply-adds per batch below which batches run in parallel with one thread each.</summary>
    private const long SmallGemmFmas = 1L << 21;

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    {
        if (NotF32(a)) { Reference.MatMul(a, b, c, alpha, beta); return; } // float64: the reference backend
        // a: [B, M, K], b: [B, K, N] (batch stride may be 0), c: [B, M, N] contiguous
        if (a.Rank != 3 || b.Rank != 3 || c.Rank != 3 || a.Dims[2] != b.Dims[1] || a.Dims[1] != c.Dims[1] || b.Dims[2] != c.Dims[2]
            || a.Dims[0] != c.Dims[0] || b.Dims[0] != c.Dims[0])
            throw new ArgumentException($"matmul: a {a.ShapeText}, b {b.ShapeText}, c {c.ShapeText} must be [B, M, K], [B, K, N], [B, M, N]");
        int batches = c.Dims[0], m = c.Dims[1], n = c.Dims[2], k = a.Dims[2];
        if (batches == 0 || m == 0 || n == 0) return;

        using var aCopy = GemmReadable(a) ? null : ContiguousTemp(a);
        using var bCopy = GemmReadable(b) ? null : ContiguousTemp(b);
        var at = aCopy ?? a;
        var bt = bCopy ?? b;
        var (lda, transA) = GemmLayout(at.Dims[1], at.Dims[2], at.Strides[1], at.Strides[2]);
        var (ldb, transB) = GemmLayout(bt.Dims[1], bt.Dims[2], bt.Strides[1], bt.Strides[2]);
        float* ap = Ptr(at), bp = Ptr(bt), cp = Ptr(c);
        long sa = batches == 1 ? 0 : at.Strides[0], sb = batches == 1 ? 0 : bt.Strides[0], sc = (long)m * n;

        long fmas = (long)m * n * k;
        int chunks = batches >= 2 && fmas < SmallGemmFmas ? ChunksFor(batches, (long)batches * fmas, 1L << 18) : 1;
        if (chunks == 1)
        {
            int threads = Parallelism.Threads;
            for (int i = 0; i < batches; i++)
                Sgemm.Run(m, n, k, ap + i * sa, lda, transA, bp + i * sb, ldb, transB, cp + i * sc, n, alpha, beta, threads);
            return;
        }
        // many small products: one thread per range of batches
        ForChunks(batches, chunks, (_, s, e) =>
        {
            for (int i = s; i < e; i++)
                Sgemm.Run(m, n, k, ap + i * sa, lda, transA, bp + i * sb, ldb, transB, cp + i * sc, n, alpha, beta, 1);
        });
    }

    /// <summary>True when the SGEMM can read t: [B, R, C] in place (see <see cref="GemmLayout"/>).</summary>
    private static bool GemmReadable(Tensor t)
    {
        int rows = t.Dims[1], cols = t.Dims[2], sr = t.Strides[1], sc = t.Strides[2];
        return NotTransposedOk(rows, cols, sr, sc) || TransposedOk(rows, cols, sr, sc);
    }

    private static bool NotTransposedOk(int rows, int cols, int sr, int sc) =>
        (cols <= 1 || sc == 1) && (rows <= 1 || sr >= Math.Max(cols, 1));

    private static bool TransposedOk(int rows, int cols, int sr, int sc) =>
        (rows <= 1 || sr == 1) && (cols <= 1 || sc >= Math.Max(rows, 1));

    /// <summary>The SGEMM leading dimension and transpose flag of a rows×cols matrix with strides (sr, sc).</summary>
    private static (int Ld, bool Trans) GemmLayout(int rows, int cols, int sr, int sc)
    {
        if (NotTransposedOk(rows, cols, sr, sc)) return (rows <= 1 ? Math.Max(cols, 1) : sr, false);
        return (cols <= 1 ? Math.Max(rows, 1) : sc, true);
    }
}
