using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Quant.Integer;

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
