using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecQ.Tensors;

namespace VecQ.Quant.Integer;

/// <summary>
/// Activations between two integer stages: the activation quantizer's codes as odd bytes u = 2v (v = c + ½, so u = 2c + 1
/// in [1, 2^k − 1]; 0 only in padding) and, per channel, the affine map the batch norm after the quantizer applies:
/// z = Scale[c]·u + Shift[c] is the float value the fake-quantized model feeds the next layer.
/// </summary>
/// <param name="Codes">u: [N, C, H, W] (or [N, C] after a dense layer), row-major; rented from the shared pool (it may be
/// longer than the shape) and returned by <see cref="Release"/> once the next stage has read it.</param>
/// <param name="Shape">[N, C, H, W] or [N, C].</param>
/// <param name="Scale">Per channel: a_c·γ_c / (2·√(var_c + ε)).</param>
/// <param name="Shift">Per channel: β_c − γ_c·mean_c / √(var_c + ε).</param>
internal sealed record IntActivations(byte[] Codes, int[] Shape, float[] Scale, float[] Shift)
{
    public int N => Shape[0];
    public int C => Shape[1];
    public int Spatial => Shape.Length == 4 ? Shape[2] * Shape[3] : 1;

    public int Count => N * C * Spatial;

    /// <summary>Codes for <paramref name="count"/> values from the shared pool.</summary>
    public static byte[] Rent(int count) => ArrayPool<byte>.Shared.Rent(count);

    public void Release() => ArrayPool<byte>.Shared.Return(Codes);

    /// <summary>z = Scale·u + Shift as float32 [N, C·H·W] (the layers that need float input), in a pooled array of at least <see cref="Count"/>.</summary>
    public float[] Dequantize()
    {
        int n = N, c = C, s = Spatial;
        var z = ArrayPool<float>.Shared.Rent(Count);
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                float a = Scale[ch], b = Shift[ch];
                int off = (i * c + ch) * s;
                for (int j = 0; j < s; j++) z[off + j] = MathF.FusedMultiplyAdd(Codes[off + j], a, b);
            }
        return z;
    }
}

/// <summary>
/// What follows a hidden layer, ending in integer codes: ReLU → the activation quantizer at its running step (the grid
/// of <see cref="ActivationQuantizer"/> in evaluation, float32 operations in its order) → the batch norm (kept as the
/// per-channel affine map of the next stage's input) → the max pool (on the codes: the map is monotone in u, rising
/// where its scale is ≥ 0, so the pool takes the largest code there and the smallest elsewhere).
/// </summary>
internal sealed class CodeEpilogue
{
    private readonly float[] _step;          // [C] the quantizer's running step (one value repeated for a per-tensor quantizer)
    private readonly int _hi;                // 2^(k−1) − 1
    public float[] Scale { get; }            // [C] of the next input map
    public float[] Shift { get; }            // [C]
    public (int Kh, int Kw, int Sh, int Sw)? Pool { get; }

    public CodeEpilogue(float[] step, int bits, float[] scale, float[] shift, (int, int, int, int)? pool)
    {
        _step = step;
        _hi = (1 << (bits - 1)) - 1;
        Scale = scale;
        Shift = shift;
        Pool = pool;
    }

    public long Bytes => 4L * (_step.Length + Scale.Length + Shift.Length);

    /// <summary>The side after the pool (or the same side).</summary>
    public (int H, int W) OutSize(int h, int w) => Pool is var (kh, kw, sh, sw) ? ((h - kh) / sh + 1, (w - kw) / sw + 1) : (h, w);

    // The max pool on codes: the largest code where the next map rises (scale ≥ 0), the smallest where it falls.
    // Branch-free: the codes are data, and a branch per comparison mispredicts about half the time on them.
    private static void PoolPlane(ReadOnlySpan<byte> u, int h, int w, int kh, int kw, int sh, int sw, int oh, int ow, Span<byte> dest, bool max)
    {
        for (int a = 0; a < oh; a++)
        {
            var outRow = dest.Slice(a * ow, ow);
            if (kh == 2 && kw == 2 && sh == 2 && sw == 2)
            {
                Pool2x2Row(u.Slice(2 * a * w, w), u.Slice((2 * a + 1) * w, w), outRow, max);
                continue;
            }
            for (int b = 0; b < ow; b++)
            {
                int best = max ? 0 : 255;
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        best = Pick(best, u[(a * sh + i) * w + b * sw + j], max);
                outRow[b] = (byte)best;
            }
        }
    }

