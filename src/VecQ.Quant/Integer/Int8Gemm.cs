using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Quant.Integer;

/// <summary>The instruction sets <see cref="Int8Gemm"/> can run on.</summary>
public enum Int8Isa
{
    /// <summary>Plain C#: the reference the vector kernels are tested against (bit-identical results).</summary>
    Scalar,

    /// <summary>AVX2: bytes widened to int16 and multiplied pairwise into int32 (<c>vpmovzxbw</c>, <c>vpmaddwd</c>, <c>vphaddd</c>).</summary>
    Avx2,

    /// <summary>AVX-VNNI / AVX512-VNNI on 256-bit vectors: four u8 × s8 products summed into each int32 lane (<c>vpdpbusd</c>).</summary>
    Vnni256,

    /// <summary>
    /// AVX-512BW on 512-bit vectors: u8 × s8 products summed pairwise into int16 (<c>vpmaddubsw</c>), the pairs into int32
    /// (<c>vpmaddwd</c>). Exact only while every |a| ≤ <see cref="Int8Gemm.PairwiseMaxCode"/> (a pair of products then fits
    /// int16 without saturating): VecQ's codes up to 6 bits. For CPUs with AVX-512 but without the VEX-encoded AVX-VNNI that
    /// .NET exposes (AMD Zen 4).
    /// </summary>
    Avx512Bw,
}

/// <summary>
/// The integer product under every quantized layer of <see cref="QuantizedModel"/>: an int8 × uint8 → int32 GEMM whose
/// reduction is cut into segments (one per input channel), each segment's exact integer sum scaled by that segment's
/// own float factor and accumulated in float32:
/// <code>
/// out[o, p] = Σ_c scale[c] · (float) Σ_t a[o, c, t] · b[c, t, p]      (a: signed codes, b: unsigned activation codes)
/// </code>
/// The segments are what keeps integer inference exact for VecQ's models: a layer's input is an integer grid times a
/// factor per input channel (the activation quantizer's per-channel scale and the batch norm after it), so only the
/// sums within one channel are integer; the int32 sums never overflow (|a| ≤ 128, b ≤ 255, at most 2^16 taps).
/// </summary>
/// <remarks>
/// Layouts (zero padding is part of the layout, so no kernel has a tail):
/// <list type="bullet">
/// <item><c>a</c>: [O4, C, T4] sbyte, O4 = O rounded up to 4 rows, T4 = taps per segment rounded up to 4.</item>
/// <item><c>b</c>: [C, T4/4, P16, 4] byte, P16 = P rounded up to 16 columns: for each segment and group of four taps,
/// the columns side by side with their four taps together (what <c>vpdpbusd</c> reads).</item>
/// </list>
/// The float accumulation is one fused multiply-add per segment in every ISA, in the same order, so all four give
/// the same bits (<see cref="Int8Isa.Avx512Bw"/> for the codes it takes: |a| ≤ <see cref="Int8Gemm.PairwiseMaxCode"/>).
/// </remarks>
/// <example><code>
/// var outp = new float[o * p];
/// Int8Gemm.Run(a, o, c, t4, b, p, scale, outp, Int8Gemm.For(Int8Gemm.Best, Int8Gemm.MaxAbs(a)));
/// </code></example>
public static class Int8Gemm
{
    /// <summary>Rows of a block (output channels).</summary>
    public const int RowBlock = 4;

    /// <summary>Columns of a block (output positions).</summary>
    public const int ColBlock = 16;

    /// <summary>
    /// The fastest ISA this CPU runs. <see cref="Int8Isa.Avx512Bw"/> (chosen where AVX-512BW is and AVX-VNNI is not) takes
    /// only codes up to <see cref="PairwiseMaxCode"/>: pass a layer's codes through <see cref="For"/>.
    /// </summary>
    public static Int8Isa Best { get; } = AvxVnni.IsSupported ? Int8Isa.Vnni256 : Avx512BwAccelerated ? Int8Isa.Avx512Bw : Avx2.IsSupported ? Int8Isa.Avx2 : Int8Isa.Scalar;

    /// <summary>The largest |a| <see cref="Int8Isa.Avx512Bw"/> takes: 255·64 + 255·64 = 32640 ≤ 32767, no int16 saturation.</summary>
    public const int PairwiseMaxCode = 64;

