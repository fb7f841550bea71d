using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Depthwise convolution (groups == C): direct loops per plane, no GEMM.
public sealed unsafe partial class CpuBackend
{
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

    /// <summary>
    /// One plane pair through one kernel k: for every output row i, tap (kh, kw) and valid column j,
    /// outPlane[i, j] += w·inPlane[ih, j·sw + off] (gather: the forward), or with <paramref name="scatter"/>
    /// inPlane[ih, j·sw + off] += w·outPlane[i, j] (the input gradient), ih = i·sh − ph + kh·dh, off = kw·dw − pw.
    /// </summary>
    private static void DepthwiseTaps(float* outPlane, float* inPlane, float* k, Conv2dGeometry g, bool scatter)
    {
        for (int i = 0; i < g.OH; i++)
        {
            float* orow = outPlane + (long)i * g.OW;
            for (int kh = 0; kh < g.KH; kh++)
            {
                int ih = i * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)ih >= (uint)g.H) continue;
                float* irow = inPlane + (long)ih * g.W;
                for (int kw = 0; kw < g.KW; kw++)
                {
                    var (lo, hi) = ValidCols(kw, g);
                    if (lo >= hi) continue;
                    float wv = k[kh * g.KW + kw];
                    float* at = irow + kw * g.DilationW - g.PadW;
                    if (g.StrideW == 1)
                    {
                        var o = new Span<float>(orow + lo, hi - lo);
                        var x = new Span<float>(at + lo, hi - lo);
                        if (scatter) TensorPrimitives.MultiplyAdd(o, wv, x, x);
                        else TensorPrimitives.MultiplyAdd(x, wv, o, o);
                    }
                    else if (scatter) for (int j = lo; j < hi; j++) at[j * g.StrideW] += wv * orow[j];
                    else for (int j = lo; j < hi; j++) orow[j] += wv * at[j * g.StrideW];
                }
            }
        }
    }

    /// <summary>
    /// The batch norm (and activation) a depthwise forward applies to each output plane as soon as it is written:
    /// (y − mean[o])·scale[o] + shift[o] with scale = invStd·γ and shift = β, rounded as BatchNormForward rounds them.
    /// </summary>
    private readonly struct PlaneNorm(float* mean, float* scale, float* shift, FusedActivation? activation)
    {
        public readonly float* Mean = mean, Scale = scale, Shift = shift;
        public readonly FusedActivation? Activation = activation;
    }

    /// <summary>y[n, o] = x[n, o / M] ⋆ w[o] (+ bias[o]) with M = O / C output channels per input channel, then <paramref name="norm"/> per plane.</summary>
    private static void DepthwiseForward(float* xp, float* wp, float* bp, float* yp, Conv2dGeometry g, PlaneNorm? norm = null)
    {
        int mult = g.OPerGroup, planes = g.N * g.O, khw = g.KH * g.KW;
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        bool rows = Fma.IsSupported && Avx2.IsSupported && g.StrideW <= 2 && g.DilationW == 1 && khw <= 64;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                int n = pl / g.O, o = pl % g.O, c = o / mult;
                float* y = yp + (long)pl * p;
                if (rows) DepthwisePlaneByRows(y, xp + ((long)n * g.C + c) * hw, wp + (long)o * khw, bp == null ? 0f : bp[o], g);
                else
                {
                    new Span<float>(y, (int)p).Fill(bp == null ? 0f : bp[o]);
                    DepthwiseTaps(y, xp + ((long)n * g.C + c) * hw, wp + (long)o * khw, g, scatter: false);
                }
                if (norm is { } nm)
                {
                    AffinePlane(y, y, (int)p, nm.Mean[o], nm.Scale[o], nm.Shift[o]);
                    if (nm.Activation is { } a) ClampPlane(y, p, a == FusedActivation.Relu6 ? 6f : float.PositiveInfinity);
                }
            }
        }
        int chunks = ChunksFor(planes, planes * p * khw);
        if (chunks == 1) Planes(0, planes);
        else ForChunks(planes, chunks, (_, s, e) => Planes(s, e));
    }

    /// <summary>
    /// One output plane of a depthwise convolution with column stride 1 or 2 and no column dilation, each output
    /// written once: eight columns at a time in a register, the taps in (kh, kw) order by fused multiply-adds from
    /// the bias, read by loads where every tap of the eight lies inside the row (contiguous for stride 1, the even
    /// lanes of sixteen floats for stride 2), the border columns one by one the same way. (Row-wide multiply-adds
    /// per tap, the general path, took half of MobileNetV2's batch-8 224² inference: 31 ms of 61 on Zen 5.)
    /// </summary>
    private static void DepthwisePlaneByRows(float* y, float* x, float* k, float bias, Conv2dGeometry g)
    {
        int sw = g.StrideW, kw = g.KW, width = g.W, pad = g.PadW, ow = g.OW;
        Vector256<float>* wv = stackalloc Vector256<float>[g.KH * kw];
        for (int t = 0; t < g.KH * kw; t++) wv[t] = Vector256.Create(k[t]);
        // interior groups start in [jLo, jFit]: the first tap column j·sw − pw ≥ 0, the last float loaded inside the row
        int jLo = (pad + sw - 1) / sw;
        int jFit = Math.Min(ow - 8, sw == 1 ? width - kw - 7 + pad : (width - kw - 15 + pad) >> 1);
        for (int i = 0; i < g.OH; i++)
        {
            float* orow = y + (long)i * ow;
            int ih0 = i * g.StrideH - g.PadH;
            int khLo = 0, khHi = g.KH;                                           // kernel rows inside the plane
            while (khLo < khHi && ih0 + khLo * g.DilationH < 0) khLo++;
            while (khHi > khLo && ih0 + (khHi - 1) * g.DilationH >= g.H) khHi--;
            float Point(int j)
            {
                float acc = bias;
                for (int kh = khLo; kh < khHi; kh++)
                {
                    float* row = x + (long)(ih0 + kh * g.DilationH) * width;
                    for (int t = 0; t < kw; t++)
                    {
                        int iw = j * sw - pad + t;
                        if ((uint)iw < (uint)width) acc = MathF.FusedMultiplyAdd(row[iw], k[kh * kw + t], acc);
                    }
                }
                return acc;
            }
            void Group(int j)
            {
                var acc = Vector256.Create(bias);
                for (int kh = khLo; kh < khHi; kh++)
                {
                    float* row = x + (long)(ih0 + kh * g.DilationH) * width + j * sw - pad;
                    Vector256<float>* w = wv + kh * kw;
                    for (int t = 0; t < kw; t++)
                    {
                        var v = sw == 1 ? Avx.LoadVector256(row + t) : StridedLoads.Even8(row + t);
                        acc = Fma.MultiplyAdd(v, w[t], acc);
                    }
                }
                acc.Store(orow + j);
            }
            int j = 0;
            if (jFit >= jLo)
            {
                for (; j < jLo; j++) orow[j] = Point(j);
                for (; j <= jFit; j += 8) Group(j);
                if (j - 8 < jFit) { Group(jFit); j = jFit + 8; }                 // an overlapping last group
            }
            for (; j < ow; j++) orow[j] = Point(j);
        }
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
                    DepthwiseTaps(dyp + ((long)n * g.O + o) * p, dx, wp + (long)o * khw, g, scatter: true);
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