    private static int Pick(int a, int b, bool max)
    {
        int d = a - b, m = d >> 31;                                         // m: all ones where a < b
        return max ? a - (d & m) : b + (d & m);
    }

    // One output row of a 2×2/2 pool from two input rows: 16 inputs (8 outputs) a step on 128-bit vectors, the last
    // step moved back to end at the row's end (it rewrites a few outputs with the same values).
    private static void Pool2x2Row(ReadOnlySpan<byte> r0, ReadOnlySpan<byte> r1, Span<byte> outRow, bool max)
    {
        int ow = outRow.Length, b = 0;
        if (Sse41.IsSupported && 2 * ow >= 16)
        {
            var low = Vector128.Create((ushort)0xFF);
            for (int x = 0; ; x += 16)
            {
                if (x + 16 > 2 * ow) x = 2 * ow - 16;
                var v0 = Vector128.Create(r0.Slice(x, 16));
                var v1 = Vector128.Create(r1.Slice(x, 16));
                var m = (max ? Sse2.Max(v0, v1) : Sse2.Min(v0, v1)).AsUInt16();   // the two rows
                var even = Sse2.And(m, low);
                var odd = Sse2.ShiftRightLogical(m, 8);
                var pair = max ? Sse41.Max(even, odd) : Sse41.Min(even, odd);       // the two columns: 8 outputs as ushort
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(outRow.Slice(x / 2, 8), Sse2.PackUnsignedSaturate(pair.AsInt16(), pair.AsInt16()).AsUInt64().ToScalar());
                if (x + 16 >= 2 * ow) return;
            }
        }
        for (; b < ow; b++)
            outRow[b] = (byte)Pick(Pick(r0[2 * b], r0[2 * b + 1], max), Pick(r1[2 * b], r1[2 * b + 1], max), max);
    }

