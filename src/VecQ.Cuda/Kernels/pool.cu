// 2-D pooling (NCHW, contiguous). Max pool keeps PyTorch's index form (h·W + w within the plane); both backward passes
// gather (each input pixel visits the windows that contain it), so no atomics and a fixed order.

struct PoolGeom { int n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow; };

template <typename T> __device__ void MaxPoolT(PoolGeom g, const T* x, T* y, int* idx)
{
    long long total = (long long)g.n * g.c * g.oh * g.ow;
    FOR_EACH(i, total)
    {
        int ow = (int)(i % g.ow), oh = (int)((i / g.ow) % g.oh);
        long long plane = i / ((long long)g.ow * g.oh);
        const T* xp = x + plane * g.h * g.w;
        T best = (T)__longlong_as_double(0xfff0000000000000ULL);
        int at = -1;
        for (int kh = 0; kh < g.kh; kh++)
        {
            int ih = oh * g.sh - g.ph + kh;
            if (ih < 0 || ih >= g.h) continue;
            for (int kw = 0; kw < g.kw; kw++)
            {
                int iw = ow * g.sw - g.pw + kw;
                if (iw < 0 || iw >= g.w) continue;
                T v = xp[ih * g.w + iw];
                if (at < 0 || v > best || (v != v && best == best)) { best = v; at = ih * g.w + iw; }
            }
        }
        y[i] = best;
        idx[i] = at;
    }
}
extern "C" __global__ void maxpool_f32(PoolGeom g, const float* x, float* y, int* idx) { MaxPoolT<float>(g, x, y, idx); }
extern "C" __global__ void maxpool_f64(PoolGeom g, const double* x, double* y, int* idx) { MaxPoolT<double>(g, x, y, idx); }

// The output windows that contain input row/column ih: oh in [lo, hi].
__device__ __forceinline__ void Windows(int i, int k, int s, int p, int outs, int* lo, int* hi)
{
    int a = i + p - k + 1;                 // oh·s ≥ i + p − k + 1
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    int b = (i + p) / s;                   // oh·s ≤ i + p
    *hi = b < outs - 1 ? b : outs - 1;
}

template <typename T> __device__ void MaxPoolBackT(PoolGeom g, const T* dy, const int* idx, T* dx)
{
    long long total = (long long)g.n * g.c * g.h * g.w;
    FOR_EACH(i, total)
    {
        int iw = (int)(i % g.w), ih = (int)((i / g.w) % g.h);
        long long plane = i / ((long long)g.w * g.h);
        int self = ih * g.w + iw, h0, h1, w0, w1;
        Windows(ih, g.kh, g.sh, g.ph, g.oh, &h0, &h1);
        Windows(iw, g.kw, g.sw, g.pw, g.ow, &w0, &w1);
        double s = 0;
        for (int oh = h0; oh <= h1; oh++)
            for (int ow = w0; ow <= w1; ow++)
            {
                long long o = (plane * g.oh + oh) * g.ow + ow;
                if (idx[o] == self) s += (double)dy[o];
            }
        dx[i] = (T)s;
    }
}
extern "C" __global__ void maxpool_back_f32(PoolGeom g, const float* dy, const int* idx, float* dx) { MaxPoolBackT<float>(g, dy, idx, dx); }
extern "C" __global__ void maxpool_back_f64(PoolGeom g, const double* dy, const int* idx, double* dx) { MaxPoolBackT<double>(g, dy, idx, dx); }

// Average pool; the padding counts in the divisor (count_include_pad).
template <typename T> __device__ void AvgPoolT(PoolGeom g, const T* x, T* y)
{
    long long total = (long long)g.n * g.c * g.oh * g.ow;
    FOR_EACH(i, total)
    {
        int ow = (int)(i % g.ow), oh = (int)((i / g.ow) % g.oh);
        long long plane = i / ((long long)g.ow * g.oh);
        const T* xp = x + plane * g.h * g.w;
        double s = 0;
        for (int kh = 0; kh < g.kh; kh++)
        {
            int ih = oh * g.sh - g.ph + kh;
            if (ih < 0 || ih >= g.h) continue;
            for (int kw = 0; kw < g.kw; kw++)
            {
                int iw = ow * g.sw - g.pw + kw;
                if (iw >= 0 && iw < g.w) s += (double)xp[ih * g.w + iw];
            }
        }
        y[i] = (T)(s / ((double)g.kh * g.kw));
    }
}
extern "C" __global__ void avgpool_f32(PoolGeom g, const float* x, float* y) { AvgPoolT<float>(g, x, y); }
extern "C" __global__ void avgpool_f64(PoolGeom g, const double* x, double* y) { AvgPoolT<double>(g, x, y); }

template <typename T> __device__ void AvgPoolBackT(PoolGeom g, const T* dy, T* dx)
{
    long long total = (long long)g.n * g.c * g.h * g.w;
    FOR_EACH(i, total)
    {
        int iw = (int)(i % g.w), ih = (int)((i / g.w) % g.h);
        long long plane = i / ((long long)g.w * g.h);
        int h0, h1, w0, w1;
        Windows(ih, g.kh, g.sh, g.ph, g.oh, &h0, &h1);
        Windows(iw, g.kw, g.sw, g.pw, g.ow, &w0, &w1);
        double s = 0;
        for (int oh = h0; oh <= h1; oh++)
            for (int ow = w0; ow <= w1; ow++) s += (double)dy[(plane * g.oh + oh) * g.ow + ow];
        dx[i] = (T)(s / ((double)g.kh * g.kw));
    }
}
extern "C" __global__ void avgpool_back_f32(PoolGeom g, const float* dy, float* dx) { AvgPoolBackT<float>(g, dy, dx); }
extern "C" __global__ void avgpool_back_f64(PoolGeom g, const double* dy, double* dx) { AvgPoolBackT<double>(g, dy, dx); }
