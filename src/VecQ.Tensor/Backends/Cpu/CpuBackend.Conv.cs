using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// 2-D convolution (NCHW, contiguous inputs) as im2col + SGEMM, per sample and group:
//   forward          y_g [Og, P]  = W_g [Og, Kg] · col_g [Kg, P]                  (+ bias)
//   backward data    col_g [Kg, P] = W_gᵀ [Kg, Og] · dy_g [Og, P], then col2im into dx
//   backward weight  dW_g [Og, Kg] += dy_g [Og, P] · col_gᵀ [P, Kg]                (summed over the batch)
// with Kg = C/groups·KH·KW and P = OH·OW. A 1×1, stride-1, unpadded kernel reads x (writes dx) directly.
// With padding, im2col first copies the group's planes into a zero-bordered buffer so each window row is
// one branch-free copy (col2im accumulates there and copies the interior out).
// Large batches run in parallel over samples: each worker thread claims the next sample (the weight
// gradient: the next fixed block of samples) and uses its own pooled im2col buffers and a single-threaded
// GEMM; small batches loop over samples with a multi-threaded GEMM. Depthwise convolutions use direct loops.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    {
        if (NotF32(x)) { Reference.Conv2d(x, w, bias, g, y); return; } // float64: the reference backend
        // x: [N, C, H, W], w: [O, C/groups, KH, KW], bias: [O] or null, y: [N, O, OH, OW]; all contiguous
        if (g.N == 0) return;
        float* xp = Ptr(x), wp = Ptr(w), bp = bias == null ? null : Ptr(bias), yp = Ptr(y);
        if (g.IsDepthwise) { DepthwiseForward(xp, wp, bp, yp, g); return; }

        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup;
        int kg = cg * g.KH * g.KW, p = g.OH * g.OW, hw = g.H * g.W;
        bool direct = IsPointwise(g);
        long colSize = direct ? 0 : Align16((long)kg * p), padSize = direct ? 0 : PaddedSize(g);
        var (workers, gemmThreads) = BatchSplit(g.N, (long)g.O * kg * p);
        using var scratch = CpuScratch.Rent(workers * (colSize + padSize));
        float* cols = scratch.Pointer;

        ForSamples(g.N, workers, (worker, n) =>
        {
            // this worker's buffers: col [Kg, P], padded input planes [Cg, H + 2·PH, W + 2·PW]
            float* col = cols + worker * (colSize + padSize);
            float* pad = col + colSize;
            for (int gi = 0; gi < groups; gi++)
            {
                // x_g: [Cg, H, W] → col: [Kg, P]; y_g: [Og, P]
                float* xg = xp + ((long)n * g.C + (long)gi * cg) * hw;
                float* src = xg;
                if (!direct) { Im2Col(xg, cg, g, col, pad); src = col; }
                float* yg = yp + ((long)n * g.O + (long)gi * og) * p;
                Sgemm.Run(og, p, kg, wp + (long)gi * og * kg, kg, false, src, p, false, yg, p, 1f, 0f, gemmThreads);
                if (bp != null)
                    for (int o = 0; o < og; o++)
                    {
                        var row = new Span<float>(yg + (long)o * p, p);
                        TensorPrimitives.Add(row, bp[gi * og + o], row);
                    }
            }
        });
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        if (NotF32(dy)) { Reference.Conv2dBackwardData(dy, w, g, dx); return; } // float64: the reference backend
        // dy: [N, O, OH, OW], w: [O, C/groups, KH, KW] → dx: [N, C, H, W]; all contiguous
        if (g.N == 0) return;
        float* dyp = Ptr(dy), wp = Ptr(w), dxp = Ptr(dx);
        if (g.IsDepthwise) { DepthwiseBackwardData(dyp, wp, dxp, g); return; }

        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup;
        int kg = cg * g.KH * g.KW, p = g.OH * g.OW, hw = g.H * g.W;
        bool direct = IsPointwise(g);
        long colSize = direct ? 0 : Align16((long)kg * p), padSize = direct ? 0 : PaddedSize(g);
        var (workers, gemmThreads) = BatchSplit(g.N, (long)g.O * kg * p);
        using var scratch = CpuScratch.Rent(workers * (colSize + padSize));
        float* cols = scratch.Pointer;

        ForSamples(g.N, workers, (worker, n) =>
        {
            // this worker's buffers: col [Kg, P], padded gradient planes [Cg, H + 2·PH, W + 2·PW]
            float* col = cols + worker * (colSize + padSize);
            float* pad = col + colSize;
            for (int gi = 0; gi < groups; gi++)
            {
                // dy_g: [Og, P], W_g: [Og, Kg] → col: [Kg, P] → dx_g: [Cg, H, W]
                float* dyg = dyp + ((long)n * g.O + (long)gi * og) * p;
                float* dxg = dxp + ((long)n * g.C + (long)gi * cg) * hw;
                float* wg = wp + (long)gi * og * kg;
                if (direct)
                {
                    Sgemm.Run(kg, p, og, wg, kg, true, dyg, p, false, dxg, p, 1f, 0f, gemmThreads);
                    continue;
                }
                Sgemm.Run(kg, p, og, wg, kg, true, dyg, p, false, col, p, 1f, 0f, gemmThreads);
                Col2Im(col, cg, g, dxg, pad);
            }
        });
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw)
    {
        if (NotF32(x)) { Reference.Conv2dBackwardWeight(x, dy, g, dw); return; } // float64: the reference backend
        // x: [N, C, H, W], dy: [N, O, OH, OW] → dw: [O, C/groups, KH, KW]; all contiguous
        float* xp = Ptr(x), dyp = Ptr(dy), dwp = Ptr(dw);
        int dwSize = dw.Numel;
        if (g.N == 0) { new Span<float>(dwp, dwSize).Clear(); return; }
        if (g.IsDepthwise) { DepthwiseBackwardWeight(xp, dyp, dwp, g); return; }

        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup;
        int kg = cg * g.KH * g.KW, p = g.OH * g.OW, hw = g.H * g.W;
        bool direct = IsPointwise(g);
        long colSize = direct ? 0 : Align16((long)kg * p), padSize = direct ? 0 : PaddedSize(g);
        var (workers, gemmThreads) = BatchSplit(g.N, (long)g.O * kg * p);
        // the batch is cut into fixed blocks of samples, each summed into its own dW (block 0 straight into dw)
        // and added up in block order at the end, so the result does not depend on which thread ran what;
        // twice as many blocks as workers lets a thread that was held up fall behind without stalling the rest
        int blocks = workers == 1 ? 1 : Math.Min(g.N, 2 * workers);
        long perWorker = colSize + padSize, partial = Align16(dwSize);
        using var scratch = CpuScratch.Rent(workers * perWorker + (blocks - 1) * partial);
        float* buf = scratch.Pointer;
        float* partials = buf + workers * perWorker;

        ForSamples(blocks, workers, (worker, block) =>
        {
            float* col = buf + worker * perWorker;
            float* pad = col + colSize;
            float* acc = block == 0 ? dwp : partials + (block - 1) * partial;
            int n0 = (int)((long)g.N * block / blocks), n1 = (int)((long)g.N * (block + 1) / blocks);
            for (int n = n0; n < n1; n++)
                for (int gi = 0; gi < groups; gi++)
                {
                    // dy_g: [Og, P] · col_gᵀ: [P, Kg] → dW_g: [Og, Kg]
                    float* xg = xp + ((long)n * g.C + (long)gi * cg) * hw;
                    float* src = xg;
                    if (!direct) { Im2Col(xg, cg, g, col, pad); src = col; }
                    float* dyg = dyp + ((long)n * g.O + (long)gi * og) * p;
                    Sgemm.Run(og, kg, p, dyg, p, false, src, p, true, acc + (long)gi * og * kg, kg, 1f, n == n0 ? 0f : 1f, gemmThreads);
                }
        });
        var total = new Span<float>(dwp, dwSize);
        for (int b = 1; b < blocks; b++)
            TensorPrimitives.Add(total, new ReadOnlySpan<float>(partials + (b - 1) * partial, dwSize), total);
    }

    /// <summary>
    /// Runs body(worker, item) for every item in [0, count): <paramref name="workers"/> threads each claim the
    /// next unclaimed item until none is left, so a thread slowed down by other load just does fewer items.
    /// Worker indices are 0..workers−1 (one set of scratch buffers each).
    /// </summary>
    private static void ForSamples(int count, int workers, Action<int, int> body)
    {
        if (count <= 0) return;
        workers = Math.Clamp(workers, 1, count);
        if (workers == 1)
        {
            for (int i = 0; i < count; i++) body(0, i);
            return;
        }
        int next = -1;
        Parallelism.For(workers, worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) body(worker, i);
        });
    }

    /// <summary>A 1×1 kernel with stride 1 and no padding: the input planes are the im2col matrix.</summary>
    private static bool IsPointwise(Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    /// <summary>
    /// How to spread a batch: (worker threads over the samples, threads per GEMM). Parallel over
    /// samples when the batch divides well over the threads and there is enough work; otherwise one
    /// sample at a time with every thread inside the GEMM.
    /// </summary>
    private static (int Chunks, int GemmThreads) BatchSplit(int n, long fmasPerSample)
    {
        int threads = Parallelism.Threads;
        if (threads == 1 || n < 2) return (1, threads);
        long total = fmasPerSample * n;
        if (total < (1L << 20)) return (1, 1);
        bool even = n % threads == 0 || n >= 4 * threads;
        if (!even) return (1, threads);
        return (Math.Min(threads, n), 1);
    }

    /// <summary>
    /// The valid output columns [lo, hi) for kernel column kw: those whose input column
    /// iw = ow·stride − pad + kw·dilation lies in [0, W).
    /// </summary>
    private static (int Lo, int Hi) ValidCols(int kw, Conv2dGeometry g)
    {
        int off = kw * g.DilationW - g.PadW; // iw = ow·sw + off
        int lo = off >= 0 ? 0 : (-off + g.StrideW - 1) / g.StrideW;
        int last = g.W - 1 - off; // ow·sw ≤ last
        int hi = last < 0 ? 0 : Math.Min(g.OW, last / g.StrideW + 1);
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>n rounded up to a multiple of 16 floats (64 bytes), so buffers carved from one scratch block stay aligned.</summary>
    private static long Align16(long n) => (n + 15) & ~15L;

    /// <summary>Floats of one group's zero-padded planes [Cg, H + 2·PH, W + 2·PW] (0 without padding).</summary>
    private static long PaddedSize(Conv2dGeometry g) =>
        g.PadH == 0 && g.PadW == 0 ? 0 : Align16((long)g.CPerGroup * (g.H + 2 * g.PadH) * (g.W + 2 * g.PadW));

    /// <summary>
    /// col: [Cg·KH·KW, OH·OW] from one group's input planes xg: [Cg, H, W]. With padding the planes are first
    /// copied into <paramref name="pad"/> with a zero border, so every window row is one branch-free copy.
    /// </summary>
    private static void Im2Col(float* xg, int cg, Conv2dGeometry g, float* col, float* pad)
    {
        int wp = g.W + 2 * g.PadW, hp = g.H + 2 * g.PadH;
        float* src = xg;
        if (g.PadH != 0 || g.PadW != 0)
        {
            // pad: [Cg, Hp, Wp] ← x with a zero border
            new Span<float>(pad, cg * hp * wp).Clear();
            for (int c = 0; c < cg; c++)
                for (int h = 0; h < g.H; h++)
                    CopyRow(pad + ((long)c * hp + h + g.PadH) * wp + g.PadW, xg + ((long)c * g.H + h) * g.W, g.W);
            src = pad;
        }
        int ow = g.OW, oh = g.OH, p = oh * ow, sw = g.StrideW;
        for (int c = 0; c < cg; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    float* row = col + ((long)(c * g.KH + kh) * g.KW + kw) * p;
                    float* s0 = src + ((long)c * hp + kh * g.DilationH) * wp + kw * g.DilationW;
                    for (int i = 0; i < oh; i++)
                    {
                        float* s = s0 + (long)i * g.StrideH * wp;
                        float* d = row + (long)i * ow;
                        if (sw == 1) CopyRow(d, s, ow);
                        else for (int j = 0; j < ow; j++) d[j] = s[j * sw];
                    }
                }
    }

    /// <summary>
    /// dxg: [Cg, H, W] = col2im(col: [Cg·KH·KW, OH·OW]) (the adjoint of <see cref="Im2Col"/>; overwrites dxg).
    /// With padding the sums build up in <paramref name="pad"/> ([Cg, Hp, Wp]) and its interior is copied out.
    /// </summary>
    private static void Col2Im(float* col, int cg, Conv2dGeometry g, float* dxg, float* pad)
    {
        int wp = g.W + 2 * g.PadW, hp = g.H + 2 * g.PadH;
        bool padded = g.PadH != 0 || g.PadW != 0;
        float* dst = padded ? pad : dxg;
        new Span<float>(dst, cg * hp * wp).Clear();
        int ow = g.OW, oh = g.OH, p = oh * ow, sw = g.StrideW;
        for (int c = 0; c < cg; c++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++)
                {
                    float* row = col + ((long)(c * g.KH + kh) * g.KW + kw) * p;
                    float* d0 = dst + ((long)c * hp + kh * g.DilationH) * wp + kw * g.DilationW;
                    for (int i = 0; i < oh; i++)
                    {
                        float* d = d0 + (long)i * g.StrideH * wp;
                        float* s = row + (long)i * ow;
                        if (sw == 1) AddRow(d, s, ow);
                        else for (int j = 0; j < ow; j++) d[j * sw] += s[j];
                    }
                }
        if (padded)
            for (int c = 0; c < cg; c++)
                for (int h = 0; h < g.H; h++)
                    CopyRow(dxg + ((long)c * g.H + h) * g.W, pad + ((long)c * hp + h + g.PadH) * wp + g.PadW, g.W);
    }

    /// <summary>dst[0..n) ← src[0..n) for short rows, inline (no call per row); the buffers must not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* dst, float* src, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            for (; i <= n - 8; i += 8) Vector256.Load(src + i).Store(dst + i);
            if (i < n) Vector256.Load(src + n - 8).Store(dst + n - 8); // overlapping tail
            return;
        }
        for (; i < n; i++) dst[i] = src[i];
    }

    /// <summary>dst[0..n) += src[0..n) for short rows, inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* dst, float* src, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }

    // ---- depthwise (groups == C): direct loops per plane ----------------------------------

    /// <summary>y[n, o] = x[n, o / M] ⋆ w[o] (+ bias[o]) with M = O / C output channels per input channel.</summary>
    private static void DepthwiseForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g)
    {
        int mult = g.OPerGroup, planes = g.N * g.O, khw = g.KH * g.KW;
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                int n = pl / g.O, o = pl % g.O, c = o / mult;
                float* x = xp + ((long)n * g.C + c) * hw;
                float* y = yp + (long)pl * p;
                float* k = wp + (long)o * khw;
                new Span<float>(y, (int)p).Fill(bp == null ? 0f : bp[o]);
                for (int i = 0; i < g.OH; i++)
                {
                    float* yrow = y + (long)i * g.OW;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.H) continue;
                        float* xrow = x + (long)ih * g.W;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            var (lo, hi) = ValidCols(kw, g);
                            if (lo >= hi) continue;
                            float wv = k[kh * g.KW + kw];
                            float* src = xrow + kw * g.DilationW - g.PadW;
                            if (g.StrideW == 1)
                            {
                                var d = new Span<float>(yrow + lo, hi - lo);
                                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(src + lo, hi - lo), wv, d, d);
                            }
                            else for (int j = lo; j < hi; j++) yrow[j] += wv * src[j * g.StrideW];
                        }
                    }
                }
            }
        }
        int chunks = ChunksFor(planes, planes * p * khw);
        if (chunks == 1) Planes(0, planes);
        else ForChunks(planes, chunks, (_, s, e) => Planes(s, e));
    }

    /// <summary>dx[n, c] = Σ over the M outputs o of channel c of dy[n, o] ⋆ᵀ w[o].</summary>
    private static void DepthwiseBackwardData(float* dyp, float* wp, float* dxp, Conv2dGeometry g)
    {
        int mult = g.OPerGroup, planes = g.N * g.C, khw = g.KH * g.KW;
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                int n = pl / g.C, c = pl % g.C;
                float* dx = dxp + (long)pl * hw;
                new Span<float>(dx, (int)hw).Clear();
                for (int m = 0; m < mult; m++)
                {
                    int o = c * mult + m;
                    float* dy = dyp + ((long)n * g.O + o) * p;
                    float* k = wp + (long)o * khw;
                    for (int i = 0; i < g.OH; i++)
                    {
                        float* dyrow = dy + (long)i * g.OW;
                        for (int kh = 0; kh < g.KH; kh++)
                        {
                            int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                            if ((uint)ih >= (uint)g.H) continue;
                            float* dxrow = dx + (long)ih * g.W;
                            for (int kw = 0; kw < g.KW; kw++)
                            {
                                var (lo, hi) = ValidCols(kw, g);
                                if (lo >= hi) continue;
                                float wv = k[kh * g.KW + kw];
                                float* dst = dxrow + kw * g.DilationW - g.PadW;
                                if (g.StrideW == 1)
                                {
                                    var d = new Span<float>(dst + lo, hi - lo);
                                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(dyrow + lo, hi - lo), wv, d, d);
                                }
                                else for (int j = lo; j < hi; j++) dst[j * g.StrideW] += wv * dyrow[j];
                            }
                        }
                    }
                }
            }
        }
        int chunks = ChunksFor(planes, planes * p * khw * mult);
        if (chunks == 1) Planes(0, planes);
        else ForChunks(planes, chunks, (_, s, e) => Planes(s, e));
    }

    /// <summary>dw[o, 0, kh, kw] = Σ_n Σ_(i,j) dy[n, o, i, j] · x[n, o / M, i·sh − ph + kh·dh, j·sw − pw + kw·dw].</summary>
    private static void DepthwiseBackwardWeight(float* xp, float* dyp, float* dwp, Conv2dGeometry g)
    {
        int mult = g.OPerGroup, khw = g.KH * g.KW;
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        void Channels(int s, int e)
        {
            Span<double> acc = stackalloc double[khw];
            for (int o = s; o < e; o++)
            {
                int c = o / mult;
                acc.Clear();
                for (int n = 0; n < g.N; n++)
                {
                    float* x = xp + ((long)n * g.C + c) * hw;
                    float* dy = dyp + ((long)n * g.O + o) * p;
                    for (int kh = 0; kh < g.KH; kh++)
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            var (lo, hi) = ValidCols(kw, g);
                            if (lo >= hi) continue;
                            float s1 = 0;
                            for (int i = 0; i < g.OH; i++)
                            {
                                int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                                if ((uint)ih >= (uint)g.H) continue;
                                float* src = x + (long)ih * g.W + kw * g.DilationW - g.PadW;
                                float* dyrow = dy + (long)i * g.OW;
                                if (g.StrideW == 1) s1 += TensorPrimitives.Dot(new ReadOnlySpan<float>(dyrow + lo, hi - lo), new ReadOnlySpan<float>(src + lo, hi - lo));
                                else for (int j = lo; j < hi; j++) s1 += dyrow[j] * src[j * g.StrideW];
                            }
                            acc[kh * g.KW + kw] += s1;
                        }
                }
                for (int t = 0; t < khw; t++) dwp[(long)o * khw + t] = (float)acc[t];
            }
        }
        int chunks = ChunksFor(g.O, (long)g.N * g.O * p * khw);
        if (chunks == 1) Channels(0, g.O);
        else ForChunks(g.O, chunks, (_, s, e) => Channels(s, e));
    }
}
