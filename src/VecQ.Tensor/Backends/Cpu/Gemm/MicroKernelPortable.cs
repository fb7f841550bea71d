using System.Numerics;
using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The portable SGEMM micro-kernel: one 4×(2·<see cref="Vector{T}.Count"/>) tile of C in eight
/// <see cref="Vector{T}"/> accumulators. Used where neither 512-bit vectors nor AVX2+FMA are accelerated
/// (e.g. Arm NEON, where <see cref="Vector{T}"/> is 128-bit); correct on any CPU.
/// See <see cref="SgemmKernel"/> for the operand layout.
/// </summary>
internal static unsafe class MicroKernelPortable
{
    /// <summary>Rows of the register tile.</summary>
    public const int MR = 4;
    /// <summary>Columns of the register tile (two <see cref="Vector{T}"/>s).</summary>
    public static int NR => 2 * Vector<float>.Count;

    /// <summary>
    /// c[0..4, 0..NR] ← Σ_p a[p·4 + r]·b[p·bStride + j] + beta·c (beta == 0 overwrites c without reading it).
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc × 4 floats.</param>
    /// <param name="b">B micro-panel: kc rows of NR floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (NR when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 4×NR C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch (ignored here: .NET has no portable prefetch).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel4xN(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount)
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = Vector<float>.Zero, c01 = Vector<float>.Zero;
        Vector<float> c10 = Vector<float>.Zero, c11 = Vector<float>.Zero;
        Vector<float> c20 = Vector<float>.Zero, c21 = Vector<float>.Zero;
        Vector<float> c30 = Vector<float>.Zero, c31 = Vector<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            Vector<float> b0 = Vector.Load(b);
            Vector<float> b1 = Vector.Load(b + w);
            Vector<float> av = new(a[0]);
            c00 = Vector.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector.FusedMultiplyAdd(av, b1, c01);
            av = new(a[1]);
            c10 = Vector.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector.FusedMultiplyAdd(av, b1, c11);
            av = new(a[2]);
            c20 = Vector.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector.FusedMultiplyAdd(av, b1, c21);
            av = new(a[3]);
            c30 = Vector.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector.FusedMultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;
        }
        StoreRow(c, w, c00, c01, beta);
        StoreRow(c + ldc, w, c10, c11, beta);
        StoreRow(c + 2 * ldc, w, c20, c21, beta);
        StoreRow(c + 3 * ldc, w, c30, c31, beta);
    }

    /// <summary>c ← x + beta·c for one row of two vectors (beta == 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, int w, Vector<float> x0, Vector<float> x1, float beta)
    {
        if (beta != 0f)
        {
            Vector<float> bv = new(beta);
            x0 = Vector.FusedMultiplyAdd(bv, Vector.Load(c), x0);
            x1 = Vector.FusedMultiplyAdd(bv, Vector.Load(c + w), x1);
        }
        Vector.Store(x0, c);
        Vector.Store(x1, c + w);
    }
}
