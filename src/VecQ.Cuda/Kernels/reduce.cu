// Reductions. One block per output element: the kept coordinates come from the output index (kd: y's sizes with x's
// strides), the reduced ones from a second view (rd: x's sizes on the reduced axes, 1 elsewhere, x's strides). Sums in
// double (as the reference), in a fixed order for a given block size; max/min: a NaN wins.

template <typename T> __device__ void ReduceT(int op, long long count, Desc kd, Desc rd, const T* x, Desc yd, T* y)
{
    __shared__ double part[256];
    long long o = blockIdx.x;
    long long base = OffsetOf(kd, o);   // rd.offset is 0
    if (op <= 1)
    {
        double s = 0;
        for (long long r = threadIdx.x; r < count; r += blockDim.x) s += (double)x[base + OffsetOf(rd, r)];
        double total = BlockSum(s, part);
        if (threadIdx.x == 0) y[OffsetOf(yd, o)] = (T)(op == 0 ? total : total / (double)count);
        return;
    }
    bool isMax = op == 2;
    T best = (T)(isMax ? __longlong_as_double(0xfff0000000000000ULL) : __longlong_as_double(0x7ff0000000000000ULL));   // ∓∞
    for (long long r = threadIdx.x; r < count; r += blockDim.x)
    {
        T v = x[base + OffsetOf(rd, r)];
        if (v != v || (best == best && (isMax ? v > best : v < best))) best = v;
    }
    part[threadIdx.x] = (double)best;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s)
        {
            double a = part[threadIdx.x], b = part[threadIdx.x + s];
            if (b != b || (a == a && (isMax ? b > a : b < a))) part[threadIdx.x] = b;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) y[OffsetOf(yd, o)] = (T)part[0];
}
extern "C" __global__ void reduce_f32(int op, long long count, Desc kd, Desc rd, const float* x, Desc yd, float* y) { ReduceT<float>(op, count, kd, rd, x, yd, y); }
extern "C" __global__ void reduce_f64(int op, long long count, Desc kd, Desc rd, const double* x, Desc yd, double* y) { ReduceT<double>(op, count, kd, rd, x, yd, y); }

// Index of the max/min along one axis (stride as, length n) for each output position (kd: y's sizes, x's strides); the
// first extreme wins ties, the first NaN wins outright. One thread per output.
template <typename T> __device__ void ArgReduceT(int isMax, long long outputs, Desc kd, long long n, long long as, const T* x, Desc yd, int* y)
{
    FOR_EACH(o, outputs)
    {
        const T* p = x + OffsetOf(kd, o);
        T best = p[0];
        int bestK = 0;
        for (long long k = 1; k < n && best == best; k++)
        {
            T v = p[k * as];
            if (v != v || (isMax ? v > best : v < best)) { best = v; bestK = (int)k; }
        }
        y[OffsetOf(yd, o)] = bestK;
    }
}
extern "C" __global__ void argreduce_f32(int isMax, long long outputs, Desc kd, long long n, long long as, const float* x, Desc yd, int* y)
{ ArgReduceT<float>(isMax, outputs, kd, n, as, x, yd, y); }
extern "C" __global__ void argreduce_f64(int isMax, long long outputs, Desc kd, long long n, long long as, const double* x, Desc yd, int* y)
{ ArgReduceT<double>(isMax, outputs, kd, n, as, x, yd, y); }