    private static bool Avx512BwAccelerated => Avx512BW.IsSupported && Vector512.IsHardwareAccelerated && Fma.IsSupported;

    /// <summary>
    /// The ISA to run a layer whose codes reach <paramref name="maxAbsCode"/> on, given the preferred <paramref name="isa"/>:
    /// <see cref="Int8Isa.Avx512Bw"/> gives way to AVX2 (the same bits) when a code is beyond <see cref="PairwiseMaxCode"/>.
    /// </summary>
    /// <example><code>var isa = Int8Gemm.For(Int8Gemm.Best, Int8Gemm.MaxAbs(codes));</code></example>
    public static Int8Isa For(Int8Isa isa, int maxAbsCode) =>
        isa == Int8Isa.Avx512Bw && maxAbsCode > PairwiseMaxCode ? (Avx2.IsSupported && Fma.IsSupported ? Int8Isa.Avx2 : Int8Isa.Scalar) : isa;

    /// <summary>The largest |a| of some codes (128 for −128).</summary>
    /// <example><code>int m = Int8Gemm.MaxAbs(codes);</code></example>
    public static int MaxAbs(ReadOnlySpan<sbyte> a)
    {
        if (a.IsEmpty) return 0;
        int lo = System.Numerics.Tensors.TensorPrimitives.Min(a), hi = System.Numerics.Tensors.TensorPrimitives.Max(a);
        return Math.Max(-lo, hi);
    }

    /// <summary>True when <paramref name="isa"/> can run here.</summary>
    /// <example><code>if (Int8Gemm.IsSupported(Int8Isa.Vnni256)) …</code></example>
    public static bool IsSupported(Int8Isa isa) => isa switch
    {
        Int8Isa.Scalar => true,
        Int8Isa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        Int8Isa.Vnni256 => AvxVnni.IsSupported && Fma.IsSupported,
        Int8Isa.Avx512Bw => Avx512BwAccelerated,
        _ => false,
    };

    /// <summary>O rounded up to <see cref="RowBlock"/>.</summary>
    public static int PaddedRows(int rows) => (rows + RowBlock - 1) / RowBlock * RowBlock;

    /// <summary>P rounded up to <see cref="ColBlock"/>.</summary>
    public static int PaddedCols(int cols) => (cols + ColBlock - 1) / ColBlock * ColBlock;

    /// <summary>Taps rounded up to 4.</summary>
    public static int PaddedTaps(int taps) => (taps + 3) & ~3;

