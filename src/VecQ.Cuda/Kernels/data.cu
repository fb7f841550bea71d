// Data movement: fill, copy (with dtype conversion), where. Views of any strides.

template <typename T> __device__ void FillT(long long n, Desc d, T* y, T v)
{
    FOR_EACH(i, n) y[OffsetOf(d, i)] = v;
}
extern "C" __global__ void fill_f32(long long n, Desc d, float* y, double v) { FillT<float>(n, d, y, (float)v); }
extern "C" __global__ void fill_f64(long long n, Desc d, double* y, double v) { FillT<double>(n, d, y, v); }
extern "C" __global__ void fill_i32(long long n, Desc d, int* y, double v) { FillT<int>(n, d, y, __double2int_rz(v)); }

// dst ← src converted: float → int truncates toward zero and saturates, NaN → 0 (.NET's conversion, as the CPU's).
__device__ __forceinline__ int ToInt(float v) { return __float2int_rz(v); }
__device__ __forceinline__ int ToInt(double v) { return __double2int_rz(v); }
__device__ __forceinline__ int ToInt(int v) { return v; }
template <typename D> struct Convert { template <typename S> __device__ static D From(S v) { return (D)v; } };
template <> struct Convert<int> { template <typename S> __device__ static int From(S v) { return ToInt(v); } };
template <typename S, typename D> __device__ void CopyT(long long n, Desc sd, const S* s, Desc dd, D* d)
{
    FOR_EACH(i, n) d[OffsetOf(dd, i)] = Convert<D>::template From<S>(s[OffsetOf(sd, i)]);
}
#define COPY(SN, S, DN, D) \
    extern "C" __global__ void copy_##SN##_##DN(long long n, Desc sd, const S* s, Desc dd, D* d) { CopyT<S, D>(n, sd, s, dd, d); }
COPY(f32, float, f32, float) COPY(f32, float, f64, double) COPY(f32, float, i32, int)
COPY(f64, double, f32, float) COPY(f64, double, f64, double) COPY(f64, double, i32, int)
COPY(i32, int, f32, float) COPY(i32, int, f64, double) COPY(i32, int, i32, int)

// y = cond != 0 ? a : b (cond float32, float64 or int32; all broadcast to y's shape).
#define WHERE(TN, T, CN, C) \
    extern "C" __global__ void where_##TN##_##CN(long long n, Desc cd, const C* c, Desc ad, const T* a, Desc bd, const T* b, Desc yd, T* y) \
    { FOR_EACH(i, n) y[OffsetOf(yd, i)] = c[OffsetOf(cd, i)] != (C)0 ? a[OffsetOf(ad, i)] : b[OffsetOf(bd, i)]; }
WHERE(f32, float, f32, float) WHERE(f32, float, f64, double) WHERE(f32, float, i32, int)
WHERE(f64, double, f32, float) WHERE(f64, double, f64, double) WHERE(f64, double, i32, int)
