using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The 512-bit SGEMM micro-kernels: one 8×32 tile of C held in sixteen <see cref="Vector512{T}"/>
/// accumulators (16 of the 32 zmm registers).
/// </summary>
/// <remarks>
/// Per k step: two 16-float loads of B, eight broadcasts of A, sixteen FMAs (half the instructions per
/// FLOP of the AVX2 kernel; DESIGN §9 measured such kernels at ~98% of peak even where 512-bit FMAs are
/// split in two). Eight rows make M = 64 (LeNet conv2) exactly eight tiles. Variants as in
/// <see cref="MicroKernelAvx2"/>: a 4-row edge kernel and a main kernel that packs the B rows it reads.
/// Written with the cross-platform <see cref="Vector512"/> API, so it compiles to AVX-512F where
/// <see cref="Vector512.IsHardwareAccelerated"/> and still runs (slowly, in software) elsewhere, which lets
/// tests check it on any machine. See <see cref="SgemmKernel"/> for the operand layout.
/// Generated code: keep the kernels in step with each other when editing.
/// </remarks>
internal static unsafe class MicroKernel512
{
    /// <summary>Rows of the register tile.</summary>
    public const int MR = 8;
    /// <summary>Columns of the register tile (two zmm vectors).</summary>
    public const int NR = 32;
    /// <summary>Rows of the edge kernel <see cref="Kernel4x32"/>.</summary>
    public const int EdgeRows = 4;
    /// <summary>How many rows ahead <see cref="Kernel8x32Copy"/> prefetches the B strip it reads in place.</summary>
    private const int CopyAhead = 16;

    /// <summary>
    /// c[0..8, 0..32] ← Σ_p a[p·8 + r]·b[p·bStride + j] + beta·c (beta == 0 overwrites c without reading it).
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 8 floats (this kernel reads the first 8).</param>
    /// <param name="b">B micro-panel: kc rows of 32 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (32 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 8×32 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel8x32(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount)
    {
        Vector512<float> c00 = Vector512<float>.Zero, c01 = Vector512<float>.Zero;
        Vector512<float> c10 = Vector512<float>.Zero, c11 = Vector512<float>.Zero;
        Vector512<float> c20 = Vector512<float>.Zero, c21 = Vector512<float>.Zero;
        Vector512<float> c30 = Vector512<float>.Zero, c31 = Vector512<float>.Zero;
        Vector512<float> c40 = Vector512<float>.Zero, c41 = Vector512<float>.Zero;
        Vector512<float> c50 = Vector512<float>.Zero, c51 = Vector512<float>.Zero;
        Vector512<float> c60 = Vector512<float>.Zero, c61 = Vector512<float>.Zero;
        Vector512<float> c70 = Vector512<float>.Zero, c71 = Vector512<float>.Zero;
        Vector512<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(c + 0 * ldc);
            Sse.Prefetch0(c + 0 * ldc + 16);
            Sse.Prefetch0(c + 0 * ldc + 31);
            Sse.Prefetch0(c + 1 * ldc);
            Sse.Prefetch0(c + 1 * ldc + 16);
            Sse.Prefetch0(c + 1 * ldc + 31);
            Sse.Prefetch0(c + 2 * ldc);
            Sse.Prefetch0(c + 2 * ldc + 16);
            Sse.Prefetch0(c + 2 * ldc + 31);
            Sse.Prefetch0(c + 3 * ldc);
            Sse.Prefetch0(c + 3 * ldc + 16);
            Sse.Prefetch0(c + 3 * ldc + 31);
            Sse.Prefetch0(c + 4 * ldc);
            Sse.Prefetch0(c + 4 * ldc + 16);
            Sse.Prefetch0(c + 4 * ldc + 31);
            Sse.Prefetch0(c + 5 * ldc);
            Sse.Prefetch0(c + 5 * ldc + 16);
            Sse.Prefetch0(c + 5 * ldc + 31);
            Sse.Prefetch0(c + 6 * ldc);
            Sse.Prefetch0(c + 6 * ldc + 16);
            Sse.Prefetch0(c + 6 * ldc + 31);
            Sse.Prefetch0(c + 7 * ldc);
            Sse.Prefetch0(c + 7 * ldc + 16);
            Sse.Prefetch0(c + 7 * ldc + 31);
        }
        for (int p = 0; p < kc; p++)
        {
            if ((p & 3) == 0 && pfCount > 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Vector512.Load(b);
            b1 = Vector512.Load(b + 16);
            av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            a += MR;
            b += bStride;
        }
        if (Sse.IsSupported)
            for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);

