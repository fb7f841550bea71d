using System.Buffers;
using VecQ.Tensors;

namespace VecQ.Quant.Integer;

/// <summary>
/// Activations between two integer stages: the activation quantizer's codes as odd bytes u = 2v (v = c + ½, so u = 2c + 1
/// in [1, 2^k − 1]; 0 only in padding) and, per channel, the affine map the batch norm after the quantizer applies:
/// z = Scale[c]·u + Shift[c] is the float value the fake-quantized model feeds the next layer.
/// </summary>
/// <param name="Codes">u: [N, C, H, W] (or [N, C] after a dense layer), row-major.</param>
/// <param name="Shape">[N, C, H, W] or [N, C].</param>
/// <param name="Scale">Per channel: a_c·γ_c / (2·√(var_c + ε)).</param>
/// <param name="Shift">Per channel: β_c − γ_c·mean_c / √(var_c + ε).</param>
internal sealed record IntActivations(byte[] Codes, int[] Shape, float[] Scale, float[] Shift)
{
    public int N => Shape[0];
    public int C => Shape[1];
    public int Spatial => Shape.Length == 4 ? Shape[2] * Shape[3] : 1;

    /// <summary>z = Scale·u + Shift as float32 [N, C·H·W] (the dense layers that need float input).</summary>
    public float[] Dequantize()
    {
        int n = N, c = C, s = Spatial;
        var z = new float[(long)n * c * s];
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

    /// <summary>One channel: y (float, [H·W]) → codes, pooled, into <paramref name="dest"/> ([OH·OW]).</summary>
    public void Apply(ReadOnlySpan<float> y, int channel, int h, int w, Span<byte> dest)
    {
        float step = _step[channel];
        byte[]? rented = null;
        Span<byte> u = Pool is null ? dest : (rented = ArrayPool<byte>.Shared.Rent(h * w)).AsSpan(0, h * w);
        for (int i = 0; i < h * w; i++)
        {
            float r = MathF.Max(y[i], 0);                                   // ReLU
            float q = MathF.Round(r / step - 0.5f);                         // half to even, ≥ 0 after the ReLU
            u[i] = (byte)(2 * (int)MathF.Min(q, _hi) + 1);                  // 2v = 2c + 1
        }
        if (Pool is var (kh, kw, sh, sw))
        {
            bool rising = Scale[channel] >= 0;
            var (oh, ow) = OutSize(h, w);
            for (int a = 0; a < oh; a++)
                for (int b = 0; b < ow; b++)
                {
                    int best = rising ? 0 : 255;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++)
                        {
                            int v = u[(a * sh + i) * w + b * sw + j];
                            best = rising ? Math.Max(best, v) : Math.Min(best, v);
                        }
                    dest[a * ow + b] = (byte)best;
                }
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
    public required sbyte[] Codes;             // [O4, C, T4]
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

    private IntActivations RunConv(IntActivations x, Int8Isa isa)
    {
        int n = x.N, p16 = Int8Gemm.PaddedCols(Positions);
        var (ph2, pw2) = Epilogue.OutSize(OH, OW);
        var next = new byte[(long)n * Out * ph2 * pw2];
        Parallelism.For(n, i =>
        {
            var b = ArrayPool<byte>.Shared.Rent(In * Taps4 * p16);
            var y = ArrayPool<float>.Shared.Rent(Out * Positions);
            var g = ArrayPool<float>.Shared.Rent(Positions);
            try
            {
                PackPatches(x.Codes.AsSpan(i * In * H * W, In * H * W), x.Scale, b, g);
                Int8Gemm.Run(Codes, Out, In, Taps4, b, Positions, x.Scale, y, isa);
                for (int o = 0; o < Out; o++)
                {
                    var row = y.AsSpan(o * Positions, Positions);
                    var bias = Bias.AsSpan(o * Positions, Positions);
                    float a = Alpha[o];
                    for (int p = 0; p < Positions; p++) row[p] = MathF.FusedMultiplyAdd(a, MathF.FusedMultiplyAdd(CodeOffset, g[p], row[p]), bias[p]);
                    Epilogue.Apply(row, o, OH, OW, next.AsSpan((i * Out + o) * ph2 * pw2, ph2 * pw2));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(b);
                ArrayPool<float>.Shared.Return(y);
                ArrayPool<float>.Shared.Return(g);
            }
        });
        return new IntActivations(next, [n, Out, ph2, pw2], Epilogue.Scale, Epilogue.Shift);
    }

    // u: [C, H, W] of one sample → b: [C, T4/4, P16, 4] (zeros outside the image and in the padded taps and columns);
    // g[p] = Σ_c s_c·Σ_t u[c, t, p], the sums the code offset multiplies.
    private void PackPatches(ReadOnlySpan<byte> u, float[] scale, byte[] b, float[] g)
    {
        int p16 = Int8Gemm.PaddedCols(Positions), groups = Taps4 / 4;
        b.AsSpan(0, In * Taps4 * p16).Clear();
        g.AsSpan(0, Positions).Clear();
        var colSum = ArrayPool<int>.Shared.Rent(Positions);
        try
        {
            for (int c = 0; c < In; c++)
            {
                colSum.AsSpan(0, Positions).Clear();
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
                        int rowP = oh * OW;
                        for (int ow = 0; ow < OW; ow++)
                        {
                            int iw = ow * Sw - Pw + kw * Dw;
                            if ((uint)iw >= (uint)W) continue;
                            byte v = src[iw];
                            dst[(rowP + ow) * 4] = v;
                            colSum[rowP + ow] += v;
                        }
                    }
                }
                float s = scale[c];
                for (int p = 0; p < Positions; p++) g[p] = MathF.FusedMultiplyAdd(s, colSum[p], g[p]);
            }
        }
        finally { ArrayPool<int>.Shared.Return(colSum); }
    }

    private IntActivations RunDense(IntActivations x, Int8Isa isa)
    {
        // x: [N, C, S] read as N columns of C segments of S taps
        int n = x.N, s = x.Spatial, n16 = Int8Gemm.PaddedCols(n), groups = Taps4 / 4;
        var b = new byte[(long)In * Taps4 * n16];
        var g = new float[n];
        for (int i = 0; i < n; i++)
        {
            float gi = 0;
            for (int c = 0; c < In; c++)
            {
                int sum = 0, src = (i * In + c) * s;
                for (int t = 0; t < s; t++)
                {
                    byte v = x.Codes[src + t];
                    b[((c * groups + t / 4) * n16 + i) * 4 + (t & 3)] = v;
                    sum += v;
                }
                gi = MathF.FusedMultiplyAdd(x.Scale[c], sum, gi);
            }
            g[i] = gi;
        }
        var y = new float[(long)Out * n];                                          // [O, N]
        int bands = Int8Gemm.PaddedRows(Out) / Int8Gemm.RowBlock;
        int per = Math.Max(1, (bands + 4 * Parallelism.Threads - 1) / (4 * Parallelism.Threads));
        Parallelism.For((bands + per - 1) / per, k =>
            Int8Gemm.Run(Codes, Out, In, Taps4, b, n, x.Scale, y, isa, k * per * Int8Gemm.RowBlock, Math.Min(bands, (k + 1) * per) * Int8Gemm.RowBlock));
        var next = new byte[(long)n * Out];
        var row = new float[n];
        var codes = new byte[n];
        for (int o = 0; o < Out; o++)
        {
            float a = Alpha[o], bias = Bias[o];
            for (int i = 0; i < n; i++) row[i] = MathF.FusedMultiplyAdd(a, MathF.FusedMultiplyAdd(CodeOffset, g[i], y[(long)o * n + i]), bias);
            Epilogue.Apply(row, o, 1, n, codes);                                 // no pool after a dense layer
            for (int i = 0; i < n; i++) next[(long)i * Out + o] = codes[i];
        }
        return new IntActivations(next, [n, Out], Epilogue.Scale, Epilogue.Shift);
    }
}
