using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecQ.Tensors;

namespace VecQ.Quant.Integer;

/// <summary>
/// A conv or dense layer on integer input: weights as int8 codes c (w = α_o·(c + o)), the input as codes u with a
/// per-channel map z = s_c·u + t_c. Exactly, with zero padding in z:
/// <code>
/// y[o, p] = α_o·Σ_c s_c·(Σ_t c[o,c,t]·u[c,t,p] + o·Σ_t u[c,t,p]) + b_o + Σ_c t_c·Σ_{t inside} w[o,c,t]
/// </code>
/// The first sum is <see cref="Int8Gemm"/>'s; the last term, which depends on how much of the kernel is inside the
/// image, is computed once at load as a map over the output positions (for a dense layer it is one number per row).
/// </summary>
internal sealed class IntLayer
{
    public required sbyte[] Codes;             // [(O + 1)₄, C, T4]: row O is all ones (its product is Σ_c s_c·Σ_t u, the sums the code offset multiplies)
    public required int Out, In, Taps, Taps4;  // O, C (segments), taps per segment, rounded to 4
    public required float[] Alpha;             // [O]
    public required float CodeOffset;          // o: 0.5 (VecQ's half-integer grids) or 0 (TWN)
    public required float[] Bias;              // [O, P] (conv: bias + border term per output position) or [O] (dense)
    public required int Positions;             // P per sample (conv) or 1 (dense)
    public required CodeEpilogue Epilogue;
    // conv geometry (dense: kernel = input side, no padding)
    public int H, W, Kh, Kw, Sh, Sw, Ph, Pw, Dh, Dw, OH, OW;
    public bool Dense;

    public long Bytes => Codes.LongLength + 4L * (Alpha.Length + Bias.Length) + Epilogue.Bytes;

    private int _maxCode = -1;

    /// <summary>The largest |code| of the layer (what decides whether <see cref="Int8Isa.Avx512Bw"/> may run it).</summary>
    public int MaxCode => _maxCode >= 0 ? _maxCode : _maxCode = Int8Gemm.MaxAbs(Codes);

    /// <summary>x → the next codes ([N, O, OH', OW'] or [N, O]), on <paramref name="isa"/> or the ISA it gives way to for these codes.</summary>
    public IntActivations Run(IntActivations x, Int8Isa isa)
    {
        isa = Int8Gemm.For(isa, MaxCode);
        return Dense ? RunDense(x, isa) : RunConv(x, isa);
    }

    // row = α·(row + o·g) + bias, fused multiply-adds in that order (vectors and tail alike)
    private static void Affine(Span<float> row, float alpha, float offset, ReadOnlySpan<float> g, ReadOnlySpan<float> bias)
    {
        int p = 0;
        if (Fma.IsSupported)
        {
            var va = Vector256.Create(alpha);
            var vo = Vector256.Create(offset);
            for (; p + 8 <= row.Length; p += 8)
            {
                var inner = Fma.MultiplyAdd(vo, Vector256.Create(g.Slice(p, 8)), Vector256.Create((ReadOnlySpan<float>)row.Slice(p, 8)));
                Fma.MultiplyAdd(va, inner, Vector256.Create(bias.Slice(p, 8))).CopyTo(row.Slice(p, 8));
            }
        }
        for (; p < row.Length; p++) row[p] = MathF.FusedMultiplyAdd(alpha, MathF.FusedMultiplyAdd(offset, g[p], row[p]), bias[p]);
    }

    // Output rows per pass: about 256 positions, so one pass's patches (C·T4·~256 bytes) stay in the core's L2 while
    // every output channel reads them.
    private int ChunkRows => Math.Clamp(256 / Math.Max(1, OW), 1, OH);

    // b's columns for one pass: its positions and room for the last 16-wide store of its last row
    private int PatchCols => Int8Gemm.PaddedCols(ChunkRows * OW + Int8Gemm.ColBlock);