        if (beta == 0f)
        {
            Store0(c + 0 * ldc, c00, c01);
            Store0(c + 1 * ldc, c10, c11);
            Store0(c + 2 * ldc, c20, c21);
            Store0(c + 3 * ldc, c30, c31);
            Store0(c + 4 * ldc, c40, c41);
            Store0(c + 5 * ldc, c50, c51);
            Store0(c + 6 * ldc, c60, c61);
            Store0(c + 7 * ldc, c70, c71);
        }
        else if (beta == 1f)
        {
            Store1(c + 0 * ldc, c00, c01);
            Store1(c + 1 * ldc, c10, c11);
            Store1(c + 2 * ldc, c20, c21);
            Store1(c + 3 * ldc, c30, c31);
            Store1(c + 4 * ldc, c40, c41);
            Store1(c + 5 * ldc, c50, c51);
            Store1(c + 6 * ldc, c60, c61);
            Store1(c + 7 * ldc, c70, c71);
        }
        else
        {
            Vector512<float> bv = Vector512.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
            StoreBeta(c + 4 * ldc, c40, c41, bv);
            StoreBeta(c + 5 * ldc, c50, c51, bv);
            StoreBeta(c + 6 * ldc, c60, c61, bv);
            StoreBeta(c + 7 * ldc, c70, c71, bv);
        }
    }

    /// <summary>
    /// <see cref="Kernel8x32"/> that also copies the B rows it reads to <paramref name="bCopy"/> (kc×32, packed).
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 8 floats (this kernel reads the first 8).</param>
    /// <param name="b">B micro-panel: kc rows of 32 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (32 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 8×32 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    /// <param name="bCopy">Where to write the B rows read, packed: kc rows of 32 floats (the panel later calls use).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel8x32Copy(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount, float* bCopy)
    {
        Vector512<float> c00 = Vector512<float>.Zero, c01 = Vector512<float>.Zero;
        Vector512<float> c10 = Vector512<float>.Zero, c11 = Vector512<float>.Zero;
        Vector512<float> c20 = Vector512<float>.Zero, c21 = Vector512<float>.Zero;
        Vector512<float> c30 = Vector512<float>.Zero, c31 = Vector512<float>.Zero;
        Vector512<float> c40 = Vector512<float>.Zero, c41 = Vector512<float>.Zero;
        Vector512<float> c50 = Vector512<float>.Zero, c51 = Vector512<float>.Zero;
        Vector512<float> c60 = Vector512<float>.Zero, c61 = Vector512<float>.Zero;
        Vector512<float> c70 = Vector512<float>.Zero, c71 = Vector512<float>.Zero;
        Vector512<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(c + 0 * ldc);
            Sse.Prefetch0(c + 0 * ldc + 16);
            Sse.Prefetch0(c + 0 * ldc + 31);
            Sse.Prefetch0(c + 1 * ldc);
            Sse.Prefetch0(c + 1 * ldc + 16);
            Sse.Prefetch0(c + 1 * ldc + 31);
            Sse.Prefetch0(c + 2 * ldc);
            Sse.Prefetch0(c + 2 * ldc + 16);
            Sse.Prefetch0(c + 2 * ldc + 31);
            Sse.Prefetch0(c + 3 * ldc);
            Sse.Prefetch0(c + 3 * ldc + 16);
            Sse.Prefetch0(c + 3 * ldc + 31);
            Sse.Prefetch0(c + 4 * ldc);
            Sse.Prefetch0(c + 4 * ldc + 16);
            Sse.Prefetch0(c + 4 * ldc + 31);
            Sse.Prefetch0(c + 5 * ldc);
            Sse.Prefetch0(c + 5 * ldc + 16);
            Sse.Prefetch0(c + 5 * ldc + 31);
            Sse.Prefetch0(c + 6 * ldc);
            Sse.Prefetch0(c + 6 * ldc + 16);
            Sse.Prefetch0(c + 6 * ldc + 31);
            Sse.Prefetch0(c + 7 * ldc);
            Sse.Prefetch0(c + 7 * ldc + 16);
            Sse.Prefetch0(c + 7 * ldc + 31);
        }
        for (int p = 0; p < kc; p++)
        {
            if ((p & 3) == 0 && pfCount > 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Vector512.Load(b);
            b1 = Vector512.Load(b + 16);
            if (Sse.IsSupported) { Sse.Prefetch0(b + CopyAhead * bStride); Sse.Prefetch0(b + CopyAhead * bStride + 16); }
            Vector512.Store(b0, bCopy);
            Vector512.Store(b1, bCopy + 16);
            bCopy += NR;
            av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            a += MR;
            b += bStride;
        }
        if (Sse.IsSupported)
            for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);

        if (beta == 0f)
        {
            Store0(c + 0 * ldc, c00, c01);
            Store0(c + 1 * ldc, c10, c11);
            Store0(c + 2 * ldc, c20, c21);
            Store0(c + 3 * ldc, c30, c31);
            Store0(c + 4 * ldc, c40, c41);
            Store0(c + 5 * ldc, c50, c51);
            Store0(c + 6 * ldc, c60, c61);
            Store0(c + 7 * ldc, c70, c71);
        }
        else if (beta == 1f)
        {
            Store1(c + 0 * ldc, c00, c01);
            Store1(c + 1 * ldc, c10, c11);
            Store1(c + 2 * ldc, c20, c21);
            Store1(c + 3 * ldc, c30, c31);
            Store1(c + 4 * ldc, c40, c41);
            Store1(c + 5 * ldc, c50, c51);
            Store1(c + 6 * ldc, c60, c61);
            Store1(c + 7 * ldc, c70, c71);
        }
        else
        {
            Vector512<float> bv = Vector512.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
            StoreBeta(c + 4 * ldc, c40, c41, bv);
            StoreBeta(c + 5 * ldc, c50, c51, bv);
            StoreBeta(c + 6 * ldc, c60, c61, bv);
            StoreBeta(c + 7 * ldc, c70, c71, bv);
        }
    }

    /// <summary>
    /// The edge kernel for a last panel of exactly four rows (M ≡ 4 mod 8): c[0..4, 0..32] ← Σ_p a[p·8 + r]·b[p·bStride + j] + beta·c.
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 8 floats (this kernel reads the first 4).</param>
    /// <param name="b">B micro-panel: kc rows of 32 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (32 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 4×32 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel4x32(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount)
    {
        Vector512<float> c00 = Vector512<float>.Zero, c01 = Vector512<float>.Zero;
        Vector512<float> c10 = Vector512<float>.Zero, c11 = Vector512<float>.Zero;
        Vector512<float> c20 = Vector512<float>.Zero, c21 = Vector512<float>.Zero;
        Vector512<float> c30 = Vector512<float>.Zero, c31 = Vector512<float>.Zero;
        Vector512<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(c + 0 * ldc);
            Sse.Prefetch0(c + 0 * ldc + 16);
            Sse.Prefetch0(c + 0 * ldc + 31);
            Sse.Prefetch0(c + 1 * ldc);
            Sse.Prefetch0(c + 1 * ldc + 16);
            Sse.Prefetch0(c + 1 * ldc + 31);
            Sse.Prefetch0(c + 2 * ldc);
            Sse.Prefetch0(c + 2 * ldc + 16);
            Sse.Prefetch0(c + 2 * ldc + 31);
            Sse.Prefetch0(c + 3 * ldc);
            Sse.Prefetch0(c + 3 * ldc + 16);
            Sse.Prefetch0(c + 3 * ldc + 31);
        }
        for (int p = 0; p < kc; p++)
        {
            if ((p & 3) == 0 && pfCount > 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Vector512.Load(b);
            b1 = Vector512.Load(b + 16);
            av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;
        }
        if (Sse.IsSupported)
            for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);

        if (beta == 0f)
        {
            Store0(c + 0 * ldc, c00, c01);
            Store0(c + 1 * ldc, c10, c11);
            Store0(c + 2 * ldc, c20, c21);
            Store0(c + 3 * ldc, c30, c31);
        }
        else if (beta == 1f)
        {
            Store1(c + 0 * ldc, c00, c01);
            Store1(c + 1 * ldc, c10, c11);
            Store1(c + 2 * ldc, c20, c21);
            Store1(c + 3 * ldc, c30, c31);
        }
        else
        {
            Vector512<float> bv = Vector512.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
        }
    }

    /// <summary>Overwrites one 32-float row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + 16);
    }

    /// <summary>Adds one 32-float row into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store1(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Vector512.Store(Vector512.Load(c) + x0, c);
        Vector512.Store(Vector512.Load(c + 16) + x1, c + 16);
    }

    /// <summary>c ← x + beta·c for one 32-float row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBeta(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> beta)
    {
        Vector512.Store(Vector512.FusedMultiplyAdd(beta, Vector512.Load(c), x0), c);
        Vector512.Store(Vector512.FusedMultiplyAdd(beta, Vector512.Load(c + 16), x1), c + 16);
    }
}