    /// <summary>
    /// out[o, p] (row stride <paramref name="cols"/>) = Σ_c scale[c] · Σ_t a[o, c, t]·b[c, t, p] for o &lt; rows, p &lt; cols,
    /// in the layouts of the class remarks; <paramref name="rowBegin"/>/<paramref name="rowEnd"/> (multiples of 4) pick a
    /// band of rows so callers can split the work; <paramref name="bCols"/> is b's column count (a multiple of 16, at least
    /// cols; 0: cols rounded up to 16) and <paramref name="ldOut"/> the output's row stride (0: cols), so a caller can fill
    /// a wider output a band of columns at a time.
    /// </summary>
    /// <exception cref="ArgumentException">Spans shorter than the layouts, or an ISA this CPU lacks.</exception>
    public static void Run(ReadOnlySpan<sbyte> a, int rows, int segments, int taps4, ReadOnlySpan<byte> b, int cols,
        ReadOnlySpan<float> scale, Span<float> output, Int8Isa isa, int rowBegin = 0, int rowEnd = -1, int bCols = 0, int ldOut = 0)
    {
        int rows4 = PaddedRows(rows), cols16 = bCols == 0 ? PaddedCols(cols) : bCols;
        if (ldOut == 0) ldOut = cols;
        if (ldOut < cols) throw new ArgumentException($"int8 gemm: output row stride {ldOut} is less than the {cols} columns");
        if (cols16 % ColBlock != 0 || cols16 < cols) throw new ArgumentException($"int8 gemm: b's {cols16} columns must be a multiple of {ColBlock} and at least {cols}");
        if (rowEnd < 0) rowEnd = rows4;
        if (taps4 <= 0 || taps4 % 4 != 0) throw new ArgumentException($"int8 gemm: taps {taps4} must be a positive multiple of 4");
        if (a.Length < (long)rows4 * segments * taps4) throw new ArgumentException($"int8 gemm: a holds {a.Length} codes; [{rows4}, {segments}, {taps4}] needs {(long)rows4 * segments * taps4}");
        if (b.Length < (long)segments * taps4 * cols16) throw new ArgumentException($"int8 gemm: b holds {b.Length} bytes; [{segments}, {taps4 / 4}, {cols16}, 4] needs {(long)segments * taps4 * cols16}");
        if (scale.Length < segments) throw new ArgumentException($"int8 gemm: {scale.Length} segment scales for {segments} segments");
        if (output.Length < (long)(rows - 1) * ldOut + cols) throw new ArgumentException($"int8 gemm: output holds {output.Length}; {rows} rows of {cols} at stride {ldOut} need {(long)(rows - 1) * ldOut + cols}");
        if (rowBegin < 0 || rowBegin % RowBlock != 0 || rowEnd > rows4 || rowEnd % RowBlock != 0 || rowBegin > rowEnd) throw new ArgumentException($"int8 gemm: row band [{rowBegin}, {rowEnd}) must be in blocks of {RowBlock} within {rows4}");
        if (!IsSupported(isa)) throw new ArgumentException($"int8 gemm: this CPU cannot run {isa}");
        if (isa == Int8Isa.Avx512Bw)
        {
            var band = a.Slice((int)((long)rowBegin * segments * taps4), (int)((long)(rowEnd - rowBegin) * segments * taps4));
            if (MaxAbs(band) is int m && m > PairwiseMaxCode)
                throw new ArgumentException($"int8 gemm: a code of magnitude {m} is beyond Avx512Bw's {PairwiseMaxCode} (its int16 pairs would saturate); choose the ISA with Int8Gemm.For");
        }
        if (isa == Int8Isa.Scalar)
        {
            Scalar(a, rows, segments, taps4, b, cols, cols16, scale, output, ldOut, rowBegin, rowEnd);
            return;
        }
        unsafe
        {
            fixed (sbyte* pa = a)
            fixed (byte* pb = b)
            fixed (float* ps = scale)
            fixed (float* po = output)
            {
                var block = stackalloc float[RowBlock * ColBlock];
                for (int p0 = 0; p0 < cols; p0 += ColBlock)
                    for (int o0 = rowBegin; o0 < rowEnd; o0 += RowBlock)
                    {
                        if (isa == Int8Isa.Vnni256) BlockVnni(pa + (long)o0 * segments * taps4, segments, taps4, pb + p0 * 4, cols16, ps, block);
                        else if (isa == Int8Isa.Avx512Bw) BlockAvx512Bw(pa + (long)o0 * segments * taps4, segments, taps4, pb + p0 * 4, cols16, ps, block);
                        else BlockAvx2(pa + (long)o0 * segments * taps4, segments, taps4, pb + p0 * 4, cols16, ps, block);
                        int nr = Math.Min(RowBlock, rows - o0), nc = Math.Min(ColBlock, cols - p0);
                        for (int r = 0; r < nr; r++)
                            new ReadOnlySpan<float>(block + r * ColBlock, nc).CopyTo(new Span<float>(po + (long)(o0 + r) * ldOut + p0, nc));
                    }
            }
        }
    }

    private static void Scalar(ReadOnlySpan<sbyte> a, int rows, int segments, int taps4, ReadOnlySpan<byte> b, int cols, int cols16,
        ReadOnlySpan<float> scale, Span<float> output, int ldOut, int rowBegin, int rowEnd)
    {
        for (int o = rowBegin; o < Math.Min(rowEnd, rows); o++)
            for (int p = 0; p < cols; p++)
            {
                float f = 0;
                for (int c = 0; c < segments; c++)
                {
                    int sum = 0;
                    for (int t = 0; t < taps4; t++)
                        sum += a[(o * segments + c) * taps4 + t] * b[((c * (taps4 / 4) + t / 4) * cols16 + p) * 4 + (t & 3)];
                    f = MathF.FusedMultiplyAdd(sum, scale[c], f);
                }
                output[o * ldOut + p] = f;
            }
    }

