// The VecQ quantizer's reductions (rows are groups: [G, M] contiguous), one block per row, in double as the reference.

// result ← Σ x² (one block, a fixed order).
template <typename T> __device__ void SumOfSquaresT(long long n, const T* x, double* result)
{
    __shared__ double part[256];
    double s = 0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) { double v = (double)x[i]; s += v * v; }
    double total = BlockSum(s, part);
    if (threadIdx.x == 0) *result = total;
}
extern "C" __global__ void sum_of_squares_f32(long long n, const float* x, double* result) { SumOfSquaresT<float>(n, x, result); }
extern "C" __global__ void sum_of_squares_f64(long long n, const double* x, double* result) { SumOfSquaresT<double>(n, x, result); }

// mean, std (population) of each row of x.
extern "C" __global__ void group_moments(long long m, const float* x, double* mean, double* std)
{
    __shared__ double part[256];
    const float* row = x + blockIdx.x * m;
    double s = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x) s += (double)row[i];
    double mu = BlockSum(s, part) / (double)m, sq = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x) { double d = (double)row[i] - mu; sq += d * d; }
    double var = BlockSum(sq, part) / (double)m;
    if (threadIdx.x == 0) { mean[blockIdx.x] = mu; std[blockIdx.x] = sqrt(var); }
}

// x = (w − c)/s (w/s where c is 0) − pre; r = clamp(rint(x), lo, hi) with NaN kept; codes = (int)r + shift,
// v = r + vOffset (float32 steps); dots[2g] = Σ w·v, dots[2g + 1] = Σ v·v.
extern "C" __global__ void grid_project(long long m, const float* w, const float* center, const float* step, float pre, float lo, float hi,
    int codeShift, float vOffset, int* codes, float* v, double* dots)
{
    __shared__ double part[256];
    long long g = blockIdx.x;
    float c = center[g], s = step[g];
    double wv = 0, vv = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x)
    {
        long long at = g * m + i;
        float wi = w[at];
        float x = c != 0.0f ? __fdiv_rn(__fsub_rn(wi, c), s) : __fdiv_rn(wi, s);
        if (pre != 0.0f) x = __fsub_rn(x, pre);
        float r = rintf(x);
        r = r > lo ? r : (r != r ? r : lo);  // Math.Max(r, lo): a NaN stays NaN, max(−0, +0) is +0
        r = r < hi ? r : (r != r ? r : hi);  // Math.Min(r, hi)
        float vi = __fadd_rn(r, vOffset);
        codes[at] = __float2int_rz(r) + codeShift;        // saturating, NaN → 0 (as .NET's conversion)
        v[at] = vi;
        wv += (double)wi * vi;
        vv += (double)vi * vi;
    }
    double a = BlockSum(wv, part), b = BlockSum(vv, part);
    if (threadIdx.x == 0) { dots[2 * g] = a; dots[2 * g + 1] = b; }
}

// q = v·alpha (+ shift where shift ≠ 0), float32; sums[6g…] = (Σ w², Σ w·v, Σ v², Σ v, Σ w, Σ (w − q)²).
extern "C" __global__ void dequantize_sums(long long m, const float* w, const float* v, const float* alpha, const float* shift, float* q, double* sums)
{
    __shared__ double part[256];
    long long g = blockIdx.x;
    float ar = alpha[g], mu = shift[g];
    double ww = 0, wv = 0, vv = 0, sv = 0, sw = 0, ee = 0;
    for (long long i = threadIdx.x; i < m; i += blockDim.x)
    {
        long long at = g * m + i;
        float wi = w[at], vi = v[at];
        float qi = __fmul_rn(vi, ar);
        if (mu != 0.0f) qi = __fadd_rn(qi, mu);
        q[at] = qi;
        double e = (double)__fsub_rn(wi, qi);   // w − q rounded to float, then widened (as the reference)
        ww += (double)wi * wi; wv += (double)wi * vi; vv += (double)vi * vi; sv += vi; sw += wi; ee += e * e;
    }
    double r0 = BlockSum(ww, part), r1 = BlockSum(wv, part), r2 = BlockSum(vv, part);
    double r3 = BlockSum(sv, part), r4 = BlockSum(sw, part), r5 = BlockSum(ee, part);
    if (threadIdx.x == 0)
    {
        double* o = sums + 6 * g;
        o[0] = r0; o[1] = r1; o[2] = r2; o[3] = r3; o[4] = r4; o[5] = r5;
    }
}
