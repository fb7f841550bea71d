using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// Copies blocks of the (possibly transposed) operands into the layouts the micro-kernels stream through,
/// zero-padding partial micro-panels so the kernels never branch on edges.
/// </summary>
/// <remarks>
/// <code>
/// packed A block (mc×kc): ⌈mc/MR⌉ micro-panels of kc×MR, panel q at dst + q·MR·kc, element (r, p) at p·MR + r
/// packed B block (kc×nc): ⌈nc/NR⌉ micro-panels of kc×NR, panel q at dst + q·NR·kc, element (p, j) at p·NR + j
/// </code>
/// Operands are row-major: opA(i, p) = transA ? a[p·lda + i] : a[i·lda + p];
/// opB(p, j) = transB ? b[j·ldb + p] : b[p·ldb + j].
/// </remarks>
internal static unsafe class Packing
{
    /// <summary>
    /// Packs alpha·opA(i0..i0+mc, p0..p0+kc) into MR-row micro-panels (rows past mc are zero).
    /// </summary>
    /// <param name="dst">Destination: ⌈mc/MR⌉·MR·kc floats.</param>
    /// <param name="a">Base of A.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="transA">Whether A is stored transposed (k×m).</param>
    /// <param name="i0">First row of op(A).</param>
    /// <param name="mc">Rows to pack.</param>
    /// <param name="p0">First k index.</param>
    /// <param name="kc">Depth to pack.</param>
    /// <param name="mrTile">Rows per micro-panel (the kernel's MR).</param>
    /// <param name="alpha">Scale folded into the packed values.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* dst, float* a, nint lda, bool transA, int i0, int mc, int p0, int kc, int mrTile, float alpha)
    {
        for (int ir = 0; ir < mc; ir += mrTile)
        {
            int rows = Math.Min(mrTile, mc - ir);
            float* panel = dst + (nint)ir * kc;
            if (!transA)
            {
                // Each source row is contiguous in p; it becomes one column of the panel.
                Transpose(panel, mrTile, a + (nint)(i0 + ir) * lda + p0, lda, rows, kc, alpha);
            }
            else
            {
                // Row p of the stored k×m matrix holds the panel's MR values for that p contiguously.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (nint)(p0 + p) * lda + i0 + ir;
                    float* d = panel + (nint)p * mrTile;
                    for (int r = 0; r < rows; r++)
                        d[r] = alpha * src[r];
                }
            }
            if (rows < mrTile)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* d = panel + (nint)p * mrTile;
                    for (int r = rows; r < mrTile; r++) d[r] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Packs opB(p0..p0+kc, j0..j0+nc) into NR-column micro-panels (columns past nc are zero).
    /// </summary>
    /// <param name="dst">Destination: ⌈nc/NR⌉·NR·kc floats.</param>
    /// <param name="b">Base of B.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="transB">Whether B is stored transposed (n×k).</param>
    /// <param name="p0">First k index.</param>
    /// <param name="kc">Depth to pack.</param>
    /// <param name="j0">First column of op(B).</param>
    /// <param name="nc">Columns to pack.</param>
    /// <param name="nrTile">Columns per micro-panel (the kernel's NR).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(float* dst, float* b, nint ldb, bool transB, int p0, int kc, int j0, int nc, int nrTile)
    {
        int w = Vector<float>.Count;
        int jrStart = 0;
        if (!transB && nrTile % w == 0)
        {
            // Full panels row by row: each row of B is read once, front to back (stream-prefetch friendly),
            // and scattered NR floats at a time into the panels.
            int full = nc / nrTile;
            nint panelSize = (nint)nrTile * kc;
            for (int p = 0; p < kc && full > 0; p++)
            {
                float* src = b + (nint)(p0 + p) * ldb + j0;
                float* d = dst + (nint)p * nrTile;
                for (int q = 0; q < full; q++, src += nrTile, d += panelSize)
                    for (int j = 0; j < nrTile; j += w)
                        Vector.Store(Vector.Load(src + j), d + j);
            }
            jrStart = full * nrTile;
        }
        for (int jr = jrStart; jr < nc; jr += nrTile)
        {
            int cols = Math.Min(nrTile, nc - jr);
            float* panel = dst + (nint)jr * kc;
            if (!transB)
            {
                // Row p of B holds the panel's NR values for that p contiguously.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (nint)(p0 + p) * ldb + j0 + jr;
                    float* d = panel + (nint)p * nrTile;
                    int j = 0;
                    for (; j + w <= cols; j += w)
                        Vector.Store(Vector.Load(src + j), d + j);
                    for (; j < cols; j++) d[j] = src[j];
                    for (; j < nrTile; j++) d[j] = 0f;
                }
            }
            else
            {
                // Each stored row j is contiguous in p; it becomes one column of the panel.
                Transpose(panel, nrTile, b + (nint)(j0 + jr) * ldb + p0, ldb, cols, kc, 1f);
                if (cols < nrTile)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* d = panel + (nint)p * nrTile;
                        for (int j = cols; j < nrTile; j++) d[j] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dst[p·dstStride + r] = alpha·src[r·srcStride + p] for r &lt; rows, p &lt; len: turns source rows into
    /// destination columns. Groups of four rows go through 4×4 SSE transposes (four k steps at a time),
    /// a remaining pair through one unpack; anything else is scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* dst, nint dstStride, float* src, nint srcStride, int rows, int len, float alpha)
    {
        int r = 0;
        if (Sse.IsSupported)
        {
            Vector128<float> va = Vector128.Create(alpha);
            for (; r + 4 <= rows; r += 4)
            {
                float* s0 = src + r * srcStride, s1 = s0 + srcStride, s2 = s1 + srcStride, s3 = s2 + srcStride;
                float* d = dst + r;
                int p = 0;
                for (; p + 4 <= len; p += 4)
                {
                    // Rows a, b, c, d of four k steps each → four k steps of [a b c d].
                    Vector128<float> x0 = Sse.Multiply(Sse.LoadVector128(s0 + p), va);
                    Vector128<float> x1 = Sse.Multiply(Sse.LoadVector128(s1 + p), va);
                    Vector128<float> x2 = Sse.Multiply(Sse.LoadVector128(s2 + p), va);
                    Vector128<float> x3 = Sse.Multiply(Sse.LoadVector128(s3 + p), va);
                    Vector128<float> t0 = Sse.UnpackLow(x0, x1);   // a0 b0 a1 b1
                    Vector128<float> t1 = Sse.UnpackHigh(x0, x1);  // a2 b2 a3 b3
                    Vector128<float> t2 = Sse.UnpackLow(x2, x3);   // c0 d0 c1 d1
                    Vector128<float> t3 = Sse.UnpackHigh(x2, x3);  // c2 d2 c3 d3
                    float* dp = d + p * dstStride;
                    Sse.Store(dp, Sse.MoveLowToHigh(t0, t2));                  // a0 b0 c0 d0
                    Sse.Store(dp + dstStride, Sse.MoveHighToLow(t2, t0));      // a1 b1 c1 d1
                    Sse.Store(dp + 2 * dstStride, Sse.MoveLowToHigh(t1, t3));  // a2 b2 c2 d2
                    Sse.Store(dp + 3 * dstStride, Sse.MoveHighToLow(t3, t1));  // a3 b3 c3 d3
                }
                for (; p < len; p++)
                {
                    float* dp = d + p * dstStride;
                    dp[0] = alpha * s0[p];
                    dp[1] = alpha * s1[p];
                    dp[2] = alpha * s2[p];
                    dp[3] = alpha * s3[p];
                }
            }
            if (r + 2 <= rows)
            {
                float* s0 = src + r * srcStride, s1 = s0 + srcStride;
                float* d = dst + r;
                int p = 0;
                for (; p + 4 <= len; p += 4)
                {
                    Vector128<float> x0 = Sse.Multiply(Sse.LoadVector128(s0 + p), va);
                    Vector128<float> x1 = Sse.Multiply(Sse.LoadVector128(s1 + p), va);
                    Vector128<float> lo = Sse.UnpackLow(x0, x1);   // a0 b0 a1 b1
                    Vector128<float> hi = Sse.UnpackHigh(x0, x1);  // a2 b2 a3 b3
                    float* dp = d + p * dstStride;
                    Sse.StoreLow(dp, lo);
                    Sse.StoreHigh(dp + dstStride, lo);
                    Sse.StoreLow(dp + 2 * dstStride, hi);
                    Sse.StoreHigh(dp + 3 * dstStride, hi);
                }
                for (; p < len; p++)
                {
                    float* dp = d + p * dstStride;
                    dp[0] = alpha * s0[p];
                    dp[1] = alpha * s1[p];
                }
                r += 2;
            }
        }
        for (; r < rows; r++)
        {
            float* s0 = src + r * srcStride;
            float* d = dst + r;
            for (int p = 0; p < len; p++)
                d[p * dstStride] = alpha * s0[p];
        }
    }

    /// <summary>
    /// Writes the top-left rows×cols of a spilled tile into C: c ← tile + beta·c (beta == 0 overwrites).
    /// </summary>
    /// <param name="c">Top-left of the C tile.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="tile">The full MR×NR tile the kernel wrote (row stride <paramref name="nrTile"/>).</param>
    /// <param name="nrTile">Row stride of the tile.</param>
    /// <param name="rows">Valid rows (≤ MR).</param>
    /// <param name="cols">Valid columns (≤ NR).</param>
    /// <param name="beta">Scale of the old C.</param>
    public static void StoreTile(float* c, nint ldc, float* tile, int nrTile, int rows, int cols, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * ldc;
            float* tr = tile + (nint)r * nrTile;
            if (beta == 0f)
                for (int j = 0; j < cols; j++) cr[j] = tr[j];
            else
                for (int j = 0; j < cols; j++) cr[j] = tr[j] + beta * cr[j];
        }
    }
}
