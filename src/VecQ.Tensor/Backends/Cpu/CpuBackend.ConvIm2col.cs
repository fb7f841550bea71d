using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Convolutions with small output planes and deep kernels (ResNet-18's 7×7 and strided layers at batch 8): the whole
// batch's patches as one explicit im2col matrix, one threaded SGEMM over every sample's columns, then the product
// reordered to [N, O, P]. The implicit paths run one GEMM per sample or per few samples with 49–196 columns and pack
// the weights for each; here the SGEMM sees all N·P columns at once.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Whether small-plane deep convolutions take the explicit im2col + one SGEMM path (default true; false for A/B).</summary>
    internal static bool UseIm2col { get; set; } = true;

    /// <summary>
    /// Whether <see cref="Im2colForward"/> serves: ungrouped, output planes under 128 positions, a kernel of at least
    /// 1024 taps·channels, and together at least 128 columns (and the im2col matrix under 64 MB).
    /// </summary>
    private static bool Im2colFits(Conv2dGeometry g)
    {
        long p = (long)g.OH * g.OW, k = (long)g.C * g.KH * g.KW, cols = g.N * p;
        return g.Groups == 1 && p < 128 && k >= 1024 && cols >= 128 && k * cols <= 16L << 20;
    }

    /// <summary>y = conv(x, w) (+ bias): col [K, N·P] from x, prod [O, N·P] = w [O, K] · col, y[n, o, q] = prod[o, n·P + q].</summary>
    private static void Im2colForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g)
    {
        int k = g.C * g.KH * g.KW, khw = g.KH * g.KW, p = g.OH * g.OW, cols = g.N * p;
        using var scratch = CpuScratch.Rent((long)k * cols + (long)g.O * cols);
        float* col = scratch.Pointer, prod = col + (long)k * cols;
        long hw = (long)g.H * g.W;
        // col row r = (c, kh, kw): for every sample and output position the input element under that tap (0 in the padding)
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                int c = r / khw, kh = r % khw / g.KW, kw = r % g.KW;
                float* dst = col + (long)r * cols;
                for (int n = 0; n < g.N; n++)
                {
                    float* plane = xp + ((long)n * g.C + c) * hw;
                    for (int i = 0; i < g.OH; i++, dst += g.OW)
                    {
                        int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.H) { new Span<float>(dst, g.OW).Clear(); continue; }
                        float* row = plane + (long)ih * g.W;
                        for (int j = 0; j < g.OW; j++)
                        {
                            int iw = j * g.StrideW - g.PadW + kw * g.DilationW;
                            dst[j] = (uint)iw < (uint)g.W ? row[iw] : 0f;
                        }
                    }
                }
            }
        }
        int chunks = ChunksFor(k, (long)k * cols);
        if (chunks == 1) Rows(0, k); else ForChunks(k, chunks, (_, r0, r1) => Rows(r0, r1));
        Sgemm.Run(g.O, cols, k, wp, k, false, col, cols, false, prod, cols, 1f, 0f, Parallelism.Threads);
        // prod: [O, N, P] → y: [N, O, P] (+ bias)
        void Samples(int n0, int n1)
        {
            for (int n = n0; n < n1; n++)
                for (int o = 0; o < g.O; o++)
                {
                    var src = new ReadOnlySpan<float>(prod + (long)o * cols + (long)n * p, p);
                    var dst = new Span<float>(yp + ((long)n * g.O + o) * p, p);
                    if (bp == null) src.CopyTo(dst);
                    else System.Numerics.Tensors.TensorPrimitives.Add(src, bp[o], dst);
                }
        }
        int sc = ChunksFor(g.N, (long)g.O * cols);
        if (sc == 1) Samples(0, g.N); else ForChunks(g.N, sc, (_, n0, n1) => Samples(n0, n1));
    }
}
