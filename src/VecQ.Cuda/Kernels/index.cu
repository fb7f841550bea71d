// Indexing along one axis. Views: e (the iterated tensor: y for the selects, src for the adds) gives the coordinates;
// t (the other tensor) is addressed with those coordinates, the axis one replaced through the index. A bad index is
// reported through the error slot (checked at the next synchronisation) and the element is skipped.

// Offset in t of e's linear index i with coordinate `axis` replaced by a.
__device__ __forceinline__ long long Retarget(const Desc& e, const Desc& t, long long i, int axis, long long a)
{
    long long off = t.offset;
    for (int k = e.rank - 1; k >= 0; k--)
    {
        long long s = e.size[k], c = i % s;
        i /= s;
        off += (k == axis ? a : c) * t.stride[k];
    }
    return off;
}

// The axis coordinate of e's linear index i.
__device__ __forceinline__ long long CoordOf(const Desc& e, long long i, int axis)
{
    for (int k = e.rank - 1; k > axis; k--) i /= e.size[k];
    return i % e.size[axis];
}

// IndexSelect: y[…, k, …] = x[…, index[k], …]   (e = y, t = x)
template <typename T> __device__ void IndexSelectT(long long n, int axis, long long bound, Desc yd, T* y, Desc xd, const T* x, Desc id, const int* index, int* error)
{
    FOR_EACH(i, n)
    {
        long long a = index[OffsetOf(id, CoordOf(yd, i, axis))];
        if (a < 0 || a >= bound) { ReportBadIndex(error, a, bound); continue; }
        y[OffsetOf(yd, i)] = x[Retarget(yd, xd, i, axis, a)];
    }
}
// IndexAdd: dst[…, index[k], …] += src[…, k, …]   (e = src, t = dst)
template <typename T> __device__ void IndexAddT(long long n, int axis, long long bound, Desc sd, const T* src, Desc dd, T* dst, Desc id, const int* index, int* error)
{
    FOR_EACH(i, n)
    {
        long long a = index[OffsetOf(id, CoordOf(sd, i, axis))];
        if (a < 0 || a >= bound) { ReportBadIndex(error, a, bound); continue; }
        atomicAdd(dst + Retarget(sd, dd, i, axis, a), src[OffsetOf(sd, i)]);
    }
}
// Gather: y[i…] = x[i… with the axis coordinate index[i…]]   (e = y, t = x; index shaped as y)
template <typename T> __device__ void GatherT(long long n, int axis, long long bound, Desc yd, T* y, Desc xd, const T* x, Desc id, const int* index, int* error)
{
    FOR_EACH(i, n)
    {
        long long a = index[OffsetOf(id, i)];
        if (a < 0 || a >= bound) { ReportBadIndex(error, a, bound); continue; }
        y[OffsetOf(yd, i)] = x[Retarget(yd, xd, i, axis, a)];
    }
}
// ScatterAdd: dst[i… with the axis coordinate index[i…]] += src[i…]   (e = src, t = dst; index shaped as src)
template <typename T> __device__ void ScatterAddT(long long n, int axis, long long bound, Desc sd, const T* src, Desc dd, T* dst, Desc id, const int* index, int* error)
{
    FOR_EACH(i, n)
    {
        long long a = index[OffsetOf(id, i)];
        if (a < 0 || a >= bound) { ReportBadIndex(error, a, bound); continue; }
        atomicAdd(dst + Retarget(sd, dd, i, axis, a), src[OffsetOf(sd, i)]);
    }
}

#define INDEX_KERNELS(TN, T) \
    extern "C" __global__ void index_select_##TN(long long n, int axis, long long bound, Desc yd, T* y, Desc xd, const T* x, Desc id, const int* index, int* error) \
    { IndexSelectT<T>(n, axis, bound, yd, y, xd, x, id, index, error); } \
    extern "C" __global__ void index_add_##TN(long long n, int axis, long long bound, Desc sd, const T* src, Desc dd, T* dst, Desc id, const int* index, int* error) \
    { IndexAddT<T>(n, axis, bound, sd, src, dd, dst, id, index, error); } \
    extern "C" __global__ void gather_##TN(long long n, int axis, long long bound, Desc yd, T* y, Desc xd, const T* x, Desc id, const int* index, int* error) \
    { GatherT<T>(n, axis, bound, yd, y, xd, x, id, index, error); } \
    extern "C" __global__ void scatter_add_##TN(long long n, int axis, long long bound, Desc sd, const T* src, Desc dd, T* dst, Desc id, const int* index, int* error) \
    { ScatterAddT<T>(n, axis, bound, sd, src, dd, dst, id, index, error); }
INDEX_KERNELS(f32, float)
INDEX_KERNELS(f64, double)
// int32 tensors are selected and gathered too (no adds: IndexAdd and ScatterAdd take floats)
extern "C" __global__ void index_select_i32(long long n, int axis, long long bound, Desc yd, int* y, Desc xd, const int* x, Desc id, const int* index, int* error)
{ IndexSelectT<int>(n, axis, bound, yd, y, xd, x, id, index, error); }
extern "C" __global__ void gather_i32(long long n, int axis, long long bound, Desc yd, int* y, Desc xd, const int* x, Desc id, const int* index, int* error)
{ GatherT<int>(n, axis, bound, yd, y, xd, x, id, index, error); }
