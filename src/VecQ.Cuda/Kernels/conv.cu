// Convolution helpers around cuBLAS GEMMs (NCHW): im2col of a group of images into col [Kg, P] per image
// (Kg = Cg·KH·KW rows, P = OH·OW columns), its adjoint col2im (each input pixel gathers the columns that read it: no
// atomics, a fixed order), and the per-channel bias.

struct ConvGeom { int n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow; };

// One element of the im2col matrix: image n0 + img, group gi, kernel index k = (c, kh, kw), output position q = (oh, ow);
// zero where the tap falls in the padding.
template <typename T> __device__ __forceinline__ T Patch(const ConvGeom& g, int n0, long long img, int gi, long long k, long long q, const T* x)
{
    int cg = g.c / g.groups;
    int ow = (int)(q % g.ow), oh = (int)(q / g.ow);
    int kw = (int)(k % g.kw), kh = (int)((k / g.kw) % g.kh), c = (int)(k / ((long long)g.kw * g.kh));
    int ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
    if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return (T)0;
    return x[(((long long)(n0 + img) * g.c + (long long)gi * cg + c) * g.h + ih) * g.w + iw];
}

// x: [N, C, H, W] → col: [images, Kg, P] for images n0 … n0 + images − 1 and group gi.
template <typename T> __device__ void Im2colT(ConvGeom g, int n0, int images, int gi, const T* x, T* col)
{
    long long kg = (long long)(g.c / g.groups) * g.kh * g.kw, p = (long long)g.oh * g.ow;
    FOR_EACH(i, images * kg * p) col[i] = Patch(g, n0, i / (p * kg), gi, (i / p) % kg, i % p, x);
}
extern "C" __global__ void im2col_f32(ConvGeom g, int n0, int images, int gi, const float* x, float* col) { Im2colT<float>(g, n0, images, gi, x, col); }
extern "C" __global__ void im2col_f64(ConvGeom g, int n0, int images, int gi, const double* x, double* col) { Im2colT<double>(g, n0, images, gi, x, col); }

// The weight gradient's operands for a chunk of images, laid out so one GEMM sums over the chunk:
//   colK: [Kg, images·P] (row k holds the tap's inputs image after image), dyK: [Og, images·P] (group gi's rows of dy)
template <typename T> __device__ void Im2colKMajorT(ConvGeom g, int n0, int images, int gi, const T* x, T* col)
{
    long long kg = (long long)(g.c / g.groups) * g.kh * g.kw, p = (long long)g.oh * g.ow, width = images * p;
    FOR_EACH(i, kg * width)
    {
        long long j = i % width;
        col[i] = Patch(g, n0, j / p, gi, i / width, j % p, x);
    }
}
extern "C" __global__ void im2col_kmajor_f32(ConvGeom g, int n0, int images, int gi, const float* x, float* col) { Im2colKMajorT<float>(g, n0, images, gi, x, col); }
extern "C" __global__ void im2col_kmajor_f64(ConvGeom g, int n0, int images, int gi, const double* x, double* col) { Im2colKMajorT<double>(g, n0, images, gi, x, col); }

template <typename T> __device__ void DyKMajorT(ConvGeom g, int n0, int images, int gi, const T* dy, T* out)
{
    int og = g.o / g.groups;
    long long p = (long long)g.oh * g.ow, width = images * p, total = og * width;
    FOR_EACH(i, total)
    {
        long long j = i % width, o = i / width, img = j / p, q = j % p;
        out[i] = dy[((long long)(n0 + img) * g.o + (long long)gi * og + o) * p + q];
    }
}
extern "C" __global__ void dy_kmajor_f32(ConvGeom g, int n0, int images, int gi, const float* dy, float* out) { DyKMajorT<float>(g, n0, images, gi, dy, out); }
extern "C" __global__ void dy_kmajor_f64(ConvGeom g, int n0, int images, int gi, const double* dy, double* out) { DyKMajorT<double>(g, n0, images, gi, dy, out); }

// dx[n0 + img, group gi] = col2im(col [images, Kg, P]): every input pixel sums the (kh, kw) taps whose output position
// lands on a whole stride step inside the output.
template <typename T> __device__ void Col2imT(ConvGeom g, int n0, int images, int gi, const T* col, T* dx)
{
    int cg = g.c / g.groups;
    long long kg = (long long)cg * g.kh * g.kw, p = (long long)g.oh * g.ow;
    long long total = (long long)images * cg * g.h * g.w;
    FOR_EACH(i, total)
    {
        int iw = (int)(i % g.w), ih = (int)((i / g.w) % g.h), c = (int)((i / ((long long)g.w * g.h)) % cg);
        long long img = i / ((long long)g.w * g.h * cg);
        double s = 0;
        for (int kh = 0; kh < g.kh; kh++)
        {
            int th = ih + g.ph - kh * g.dh;
            if (th < 0 || th % g.sh != 0) continue;
            int oh = th / g.sh;
            if (oh >= g.oh) continue;
            for (int kw = 0; kw < g.kw; kw++)
            {
                int tw = iw + g.pw - kw * g.dw;
                if (tw < 0 || tw % g.sw != 0) continue;
                int ow = tw / g.sw;
                if (ow >= g.ow) continue;
                long long k = ((long long)c * g.kh + kh) * g.kw + kw;
                s += (double)col[(img * kg + k) * p + (long long)oh * g.ow + ow];
            }
        }
        dx[(((long long)(n0 + img) * g.c + (long long)gi * cg + c) * g.h + ih) * g.w + iw] = (T)s;
    }
}
extern "C" __global__ void col2im_f32(ConvGeom g, int n0, int images, int gi, const float* col, float* dx) { Col2imT<float>(g, n0, images, gi, col, dx); }
extern "C" __global__ void col2im_f64(ConvGeom g, int n0, int images, int gi, const double* col, double* dx) { Col2imT<double>(g, n0, images, gi, col, dx); }

// y: [N, O, P] += bias[o]
template <typename T> __device__ void AddBiasT(long long n, int o, long long p, const T* bias, T* y)
{
    FOR_EACH(i, n) y[i] += bias[(i / p) % o];
}
extern "C" __global__ void add_bias_f32(long long n, int o, long long p, const float* bias, float* y) { AddBiasT<float>(n, o, p, bias, y); }
extern "C" __global__ void add_bias_f64(long long n, int o, long long p, const double* bias, double* y) { AddBiasT<double>(n, o, p, bias, y); }

// dbias[o] = Σ over N and P of dy: [N, O, P]; one block per channel, in double.
template <typename T> __device__ void BiasGradT(int n, int o, long long p, const T* dy, T* dbias)
{
    __shared__ double part[256];
    int ch = blockIdx.x;
    double s = 0;
    for (long long i = threadIdx.x; i < (long long)n * p; i += blockDim.x)
        s += (double)dy[((i / p) * o + ch) * p + i % p];
    double total = BlockSum(s, part);
    if (threadIdx.x == 0) dbias[ch] = (T)total;
}
extern "C" __global__ void bias_grad_f32(int n, int o, long long p, const float* dy, float* dbias) { BiasGradT<float>(n, o, p, dy, dbias); }
extern "C" __global__ void bias_grad_f64(int n, int o, long long p, const double* dy, double* dbias) { BiasGradT<double>(n, o, p, dy, dbias); }
