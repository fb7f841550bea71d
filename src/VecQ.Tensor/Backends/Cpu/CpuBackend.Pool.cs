using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Max / average pooling (NCHW, contiguous), parallel over the N·C planes. Window rows and columns are
// clipped to the input first, so the inner loops never test bounds: padding counts as −∞ for max
// pooling (never selected) and as 0 for average pooling, whose divisor is always KH·KW.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    {
        if (NotF32(x)) { Reference.MaxPool2d(x, g, y, indices); return; } // float64: the reference backend
        // x: [N, C, H, W] → y, indices (int32, h·W + w in the plane): [N, C, OH, OW]
        float* xp = Ptr(x), yp = Ptr(y);
        int* ip = IntPtr(indices);
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        bool pairs = g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                if (pairs) MaxPlane2x2(xp + pl * hw, yp + pl * p, ip + pl * p, g.W, g.OH, g.OW);
                else MaxPlane(xp + pl * hw, yp + pl * p, ip + pl * p, g);
            }
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * p * g.KH * g.KW, Planes);
    }

    /// <summary>
    /// One plane of a max pool: each output takes the first largest element of its (clipped) window;
    /// NaN wins over any number (the first NaN).
    /// </summary>
    private static void MaxPlane(float* plane, float* yo, int* io, in Pool2dGeometry g)
    {
        int width = g.W, height = g.H;
        // output columns whose windows lie inside the plane's width: [jLo, jHi), eight at a time by gathers
        int jLo = Math.Min(g.OW, (g.PadW + g.StrideW - 1) / g.StrideW);
        int jHi = Math.Max(jLo, Math.Min(g.OW, (width - g.KW + g.PadW) / g.StrideW + 1));
        bool gather = Avx2.IsSupported && jHi - jLo >= 8;
        // strides 1 and 2 read their candidates with plain loads instead of gathers (MaxEightLoaded), up to the last
        // group start jFit whose loads stay inside the row (stride 2 reads one float past its last candidate)
        bool loads = gather && g.StrideW <= 2;
        int jFit = g.StrideW == 1 ? jHi - 8 : Math.Min(jHi - 8, (width - g.KW - 15 + g.PadW) >> 1);
        for (int i = 0; i < g.OH; i++)
        {
            int h0 = i * g.StrideH - g.PadH;
            int ha = Math.Max(h0, 0), hb = Math.Min(h0 + g.KH, height);
            int j = 0;
            if (loads && jFit >= jLo)
            {
                for (; j < jLo; j++) MaxAt(plane, yo, io, g, i, j, ha, hb);
                for (; j <= jFit; j += 8) MaxEightLoaded(plane, yo + (long)i * g.OW + j, io + (long)i * g.OW + j, g, j, ha, hb);
                if (j - 8 < jFit) { j = jFit; MaxEightLoaded(plane, yo + (long)i * g.OW + j, io + (long)i * g.OW + j, g, j, ha, hb); j += 8; }   // overlapping last group
            }
            else if (gather)
            {
                for (; j < jLo; j++) MaxAt(plane, yo, io, g, i, j, ha, hb);
                for (; j + 8 <= jHi; j += 8) MaxEight(plane, yo + (long)i * g.OW + j, io + (long)i * g.OW + j, g, j, ha, hb);
            }
            for (; j < g.OW; j++) MaxAt(plane, yo, io, g, i, j, ha, hb);
        }
    }

    /// <summary>
    /// Outputs (i, j … j + 7) of a max pool whose windows lie inside the plane's width: the window's elements
    /// gathered in row-major order (the order of <see cref="MaxAt"/>), value and index selected by <see cref="TakeMask"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaxEight(float* plane, float* yo, int* io, in Pool2dGeometry g, int j, int ha, int hb)
    {
        int width = g.W;
        var cols = (Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) + Vector256.Create(j)) * g.StrideW - Vector256.Create(g.PadW);   // w0 per lane
        var best = Vector256.Create(float.NegativeInfinity);
        var at = cols + Vector256.Create(ha * width);    // the first element wins when nothing beats −∞
        for (int h = ha; h < hb; h++)
        {
            float* row = plane + (long)h * width;
            var rowAt = Vector256.Create(h * width);
            for (int kw = 0; kw < g.KW; kw++)
            {
                var idx = cols + Vector256.Create(kw);
                var v = Avx2.GatherVector256(row, idx, 4);
                var take = Vector256.GreaterThan(v, best) | Vector256.AndNot(Vector256.Equals(best, best), Vector256.Equals(v, v));
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), idx + rowAt, at);
            }
        }
        best.Store(yo);
        at.Store(io);
    }

    /// <summary>
    /// <see cref="MaxEight"/> for column strides 1 and 2, where the eight candidates of a tap are one load (stride 1)
    /// or the even lanes of sixteen consecutive floats (stride 2): gathers made ResNet's 3×3/2 stem pool 11.7 ms
    /// of a 100 ms batch-8 inference on Zen 5. The caller keeps every load inside the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaxEightLoaded(float* plane, float* yo, int* io, in Pool2dGeometry g, int j, int ha, int hb)
    {
        int width = g.W, w0 = j * g.StrideW - g.PadW;
        bool pairs = g.StrideW == 2;
        var cols = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * g.StrideW + Vector256.Create(w0);   // w0 per lane
        var best = Vector256.Create(float.NegativeInfinity);
        var at = cols + Vector256.Create(ha * width);    // the first element wins when nothing beats −∞
        for (int h = ha; h < hb; h++)
        {
            float* row = plane + (long)h * width + w0;
            var rowAt = Vector256.Create(h * width);
            for (int kw = 0; kw < g.KW; kw++)
            {
                var v = pairs ? StridedLoads.Even8(row + kw) : Avx.LoadVector256(row + kw);
                var take = Vector256.GreaterThan(v, best) | Vector256.AndNot(Vector256.Equals(best, best), Vector256.Equals(v, v));
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), cols + Vector256.Create(kw) + rowAt, at);
            }
        }
        best.Store(yo);
        at.Store(io);
    }

    /// <summary>Output (i, j) of a max pool over rows [ha, hb): the first largest element of its clipped window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaxAt(float* plane, float* yo, int* io, in Pool2dGeometry g, int i, int j, int ha, int hb)
    {
        int width = g.W;
        int w0 = j * g.StrideW - g.PadW;
        int wa = Math.Max(w0, 0), wb = Math.Min(w0 + g.KW, width);
        float best = float.NegativeInfinity;
        int at = ha * width + wa; // the first element in the window wins when nothing beats −∞
        for (int h = ha; h < hb; h++)
        {
            float* row = plane + (long)h * width;
            for (int w = wa; w < wb; w++) Take(ref best, ref at, row[w], h * width + w);
        }
        yo[(long)i * g.OW + j] = best;
        io[(long)i * g.OW + j] = at;
    }

    /// <summary>
    /// The common 2×2, stride-2, unpadded max pool (every window lies inside the plane): the same rule as
    /// <see cref="MaxPlane"/>, with the four candidates compared in window order. Branch-free: on real
    /// activations "is this one larger" is a coin toss, and mispredicted branches made the scalar loop
    /// ~16 ns per output; with SSE, four outputs at a time select value and index by masks, and a row whose
    /// width is not a multiple of 4 ends with an overlapping group (its first outputs computed twice, alike).
    /// With <paramref name="carry"/> (a second plane laid out like <paramref name="plane"/>), carried[q] also
    /// receives carry's element at each argmax, selected by the same masks.
    /// </summary>
    private static void MaxPlane2x2(float* plane, float* yo, int* io, int width, int oh, int ow, float* carry = null, float* carried = null)
    {
        bool vector = Sse.IsSupported && ow >= 4;
        var lane = Vector128.Create(0, 2, 4, 6);
        var right = Vector128.Create(1);
        var below = Vector128.Create(width);
        for (int i = 0; i < oh; i++)
        {
            long r = (long)(2 * i) * width;
            float* r0 = plane + r, r1 = r0 + width;
            int base0 = 2 * i * width;
            if (!vector)
            {
                for (int j = 0; j < ow; j++)
                {
                    int w = 2 * j;
                    float best = r0[w];
                    int at = base0 + w;
                    Take(ref best, ref at, r0[w + 1], base0 + w + 1);
                    Take(ref best, ref at, r1[w], base0 + width + w);
                    Take(ref best, ref at, r1[w + 1], base0 + width + w + 1);
                    yo[j] = best;
                    io[j] = at;
                    if (carry != null) carried[j] = carry[at];
                }
            }
            else
            {
                float* c0 = carry + r, c1 = c0 + width;
                for (int j = 0; j < ow; j += 4)
                {
                    if (j > ow - 4) j = ow - 4;   // the overlapping last group
                    // eight input columns 2j..2j+7 of both rows → the four windows' candidates, in window order
                    Vector128<float> a0 = Sse.LoadVector128(r0 + 2 * j), a1 = Sse.LoadVector128(r0 + 2 * j + 4);
                    Vector128<float> b0 = Sse.LoadVector128(r1 + 2 * j), b1 = Sse.LoadVector128(r1 + 2 * j + 4);
                    var best = Sse.Shuffle(a0, a1, 0b10_00_10_00);                    // (2i, 2j')
                    var at0 = Vector128.Create(base0 + 2 * j) + lane;                  // the candidates' indices: at0, +1, +W, +W+1
                    var m1 = TakeMask(best, Sse.Shuffle(a0, a1, 0b11_01_11_01));      // (2i, 2j' + 1)
                    best = Vector128.ConditionalSelect(m1, Sse.Shuffle(a0, a1, 0b11_01_11_01), best);
                    var m2 = TakeMask(best, Sse.Shuffle(b0, b1, 0b10_00_10_00));      // (2i + 1, 2j')
                    best = Vector128.ConditionalSelect(m2, Sse.Shuffle(b0, b1, 0b10_00_10_00), best);
                    var m3 = TakeMask(best, Sse.Shuffle(b0, b1, 0b11_01_11_01));      // (2i + 1, 2j' + 1)
                    best = Vector128.ConditionalSelect(m3, Sse.Shuffle(b0, b1, 0b11_01_11_01), best);
                    var at = Vector128.ConditionalSelect(m1.AsInt32(), at0 + right, at0);
                    at = Vector128.ConditionalSelect(m2.AsInt32(), at0 + below, at);
                    at = Vector128.ConditionalSelect(m3.AsInt32(), at0 + below + right, at);
                    best.Store(yo + j);
                    at.Store(io + j);
                    if (carry != null)
                    {
                        Vector128<float> p0 = Sse.LoadVector128(c0 + 2 * j), p1 = Sse.LoadVector128(c0 + 2 * j + 4);
                        Vector128<float> q0 = Sse.LoadVector128(c1 + 2 * j), q1 = Sse.LoadVector128(c1 + 2 * j + 4);
                        var v = Sse.Shuffle(p0, p1, 0b10_00_10_00);
                        v = Vector128.ConditionalSelect(m1, Sse.Shuffle(p0, p1, 0b11_01_11_01), v);
                        v = Vector128.ConditionalSelect(m2, Sse.Shuffle(q0, q1, 0b10_00_10_00), v);
                        v = Vector128.ConditionalSelect(m3, Sse.Shuffle(q0, q1, 0b11_01_11_01), v);
                        v.Store(carried + j);
                    }
                }
            }
            yo += ow;
            io += ow;
            if (carry != null) carried += ow;
        }
    }

    /// <summary>The max-pool rule: the candidate (v, its index) replaces (best, at) when v &gt; best or v is the first NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref float best, ref int at, float v, int vAt)
    {
        if (v > best || float.IsNaN(v) && !float.IsNaN(best)) { best = v; at = vAt; }
    }

    /// <summary>Per lane: whether the candidate v replaces best (v &gt; best, or v is the first NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> TakeMask(Vector128<float> best, Vector128<float> v) =>
        Vector128.GreaterThan(v, best) | Vector128.AndNot(Vector128.Equals(best, best), Vector128.Equals(v, v));

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    {
        if (NotF32(dy)) { Reference.MaxPool2dBackward(dy, indices, g, dx); return; } // float64: the reference backend
        // dy, indices: [N, C, OH, OW] → dx: [N, C, H, W] (zeroed, then dy added at each saved index)
        float* dyp = Ptr(dy), dxp = Ptr(dx);
        int* ip = IntPtr(indices);
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        // every index is checked before anything is written (and outside the parallel loop)
        for (long i = 0, total = (long)g.N * g.C * p; i < total; i++)
            if ((uint)ip[i] >= (ulong)hw)
            {
                long plane = i / p, q = i % p;
                throw new ArgumentException($"max_pool2d_backward: index {ip[i]} at [{plane / g.C}, {plane % g.C}, {q / g.OW}, {q % g.OW}] is out of range [0, {hw}) for a {g.H}x{g.W} plane");
            }
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++) ScatterPlane(dyp + pl * p, ip + pl * p, (int)p, dxp + pl * hw, (int)hw);
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * (p + hw), Planes);
    }

    /// <summary>d[0..hw) ← 0, then d[idx[q]] += src[q] for q in [0, p).</summary>
    private static void ScatterPlane(float* src, int* idx, int p, float* d, int hw)
    {
        new Span<float>(d, hw).Clear();
        for (int q = 0; q < p; q++) d[idx[q]] += src[q];
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y)
    {
        if (NotF32(x)) { Reference.AvgPool2d(x, g, y); return; } // float64: the reference backend
        // x: [N, C, H, W] → y: [N, C, OH, OW]; divisor KH·KW (padding counts)
        float* xp = Ptr(x), yp = Ptr(y);
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        float inv = g.KH * g.KW;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                float* plane = xp + pl * hw;
                float* yo = yp + pl * p;
                for (int i = 0; i < g.OH; i++)
                {
                    int h0 = i * g.StrideH - g.PadH;
                    int ha = Math.Max(h0, 0), hb = Math.Min(h0 + g.KH, g.H);
                    for (int j = 0; j < g.OW; j++)
                    {
                        int w0 = j * g.StrideW - g.PadW;
                        int wa = Math.Max(w0, 0), wb = Math.Min(w0 + g.KW, g.W);
                        float sum = 0;
                        for (int h = ha; h < hb; h++)
                        {
                            float* row = plane + (long)h * g.W;
                            for (int w = wa; w < wb; w++) sum += row[w];
                        }
                        yo[(long)i * g.OW + j] = sum / inv;
                    }
                }
            }
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * p * g.KH * g.KW, Planes);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx)
    {
        if (NotF32(dy)) { Reference.AvgPool2dBackward(dy, g, dx); return; } // float64: the reference backend
        // dy: [N, C, OH, OW] → dx: [N, C, H, W]; each input element gets dy / (KH·KW) from every window holding it
        float* dyp = Ptr(dy), dxp = Ptr(dx);
        long hw = (long)g.H * g.W, p = (long)g.OH * g.OW;
        float inv = g.KH * g.KW;
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                float* d = dxp + pl * hw;
                float* src = dyp + pl * p;
                new Span<float>(d, (int)hw).Clear();
                for (int i = 0; i < g.OH; i++)
                {
                    int h0 = i * g.StrideH - g.PadH;
                    int ha = Math.Max(h0, 0), hb = Math.Min(h0 + g.KH, g.H);
                    for (int j = 0; j < g.OW; j++)
                    {
                        int w0 = j * g.StrideW - g.PadW;
                        int wa = Math.Max(w0, 0), wb = Math.Min(w0 + g.KW, g.W);
                        float v = src[(long)i * g.OW + j] / inv;
                        for (int h = ha; h < hb; h++)
                        {
                            float* row = d + (long)h * g.W;
                            for (int w = wa; w < wb; w++) row[w] += v;
                        }
                    }
                }
            }
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * p * g.KH * g.KW, Planes);
    }

    /// <summary>Runs body over [0, planes) in parallel chunks when the work is large enough.</summary>
    private static void RunPlanes(int planes, long work, Action<int, int> body)
    {
        int chunks = ChunksFor(planes, work);
        if (chunks == 1) body(0, planes);
        else ForChunks(planes, chunks, (_, s, e) => body(s, e));
    }
}
