// Batch norm over x: [N, C, S] (contiguous), per channel in double, as the reference: one block per channel for the
// statistics and the gradient sums, elementwise passes for the normalisation and dx.

// mean, var (biased) of x, or of max(x, 0) when relu, over N and S; two passes.
template <typename T> __device__ void BnStatsT(int n, int c, long long s, int relu, const T* x, T* mean, T* var)
{
    __shared__ double part[256];
    int ch = blockIdx.x;
    long long m = (long long)n * s;
    double sum = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x)
    {
        double v = (double)x[((i / s) * c + ch) * s + i % s];
        if (relu) v = v > 0 ? v : 0;   // ReLU's output: NaN and negatives give 0, as the reference
        sum += v;
    }
    double mu = BlockSum(sum, part) / (double)m;
    double sq = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x)
    {
        double v = (double)x[((i / s) * c + ch) * s + i % s];
        if (relu) v = v > 0 ? v : 0;
        sq += (v - mu) * (v - mu);
    }
    double var2 = BlockSum(sq, part) / (double)m;
    if (threadIdx.x == 0) { mean[ch] = (T)mu; var[ch] = (T)var2; }
}
extern "C" __global__ void bn_stats_f32(int n, int c, long long s, int relu, const float* x, float* mean, float* var) { BnStatsT<float>(n, c, s, relu, x, mean, var); }
extern "C" __global__ void bn_stats_f64(int n, int c, long long s, int relu, const double* x, double* mean, double* var) { BnStatsT<double>(n, c, s, relu, x, mean, var); }

// y = (x − mean)·invStd·gamma + beta in double (gamma, beta null: 1, 0).
template <typename T> __device__ void BnForwardT(long long total, int c, long long s, const T* x, const T* mean, const T* invStd,
    const T* gamma, const T* beta, T* y)
{
    FOR_EACH(i, total)
    {
        int ch = (int)((i / s) % c);
        double g = gamma ? (double)gamma[ch] : 1.0, b = beta ? (double)beta[ch] : 0.0;
        y[i] = (T)(((double)x[i] - (double)mean[ch]) * (double)invStd[ch] * g + b);
    }
}
extern "C" __global__ void bn_forward_f32(long long total, int c, long long s, const float* x, const float* mean, const float* invStd,
    const float* gamma, const float* beta, float* y) { BnForwardT<float>(total, c, s, x, mean, invStd, gamma, beta, y); }
extern "C" __global__ void bn_forward_f64(long long total, int c, long long s, const double* x, const double* mean, const double* invStd,
    const double* gamma, const double* beta, double* y) { BnForwardT<double>(total, c, s, x, mean, invStd, gamma, beta, y); }

// sums[2·ch] = Σ dy, sums[2·ch + 1] = Σ dy·x̂ (double), and dbeta, dgamma when given.
template <typename T> __device__ void BnBackSumsT(int n, int c, long long s, const T* dy, const T* x, const T* mean, const T* invStd,
    double* sums, T* dgamma, T* dbeta)
{
    __shared__ double part[256];
    int ch = blockIdx.x;
    long long m = (long long)n * s;
    double mu = (double)mean[ch], inv = (double)invStd[ch], sd = 0, sdx = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x)
    {
        long long at = ((i / s) * c + ch) * s + i % s;
        double g = (double)dy[at];
        sd += g;
        sdx += g * ((double)x[at] - mu) * inv;
    }
    double sumDy = BlockSum(sd, part), sumDyXhat = BlockSum(sdx, part);
    if (threadIdx.x == 0)
    {
        sums[2 * ch] = sumDy; sums[2 * ch + 1] = sumDyXhat;
        if (dbeta) dbeta[ch] = (T)sumDy;
        if (dgamma) dgamma[ch] = (T)sumDyXhat;
    }
}
extern "C" __global__ void bn_back_sums_f32(int n, int c, long long s, const float* dy, const float* x, const float* mean, const float* invStd,
    double* sums, float* dgamma, float* dbeta) { BnBackSumsT<float>(n, c, s, dy, x, mean, invStd, sums, dgamma, dbeta); }
extern "C" __global__ void bn_back_sums_f64(int n, int c, long long s, const double* dy, const double* x, const double* mean, const double* invStd,
    double* sums, double* dgamma, double* dbeta) { BnBackSumsT<double>(n, c, s, dy, x, mean, invStd, sums, dgamma, dbeta); }

// dx = gamma·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂)
template <typename T> __device__ void BnBackDxT(long long total, int n, int c, long long s, const T* dy, const T* x, const T* mean,
    const T* invStd, const T* gamma, const double* sums, T* dx)
{
    double m = (double)n * s;
    FOR_EACH(i, total)
    {
        int ch = (int)((i / s) % c);
        double inv = (double)invStd[ch], gm = gamma ? (double)gamma[ch] : 1.0;
        double k0 = m == 0 ? 0 : gm * inv / m;
        double xhat = ((double)x[i] - (double)mean[ch]) * inv;
        dx[i] = (T)(k0 * (m * (double)dy[i] - sums[2 * ch] - xhat * sums[2 * ch + 1]));
    }
}
extern "C" __global__ void bn_back_dx_f32(long long total, int n, int c, long long s, const float* dy, const float* x, const float* mean,
    const float* invStd, const float* gamma, const double* sums, float* dx) { BnBackDxT<float>(total, n, c, s, dy, x, mean, invStd, gamma, sums, dx); }
extern "C" __global__ void bn_back_dx_f64(long long total, int n, int c, long long s, const double* dy, const double* x, const double* mean,
    const double* invStd, const double* gamma, const double* sums, double* dx) { BnBackDxT<double>(total, n, c, s, dy, x, mean, invStd, gamma, sums, dx); }
