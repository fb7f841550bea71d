// Shared by every VecQ.NET kernel source (prepended by CudaModules before compilation; NVRTC sees one file).
// A strided tensor view: element at linear (row-major) index i lives at offset + Σ coord_d(i)·stride[d].
#define VECQ_MAX_RANK 8
struct Desc
{
    int rank;
    int unused;
    long long size[VECQ_MAX_RANK];
    long long stride[VECQ_MAX_RANK];
    long long offset;
};

// Element offset of the linear index i of view d (row-major over d.size).
__device__ __forceinline__ long long OffsetOf(const Desc& d, long long i)
{
    long long off = d.offset;
    for (int k = d.rank - 1; k >= 0; k--)
    {
        long long s = d.size[k];
        long long c = i % s;
        i /= s;
        off += c * d.stride[k];
    }
    return off;
}

// The device's error slot: the first bad index a kernel met (flag 1, then the index and the bound), read by the host at
// the next synchronisation.
__device__ __forceinline__ void ReportBadIndex(int* error, long long index, long long bound)
{
    if (atomicCAS(error, 0, 1) == 0) { ((long long*)error)[1] = index; ((long long*)error)[2] = bound; }
}

// Grid-stride loop over n items.
#define FOR_EACH(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)

// Block-wide sum of one double per thread (blockDim.x a power of two ≤ 1024); every thread gets the total.
__device__ double BlockSum(double v, double* shared)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();
    return total;
}
