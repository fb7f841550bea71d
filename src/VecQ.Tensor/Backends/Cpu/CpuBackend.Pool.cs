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
        void Planes(int s, int e)
        {
            for (int pl = s; pl < e; pl++)
            {
                float* plane = xp + pl * hw;
                float* yo = yp + pl * p;
                int* io = ip + pl * p;
                for (int i = 0; i < g.OH; i++)
                {
                    int h0 = i * g.StrideH - g.PadH;
                    int ha = Math.Max(h0, 0), hb = Math.Min(h0 + g.KH, g.H);
                    for (int j = 0; j < g.OW; j++)
                    {
                        int w0 = j * g.StrideW - g.PadW;
                        int wa = Math.Max(w0, 0), wb = Math.Min(w0 + g.KW, g.W);
                        float best = float.NegativeInfinity;
                        int at = ha * g.W + wa; // the first element in the window wins when nothing beats −∞
                        for (int h = ha; h < hb; h++)
                        {
                            float* row = plane + (long)h * g.W;
                            for (int w = wa; w < wb; w++)
                            {
                                float v = row[w];
                                if (v > best || float.IsNaN(v) && !float.IsNaN(best)) { best = v; at = h * g.W + w; }
                            }
                        }
                        yo[(long)i * g.OW + j] = best;
                        io[(long)i * g.OW + j] = at;
                    }
                }
            }
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * p * g.KH * g.KW, Planes);
    }

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
            for (int pl = s; pl < e; pl++)
            {
                float* d = dxp + pl * hw;
                float* src = dyp + pl * p;
                int* idx = ip + pl * p;
                new Span<float>(d, (int)hw).Clear();
                for (long q = 0; q < p; q++) d[idx[q]] += src[q];
            }
        }
        RunPlanes(g.N * g.C, (long)g.N * g.C * (p + hw), Planes);
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