    /// <summary>
    /// u = 2·min(round_half_even(max(y, 0)/step − ½), hi) + 1: the quantizer's float32 operations in its order, 32 values a
    /// step on 256-bit vectors (the same IEEE division, subtraction and rounding, so the same codes as the scalar tail).
    /// </summary>
    internal static void Quantize(ReadOnlySpan<float> y, float step, int hi, Span<byte> u)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && Avx.IsSupported)
        {
            var vs = Vector256.Create(step);
            var half = Vector256.Create(0.5f);
            var vhi = Vector256.Create((float)hi);
            var one = Vector256.Create(1);
            Vector256<int> Codes(ReadOnlySpan<float> v)
            {
                var r = Vector256.Max(Vector256.Create(v), Vector256<float>.Zero);
                var q = Vector256.Min(Avx.RoundToNearestInteger(Avx.Subtract(Avx.Divide(r, vs), half)), vhi);
                return Vector256.ConvertToInt32(q) * 2 + one;
            }
            for (; i + 32 <= y.Length; i += 32)
            {
                var a = Vector256.Narrow(Codes(y.Slice(i, 8)).AsUInt32(), Codes(y.Slice(i + 8, 8)).AsUInt32());
                var b = Vector256.Narrow(Codes(y.Slice(i + 16, 8)).AsUInt32(), Codes(y.Slice(i + 24, 8)).AsUInt32());
                Vector256.Narrow(a, b).CopyTo(u.Slice(i, 32));
            }
        }
        for (; i < y.Length; i++)
        {
            float r = MathF.Max(y[i], 0);                                   // ReLU
            float q = MathF.Round(r / step - 0.5f);                         // half to even, ≥ 0 after the ReLU
            u[i] = (byte)(2 * (int)MathF.Min(q, hi) + 1);                   // 2v = 2c + 1
        }
    }

    /// <summary>One channel: y (float, [H·W]) → codes, pooled, into <paramref name="dest"/> ([OH·OW]).</summary>
    public void Apply(ReadOnlySpan<float> y, int channel, int h, int w, Span<byte> dest)
    {
        float step = _step[channel];
        byte[]? rented = null;
        Span<byte> u = Pool is null ? dest : (rented = ArrayPool<byte>.Shared.Rent(h * w)).AsSpan(0, h * w);
        Quantize(y[..(h * w)], step, _hi, u);
        if (Pool is var (kh, kw, sh, sw))
        {
            var (oh, ow) = OutSize(h, w);
            if (Scale[channel] >= 0) PoolPlane(u, h, w, kh, kw, sh, sw, oh, ow, dest, max: true);
            else PoolPlane(u, h, w, kh, kw, sh, sw, oh, ow, dest, max: false);
            ArrayPool<byte>.Shared.Return(rented!);
        }
    }
}

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

    /// <summary>x → the next codes ([N, O, OH', OW'] or [N, O]).</summary>
    public IntActivations Run(IntActivations x, Int8Isa isa) => Dense ? RunDense(x, isa) : RunConv(x, isa);

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

    // b's columns: the positions and room for the last 16-wide store of the last row
    private int PatchCols => Int8Gemm.PaddedCols(Positions + Int8Gemm.ColBlock);

    private IntActivations RunConv(IntActivations x, Int8Isa isa)
    {
        int n = x.N, p16 = PatchCols;
        var (ph2, pw2) = Epilogue.OutSize(OH, OW);
        var next = IntActivations.Rent(n * Out * ph2 * pw2);
        Parallelism.For(n, i =>
        {
            var b = ArrayPool<byte>.Shared.Rent(In * Taps4 * p16);
            var y = ArrayPool<float>.Shared.Rent((Out + 1) * Positions);
            try
            {
                PackPatches(x.Codes.AsSpan(i * In * H * W, In * H * W), b);
                Int8Gemm.Run(Codes, Out + 1, In, Taps4, b, Positions, x.Scale, y, isa, bCols: p16);
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
            }
        });
        return new IntActivations(next, [n, Out, ph2, pw2], Epilogue.Scale, Epilogue.Shift);
    }

    // u: [C, H, W] of one sample → b: [C, T4/4, PatchCols, 4] (zeros outside the image and in the padded taps).
    private void PackPatches(ReadOnlySpan<byte> u, byte[] b)
    {
        int p16 = PatchCols, groups = Taps4 / 4;
        if (Sh == 1 && Sw == 1 && Dh == 1 && Dw == 1 && Sse2.IsSupported)
        {
            // every position and every padded tap is written; the columns past the positions hold whatever they held,
            // and only their own (discarded) outputs read them
            PackStride1(u, b);
            return;
        }
        b.AsSpan(0, In * Taps4 * p16).Clear();
        for (int c = 0; c < In; c++)
        {
            var plane = u.Slice(c * H * W, H * W);
            for (int t = 0; t < Taps; t++)
            {
                int kh = t / Kw, kw = t % Kw;
                var dst = b.AsSpan((c * groups + t / 4) * p16 * 4 + (t & 3));
                for (int oh = 0; oh < OH; oh++)
                {
                    int ih = oh * Sh - Ph + kh * Dh;
                    if ((uint)ih >= (uint)H) continue;
                    var src = plane.Slice(ih * W, W);
                    for (int ow = 0; ow < OW; ow++)
                    {
                        int iw = ow * Sw - Pw + kw * Dw;
                        if ((uint)iw < (uint)W) dst[(oh * OW + ow) * 4] = src[iw];
                    }
                }
            }
        }
    }

    // Stride 1: each tap's row of 16 positions is a contiguous read of the zero-bordered plane; four taps are
    // interleaved into the [position][4 taps] layout with byte and word unpacks, 16 positions a store.
    private unsafe void PackStride1(ReadOnlySpan<byte> u, byte[] b)
    {
        int p16 = PatchCols, groups = Taps4 / 4, hp = H + 2 * Ph, wp = W + 2 * Pw + Int8Gemm.ColBlock;
        var padded = ArrayPool<byte>.Shared.Rent(hp * wp + Int8Gemm.ColBlock);
        try
        {
            fixed (byte* pp = padded)
            fixed (byte* pb = b)
            {
                for (int c = 0; c < In; c++)
                {
                    new Span<byte>(pp, hp * wp + Int8Gemm.ColBlock).Clear();
                    var plane = u.Slice(c * H * W, H * W);
                    for (int ih = 0; ih < H; ih++) plane.Slice(ih * W, W).CopyTo(new Span<byte>(pp + (ih + Ph) * wp + Pw, W));
                    for (int g = 0; g < groups; g++)
                    {
                        byte* dst = pb + (long)(c * groups + g) * p16 * 4;
                        // the four taps' offsets in the padded plane (−1: a padded tap, all zeros)
                        int o0 = TapOffset(4 * g, wp), o1 = TapOffset(4 * g + 1, wp), o2 = TapOffset(4 * g + 2, wp), o3 = TapOffset(4 * g + 3, wp);
                        for (int oh = 0; oh < OH; oh++)
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
                                byte* d = dst + (oh * OW + ow) * 4;
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
        finally { ArrayPool<byte>.Shared.Return(padded); }
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