    // One 4 × 16 block: a at its first row (row stride segments·taps4), b at its first column (group stride cols16·4 bytes).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BlockVnni(sbyte* a, int segments, int taps4, byte* b, int cols16, float* scale, float* block)
    {
        long rowStride = (long)segments * taps4, group = cols16 * 4;
        Vector256<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        for (int c = 0; c < segments; c++)
        {
            Vector256<int> i00 = default, i01 = default, i10 = default, i11 = default, i20 = default, i21 = default, i30 = default, i31 = default;
            sbyte* ac = a + (long)c * taps4;
            byte* bc = b + (long)c * (taps4 / 4) * group;
            for (int t = 0; t < taps4; t += 4, bc += group)
            {
                var b0 = Avx.LoadVector256(bc);                                        // columns 0–7, four taps each
                var b1 = Avx.LoadVector256(bc + 32);                                   // columns 8–15
                var w0 = Vector256.Create(*(int*)(ac + t)).AsSByte();                   // row 0's four taps, every lane
                var w1 = Vector256.Create(*(int*)(ac + rowStride + t)).AsSByte();
                var w2 = Vector256.Create(*(int*)(ac + 2 * rowStride + t)).AsSByte();
                var w3 = Vector256.Create(*(int*)(ac + 3 * rowStride + t)).AsSByte();
                i00 = AvxVnni.MultiplyWideningAndAdd(i00, b0, w0); i01 = AvxVnni.MultiplyWideningAndAdd(i01, b1, w0);
                i10 = AvxVnni.MultiplyWideningAndAdd(i10, b0, w1); i11 = AvxVnni.MultiplyWideningAndAdd(i11, b1, w1);
                i20 = AvxVnni.MultiplyWideningAndAdd(i20, b0, w2); i21 = AvxVnni.MultiplyWideningAndAdd(i21, b1, w2);
                i30 = AvxVnni.MultiplyWideningAndAdd(i30, b0, w3); i31 = AvxVnni.MultiplyWideningAndAdd(i31, b1, w3);
            }
            var s = Vector256.Create(scale[c]);
            f00 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i00), s, f00); f01 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i01), s, f01);
            f10 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i10), s, f10); f11 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i11), s, f11);
            f20 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i20), s, f20); f21 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i21), s, f21);
            f30 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i30), s, f30); f31 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i31), s, f31);
        }
        Store(block, f00, f01, f10, f11, f20, f21, f30, f31);
    }

    // The same block on AVX2: each group of four taps as two int16 products summed pairwise (vpmaddwd), the pairs of a
    // column joined by vphaddd. vphaddd leaves the columns of a vector in the order 0 1 4 5 2 3 6 7; the int32 sums are
    // put back in order (vpermq) before they are scaled, so the float work is the VNNI kernel's, bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BlockAvx2(sbyte* a, int segments, int taps4, byte* b, int cols16, float* scale, float* block)
    {
        long rowStride = (long)segments * taps4, group = cols16 * 4;
        Vector256<float> f00 = default, f01 = default, f10 = default, f11 = default, f20 = default, f21 = default, f30 = default, f31 = default;
        for (int c = 0; c < segments; c++)
        {
            Vector256<int> i00 = default, i01 = default, i10 = default, i11 = default, i20 = default, i21 = default, i30 = default, i31 = default;
            sbyte* ac = a + (long)c * taps4;
            byte* bc = b + (long)c * (taps4 / 4) * group;
            for (int t = 0; t < taps4; t += 4, bc += group)
            {
                var b00 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(bc));        // columns 0–3 as int16, taps together
                var b01 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(bc + 16));   // columns 4–7
                var b10 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(bc + 32));   // columns 8–11
                var b11 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(bc + 48));   // columns 12–15
                i00 = Dot(i00, b00, b01, Taps16(ac + t)); i01 = Dot(i01, b10, b11, Taps16(ac + t));
                i10 = Dot(i10, b00, b01, Taps16(ac + rowStride + t)); i11 = Dot(i11, b10, b11, Taps16(ac + rowStride + t));
                i20 = Dot(i20, b00, b01, Taps16(ac + 2 * rowStride + t)); i21 = Dot(i21, b10, b11, Taps16(ac + 2 * rowStride + t));
                i30 = Dot(i30, b00, b01, Taps16(ac + 3 * rowStride + t)); i31 = Dot(i31, b10, b11, Taps16(ac + 3 * rowStride + t));
            }
            var s = Vector256.Create(scale[c]);
            f00 = Fma.MultiplyAdd(InOrder(i00), s, f00); f01 = Fma.MultiplyAdd(InOrder(i01), s, f01);
            f10 = Fma.MultiplyAdd(InOrder(i10), s, f10); f11 = Fma.MultiplyAdd(InOrder(i11), s, f11);
            f20 = Fma.MultiplyAdd(InOrder(i20), s, f20); f21 = Fma.MultiplyAdd(InOrder(i21), s, f21);
            f30 = Fma.MultiplyAdd(InOrder(i30), s, f30); f31 = Fma.MultiplyAdd(InOrder(i31), s, f31);
        }
        Store(block, f00, f01, f10, f11, f20, f21, f30, f31);
    }

    // The same block on AVX-512BW: a row's sixteen columns in one vector; each group of four taps as u8 × s8 pairs summed
    // into int16 (vpmaddubsw: exact for |a| ≤ PairwiseMaxCode) and the two pairs of a column into int32 (vpmaddwd by 1).
    // The float work per lane is the VNNI kernel's (convert, one FMA per segment), so the bits are the same.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BlockAvx512Bw(sbyte* a, int segments, int taps4, byte* b, int cols16, float* scale, float* block)
    {
        long rowStride = (long)segments * taps4, group = cols16 * 4;
        var ones = Vector512.Create((short)1);
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (int c = 0; c < segments; c++)
        {
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            sbyte* ac = a + (long)c * taps4;
            byte* bc = b + (long)c * (taps4 / 4) * group;
            for (int t = 0; t < taps4; t += 4, bc += group)
            {
                var bz = Vector512.Load(bc);                                           // 16 columns × 4 taps (u8)
                var w0 = Vector512.Create(*(int*)(ac + t)).AsSByte();                   // row 0's four taps, every column
                var w1 = Vector512.Create(*(int*)(ac + rowStride + t)).AsSByte();
                var w2 = Vector512.Create(*(int*)(ac + 2 * rowStride + t)).AsSByte();
                var w3 = Vector512.Create(*(int*)(ac + 3 * rowStride + t)).AsSByte();
                i0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(bz, w0), ones);
                i1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(bz, w1), ones);
                i2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(bz, w2), ones);
                i3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(bz, w3), ones);
            }
            var s = Vector512.Create(scale[c]);
            f0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i0), s, f0); f1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i1), s, f1);
            f2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i2), s, f2); f3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(i3), s, f3);
        }
        f0.Store(block); f1.Store(block + 16); f2.Store(block + 32); f3.Store(block + 48);
    }

    // four signed codes as int16 (w0 w1 w2 w3) repeated over the vector
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<short> Taps16(sbyte* w) =>
        Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(*(int*)w).AsSByte()).AsInt64()).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot(Vector256<int> acc, Vector256<short> lo, Vector256<short> hi, Vector256<short> w) =>
        Avx2.Add(acc, Avx2.HorizontalAdd(Avx2.MultiplyAddAdjacent(lo, w), Avx2.MultiplyAddAdjacent(hi, w)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> InOrder(Vector256<int> v) => Avx.ConvertToVector256Single(Avx2.Permute4x64(v.AsInt64(), 0b11_01_10_00).AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* block, Vector256<float> f00, Vector256<float> f01, Vector256<float> f10, Vector256<float> f11,
        Vector256<float> f20, Vector256<float> f21, Vector256<float> f30, Vector256<float> f31)
    {
        Avx.Store(block, f00); Avx.Store(block + 8, f01);
        Avx.Store(block + 16, f10); Avx.Store(block + 24, f11);
        Avx.Store(block + 32, f20); Avx.Store(block + 40, f21);
        Avx.Store(block + 48, f30); Avx.Store(block + 56, f31);
    }
}
