using System.Numerics;
using System.Numerics.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// The conv-block tail ReLU → batch norm → max pool, fused (VECQ.md §4's order; LeNet5 ends both of its
// convolutions with it). Unfused, the three ops make 16 passes over full-size activations (ReLU, the
// statistics, the normalisation and the pool forward; the pool, batch-norm and ReLU gradients backward)
// and allocate four full-size tensors; fused there are 5: the statistics read x twice, the forward reads
// it once more and writes only pooled-size outputs, and the backward takes its channel sums from
// pooled-size tensors alone, then reads x and writes dx once.
// With u = max(x, 0), x̂ = (u − mean)·invStd and d = the pooled gradient scattered to its argmax:
//   forward   t = (u − mean)·(invStd·γ) + β per plane in a scratch plane, then the plane's max pool
//             and picked = u at each argmax (a pooled-size copy for the backward's sums)
//   backward  Σ d = Σ dy,  Σ d·(u − mean) = Σ dy·(picked − mean)                (phase 1, per channel)
//             dx = [x > 0]·(ady·d + bx·(x − mean) + c0)                          (phase 2, per plane)
// with ady, bx, c0 as in BatchNormBackward. The elementwise arithmetic is BatchNormForward's and
// BatchNormBackward's, operation for operation, so the results equal the unfused chain's up to the order
// in which the channel sums are added.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked)
    {
        if (NotF32(x)) { ((IFusedConvTail)Reference).ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, g, y, indices, picked); return; } // float64: the reference backend
        // x: [N, C, H, W] → y, indices (int32, h·W + w in the plane), picked: [N, C, OH, OW]; mean, invStd, gamma, beta: [C]
        int planes = g.N * g.C, hw = g.H * g.W;
        long p = (long)g.OH * g.OW;
        if (planes == 0 || p == 0) return;
        float* xp = Ptr(x), yp = Ptr(y), pkp = Ptr(picked), mp = Ptr(mean), sp = Ptr(invStd);
        float* gp = gamma != null ? Ptr(gamma) : null, bp = beta != null ? Ptr(beta) : null;
        int* ip = IntPtr(indices);
        bool pairs = g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0;
        int chunks = ChunksFor(planes, (long)planes * hw * 3);
        using var scratch = CpuScratch.Rent((long)chunks * hw);                 // one normalised plane per chunk
        float* tmp0 = scratch.Pointer;
        Pool2dGeometry geometry = g;
        void Planes(int chunk, int s, int e)
        {
            float* t = tmp0 + (long)chunk * hw;
            for (int pl = s; pl < e; pl++)
            {
                int ch = pl % geometry.C;
                float scale = gp != null ? sp[ch] * gp[ch] : sp[ch];
                float* xq = xp + (long)pl * hw, pk = pkp + pl * p;
                int* iq = ip + pl * p;
                NormalizeRelu(xq, t, hw, mp[ch], scale, bp != null ? bp[ch] : 0f);
                if (pairs) MaxPlane2x2(t, yp + pl * p, iq, geometry.W, geometry.OH, geometry.OW, xq, pk);
                else
                {
                    MaxPlane(t, yp + pl * p, iq, geometry);
                    for (int q = 0; q < p; q++) pk[q] = xq[iq[q]];
                }
                var pks = new Span<float>(pk, (int)p);
                TensorPrimitives.Max(pks, 0f, pks);                                   // picked = max(x, 0) at the argmax
            }
        }
        ForChunks(planes, chunks, Planes);
    }

    /// <summary>t[i] = (max(x[i], 0) − mu)·scale + beta over n floats (BatchNormForward's three steps, in its order).</summary>
    private static void NormalizeRelu(float* x, float* t, int n, float mu, float scale, float beta)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            Vector<float> vm = new(mu), vs = new(scale), vb = new(beta);
            for (; i <= n - w; i += w)
                Vector.Store((Vector.Max(Vector.Load(x + i), Vector<float>.Zero) - vm) * vs + vb, t + i);
        }
        for (; i < n; i++) t[i] = (Math.Max(x[i], 0f) - mu) * scale + beta;
    }

    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        if (NotF32(x)) { ((IFusedConvTail)Reference).ReluBatchNormMaxPool2dBackward(dy, indices, picked, x, mean, invStd, gamma, g, dx, dgamma, dbeta); return; } // float64
        // dy, indices, picked: [N, C, OH, OW]; x, dx: [N, C, H, W]; mean, invStd, gamma, dgamma, dbeta: [C]
        int n = g.N, c = g.C, hw = g.H * g.W, p = g.OH * g.OW;
        if (n == 0 || c == 0 || hw == 0)
        {
            // nothing to sum: the parameter gradients are zero (dx has no elements)
            if (dgamma != null) new Span<float>(Ptr(dgamma), c).Clear();
            if (dbeta != null) new Span<float>(Ptr(dbeta), c).Clear();
            return;
        }
        float* dyp = Ptr(dy), pkp = Ptr(picked), xp = Ptr(x), dxp = Ptr(dx), mp = Ptr(mean), sp = Ptr(invStd);
        float* gp = gamma != null ? Ptr(gamma) : null;
        int* ip = IntPtr(indices);

        // phase 1, per channel: Σ dy and Σ dy·(picked − mean) over the pooled gradient; every index checked
        var sumDy = new double[c];
        var sumDyDev = new double[c];
        var firstBad = new long[c];
        void Sums(int c0, int c1)
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mp[ch];
                double a = 0, b = 0;
                firstBad[ch] = -1;
                for (int i = 0; i < n && firstBad[ch] < 0; i++)
                {
                    long pl = (long)i * c + ch;
                    int bad = FirstOutOfRange(ip + pl * p, p, hw);
                    if (bad >= 0) firstBad[ch] = pl * p + bad;
                    var (pa, pb) = SumAndDotDeviation(dyp + pl * p, pkp + pl * p, p, mu);
                    a += pa;
                    b += pb;
                }
                sumDy[ch] = a;
                sumDyDev[ch] = b;
            }
        }
        int sumChunks = ChunksFor(c, (long)n * c * p * 4);
        if (sumChunks == 1) Sums(0, c);
        else ForChunks(c, sumChunks, (_, s0, e0) => Sums(s0, e0));
        long bad = firstBad.Where(b => b >= 0).DefaultIfEmpty(-1).Min();
        if (bad >= 0)
        {
            long plane = bad / p, q = bad % p;
            throw new ArgumentException($"relu_batch_norm_max_pool2d_backward: index {ip[bad]} at [{plane / c}, {plane % c}, {q / g.OW}, {q % g.OW}] is out of range [0, {hw}) for a {g.H}x{g.W} plane");
        }

        // the per-channel coefficients of dx = ady·d + bx·(x − mean) + c0 (BatchNormBackward's)
        var ady = new float[c];
        var bx = new float[c];
        var c0s = new float[c];
        double m = (double)n * hw;
        for (int ch = 0; ch < c; ch++)
        {
            double inv = sp[ch], gm = gp != null ? gp[ch] : 1.0;
            double sumDyXhat = sumDyDev[ch] * inv;                                   // Σ d·x̂
            if (dbeta != null) Ptr(dbeta)[ch] = (float)sumDy[ch];
            if (dgamma != null) Ptr(dgamma)[ch] = (float)sumDyXhat;
            double k = gm * inv / m;
            ady[ch] = (float)(gm * inv);
            bx[ch] = (float)(-k * inv * sumDyXhat);
            c0s[ch] = (float)(-k * sumDy[ch]);
        }

        // phase 2, per plane: scatter dy to its argmax in a scratch plane, then dx in one pass
        int planes = n * c;
        int chunks = ChunksFor(planes, (long)planes * hw * 4);
        using var scratch = CpuScratch.Rent((long)chunks * hw);
        float* tmp0 = scratch.Pointer;
        void Planes(int chunk, int s, int e)
        {
            float* d = tmp0 + (long)chunk * hw;
            for (int pl = s; pl < e; pl++)
            {
                int ch = pl % c;
                ScatterPlane(dyp + (long)pl * p, ip + (long)pl * p, p, d, hw);
                ReluBatchNormGradPlane(xp + (long)pl * hw, d, dxp + (long)pl * hw, hw, mp[ch], ady[ch], bx[ch], c0s[ch]);
            }
        }
        ForChunks(planes, chunks, Planes);
    }

    /// <summary>The first q with idx[q] outside [0, hw), or −1.</summary>
    private static int FirstOutOfRange(int* idx, int p, int hw)
    {
        for (int q = 0; q < p; q++)
            if ((uint)idx[q] >= (uint)hw) return q;
        return -1;
    }

    /// <summary>dx[i] = x[i] &gt; 0 ? ((x[i] − mu)·bx + c0) + ady·d[i] : 0 over n floats (BatchNormBackward's steps, then the ReLU mask).</summary>
    private static void ReluBatchNormGradPlane(float* x, float* d, float* dx, int n, float mu, float ady, float bx, float c0)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            Vector<float> vm = new(mu), va = new(ady), vb = new(bx), vc = new(c0);
            for (; i <= n - w; i += w)
            {
                var xv = Vector.Load(x + i);
                var r = Vector.Load(d + i) * va + ((xv - vm) * vb + vc);
                Vector.Store(Vector.ConditionalSelect(Vector.GreaterThan(xv, Vector<float>.Zero), r, Vector<float>.Zero), dx + i);
            }
        }
        for (; i < n; i++) dx[i] = x[i] > 0 ? d[i] * ady + ((x[i] - mu) * bx + c0) : 0f;
    }
}
