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

    /// <summary>Outputs per tile side.</summary>
    private const int WinoM = 4;

    /// <summary>
    /// Whether the geometry is one <see cref="WinogradForward"/> serves and is worth it for, in both directions
    /// (the forward tiles the output, the input gradient the input): besides the kernel shape, 16 to 1024 tiles
    /// per sample each way (the α² GEMMs have the tiles as columns: fewer than one 16-wide strip wastes most of
    /// it, and the VGG-like net's 8×8 layer, 4 tiles, ran at half the direct speed), and at most 8 M floats
    /// (32 MB) of transformed input and output per worker.
    /// </summary>
    private static bool WinogradFits(Conv2dGeometry g)
    {
        if (!UseWinograd || !Avx2.IsSupported || !Fma.IsSupported || g.Groups != 1 || g.KH != g.KW || (g.KH != 3 && g.KH != 5)
            || g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1
            || g.PadH >= g.KH || g.PadW >= g.KW || g.C < 16 || g.O < 16)
            return false;
        static long Tiles(int h, int w) => (long)((h + WinoM - 1) / WinoM) * ((w + WinoM - 1) / WinoM);
        long outTiles = Tiles(g.OH, g.OW), inTiles = Tiles(g.H, g.W), most = Math.Max(outTiles, inTiles);
        long alpha = g.KH + WinoM - 1;
        return Math.Min(outTiles, inTiles) >= 16 && most <= 1024 && alpha * alpha * (g.C + g.O) * ((most + 7) & ~7L) <= 8L << 20;
    }

    /// <summary>
    /// Runs the Winograd forward (or, with <paramref name="backwardData"/>, input gradient) on contiguous float32
    /// tensors whatever <see cref="UseWinograd"/> and the tile bound say: for tests that hold it against the reference.
    /// </summary>
    internal static void WinogradForTests(Tensor a, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor result, bool backwardData)
    {
        if (!(Avx2.IsSupported && Fma.IsSupported)) throw new PlatformNotSupportedException("winograd: needs AVX2 and FMA");
        if (backwardData) WinogradBackwardData(Ptr(a), Ptr(w), Ptr(result), g);
        else WinogradForward(Ptr(a), Ptr(w), bias == null ? null : Ptr(bias), Ptr(result), g);
    }

    /// <summary>dx of a stride-1 convolution as the Winograd forward of dy with the kernels turned and transposed.</summary>
    private static void WinogradBackwardData(float* dyp, float* wp, float* dxp, Conv2dGeometry g)
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
        WinogradForward(dyp, wt, null, dxp, back);
    }

    /// <summary>y = conv(x, w) (+ bias) for a geometry <see cref="WinogradFits"/> accepts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WinogradForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g)
    {
        var f = WinogradMatrices.For(WinoM, g.KH);
        int alpha = f.Alpha, a2 = alpha * alpha, c = g.C, o = g.O;
        int th = (g.OH + WinoM - 1) / WinoM, tw = (g.OW + WinoM - 1) / WinoM, tiles = th * tw, tpad = (tiles + 7) & ~7;
        // padded planes [C, hp, wpad]: the conv padding, then zeros under the last tiles (each patch row is read
        // as 8 floats, α ≤ 8)
        int hp = WinoM * th + alpha - WinoM, wpad = WinoM * tw + 4;
        SgemmKernel kern = Sgemm.Kernel;
        int kc = Sgemm.EqualBlock(c, kern.KC);
        long aSize = Align16(Sgemm.PackedASize(kern, o, c));
        // V: [α²][C][tpad] and M: [α²][O][tpad], each ξ block 16 floats longer than its rows (no power-of-two
        // stride between the α² rows one vector of the transforms touches)
        long vStride = (long)c * tpad + 16, mStride = (long)o * tpad + 16;
        long padFloats = Align16((long)c * hp * wpad), vFloats = Align16(a2 * vStride + ImplicitB.Slack), mFloats = Align16(a2 * mStride);
        long panelFloats = Align16((long)kc * kern.NR + ImplicitB.Slack), tileFloats = Align16((long)kern.MR * kern.NR + ImplicitB.Slack);
        long perWorker = padFloats + vFloats + mFloats + panelFloats + tileFloats;
        var (workers, _) = WorkSplit(g.N, 1, (long)a2 * o * c * tpad);
        long shared = a2 * aSize + Align16((long)a2 * o * c) + Align16(c) + 2 * Align16(tpad) + 8L * (a2 + WinoM * alpha) + 16;
        using var scratch = CpuScratch.Rent(shared + workers * perWorker);
        float* packedU = scratch.Pointer, u = packedU + a2 * aSize;
        int* rowOff = (int*)(u + Align16((long)a2 * o * c)), colOff = rowOff + Align16(c), tileAt = colOff + Align16(tpad);
        for (int k = 0; k < c; k++) rowOff[k] = k * tpad;       // V[ξ]: [C, tpad] row-major
        for (int j = 0; j < tpad; j++) colOff[j] = j;
        for (int t = 0; t < tpad; t++) tileAt[t] = t < tiles ? WinoM * (t / tw) * wpad + WinoM * (t % tw) : -1;   // patch corner in a plane
        WeightTransform(wp, o, c, f, u);                          // U: [α², O, C]
        for (int xi = 0; xi < a2; xi++) Sgemm.PackAllA(kern, packedU + xi * aSize, u + (long)xi * o * c, c, false, o, c, kc);
        var bt = (Vector256<float>*)(tileAt + Align16(tpad));    // Bᵀ [α, α] and Aᵀ [m, α], each entry broadcast
        var at = bt + a2;
        Broadcast(f.BT, bt);
        Broadcast(f.AT, at);
        float* zeros = (float*)(at + WinoM * alpha);              // 16 zero floats for the lanes past the last tile
        new Span<float>(zeros, 16).Clear();
        float* buf = scratch.Pointer + shared;

        WorkerPool.For(g.N, workers, (worker, n) =>
        {
            float* pad = buf + worker * perWorker, v = pad + padFloats, m = v + vFloats, panel = m + mFloats, tile = panel + panelFloats;
            // x_n: [C, H, W] → pad: [C, hp, wpad]
            new Span<float>(pad, (int)((long)c * hp * wpad)).Clear();
            float* xn = xp + (long)n * c * g.H * g.W;
            for (int ch = 0; ch < c; ch++)
                for (int h = 0; h < g.H; h++)
                    new ReadOnlySpan<float>(xn + ((long)ch * g.H + h) * g.W, g.W)
                        .CopyTo(new Span<float>(pad + ((long)ch * hp + h + g.PadH) * wpad + g.PadW, g.W));
            InputTransform(pad, c, hp * wpad, wpad, tileAt, tpad, alpha, bt, zeros, v, vStride);    // V: [α²][C][tpad]
            for (int xi = 0; xi < a2; xi++)                                                      // M[ξ]: [O, tpad] = U[ξ]·V[ξ]
                Sgemm.RunImplicitB(kern, o, c, kc, packedU + xi * aSize, new ImplicitB(v + xi * vStride, rowOff, colOff),
                    0, tpad, m + xi * mStride, tpad, 0f, panel, tile);
            OutputTransform(m, mStride, o, tw, tiles, tpad, alpha, at, bp, yp + (long)n * o * g.OH * g.OW, g.OH, g.OW);
        });
    }

    /// <summary>u[ξ = a·α + b, o, c] = (G w_{o,c} Gᵀ)[a, b] for w: [O, C, r, r].</summary>
    private static void WeightTransform(float* w, int o, int c, WinogradMatrices f, float* u)
    {
        int alpha = f.Alpha, r = f.R;
        float[] gm = f.G;
        var t = new float[alpha * r];
        for (int oc = 0; oc < o * c; oc++)
        {
            float* k = w + (long)oc * r * r;
            for (int a = 0; a < alpha; a++)                     // t = G·w: [α, r]
                for (int l = 0; l < r; l++)
                {
                    float s = 0;
                    for (int i = 0; i < r; i++) s += gm[a * r + i] * k[i * r + l];
                    t[a * r + l] = s;
                }
            for (int a = 0; a < alpha; a++)                     // t·Gᵀ: [α, α]
                for (int b = 0; b < alpha; b++)
                {
                    float s = 0;
                    for (int l = 0; l < r; l++) s += t[a * r + l] * gm[b * r + l];
                    u[(long)(a * alpha + b) * o * c + oc] = s;
                }
        }
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
    /// v[ξ·vStride + ch·tpad + t] = (Bᵀ d B)[ξ] for every channel and tile t (d: the α×α patch at tileAt[t] in
    /// the channel's padded plane), eight tiles per vector: each patch row is one 8-float load, and eight
    /// tiles' rows transposed make the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTransform(float* pad, int c, int planeFloats, int wpad, int* tileAt, int tpad, int alpha,
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
            for (int t0 = 0; t0 < tpad; t0 += 8)
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
                float* dst = v + (long)ch * tpad + t0;
                for (int q = 0; q < a2; q++) d[q].Store(dst + q * vStride);
            }
        }
    }

    /// <summary>
    /// y_{o, t} = Aᵀ M_{o,t} A (+ bias[o]) for every output channel and tile, written to the 4×4 outputs each
    /// tile covers inside [OH, OW]; m: [α²][O][tpad] with ξ blocks mStride apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTransform(float* m, long mStride, int o, int tw, int tiles, int tpad, int alpha, Vector256<float>* at, float* bias,
        float* y, int oh, int ow)
    {
        int a2 = alpha * alpha;
        Vector256<float>* mv = stackalloc Vector256<float>[a2];
        Vector256<float>* t = stackalloc Vector256<float>[WinoM * alpha];
        Vector256<float>* yv = stackalloc Vector256<float>[WinoM * WinoM];
        for (int oc = 0; oc < o; oc++)
        {
            var b0 = Vector256.Create(bias == null ? 0f : bias[oc]);
            float* yo = y + (long)oc * oh * ow;
            for (int t0 = 0; t0 < tpad; t0 += 8)
            {
                float* src = m + (long)oc * tpad + t0;
                for (int q = 0; q < a2; q++) mv[q] = Vector256.Load(src + q * mStride);
                for (int l = 0; l < alpha; l++) Apply(alpha, WinoM, at, mv + l, alpha, t + l, alpha, default);        // t = Aᵀ·M: [4, α]
                for (int i = 0; i < WinoM; i++) Apply(alpha, WinoM, at, t + i * alpha, 1, yv + i * WinoM, 1, b0);    // yv[i·4 + j] + bias
                // rows i, i + 1 of the eight tiles: transposed, lane l holds tile t0 + l's (row i | row i + 1)
                for (int i = 0; i < WinoM; i += 2)
                {
                    Transpose8(yv + i * WinoM);
                    for (int lane = 0; lane < 8 && t0 + lane < tiles; lane++)
                    {
                        int ti = t0 + lane, r0 = WinoM * (ti / tw) + i, c0 = WinoM * (ti % tw);
                        var both = yv[i * WinoM + lane];
                        for (int h = 0; h < 2 && r0 + h < oh; h++)
                        {
                            var part = h == 0 ? both.GetLower() : both.GetUpper();
                            float* dst = yo + (long)(r0 + h) * ow + c0;
                            if (c0 + 4 <= ow) part.Store(dst);
                            else for (int j = 0; c0 + j < ow; j++) dst[j] = part.GetElement(j);
                        }
                    }
                }
            }
        }
    }
}
