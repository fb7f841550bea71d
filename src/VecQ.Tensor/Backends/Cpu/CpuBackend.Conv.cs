using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// 2-D convolution (NCHW, contiguous inputs) as GEMM per sample and group, with Kg = C/groups·KH·KW, P = OH·OW:
//   forward          y_g [Og, P]  = W_g [Og, Kg] · col_g [Kg, P]                  (+ bias)
//   backward weight  dW_g [Og, Kg] += dy_g [Og, P] · col_gᵀ [P, Kg]                (summed over the batch)
//   backward data    col_g [Kg, P] = W_gᵀ [Kg, Og] · dy_g [Og, P], col2im'd into dx_g
// The column matrix is never stored: the forward and weight-gradient GEMMs pack their B micro-panels
// straight from the sample's zero-padded planes (ImplicitB), which fit in L1/L2, and the input-gradient
// GEMM adds each register tile straight into the padded gradient planes (ImplicitC), instead of writing
// and re-reading a matrix KH·KW times the image's size. A 1×1, stride-1, unpadded kernel reads x (writes
// dx) directly. Depthwise convolutions use direct loops (CpuBackend.Depthwise.cs). Work items (sample ×
// group, or a range of columns of one when the batch is small) are claimed by the threads on demand.
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
        if (WinogradFits(g)) WinogradForward(xp, wp, bp, yp, g);
        else if (IsPointwise(g)) PointwiseForward(xp, wp, bp, yp, g);
        else if (UseIm2col && Im2colFits(g)) Im2colForward(xp, wp, bp, yp, g);
        else if (SideBySideBlock(g) is int block and > 1) ImplicitForwardSideBySide(xp, wp, bp, yp, g, block);
        else ImplicitForward(xp, wp, bp, yp, g);
    }

    /// <inheritdoc/>
    public void Conv2dBatchNorm(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta,
        FusedActivation? activation, Tensor y)
    {
        // y: [N, O, OH, OW] viewed as [N, O, OH·OW] for the batch norm
        using var y3 = y.View(g.N, g.O, g.OH * g.OW);
        if (NotF32(x) || g.N == 0)
        {
            Conv2d(x, w, bias, g, y);
            BatchNormForward(y3, mean, invStd, gamma, beta, activation, y3);
            return;
        }
        if (g.IsDepthwise)
        {
            // each plane normalised right after it is computed (DepthwiseForward's epilogue)
            float* mp = Ptr(mean), ip = Ptr(invStd), gp = gamma != null ? Ptr(gamma) : null, bnp = beta != null ? Ptr(beta) : null;
            var scale = new float[g.O];
            var shift = new float[g.O];
            for (int o = 0; o < g.O; o++) { scale[o] = gp != null ? ip[o] * gp[o] : ip[o]; shift[o] = bnp != null ? bnp[o] : 0f; }
            fixed (float* sp = scale, hp = shift)
                DepthwiseForward(Ptr(x), Ptr(w), bias == null ? null : Ptr(bias), Ptr(y), g, new PlaneNorm(mp, sp, hp, activation));
            return;
        }
        // a few images at a time, so their output (up to ~4 MB) is normalised from the cache instead of the whole batch's
        // from memory: one image per call for the 1×1 GEMMs (each image's product is threaded), at least one per thread
        // for the other paths, which split the batch among threads (one-image calls made ResNet-18's 3×3 layers 2× slower)
        long perImage = Math.Max(1L, (long)g.O * g.OH * g.OW * sizeof(float));
        int threads = Parallelism.Threads, least = IsPointwise(g) ? 1 : Math.Min(threads, g.N);
        int step = (int)Math.Clamp((4L << 20) / perImage, least, g.N);
        if (!IsPointwise(g) && step > threads && step < g.N) step -= step % threads;   // whole images per thread in every group
        for (int n0 = 0; n0 < g.N; n0 += step)
        {
            int count = Math.Min(step, g.N - n0);
            using var xn = x.Narrow(0, n0, count);
            using var yn = y.Narrow(0, n0, count);
            using var yn3 = y3.Narrow(0, n0, count);
            Conv2d(xn, w, bias, g with { N = count }, yn);
            BatchNormForward(yn3, mean, invStd, gamma, beta, activation, yn3);
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        if (NotF32(dy)) { Reference.Conv2dBackwardData(dy, w, g, dx); return; } // float64: the reference backend
        // dy: [N, O, OH, OW], w: [O, C/groups, KH, KW] → dx: [N, C, H, W]; all contiguous
        if (g.N == 0) return;
        float* dyp = Ptr(dy), wp = Ptr(w), dxp = Ptr(dx);
        if (g.IsDepthwise) { DepthwiseBackwardData(dyp, wp, dxp, g); return; }
        if (WinogradFits(g)) WinogradBackwardData(dyp, wp, dxp, g);
        else if (IsPointwise(g)) PointwiseBackwardData(dyp, wp, dxp, g);
        else ImplicitBackwardData(dyp, wp, dxp, g);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null)
    {
        if (NotF32(x)) { Reference.Conv2dBackwardWeight(x, dy, g, dw, dbias); return; } // float64: the reference backend
        // x: [N, C, H, W], dy: [N, O, OH, OW] → dw: [O, C/groups, KH, KW], dbias: [O] or null; all contiguous
        float* xp = Ptr(x), dyp = Ptr(dy), dwp = Ptr(dw), dbp = dbias == null ? null : Ptr(dbias);
        int dwSize = dw.Numel;
        if (g.N == 0)
        {
            new Span<float>(dwp, dwSize).Clear();
            if (dbp != null) new Span<float>(dbp, g.O).Clear();
            return;
        }
        if (g.IsDepthwise)
        {
            DepthwiseBackwardWeight(xp, dyp, dwp, g);
            if (dbp != null) BiasGradient(dyp, g, dbp);
            return;
        }

        SgemmKernel kern = Sgemm.Kernel;
        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup;
        int kg = cg * g.KH * g.KW, p = g.OH * g.OW;
        bool direct = IsPointwise(g);
        int kc = Sgemm.EqualBlock(p, kern.KC);
        var (workers, gemmThreads) = SampleSplit(g, kg, p);
        // the batch is cut into fixed blocks of samples, each summed into its own dW (block 0 straight into dw)
        // and added up in block order at the end, so the result does not depend on which thread ran what;
        // eight blocks per worker let a thread that was held up (this machine is shared) fall behind by at most
        // an eighth of its share without stalling the rest; the partial sums are small (one dW each); the bias
        // gradient's row sums of dy are taken per sample right after dy was packed (in cache), per block in double
        int blocks = workers == 1 ? 1 : Math.Min(g.N, 8 * workers);
        double[]? biasSums = dbp == null ? null : new double[blocks * g.O];
        var layout = new ImplicitScratch(kern, g, direct ? 0 : og, direct ? 0 : p, kc);
        long partial = Align16(dwSize);
        using var scratch = CpuScratch.Rent(layout.Shared + workers * layout.PerWorker + (blocks - 1) * partial);
        float* buf = scratch.Pointer;
        float* partials = buf + layout.Shared + workers * layout.PerWorker;
        // B'(position, kernel index) = padded[PositionOffset + KernelOffset]: the transpose of the forward's B
        layout.Offsets(buf, g, out int* kernelOff, out int* positionOff);

        WorkerPool.For(blocks, workers, (worker, block) =>
        {
            layout.Worker(buf, worker, out float* pad, out float* packedDy, out float* panel, out float* tile);
            float* acc = block == 0 ? dwp : partials + (block - 1) * partial;
            int n0 = (int)((long)g.N * block / blocks), n1 = (int)((long)g.N * (block + 1) / blocks);
            for (int n = n0; n < n1; n++)
                for (int gi = 0; gi < groups; gi++)
                {
                    // dy_g: [Og, P] · col_gᵀ: [P, Kg] → dW_g: [Og, Kg]
                    float* xg = xp + ((long)n * g.C + (long)gi * cg) * g.H * g.W;
                    float* dyg = dyp + ((long)n * g.O + (long)gi * og) * p;
                    float* dwg = acc + (long)gi * og * kg;
                    float beta = n == n0 ? 0f : 1f;
                    if (direct) Sgemm.Run(og, kg, p, dyg, p, false, xg, p, true, dwg, kg, 1f, beta, gemmThreads);
                    else
                    {
                        PadPlanes(xg, g, pad);
                        Sgemm.PackAllA(kern, packedDy, dyg, p, false, og, p, kc);
                        Sgemm.RunImplicitB(kern, og, p, kc, packedDy, new ImplicitB(pad, positionOff, kernelOff),
                            0, kg, dwg, kg, beta, panel, tile);
                    }
                    if (biasSums != null)
                        for (int o = 0; o < og; o++) biasSums[block * g.O + gi * og + o] += RowSum(dyg + (long)o * p, p);
                }
        });
        if (dbp != null)
            for (int o = 0; o < g.O; o++)
            {
                double sum = 0;
                for (int b = 0; b < blocks; b++) sum += biasSums![b * g.O + o];
                dbp[o] = (float)sum;
            }
        // dw += the other blocks, in block order for every element (slices of dw in parallel)
        Parallelism.ForRange(dwSize, 1 << 14, (s0, s1) =>
        {
            var total = new Span<float>(dwp + s0, s1 - s0);
            for (int b = 1; b < blocks; b++)
                TensorPrimitives.Add(total, new ReadOnlySpan<float>(partials + (b - 1) * partial + s0, s1 - s0), total);
        });
    }

    /// <summary>
    /// y = conv(x, w) (+ bias) for a non-pointwise, non-depthwise geometry: per (sample, group, column
    /// range) y_g [Og, P] = W_g [Og, Kg] · B, B(k, p) = padded x_g[KernelOffset(k) + PositionOffset(p)],
    /// with W packed once for all samples.
    /// </summary>
    private static void ImplicitForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g)
    {
        SgemmKernel kern = Sgemm.Kernel;
        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup;
        int kg = cg * g.KH * g.KW, p = g.OH * g.OW;
        int kc = Sgemm.EqualBlock(kg, kern.KC);
        int panels = (p + kern.NR - 1) / kern.NR;
        var (workers, chunks) = WorkSplit(g.N * groups, panels, (long)g.O * kg * p);
        var layout = new ImplicitScratch(kern, g, 0, 0, kc);
        long aSize = Align16(Sgemm.PackedASize(kern, og, kg));
        using var scratch = CpuScratch.Rent(groups * aSize + layout.Shared + workers * layout.PerWorker);
        float* packedW = scratch.Pointer, buf = packedW + groups * aSize;
        layout.Offsets(buf, g, out int* kernelOff, out int* positionOff);
        for (int gi = 0; gi < groups; gi++)
            Sgemm.PackAllA(kern, packedW + gi * aSize, wp + (long)gi * og * kg, kg, false, og, kg, kc);

        WorkerPool.For(g.N * groups * chunks, workers, (worker, item) =>
        {
            // item → (image = sample·groups + group, column chunk); consecutive items share an image
            int image = item / chunks, chunk = item % chunks, gi = image % groups;
            layout.Worker(buf, worker, out float* pad, out _, out float* panel, out float* tile);
            int j0 = (int)((long)panels * chunk / chunks) * kern.NR, j1 = Math.Min(p, (int)((long)panels * (chunk + 1) / chunks) * kern.NR);
            // x_g: [Cg, H, W] → padded [Cg, Hp, Wp]; y_g: [Og, P]
            PadPlanes(xp + (long)image * cg * g.H * g.W, g, pad);
            float* yg = yp + (long)image * og * p;
            Sgemm.RunImplicitB(kern, og, kg, kc, packedW + gi * aSize, new ImplicitB(pad, kernelOff, positionOff),
                j0, j1, yg, p, 0f, panel, tile);
            AddBias(yg, bp == null ? null : bp + gi * og, og, p, j0, j1);
        });
    }

    /// <summary>
    /// dx for a non-pointwise, non-depthwise geometry, per (sample, group): the padded planes dxp_g start at
    /// zero and col_g [Kg, P] = W_gᵀ [Kg, Og] · dy_g [Og, P] is added into them tile by tile
    /// (C(k, p) → dxp_g[KernelOffset(k) + PositionOffset(p)], see <see cref="ImplicitC"/>), then the interior
    /// is copied out; Wᵀ is packed once for all samples.
    /// </summary>
    private static void ImplicitBackwardData(float* dyp, float* wp, float* dxp, Conv2dGeometry g)
    {
        SgemmKernel kern = Sgemm.Kernel;
        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup, khw = g.KH * g.KW;
        int kg = cg * khw, p = g.OH * g.OW, hw = g.H * g.W;
        int kc = Sgemm.EqualBlock(og, kern.KC);
        var (workers, _) = WorkSplit(g.N * groups, 1, (long)g.O * kg * p);
        var layout = new ImplicitScratch(kern, g, 0, 0, kc, stripRows: og);
        long aSize = Align16(Sgemm.PackedASize(kern, kg, og)), wSize = Align16((long)og * kg);
        using var scratch = CpuScratch.Rent(groups * aSize + wSize + layout.Shared + workers * layout.PerWorker);
        float* packedWt = scratch.Pointer, permuted = packedWt + groups * aSize, buf = permuted + wSize;
        // kernel indices in blocks of channels, taps outside, channels inside (ImplicitScratch.KernelIndex):
        // a register tile's rows are different channels, so its adds never overlap each other (overlapping
        // read-add-writes in flight stall store forwarding), and a run of tiles stays on a few planes (L1)
        int block = Math.Max(8, kern.MR);
        layout.Offsets(buf, g, out int* kernelOff, out int* positionOff, block);
        for (int gi = 0; gi < groups; gi++)
        {
            // permuted: [Og, Kg] ← W_g [Og, Cg·KH·KW] with the columns reordered the same way
            float* wg = wp + (long)gi * og * kg;
            for (int o = 0; o < og; o++)
                for (int c = 0; c < cg; c++)
                    for (int t = 0; t < khw; t++)
                        permuted[(long)o * kg + ImplicitScratch.KernelIndex(c, t, cg, khw, block)] = wg[(long)o * kg + c * khw + t];
            Sgemm.PackAllA(kern, packedWt + gi * aSize, permuted, kg, true, kg, og, kc);
        }

        WorkerPool.For(g.N * groups, workers, (worker, image) =>
        {
            // image = sample·groups + group; dy_g: [Og, P] → padded dx_g [Cg, Hp, Wp] → dx_g: [Cg, H, W]
            // (always through the worker's buffer: the tile adds touch up to 7 floats past a run)
            int gi = image % groups;
            layout.Worker(buf, worker, out float* pad, out _, out float* strip, out float* tile);
            new Span<float>(pad, (int)PaddedFloats(g)).Clear();
            Sgemm.RunImplicitC(kern, kg, og, kc, packedWt + gi * aSize, dyp + (long)image * og * p, p,
                new ImplicitC(pad, kernelOff, positionOff), 0, p, strip, tile);
            UnpadPlanes(pad, g, dxp + (long)image * cg * hw);
        });
    }

    /// <summary>y_g [Og, H·W] = W_g [Og, Cg] · x_g [Cg, H·W] per sample and group (1×1 kernel, stride 1, no padding).</summary>
    private static void PointwiseForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g)
    {
        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup, p = g.OH * g.OW;
        var (workers, gemmThreads) = SampleSplit(g, cg, p);
        WorkerPool.For(g.N, workers, (_, n) =>
        {
            for (int gi = 0; gi < groups; gi++)
            {
                float* yg = yp + ((long)n * g.O + (long)gi * og) * p;
                Sgemm.Run(og, p, cg, wp + (long)gi * og * cg, cg, false, xp + ((long)n * g.C + (long)gi * cg) * p, p, false,
                    yg, p, 1f, 0f, gemmThreads);
                AddBias(yg, bp == null ? null : bp + gi * og, og, p, 0, p);
            }
        });
    }

    /// <summary>dbias[o] = Σ dy[n, o, :] (dy: [N, O, OH·OW]), sums in double in sample order.</summary>
    private static void BiasGradient(float* dyp, Conv2dGeometry g, float* dbp)
    {
        int p = g.OH * g.OW;
        for (int o = 0; o < g.O; o++)
        {
            double sum = 0;
            for (int n = 0; n < g.N; n++) sum += RowSum(dyp + ((long)n * g.O + o) * p, p);
            dbp[o] = (float)sum;
        }
    }

    /// <summary>y[o, j] += bias[o] for o &lt; rows, j in [j0, j1) of y: [rows, p] (nothing when bias is null).</summary>
    private static void AddBias(float* y, float* bias, int rows, int p, int j0, int j1)
    {
        if (bias == null) return;
        for (int o = 0; o < rows; o++)
        {
            var row = new Span<float>(y + (long)o * p + j0, j1 - j0);
            TensorPrimitives.Add(row, bias[o], row);
        }
    }

    /// <summary>dx_g [Cg, H·W] = W_gᵀ [Cg, Og] · dy_g [Og, H·W] per sample and group (1×1 kernel, stride 1, no padding).</summary>
    private static void PointwiseBackwardData(float* dyp, float* wp, float* dxp, Conv2dGeometry g)
    {
        int groups = g.Groups, cg = g.CPerGroup, og = g.OPerGroup, p = g.OH * g.OW;
        var (workers, gemmThreads) = SampleSplit(g, cg, p);
        WorkerPool.For(g.N, workers, (_, n) =>
        {
            for (int gi = 0; gi < groups; gi++)
                Sgemm.Run(cg, p, og, wp + (long)gi * og * cg, cg, true, dyp + ((long)n * g.O + (long)gi * og) * p, p, false,
                    dxp + ((long)n * g.C + (long)gi * cg) * p, p, 1f, 0f, gemmThreads);
        });
    }

    /// <summary>A 1×1 kernel with stride 1 and no padding: the input planes are the im2col matrix.</summary>
    private static bool IsPointwise(Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    /// <summary>
    /// Threads over the samples, and threads inside each GEMM (the 1×1 paths call Sgemm.Run),
    /// for per-sample GEMMs of <paramref name="k"/> × <paramref name="p"/> per output channel: several
    /// samples at once, or one at a time with every thread in the GEMM when that is all there is.
    /// </summary>
    private static (int Workers, int GemmThreads) SampleSplit(Conv2dGeometry g, int k, int p)
    {
        var (workers, _) = WorkSplit(g.N, 1, (long)g.O * k * p);
        return (workers, workers == 1 ? Parallelism.Threads : 1);
    }

    /// <summary>
    /// How to spread <paramref name="images"/> single-threaded GEMMs of <paramref name="panels"/> column panels
    /// each: (worker threads, column chunks per image). Small batches are cut into column chunks so every
    /// thread gets about four items; tiny problems run on the calling thread.
    /// </summary>
    private static (int Workers, int Chunks) WorkSplit(int images, int panels, long fmasPerImage)
    {
        int threads = Parallelism.Threads;
        if (threads == 1 || fmasPerImage * images < (1L << 20)) return (1, 1);
        int chunks = Math.Clamp((4 * threads + images - 1) / images, 1, Math.Max(1, panels));
        return (Math.Min(threads, images * chunks), chunks);
    }

    /// <summary>Floats of one group's zero-padded planes [Cg, H + 2·PH, W + 2·PW].</summary>
    private static long PaddedFloats(Conv2dGeometry g) => (long)g.CPerGroup * (g.H + 2 * g.PadH) * (g.W + 2 * g.PadW);

    /// <summary>n rounded up to a multiple of 16 floats (64 bytes), so buffers carved from one scratch block stay aligned.</summary>
    private static long Align16(long n) => (n + 15) & ~15L;

    /// <summary>
    /// pad: [Cg, H + 2·PH, W + 2·PW] ← one group's input planes xg: [Cg, H, W] with a zero border, followed by
    /// <see cref="ImplicitB.Slack"/> zeros (the packer's vector moves may read that far past the last plane).
    /// </summary>
    private static void PadPlanes(float* xg, Conv2dGeometry g, float* pad)
    {
        int cg = g.CPerGroup, wp = g.W + 2 * g.PadW, hp = g.H + 2 * g.PadH;
        long size = PaddedFloats(g);
        if (g.PadH == 0 && g.PadW == 0)
            new ReadOnlySpan<float>(xg, (int)size).CopyTo(new Span<float>(pad, (int)size));
        else
        {
            new Span<float>(pad, (int)size).Clear();
            for (int c = 0; c < cg; c++)
                for (int h = 0; h < g.H; h++)
                    CopyRow(pad + ((long)c * hp + h + g.PadH) * wp + g.PadW, xg + ((long)c * g.H + h) * g.W, g.W);
        }
        new Span<float>(pad + size, ImplicitB.Slack).Clear();
    }

    /// <summary>dxg: [Cg, H, W] ← the interior of padded planes pad: [Cg, H + 2·PH, W + 2·PW].</summary>
    private static void UnpadPlanes(float* pad, Conv2dGeometry g, float* dxg)
    {
        int cg = g.CPerGroup, wp = g.W + 2 * g.PadW, hp = g.H + 2 * g.PadH;
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

    /// <summary>
    /// How one implicit-GEMM convolution call carves its scratch block (all parts 64-byte aligned):
    /// shared, the kernel offsets [Kg] and position offsets [P] (ints); per worker, the padded planes
    /// (+ slack), a packed A of <c>aRows</c>×<c>aDepth</c> (the weight gradient's dy; 0 for none), one B
    /// micro-panel (kc×NR + slack, or a strip of <c>stripRows</c>×NR) and one MR×NR tile.
    /// </summary>
    private readonly struct ImplicitScratch
    {
        private readonly long _kernelOffsets, _pad, _packedA, _panel, _tile;

        public ImplicitScratch(in SgemmKernel kern, Conv2dGeometry g, int aRows, int aDepth, int kc, int stripRows = 0)
        {
            _kernelOffsets = Align16((long)g.CPerGroup * g.KH * g.KW);
            Shared = _kernelOffsets + Align16((long)g.OH * g.OW);
            _pad = Align16(PaddedFloats(g) + ImplicitB.Slack);
            _packedA = aRows == 0 ? 0 : Align16(Sgemm.PackedASize(kern, aRows, aDepth));
            _panel = Align16(Math.Max((long)kc * kern.NR + ImplicitB.Slack, (long)stripRows * kern.NR));
            _tile = Align16((long)kern.MR * kern.NR + ImplicitB.Slack);
            PerWorker = _pad + _packedA + _panel + _tile;
        }

        /// <summary>Floats of the shared part (at the start of the block).</summary>
        public long Shared { get; }

        /// <summary>Floats of one worker's part (after the shared part).</summary>
        public long PerWorker { get; }

        /// <summary>
        /// Writes the offsets into the shared part at <paramref name="buf"/>: kernel index (c, kh, kw) →
        /// c·Hp·Wp + kh·dh·Wp + kw·dw and output position (oh, ow) → oh·sh·Wp + ow·sw, in the padded planes;
        /// kernel indices in (c, kh, kw) order, or, with a <paramref name="channelBlock"/>, as <see cref="KernelIndex"/> orders them.
        /// </summary>
        public void Offsets(float* buf, Conv2dGeometry g, out int* kernel, out int* position, int channelBlock = 0)
        {
            kernel = (int*)buf;
            position = (int*)(buf + _kernelOffsets);
            int wp = g.W + 2 * g.PadW, hp = g.H + 2 * g.PadH, khw = g.KH * g.KW, cg = g.CPerGroup, t = 0;
            for (int c = 0; c < cg; c++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++, t++)
                        kernel[channelBlock == 0 ? t : KernelIndex(c, kh * g.KW + kw, cg, khw, channelBlock)] =
                            (c * hp + kh * g.DilationH) * wp + kw * g.DilationW;
            t = 0;
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                    position[t++] = oh * g.StrideH * wp + ow * g.StrideW;
        }

        /// <summary>
        /// Position of kernel index (channel c, tap t = kh·KW + kw) when channels go in blocks of
        /// <paramref name="block"/>: block by block, within a block tap by tap, within a tap channel by channel.
        /// </summary>
        public static int KernelIndex(int c, int t, int cg, int khw, int block)
        {
            int start = c / block * block, size = Math.Min(block, cg - start);
            return start * khw + t * size + (c - start);
        }

        /// <summary>Worker <paramref name="worker"/>'s buffers in the block at <paramref name="buf"/>.</summary>
        public void Worker(float* buf, int worker, out float* pad, out float* packedA, out float* panel, out float* tile)
        {
            pad = buf + Shared + worker * PerWorker;
            packedA = pad + _pad;
            panel = packedA + _packedA;
            tile = panel + _panel;
        }
    }
}
