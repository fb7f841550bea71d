using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Stride-1 3×3 and 5×5 convolutions by Winograd's F(4×4, r×r) (WinogradMatrices): each 4×4 block of outputs
// ("tile") comes from an α×α patch of the padded input, α = r + 3, with α² products per (input, output
// channel) pair instead of 16r²: 64 instead of 400 for 5×5, 36 instead of 144 for 3×3. Per sample:
//   V[ξ][c][t] = (Bᵀ d_{c,t} B)[ξ]          input transform, 8 tiles per vector (ξ = one of the α² positions)
//   M[ξ] = U[ξ] · V[ξ]                       α² GEMMs [O × C]·[C × tiles], U[ξ] = (G w_{o,c} Gᵀ)[ξ] packed once
//   y_{o,t} = Aᵀ M_{o,t} A (+ bias)           output transform, 8 tiles per vector
// The input gradient of a stride-1 convolution is the same computation on dy with the kernels turned 180°,
// input and output channels swapped and the padding r − 1 − p. The transforms scale values by up to 2⁶
// before the sums cancel, so the rounding grows: at worst about 3e-5 of the outputs' RMS against the exact
// result (the direct convolution: 2e-6), far inside float32 training noise (WinogradTests).
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Whether stride-1, undilated, ungrouped 3×3 and 5×5 convolutions with at least 16 input and output channels
    /// and 16 to 1024 output tiles of 4×4 per sample run forward and input-gradient by Winograd F(4×4, r×r)
    /// (default true); false runs every convolution as the direct implicit GEMM. The two agree to float32
    /// rounding (Winograd's is about 3e-5 of the outputs' RMS); the weight gradient is always direct.
    /// </summary>
    /// <example><code>CpuBackend.UseWinograd = false; // A/B against the direct convolution</code></example>
    public static bool UseWinograd { get; set; } = true;

    /// <summary>
    /// The kernel sizes (3 and/or 5) that take the Winograd path on this CPU: both, except on Intel cores with
    /// AVX-512, where the direct implicit GEMM runs at the 512-bit kernels' rate while the transforms are 256-bit,
    /// and LeNet5's 5×5 conv2 measured 7–20% faster direct both ways (bench/README.md); there only 3×3.
    /// The environment variable <c>VECQ_WINOGRAD</c> (<c>3,5</c>, <c>3</c>, <c>5</c> or <c>none</c>) overrides it.
    /// </summary>
    /// <example><code>Console.WriteLine(string.Join(",", CpuBackend.WinogradKernelSizes)); // "3,5" on AMD</code></example>
    public static IReadOnlyList<int> WinogradKernelSizes { get; } = ChooseWinogradSizes(CpuInfo.Current, Environment.GetEnvironmentVariable(WinogradVariable));

    /// <summary>The environment variable that overrides <see cref="WinogradKernelSizes"/>.</summary>
    public const string WinogradVariable = "VECQ_WINOGRAD";

    /// <summary>The Winograd kernel sizes for <paramref name="cpu"/>, or as <paramref name="env"/> (a <c>VECQ_WINOGRAD</c> value) says.</summary>
    /// <exception cref="ArgumentException"><paramref name="env"/> is not "3,5", "3", "5" or "none".</exception>
    internal static int[] ChooseWinogradSizes(CpuInfo cpu, string? env)
    {
        if (string.IsNullOrWhiteSpace(env)) return cpu.IsIntel && cpu.Avx512 ? [3] : [3, 5];
        string v = env.Replace(" ", "").ToLowerInvariant();
        return v switch
        {
            "none" => [],
            "3" => [3],
            "5" => [5],
            "3,5" or "5,3" => [3, 5],
            _ => throw new ArgumentException($"{WinogradVariable}='{env}': expected 3,5, 3, 5 or none."),
        };
    }

    /// <summary>Outputs per tile side.</summary>
    private const int WinoM = 4;

    /// <summary>
    /// Whether the geometry is one <see cref="WinogradForward"/> serves and is worth it for, in both directions
    /// (the forward tiles the output, the input gradient the input): besides the kernel shape, at least 64 tiles
    /// in the batch each way and at most 1024 per sample, and at most 8 M floats (32 MB) of transformed input and
    /// output per sample. The α² GEMMs have the batch's tiles as columns and the transformed weights U (α²/r² times
    /// the weights) as A: with fewer columns than 64 each float of U, written and read through memory, feeds too
    /// few FMAs (ResNet-18's 512-channel 7×7 layer at batch 8, 32 columns, ran at half the direct speed).
    /// </summary>
    private static bool WinogradFits(Conv2dGeometry g)
    {
        if (!UseWinograd || !Avx2.IsSupported || !Fma.IsSupported || g.Groups != 1 || g.KH != g.KW || !WinogradKernelSizes.Contains(g.KH)
            || g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1
            || g.PadH >= g.KH || g.PadW >= g.KW || g.C < 16 || g.O < 16)
            return false;
        static long Tiles(int h, int w) => (long)((h + WinoM - 1) / WinoM) * ((w + WinoM - 1) / WinoM);
        long outTiles = Tiles(g.OH, g.OW), inTiles = Tiles(g.H, g.W), most = Math.Max(outTiles, inTiles);
        long alpha = g.KH + WinoM - 1;
        return Math.Min(outTiles, inTiles) * g.N >= 64 && most <= 1024 && alpha * alpha * (g.C + g.O) * ((most + 7) & ~7L) <= 8L << 20;
    }

    /// <summary>
    /// Runs the Winograd forward (or, with <paramref name="backwardData"/>, input gradient) on contiguous float32
    /// tensors whatever <see cref="UseWinograd"/> and the tile bound say: for tests that hold it against the reference.
    /// </summary>
    /// With <paramref name="maxBlock"/>, at most that many samples go side by side (the result must not change).
    internal static void WinogradForTests(Tensor a, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool backwardData,
        int maxBlock = int.MaxValue)
    {
        if (!(Avx2.IsSupported && Fma.IsSupported)) throw new PlatformNotSupportedException("winograd: needs AVX2 and FMA");
        if (backwardData) WinogradBackwardData(Ptr(a), Ptr(w), Ptr(result), g, maxBlock);
        else WinogradForward(Ptr(a), Ptr(w), bias == null ? null : Ptr(bias), Ptr(result), g, maxBlock);
    }

    /// <summary>dx of a stride-1 convolution as the Winograd forward of dy with the kernels turned and transposed.</summary>
    private static void WinogradBackwardData(float* dyp, float* wp, float* dxp, Conv2dGeometry g, int maxBlock = int.MaxValue)
    {
        int r = g.KH, taps = r * r;
        // w': [C, O, r, r], w'[c, o, kh, kw] = w[o, c, r − 1 − kh, r − 1 − kw]
        using var turned = CpuScratch.Rent((long)g.O * g.C * taps);
        float* wt = turned.Pointer;
        for (int o = 0; o < g.O; o++)
            for (int c = 0; c < g.C; c++)
                for (int t = 0; t < taps; t++)
                    wt[((long)c * g.O + o) * taps + (taps - 1 - t)] = wp[((long)o * g.C + c) * taps + t];
        var back = Conv2dGeometry.Create(g.N, g.O, g.OH, g.OW, g.C, r, r, (1, 1), (r - 1 - g.PadH, r - 1 - g.PadW), (1, 1), 1);
        WinogradForward(dyp, wt, null, dxp, back, maxBlock);
    }

    /// <summary>
    /// y = conv(x, w) (+ bias) for a geometry <see cref="WinogradFits"/> accepts. With 64 or more tiles per sample
    /// the samples go to the threads one at a time, each through its own transforms and α² GEMMs (everything
    /// in the worker's cache); with fewer, the α² GEMMs of one sample would be too narrow (a 7×7 output has 4
    /// tiles), so blocks of samples are laid side by side, their tiles forming the GEMMs' columns, and each
    /// phase (input transform by channels, GEMMs by ξ, output transform by output channels) is spread over the
    /// threads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g, int maxBlock = int.MaxValue)
    {
        var f = WinogradMatrices.For(WinoM, g.KH);
        int alpha = f.Alpha, a2 = alpha * alpha, c = g.C, o = g.O;
        int th = (g.OH + WinoM - 1) / WinoM, tw = (g.OW + WinoM - 1) / WinoM, tiles = th * tw;
        // padded planes [hp, wpad]: the conv padding, then zeros under the last tiles (each patch row is read
        // as 8 floats, α ≤ 8)
        int hp = WinoM * th + alpha - WinoM, wpad = WinoM * tw + 4, planeFloats = hp * wpad;
        int block = Math.Min(maxBlock, WinogradBlock(g, tiles, a2, planeFloats));   // samples side by side (1: one per worker)
        int cols = (block * tiles + 7) & ~7;                                  // GEMM columns: the block's tiles, padded to 8
        SgemmKernel kern = Sgemm.Kernel;
        int kc = Sgemm.EqualBlock(c, kern.KC);
        // packed U[ξ] one after another, 16 floats more apart than their size: at a power-of-two distance (O·C = 2¹⁸
        // for 512 channels) the α² stores of one transformed kernel all land in one cache set and miss every level
        long aSize = Align16(Sgemm.PackedASize(kern, o, c)) + 16;
        // V: [α²][C][cols] and M: [α²][O][cols], each ξ block 16 floats longer than its rows (no power-of-two
        // stride between the α² rows one vector of the transforms touches)
        long vStride = (long)c * cols + 16, mStride = (long)o * cols + 16;
        long padFloats = Align16((long)c * block * planeFloats), vFloats = Align16(a2 * vStride + ImplicitB.Slack), mFloats = Align16(a2 * mStride);
        long panelFloats = Align16((long)kc * kern.NR + ImplicitB.Slack), tileFloats = Align16((long)kern.MR * kern.NR + ImplicitB.Slack);
        var (workers, _) = block == 1 ? WorkSplit(g.N, 1, (long)a2 * o * c * cols) : (Math.Min(Parallelism.Threads, a2), 1);
        // per worker: its GEMM panel and tile, and (one sample at a time) its own planes, V and M; blocked: one set of those
        long gemmFloats = panelFloats + tileFloats, dataFloats = padFloats + vFloats + mFloats;
        long perWorker = gemmFloats + (block == 1 ? dataFloats : 0);
        long shared = a2 * aSize + Align16(c) + 2 * Align16(cols) + 8L * (a2 + WinoM * alpha) + 16 + (block == 1 ? 0 : dataFloats);
        using var scratch = CpuScratch.Rent(shared + workers * perWorker);
        float* packedU = scratch.Pointer;
        int* rowOff = (int*)(packedU + a2 * aSize), colOff = rowOff + Align16(c), tileAt = colOff + Align16(cols);
        for (int k = 0; k < c; k++) rowOff[k] = k * cols;       // V[ξ]: [C, cols] row-major
        for (int j = 0; j < cols; j++) colOff[j] = j;
        TransformAndPackWeights(kern, wp, o, c, kc, f, packedU, aSize);

        var bt = (Vector256<float>*)(tileAt + Align16(cols));    // Bᵀ [α, α] and Aᵀ [m, α], each entry broadcast
        var at = bt + a2;
        Broadcast(f.BT, bt);
        Broadcast(f.AT, at);
        float* zeros = (float*)(at + WinoM * alpha);              // 16 zero floats for the lanes past the last tile
        new Span<float>(zeros, 16).Clear();
        float* buf = scratch.Pointer + shared;                                                  // the workers' parts
        long imageIn = (long)c * g.H * g.W, imageOut = (long)o * g.OH * g.OW;

        // tileAt[t] = the patch corner of tile t (sample t / tiles, tile t % tiles) in a channel's planes; −1 past count
        void Corners(int count, int upTo)
        {
            for (int t = 0; t < upTo; t++)
            {
                int local = t % tiles;
                tileAt[t] = t < count ? t / tiles * planeFloats + WinoM * (local / tw) * wpad + WinoM * (local % tw) : -1;
            }
        }

        if (block == 1)
        {
            Corners(tiles, cols);
            WorkerPool.For(g.N, workers, (worker, n) =>
            {
                float* pad = buf + worker * perWorker, v = pad + padFloats, m = v + vFloats, panel = m + mFloats, tile = panel + panelFloats;
                PadSamples(xp + n * imageIn, 1, g, hp, wpad, 0, c, pad);                                    // pad: [C, hp, wpad]
                InputTransform(pad, c, planeFloats, wpad, tileAt, cols, cols, alpha, bt, zeros, v, vStride); // V: [α²][C][cols]
                for (int xi = 0; xi < a2; xi++)                                                             // M[ξ] = U[ξ]·V[ξ]
                    Sgemm.RunImplicitB(kern, o, c, kc, packedU + xi * aSize, new ImplicitB(v + xi * vStride, rowOff, colOff),
                        0, cols, m + xi * mStride, cols, 0f, panel, tile);
                OutputTransform(m, mStride, 0, o, cols, tiles, tiles, tw, alpha, at, bp, yp + n * imageOut, imageOut, g.OH, g.OW);
            });
            return;
        }

        float* bpad = buf - dataFloats, bv = bpad + padFloats, bm = bv + vFloats;             // the block's planes, V and M (shared)
        int channelChunk = Math.Max(1, c / (4 * Parallelism.Threads)), outChunk = Math.Max(1, o / (4 * Parallelism.Threads));
        for (int n0 = 0; n0 < g.N; n0 += block)
        {
            int images = Math.Min(block, g.N - n0), count = images * tiles, used = (count + 7) & ~7;
            long plane = (long)images * planeFloats;                                  // one channel's planes, the block's samples in a row
            Corners(count, used);
            float* xb = xp + n0 * imageIn;
            Parallelism.ForRange(c, channelChunk, (c0, c1) =>                         // pad: [C, images, hp, wpad] → V: [α²][C][cols]
            {
                PadSamples(xb, images, g, hp, wpad, c0, c1, bpad);
                InputTransform(bpad + c0 * plane, c1 - c0, (int)plane, wpad, tileAt, used, cols, alpha, bt, zeros, bv + (long)c0 * cols, vStride);
            });
            WorkerPool.For(a2, workers, (worker, xi) =>                               // M[ξ]: [O, cols] = U[ξ]·V[ξ]
            {
                float* panel = buf + worker * perWorker, tile = panel + panelFloats;
                Sgemm.RunImplicitB(kern, o, c, kc, packedU + xi * aSize, new ImplicitB(bv + xi * vStride, rowOff, colOff),
                    0, used, bm + xi * mStride, cols, 0f, panel, tile);
            });
            float* yb = yp + n0 * imageOut;
            Parallelism.ForRange(o, outChunk, (o0, o1) =>
                OutputTransform(bm, mStride, o0, o1, cols, count, tiles, tw, alpha, at, bp, yb, imageOut, g.OH, g.OW));
        }
    }

    /// <summary>
    /// Samples per block for <see cref="WinogradForward"/>: 1 (a sample per worker) with 64 or more tiles per sample;
    /// otherwise as many as fit 8 M floats (32 MB) of planes, V and M together, at most the batch.
    /// </summary>
    private static int WinogradBlock(Conv2dGeometry g, int tiles, int a2, int planeFloats)
    {
        if (tiles >= 64) return 1;
        long perSample = (long)a2 * (g.C + g.O) * tiles + (long)g.C * planeFloats;
        return (int)Math.Clamp((8L << 20) / perSample, 1, g.N);
    }

    /// <summary>
    /// pad[ch, s, hp, wpad] ← sample s of x (from <paramref name="xb"/>, samples [C, H, W] one after another) with the
    /// conv padding and zeros under the last tiles, for channels [c0, c1) and <paramref name="images"/> samples.
    /// </summary>
    private static void PadSamples(float* xb, int images, Conv2dGeometry g, int hp, int wpad, int c0, int c1, float* pad)
    {
        long planeFloats = (long)hp * wpad;
        for (int ch = c0; ch < c1; ch++)
            for (int s = 0; s < images; s++)
            {
                float* dst = pad + ((long)ch * images + s) * planeFloats;
                new Span<float>(dst, (int)planeFloats).Clear();
                float* src = xb + ((long)s * g.C + ch) * g.H * g.W;
                for (int h = 0; h < g.H; h++)
                    CopyRow(dst + (long)(h + g.PadH) * wpad + g.PadW, src + (long)h * g.W, g.W);
            }
    }

    /// <summary>
    /// packedU[ξ] (aSize floats apart) ← U[ξ] = (G w_{o,c} Gᵀ)[ξ]: [O, C], written straight into the layout
    /// <see cref="Sgemm.PackAllA"/> gives (K blocks of kc columns, each a run of MR-row panels stored MR wide per
    /// column, padding rows zero): eight output channels at a time, one per vector lane (their r² taps gathered),
    /// over the threads. At a small batch this is as much work as the GEMMs; through a full-size U and a packing
    /// pass it was memory-bound.
    /// </summary>
    private static void TransformAndPackWeights(in SgemmKernel kern, float* wp, int o, int c, int kc, WinogradMatrices f, float* packedU, long aSize)
    {
        var plan = new PanelPlan(kern, o);
        int alpha = f.Alpha, r = f.R, taps = r * r, mr = kern.MR, panels = plan.Panels;
        // row o → panel q and row in it; panel q's first row
        var panelOf = new int[o];
        var rowIn = new int[o];
        for (int q = 0; q < panels; q++)
            for (int i = 0; i < plan.Rows(q, kern); i++) { panelOf[plan.FirstRow(q, kern) + i] = q; rowIn[plan.FirstRow(q, kern) + i] = i; }
        // padding rows of the narrower panels are zero in every column and ξ
        for (int q = 0; q < panels; q++)
            for (int pc = 0; pc < c; pc += kc)
            {
                int kcb = Math.Min(kc, c - pc);
                for (int xi = 0; xi < alpha * alpha; xi++)
                {
                    float* panel = packedU + xi * aSize + (long)pc * panels * mr + (long)q * mr * kcb;
                    for (int k = 0; k < kcb; k++)
                        for (int i = plan.Rows(q, kern); i < mr; i++) panel[k * mr + i] = 0f;
                }
            }
        bool contiguous = mr == 8;                                  // eight rows of one full panel are one vector store
        float[] gm = f.G;
        int groups = (o + 7) / 8;
        Parallelism.For(groups, grp =>
        {
            int o0 = grp * 8, lanesUsed = Math.Min(8, o - o0);
            var k = stackalloc Vector256<float>[taps];              // k[tap][lane]: tap of kernel (o0 + lane, ch)
            var t = stackalloc Vector256<float>[alpha * r];         // t = G·w: [α, r]
            var g8 = stackalloc Vector256<float>[gm.Length];        // G's entries, each broadcast
            for (int i = 0; i < gm.Length; i++) g8[i] = Vector256.Create(gm[i]);
            bool vectorStore = contiguous && lanesUsed == 8 && rowIn[o0] == 0 && panelOf[o0] < plan.Full;
            var lane = stackalloc float[8];
            for (int ch = 0; ch < c; ch++)
            {
                float* src = wp + ((long)o0 * c + ch) * taps;
                float* kf = (float*)k;                              // k[tap][lane] ← w[o0 + lane, ch, tap]
                for (int e = 0; e < 8; e++)
                {
                    float* row = src + (long)Math.Min(e, lanesUsed - 1) * c * taps;
                    for (int i = 0; i < taps; i++) kf[i * 8 + e] = row[i];
                }
                for (int a = 0; a < alpha; a++)
                    for (int l = 0; l < r; l++)
                    {
                        var sum = Vector256<float>.Zero;
                        for (int i = 0; i < r; i++) sum = Fma.MultiplyAdd(g8[a * r + i], k[i * r + l], sum);
                        t[a * r + l] = sum;
                    }
                int pc = ch / kc * kc, kcb = Math.Min(kc, c - pc);
                long column = (long)pc * panels * mr + (long)(ch - pc) * mr;    // this column's place in every panel of its K block
                for (int a = 0; a < alpha; a++)                         // t·Gᵀ: [α, α]
                    for (int b = 0; b < alpha; b++)
                    {
                        var sum = Vector256<float>.Zero;
                        for (int l = 0; l < r; l++) sum = Fma.MultiplyAdd(t[a * r + l], g8[b * r + l], sum);
                        float* block = packedU + (a * alpha + b) * aSize + column;
                        if (vectorStore) sum.Store(block + (long)panelOf[o0] * mr * kcb);
                        else
                        {
                            sum.Store(lane);
                            for (int e = 0; e < lanesUsed; e++)
                                block[(long)panelOf[o0 + e] * mr * kcb + rowIn[o0 + e]] = lane[e];
                        }
                    }
            }
        });
    }

    /// <summary>
    /// y[i·ys] = add + Σ_k m[i·α + k]·x[k·xs] for i &lt; rows, α = 6 or 8: the matrix's rows (entries broadcast into
    /// vectors beforehand) against α vectors held in registers, unrolled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Apply(int alpha, int rows, Vector256<float>* m, Vector256<float>* x, nint xs, Vector256<float>* y, nint ys, Vector256<float> add)
    {
        Vector256<float> x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
        if (alpha == 8)
        {
            Vector256<float> x6 = x[6 * xs], x7 = x[7 * xs];
            for (int i = 0; i < rows; i++, m += 8)
                y[i * ys] = Fma.MultiplyAdd(m[7], x7, Fma.MultiplyAdd(m[6], x6, Fma.MultiplyAdd(m[5], x5, Fma.MultiplyAdd(m[4], x4,
                    Fma.MultiplyAdd(m[3], x3, Fma.MultiplyAdd(m[2], x2, Fma.MultiplyAdd(m[1], x1, Fma.MultiplyAdd(m[0], x0, add))))))));
        }
        else
        {
            for (int i = 0; i < rows; i++, m += 6)
                y[i * ys] = Fma.MultiplyAdd(m[5], x5, Fma.MultiplyAdd(m[4], x4, Fma.MultiplyAdd(m[3], x3,
                    Fma.MultiplyAdd(m[2], x2, Fma.MultiplyAdd(m[1], x1, Fma.MultiplyAdd(m[0], x0, add))))));
        }
    }

    /// <summary>The matrix's entries, each broadcast into a vector (row-major), for <see cref="Apply"/>.</summary>
    private static void Broadcast(float[] matrix, Vector256<float>* dst)
    {
        for (int i = 0; i < matrix.Length; i++) dst[i] = Vector256.Create(matrix[i]);
    }

    /// <summary>r[j][lane] = r[lane][j]: an 8×8 block of floats transposed in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<float>* r)
    {
        var t0 = Avx.UnpackLow(r[0], r[1]); var t1 = Avx.UnpackHigh(r[0], r[1]);
        var t2 = Avx.UnpackLow(r[2], r[3]); var t3 = Avx.UnpackHigh(r[2], r[3]);
        var t4 = Avx.UnpackLow(r[4], r[5]); var t5 = Avx.UnpackHigh(r[4], r[5]);
        var t6 = Avx.UnpackLow(r[6], r[7]); var t7 = Avx.UnpackHigh(r[6], r[7]);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        r[0] = Avx.Permute2x128(s0, s4, 0x20); r[1] = Avx.Permute2x128(s1, s5, 0x20);
        r[2] = Avx.Permute2x128(s2, s6, 0x20); r[3] = Avx.Permute2x128(s3, s7, 0x20);
        r[4] = Avx.Permute2x128(s0, s4, 0x31); r[5] = Avx.Permute2x128(s1, s5, 0x31);
        r[6] = Avx.Permute2x128(s2, s6, 0x31); r[7] = Avx.Permute2x128(s3, s7, 0x31);
    }

    /// <summary>
    /// v[ξ·vStride + ch·ld + t] = (Bᵀ d B)[ξ] for every channel and tile t &lt; used (a multiple of 8; d: the α×α
    /// patch at tileAt[t] in the channel's padded planes, zeros where tileAt[t] &lt; 0), eight tiles per vector: each
    /// patch row is one 8-float load, and eight tiles' rows transposed make the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTransform(float* pad, int c, int planeFloats, int wpad, int* tileAt, int used, int ld, int alpha,
        Vector256<float>* bt, float* zeros, float* v, long vStride)
    {
        int a2 = alpha * alpha;
        Vector256<float>* d = stackalloc Vector256<float>[a2];
        Vector256<float>* t = stackalloc Vector256<float>[a2];
        Vector256<float>* rows = stackalloc Vector256<float>[8];
        float** at = stackalloc float*[8];
        for (int ch = 0; ch < c; ch++)
        {
            float* plane = pad + (long)ch * planeFloats;
            for (int t0 = 0; t0 < used; t0 += 8)
            {
                for (int lane = 0; lane < 8; lane++) at[lane] = tileAt[t0 + lane] < 0 ? zeros : plane + tileAt[t0 + lane];
                for (int k = 0; k < alpha; k++)
                {
                    nint step = (nint)k * wpad;
                    for (int lane = 0; lane < 8; lane++) rows[lane] = Vector256.Load(at[lane] == zeros ? zeros : at[lane] + step);
                    Transpose8(rows);                                             // rows[l] = patch (k, l) of the eight tiles
                    for (int l = 0; l < alpha; l++) d[k * alpha + l] = rows[l];
                }
                for (int l = 0; l < alpha; l++) Apply(alpha, alpha, bt, d + l, alpha, t + l, alpha, default);     // t = Bᵀ·d
                for (int a = 0; a < alpha; a++) Apply(alpha, alpha, bt, t + a * alpha, 1, d + a * alpha, 1, default); // d = t·B
                float* dst = v + (long)ch * ld + t0;
                for (int q = 0; q < a2; q++) d[q].Store(dst + q * vStride);
            }
        }
    }

    /// <summary>
    /// y_{o, t} = Aᵀ M_{o,t} A (+ bias[o]) for output channels [o0, o1) and tiles t &lt; count, written to the 4×4
    /// outputs each tile covers inside [OH, OW] of its sample (t / imageTiles; samples imageStride floats apart from
    /// y); m: [α²][O][ld] with ξ blocks mStride apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTransform(float* m, long mStride, int o0, int o1, int ld, int count, int imageTiles, int tw, int alpha,
        Vector256<float>* at, float* bias, float* y, long imageStride, int oh, int ow)
    {
        int a2 = alpha * alpha;
        Vector256<float>* mv = stackalloc Vector256<float>[a2];
        Vector256<float>* t = stackalloc Vector256<float>[WinoM * alpha];
        Vector256<float>* yv = stackalloc Vector256<float>[WinoM * WinoM];
        for (int oc = o0; oc < o1; oc++)
        {
            var b0 = Vector256.Create(bias == null ? 0f : bias[oc]);
            float* yo = y + (long)oc * oh * ow;
            for (int t0 = 0; t0 < count; t0 += 8)
            {
                float* src = m + (long)oc * ld + t0;
                for (int q = 0; q < a2; q++) mv[q] = Vector256.Load(src + q * mStride);
                for (int l = 0; l < alpha; l++) Apply(alpha, WinoM, at, mv + l, alpha, t + l, alpha, default);        // t = Aᵀ·M: [4, α]
                for (int i = 0; i < WinoM; i++) Apply(alpha, WinoM, at, t + i * alpha, 1, yv + i * WinoM, 1, b0);    // yv[i·4 + j] + bias
                // rows i, i + 1 of the eight tiles: transposed, lane l holds tile t0 + l's (row i | row i + 1)
                for (int i = 0; i < WinoM; i += 2)
                {
                    Transpose8(yv + i * WinoM);
                    for (int lane = 0; lane < 8 && t0 + lane < count; lane++)
                    {
                        int image = (t0 + lane) / imageTiles, ti = (t0 + lane) - image * imageTiles;
                        int r0 = WinoM * (ti / tw) + i, c0 = WinoM * (ti % tw);
                        var both = yv[i * WinoM + lane];
                        for (int h = 0; h < 2 && r0 + h < oh; h++)
                        {
                            var part = h == 0 ? both.GetLower() : both.GetUpper();
                            float* dst = yo + image * imageStride + (long)(r0 + h) * ow + c0;
                            if (c0 + 4 <= ow) part.Store(dst);
                            else for (int j = 0; c0 + j < ow; j++) dst[j] = part.GetElement(j);
                        }
                    }
                }
            }
        }
    }
}
