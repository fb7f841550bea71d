using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors;

// Batch-norm normalisation and its training-mode gradient (parallel over channels, TensorPrimitives
// per (n, c) plane, per-channel sums added in double). x̂ = (x − mean)·invStd, M = N·S per channel:
//   y  = x̂·γ + β
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂)
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y) =>
        BatchNormForward(x, mean, invStd, gamma, beta, null, y);

    /// <inheritdoc/>
    public void BatchNormActivation(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation activation, Tensor y) =>
        BatchNormForward(x, mean, invStd, gamma, beta, activation, y);

    // The batch norm, then (when given) the activation on each plane while it is in cache.
    private void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation? activation, Tensor y)
    {
        if (NotF32(x))
        {
            // float64: the reference backend, then the activation in place
            Reference.BatchNormForward(x, mean, invStd, gamma, beta, y);
            if (activation is { } a) NnOps.Activate(Reference, a, y);
            return;
        }
        // x, y: [N, C, S] contiguous; mean, invStd, gamma, beta: [C]
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        if (n == 0 || c == 0 || s == 0) return;
        float* xp = Ptr(x), yp = Ptr(y), mp = Ptr(mean), ip = Ptr(invStd);
        float* gp = gamma != null ? Ptr(gamma) : null, bp = beta != null ? Ptr(beta) : null;
        float hi = activation == FusedActivation.Relu6 ? 6f : float.PositiveInfinity;
        if (s == 1)
        {
            ForwardColumns(xp, yp, n, c, mp, ip, gp, bp);
            if (activation != null) ClampPlane(yp, (long)n * c, hi);
            return;
        }
        void Channels(int c0, int c1)
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mp[ch];
                float scale = gp != null ? ip[ch] * gp[ch] : ip[ch];
                float shift = bp != null ? bp[ch] : 0f;
                for (int i = 0; i < n; i++)
                {
                    long off = ((long)i * c + ch) * s;
                    AffinePlane(xp + off, yp + off, s, mu, scale, shift);
                    if (activation != null) ClampPlane(yp + off, s, hi);
                }
            }
        }
        int chunks = ChunksFor(c, (long)n * c * s * 2);
        if (chunks == 1) Channels(0, c);
        else ForChunks(c, chunks, (_, s0, e0) => Channels(s0, e0));
    }

    /// <summary>y[i] = min(max(y[i], 0), hi) in place (NaN stays NaN, as TensorPrimitives.Max/Min keep it).</summary>
    private static void ClampPlane(float* y, long s, float hi)
    {
        var span = new Span<float>(y, checked((int)s));
        TensorPrimitives.Max(span, 0f, span);
        if (hi < float.PositiveInfinity) TensorPrimitives.Min(span, hi, span);
    }

    /// <summary>
    /// y[i] = (x[i] − mu)·scale + shift for i &lt; s in one pass, each step rounded on its own (the fused conv tail
    /// computes the same three roundings, so the two agree bit for bit).
    /// </summary>
    private static void AffinePlane(float* x, float* y, int s, float mu, float scale, float shift)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> m = Vector256.Create(mu), a = Vector256.Create(scale), b = Vector256.Create(shift);
            for (; i <= s - 8; i += 8) ((Vector256.Load(x + i) - m) * a + b).Store(y + i);
        }
        for (; i < s; i++) y[i] = (x[i] - mu) * scale + shift;
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
        if (s == 1) { BackwardColumns(dyp, xp, dxp, n, c, mp, ip, gp, dgp, dbp); return; }
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

    // The [N, C] case (S = 1, after a linear layer): a channel's values are C apart, so the loops run
    // along rows with the channels in the inner, vectorised dimension (per (n, c) calls of one element
    // each cost ~20 ns apiece: 1 ms for a [100, 512] batch).

    /// <summary>y[n, :] = (x[n, :] − mean)·(invStd·γ) + β, row by row.</summary>
    private static void ForwardColumns(float* xp, float* yp, int n, int c, float* mp, float* ip, float* gp, float* bp)
    {
        var scale = new float[c];
        for (int ch = 0; ch < c; ch++) scale[ch] = gp != null ? ip[ch] * gp[ch] : ip[ch];
        void Rows(int r0, int r1)
        {
            for (int i = r0; i < r1; i++)
            {
                var xr = new ReadOnlySpan<float>(xp + (long)i * c, c);
                var yr = new Span<float>(yp + (long)i * c, c);
                TensorPrimitives.Subtract(xr, new ReadOnlySpan<float>(mp, c), yr);        // x − mean
                TensorPrimitives.Multiply(yr, scale, yr);                                // · invStd·γ
                if (bp != null) TensorPrimitives.Add(yr, new ReadOnlySpan<float>(bp, c), yr);   // + β
            }
        }
        int chunks = ChunksFor(n, (long)n * c * 2);
        if (chunks == 1) Rows(0, n);
        else ForChunks(n, chunks, (_, r0, r1) => Rows(r0, r1));
    }

    /// <summary>The gradient for x: [N, C]: per-channel sums down the rows (in double, row order), then dx row by row.</summary>
    private static void BackwardColumns(float* dyp, float* xp, float* dxp, int n, int c, float* mp, float* ip, float* gp, float* dgp, float* dbp)
    {
        var sumDy = new double[c];
        var sumDyDev = new double[c];
        for (int i = 0; i < n; i++)
        {
            float* dyr = dyp + (long)i * c, xr = xp + (long)i * c;
            for (int ch = 0; ch < c; ch++)
            {
                sumDy[ch] += dyr[ch];
                sumDyDev[ch] += dyr[ch] * (xr[ch] - mp[ch]);
            }
        }
        var ady = new float[c];
        var bx = new float[c];
        var c0 = new float[c];
        double m = n;
        for (int ch = 0; ch < c; ch++)
        {
            double inv = ip[ch], gm = gp != null ? gp[ch] : 1.0;
            double sumDyXhat = sumDyDev[ch] * inv;                       // Σ dy·x̂
            if (dbp != null) dbp[ch] = (float)sumDy[ch];
            if (dgp != null) dgp[ch] = (float)sumDyXhat;
            double k = m == 0 ? 0 : gm * inv / m;
            ady[ch] = (float)(gm * inv);
            bx[ch] = (float)(-k * inv * sumDyXhat);
            c0[ch] = (float)(-k * sumDy[ch]);
        }
        if (n == 0) return;
        void Rows(int r0, int r1)
        {
            for (int i = r0; i < r1; i++)
            {
                var xr = new ReadOnlySpan<float>(xp + (long)i * c, c);
                var dyr = new ReadOnlySpan<float>(dyp + (long)i * c, c);
                var dxr = new Span<float>(dxp + (long)i * c, c);
                TensorPrimitives.Subtract(xr, new ReadOnlySpan<float>(mp, c), dxr);   // x − mean
                TensorPrimitives.Multiply(dxr, bx, dxr);                            // · bx
                TensorPrimitives.Add(dxr, c0, dxr);                                 // + c0
                TensorPrimitives.MultiplyAdd(dyr, ady, dxr, dxr);                   // + (γ·invStd)·dy
            }
        }
        int chunks = ChunksFor(n, (long)n * c * 4);
        if (chunks == 1) Rows(0, n);
        else ForChunks(n, chunks, (_, r0, r1) => Rows(r0, r1));
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
