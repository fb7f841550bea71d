using System.Numerics.Tensors;

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
                float* y = yp + (long)pl * p;
                new Span<float>(y, (int)p).Fill(bp == null ? 0f : bp[o]);
                DepthwiseTaps(y, xp + ((long)n * g.C + c) * hw, wp + (long)o * khw, g, scatter: false);
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
