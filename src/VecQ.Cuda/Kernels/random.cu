// The counter-based generator of VecQ.Tensors.Rng, element i at stream position counter + i: the same SplitMix64
// finaliser and the same double operations, so uniform and Bernoulli fills equal the CPU's bit for bit; the normal
// fill's log and cos are CUDA's (within an ulp or two of the host's).

__device__ __forceinline__ unsigned long long Hash(unsigned long long seed, unsigned long long position)
{
    unsigned long long z = seed * 0x9E3779B97F4A7C15ULL + position * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ double Uniform01(unsigned long long seed, unsigned long long position)
{
    return __dmul_rn((double)(Hash(seed, position) >> 11), 1.0 / 9007199254740992.0);
}

// kind: 0 uniform on [a, b), 1 normal (mean a, standard deviation b), 2 Bernoulli (1 with probability a).
__device__ __forceinline__ double Sample(int kind, unsigned long long seed, unsigned long long position, double a, double b)
{
    if (kind == 0) return __dadd_rn(a, __dmul_rn(__dsub_rn(b, a), Uniform01(seed, position)));
    if (kind == 2) return Uniform01(seed, position) < a ? 1.0 : 0.0;
    double u1 = Uniform01(seed, position);
    double u2 = __dmul_rn((double)(Hash(seed ^ 0x5DEECE66DULL, position) >> 11), 1.0 / 9007199254740992.0);
    double r = sqrt(__dmul_rn(-2.0, log(__dsub_rn(1.0, u1))));
    return __dadd_rn(a, __dmul_rn(b, __dmul_rn(r, cos(__dmul_rn(2.0 * 3.141592653589793, u2)))));
}

extern "C" __global__ void random_f32(long long n, int kind, unsigned long long seed, unsigned long long counter, double a, double b, float* y)
{
    FOR_EACH(i, n) y[i] = (float)Sample(kind, seed, counter + (unsigned long long)i, a, b);
}
extern "C" __global__ void random_f64(long long n, int kind, unsigned long long seed, unsigned long long counter, double a, double b, double* y)
{
    FOR_EACH(i, n) y[i] = Sample(kind, seed, counter + (unsigned long long)i, a, b);
}
