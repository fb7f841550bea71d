// Row softmax / log-softmax of x: [R, C] (any strides; y contiguous), one block per row, in double as the reference:
// log p_c = x_c − max − log Σ e^(x − max).
template <typename T> __device__ void SoftmaxT(long long cols, long long xr, long long xc, long long xoff, const T* x, T* y, int takeLog)
{
    __shared__ double part[256];
    long long r = blockIdx.x;
    const T* row = x + xoff + r * xr;
    double mx = __longlong_as_double(0xfff0000000000000ULL);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) mx = fmax(mx, (double)row[c * xc]);
    part[threadIdx.x] = mx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) part[threadIdx.x] = fmax(part[threadIdx.x], part[threadIdx.x + s]);
        __syncthreads();
    }
    mx = part[0];
    __syncthreads();
    double sum = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) sum += exp((double)row[c * xc] - mx);
    double logSum = log(BlockSum(sum, part));
    for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    {
        double lp = (double)row[c * xc] - mx - logSum;
        y[r * cols + c] = (T)(takeLog ? lp : exp(lp));
    }
}
extern "C" __global__ void softmax_f32(long long cols, long long xr, long long xc, long long xoff, const float* x, float* y, int takeLog) { SoftmaxT<float>(cols, xr, xc, xoff, x, y, takeLog); }
extern "C" __global__ void softmax_f64(long long cols, long long xr, long long xc, long long xoff, const double* x, double* y, int takeLog) { SoftmaxT<double>(cols, xr, xc, xoff, x, y, takeLog); }