    private IntActivations RunConv(IntActivations x, Int8Isa isa)
    {
        int n = x.N, p16 = PatchCols;
        var (ph2, pw2) = Epilogue.OutSize(OH, OW);
        var next = IntActivations.Rent(n * Out * ph2 * pw2);
        bool stride1 = Sh == 1 && Sw == 1 && Dh == 1 && Dw == 1 && Sse2.IsSupported;
        int hp = H + 2 * Ph, wp = W + 2 * Pw + Int8Gemm.ColBlock, plane = hp * wp + Int8Gemm.ColBlock;
        Parallelism.For(n, i =>
        {
            var b = ArrayPool<byte>.Shared.Rent(In * Taps4 * p16);
            var y = ArrayPool<float>.Shared.Rent((Out + 1) * Positions);
            var padded = stride1 ? ArrayPool<byte>.Shared.Rent(In * plane) : null;
            try
            {
                var u = x.Codes.AsSpan(i * In * H * W, In * H * W);
                if (padded != null) Pad(u, padded, hp, wp, plane);
                for (int oh0 = 0; oh0 < OH; oh0 += ChunkRows)
                {
                    int oh1 = Math.Min(OH, oh0 + ChunkRows);
                    if (padded != null) PackStride1(padded, wp, plane, b, oh0, oh1);
                    else PackPatches(u, b, oh0, oh1);
                    Int8Gemm.Run(Codes, Out + 1, In, Taps4, b, (oh1 - oh0) * OW, x.Scale, y.AsSpan(oh0 * OW), isa, bCols: p16, ldOut: Positions);
                }
                var g = y.AsSpan(Out * Positions, Positions);                     // the row of ones: Σ_c s_c·Σ_t u
                for (int o = 0; o < Out; o++)
                {
                    var row = y.AsSpan(o * Positions, Positions);
                    var bias = Bias.AsSpan(o * Positions, Positions);
                    Affine(row, Alpha[o], CodeOffset, g, bias);
                    Epilogue.Apply(row, o, OH, OW, next.AsSpan((i * Out + o) * ph2 * pw2, ph2 * pw2));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(b);
                ArrayPool<float>.Shared.Return(y);
                if (padded != null) ArrayPool<byte>.Shared.Return(padded);
            }
        });
        return new IntActivations(next, [n, Out, ph2, pw2], Epilogue.Scale, Epilogue.Shift);
    }

    // u: [C, H, W] of one sample → output rows [oh0, oh1) as b: [C, T4/4, PatchCols, 4] (zeros outside the image and in
    // the padded taps), position (oh − oh0)·OW + ow.
    private void PackPatches(ReadOnlySpan<byte> u, byte[] b, int oh0, int oh1)
    {
        int p16 = PatchCols, groups = Taps4 / 4;
        b.AsSpan(0, In * Taps4 * p16).Clear();
        for (int c = 0; c < In; c++)
        {
            var plane = u.Slice(c * H * W, H * W);
            for (int t = 0; t < Taps; t++)
            {
                int kh = t / Kw, kw = t % Kw;
                var dst = b.AsSpan((c * groups + t / 4) * p16 * 4 + (t & 3));
                for (int oh = oh0; oh < oh1; oh++)
                {
                    int ih = oh * Sh - Ph + kh * Dh;
                    if ((uint)ih >= (uint)H) continue;
                    var src = plane.Slice(ih * W, W);
                    for (int ow = 0; ow < OW; ow++)
                    {
                        int iw = ow * Sw - Pw + kw * Dw;
                        if ((uint)iw < (uint)W) dst[((oh - oh0) * OW + ow) * 4] = src[iw];
                    }
                }
            }
        }
    }

    // every channel of u copied into a zero border (Ph rows, Pw columns, and 16 more columns so a 16-wide read never
    // leaves the plane): [C][hp][wp] plus 16 bytes
    private void Pad(ReadOnlySpan<byte> u, byte[] padded, int hp, int wp, int plane)
    {
        padded.AsSpan(0, In * plane).Clear();
        for (int c = 0; c < In; c++)
            for (int ih = 0; ih < H; ih++)
                u.Slice((c * H + ih) * W, W).CopyTo(padded.AsSpan(c * plane + (ih + Ph) * wp + Pw, W));
    }

    // Stride 1: each tap's row of 16 positions is a contiguous read of the zero-bordered plane; four taps are
    // interleaved into the [position][4 taps] layout with byte and word unpacks, 16 positions a store. Every position
    // and padded tap of rows [oh0, oh1) is written; the columns past them hold whatever they held, and only their own
    // (discarded) outputs read them.
    private unsafe void PackStride1(byte[] padded, int wp, int plane, byte[] b, int oh0, int oh1)
    {
        int p16 = PatchCols, groups = Taps4 / 4;
        fixed (byte* pad = padded)
        fixed (byte* pb = b)
        {
            for (int c = 0; c < In; c++)
            {
                byte* pp = pad + (long)c * plane;
                for (int g = 0; g < groups; g++)
                {
                    byte* dst = pb + (long)(c * groups + g) * p16 * 4;
                    // the four taps' offsets in the padded plane (−1: a padded tap, all zeros)
                    int o0 = TapOffset(4 * g, wp), o1 = TapOffset(4 * g + 1, wp), o2 = TapOffset(4 * g + 2, wp), o3 = TapOffset(4 * g + 3, wp);
                    for (int oh = oh0; oh < oh1; oh++)
                    {
                        byte* row = pp + oh * wp;
                        for (int ow = 0; ow < OW; ow += 16)
                        {
                            var r0 = o0 < 0 ? default : Sse2.LoadVector128(row + o0 + ow);
                            var r1 = o1 < 0 ? default : Sse2.LoadVector128(row + o1 + ow);
                            var r2 = o2 < 0 ? default : Sse2.LoadVector128(row + o2 + ow);
                            var r3 = o3 < 0 ? default : Sse2.LoadVector128(row + o3 + ow);
                            var lo01 = Sse2.UnpackLow(r0, r1).AsInt16(); var hi01 = Sse2.UnpackHigh(r0, r1).AsInt16();
                            var lo23 = Sse2.UnpackLow(r2, r3).AsInt16(); var hi23 = Sse2.UnpackHigh(r2, r3).AsInt16();
                            byte* d = dst + ((oh - oh0) * OW + ow) * 4;
                            Sse2.Store(d, Sse2.UnpackLow(lo01, lo23).AsByte());
                            Sse2.Store(d + 16, Sse2.UnpackHigh(lo01, lo23).AsByte());
                            Sse2.Store(d + 32, Sse2.UnpackLow(hi01, hi23).AsByte());
                            Sse2.Store(d + 48, Sse2.UnpackHigh(hi01, hi23).AsByte());
                        }
                    }
                }
            }
        }
    }

    // where tap t = (kh, kw) starts in the padded plane: row kh, column kw (−1 past the kernel's taps)
    private int TapOffset(int t, int wp) => t < Taps ? t / Kw * wp + t % Kw : -1;

    private IntActivations RunDense(IntActivations x, Int8Isa isa)
    {
        // x: [N, C, S] read as N columns of C segments of S taps
        int n = x.N, s = x.Spatial, n16 = Int8Gemm.PaddedCols(n), groups = Taps4 / 4;
        var b = ArrayPool<byte>.Shared.Rent(In * Taps4 * n16);
        b.AsSpan(0, In * Taps4 * n16).Clear();
        for (int i = 0; i < n; i++)
            for (int c = 0; c < In; c++)
            {
                int src = (i * In + c) * s;
                for (int t = 0; t < s; t++) b[((c * groups + t / 4) * n16 + i) * 4 + (t & 3)] = x.Codes[src + t];
            }
        var y = ArrayPool<float>.Shared.Rent((Out + 1) * n);                      // [O + 1, N]: the last row is the row of ones
        int bands = Int8Gemm.PaddedRows(Out + 1) / Int8Gemm.RowBlock;
        int per = Math.Max(1, (bands + 4 * Parallelism.Threads - 1) / (4 * Parallelism.Threads));
        Parallelism.For((bands + per - 1) / per, k =>
            Int8Gemm.Run(Codes, Out + 1, In, Taps4, b, n, x.Scale, y, isa, k * per * Int8Gemm.RowBlock, Math.Min(bands, (k + 1) * per) * Int8Gemm.RowBlock));
        var g = y.AsSpan(Out * n, n);
        ArrayPool<byte>.Shared.Return(b);
        var next = IntActivations.Rent(n * Out);
        var row = new float[n];
        var codes = new byte[n];
        for (int o = 0; o < Out; o++)
        {
            float a = Alpha[o], bias = Bias[o];
            for (int i = 0; i < n; i++) row[i] = MathF.FusedMultiplyAdd(a, MathF.FusedMultiplyAdd(CodeOffset, g[i], y[o * n + i]), bias);
            Epilogue.Apply(row, o, 1, n, codes);                                 // no pool after a dense layer
            for (int i = 0; i < n; i++) next[i * Out + o] = codes[i];
        }
        ArrayPool<float>.Shared.Return(y);
        return new IntActivations(next, [n, Out], Epilogue.Scale, Epilogue.Shift);
    }
}
