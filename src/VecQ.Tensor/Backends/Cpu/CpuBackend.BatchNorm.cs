using System.Numerics;
using System.Numerics.Tensors;

namespace VecQ.Tensors;

// Batch-norm normalisation and its training-mode gradient (parallel over channels, TensorPrimitives
// per (n, c) plane, per-channel sums added in double). x̂ = (x − mean)·invStd, M = N·S per channel:
//   y  = x̂·γ + β
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂)
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        if (NotF32(x)) { Reference.BatchNormForward(x, mean, invStd, gamma, beta, y); return; } // float64: the reference backend
        // x, y: [N, C, S] contiguous; mean, invStd, gamma, beta: [C]
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        if (n == 0 || c == 0 || s == 0) return;
        float* xp = Ptr(x), yp = Ptr(y), mp = Ptr(mean), ip = Ptr(invStd);
        float* gp = gamma != null ? Ptr(gamma) : null, bp = beta != null ? Ptr(beta) : null;
        void Channels(int c0, int c1)
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mp[ch];
                float scale = gp != null ? ip[ch] * gp[ch] : ip[ch];
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * s;
                    var xr = new ReadOnlySpan<float>(xp + off, s);
                    var yr = new Span<float>(yp + off, s);
                    TensorPrimitives.Subtract(xr, mu, yr);                 // x − mean
                    TensorPrimitives.Multiply(yr, scale, yr);              // · invStd·γ
                    if (bp != null) TensorPrimitives.Add(yr, bp[ch], yr);  // + β
                }
            }
        }
        int chunks = ChunksFor(c, (long)n * c * s * 2);
        if (chunks == 1) Channels(0, c);
        else ForChunks(c, chunks, (_, s0, e0) => Channels(s0, e0));
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        if (NotF32(x)) { Reference.BatchNormBackward(dy, x, mean, invStd, gamma, dx, dgamma, dbeta); return; } // float64: the reference backend
        // dy, x, dx: [N, C, S] contiguous; mean, invStd, gamma, dgamma, dbeta: [C]
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        if (c == 0) return;
        float* dyp = Ptr(dy), xp = Ptr(x), dxp = Ptr(dx), mp = Ptr(mean), ip = Ptr(invStd);
        float* gp = gamma != null ? Ptr(gamma) : null;
        float* dgp = dgamma != null ? Ptr(dgamma) : null, dbp = dbeta != null ? Ptr(dbeta) : null;
        double m = (double)n * s;
        void Channels(int c0, int c1)
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mp[ch];
                double inv = ip[ch], gm = gp != null ? gp[ch] : 1.0;
                // Σ dy and Σ dy·(x − mean), each plane widened to double
                double sumDy = 0, sumDyDev = 0;
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * s;
                    var (a, b) = SumAndDotDeviation(dyp + off, xp + off, s, mu);
                    sumDy += a;
                    sumDyDev += b;
                }
                double sumDyXhat = sumDyDev * inv;                       // Σ dy·x̂
                if (dbp != null) dbp[ch] = (float)sumDy;
                if (dgp != null) dgp[ch] = (float)sumDyXhat;
                if (m == 0) continue;
                // dx = k·(M·dy − Σdy − x̂·Σdy·x̂) = (γ·invStd)·dy + bx·(x − mean) + c0
                double k = gm * inv / m;
                float ady = (float)(gm * inv);
                float bx = (float)(-k * inv * sumDyXhat);
                float c0f = (float)(-k * sumDy);
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * s;
                    var xr = new ReadOnlySpan<float>(xp + off, s);
                    var dyr = new ReadOnlySpan<float>(dyp + off, s);
                    var dxr = new Span<float>(dxp + off, s);
                    TensorPrimitives.Subtract(xr, mu, dxr);              // x − mean
                    TensorPrimitives.Multiply(dxr, bx, dxr);             // · bx
                    TensorPrimitives.Add(dxr, c0f, dxr);                 // + c0
                    TensorPrimitives.MultiplyAdd(dyr, ady, dxr, dxr);    // + (γ·invStd)·dy
                }
            }
        }
        int chunks = ChunksFor(c, (long)n * c * s * 4);
        if (chunks == 1) Channels(0, c);
        else ForChunks(c, chunks, (_, s0, e0) => Channels(s0, e0));
    }

    /// <summary>(Σ dy[i], Σ dy[i]·(x[i] − m)) over n contiguous floats: products in float SIMD lanes, widened to double before they are added.</summary>
    private static (double SumDy, double SumDyDev) SumAndDotDeviation(float* dy, float* x, int n, float m)
    {
        int i = 0;
        double s0 = 0, s1 = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            var vm = new Vector<float>(m);
            Vector<double> a0 = Vector<double>.Zero, a1 = Vector<double>.Zero, b0 = Vector<double>.Zero, b1 = Vector<double>.Zero;
            for (; i <= n - w; i += w)
            {
                var g = Vector.Load(dy + i);
                var d = (Vector.Load(x + i) - vm) * g;
                Vector.Widen(g, out var glo, out var ghi);
                Vector.Widen(d, out var dlo, out var dhi);
                a0 += glo; a1 += ghi;
                b0 += dlo; b1 += dhi;
            }
            s0 = Vector.Sum(a0 + a1);
            s1 = Vector.Sum(b0 + b1);
        }
        for (; i < n; i++) { s0 += dy[i]; s1 += dy[i] * (x[i] - m); }
        return (s0, s1);
    }
}
