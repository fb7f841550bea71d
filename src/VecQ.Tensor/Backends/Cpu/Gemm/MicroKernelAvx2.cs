using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The AVX2 + FMA3 SGEMM micro-kernels: one 6×16 tile of C held in twelve <see cref="Vector256{T}"/>
/// accumulators (12 of the 16 ymm registers; two B vectors and one A broadcast use three more).
/// </summary>
/// <remarks>
/// Per k step: two 8-float loads of B, six broadcasts of A, twelve FMAs. The k loop of the main kernel is
/// unrolled by four (DESIGN §9: unrolling helped this kernel). Variants: a 4-row edge kernel (for M ≡ 4 mod 6,
/// e.g. M = 64 or 1024) and a main kernel that also writes the B rows it reads into a packed panel (the
/// small-M path reads each B strip in place once and packs it on the way; it prefetches that strip
/// <c>CopyAhead</c> rows ahead, since the rows are ldb apart). Callers must check
/// <see cref="Avx2.IsSupported"/> and <see cref="Fma.IsSupported"/>; see <see cref="SgemmKernel"/> for the
/// operand layout. Generated code: keep the kernels in step with each other when editing.
/// </remarks>
internal static unsafe class MicroKernelAvx2
{
    /// <summary>Rows of the register tile.</summary>
    public const int MR = 6;
    /// <summary>Columns of the register tile (two ymm vectors).</summary>
    public const int NR = 16;
    /// <summary>Rows of the edge kernel <see cref="Kernel4x16"/>.</summary>
    public const int EdgeRows = 4;
    /// <summary>How many rows ahead <see cref="Kernel6x16Copy"/> prefetches the B strip it reads in place.</summary>
    private const int CopyAhead = 16;

    /// <summary>
    /// c[0..6, 0..16] ← Σ_p a[p·6 + r]·b[p·bStride + j] + beta·c (beta == 0 overwrites c without reading it).
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 6 floats (this kernel reads the first 6).</param>
    /// <param name="b">B micro-panel: kc rows of 16 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (16 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 6×16 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel6x16(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
        Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
        Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
        Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
        Vector256<float> c40 = Vector256<float>.Zero, c41 = Vector256<float>.Zero;
        Vector256<float> c50 = Vector256<float>.Zero, c51 = Vector256<float>.Zero;
        Vector256<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        Sse.Prefetch0(c + 0 * ldc);
        Sse.Prefetch0(c + 0 * ldc + 15);
        Sse.Prefetch0(c + 1 * ldc);
        Sse.Prefetch0(c + 1 * ldc + 15);
        Sse.Prefetch0(c + 2 * ldc);
        Sse.Prefetch0(c + 2 * ldc + 15);
        Sse.Prefetch0(c + 3 * ldc);
        Sse.Prefetch0(c + 3 * ldc + 15);
        Sse.Prefetch0(c + 4 * ldc);
        Sse.Prefetch0(c + 4 * ldc + 15);
        Sse.Prefetch0(c + 5 * ldc);
        Sse.Prefetch0(c + 5 * ldc + 15);
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            if (pfCount > 0)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;
        }
        for (; p < kc; p++)
        {
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;
        }
        for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);

        if (beta == 0f)
        {
            Store0(c + 0 * ldc, c00, c01);
            Store0(c + 1 * ldc, c10, c11);
            Store0(c + 2 * ldc, c20, c21);
            Store0(c + 3 * ldc, c30, c31);
            Store0(c + 4 * ldc, c40, c41);
            Store0(c + 5 * ldc, c50, c51);
        }
        else if (beta == 1f)
        {
            Store1(c + 0 * ldc, c00, c01);
            Store1(c + 1 * ldc, c10, c11);
            Store1(c + 2 * ldc, c20, c21);
            Store1(c + 3 * ldc, c30, c31);
            Store1(c + 4 * ldc, c40, c41);
            Store1(c + 5 * ldc, c50, c51);
        }
        else
        {
            Vector256<float> bv = Vector256.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
            StoreBeta(c + 4 * ldc, c40, c41, bv);
            StoreBeta(c + 5 * ldc, c50, c51, bv);
        }
    }

    /// <summary>
    /// <see cref="Kernel6x16"/> that also copies the B rows it reads to <paramref name="bCopy"/> (kc×16, packed).
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 6 floats (this kernel reads the first 6).</param>
    /// <param name="b">B micro-panel: kc rows of 16 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (16 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 6×16 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    /// <param name="bCopy">Where to write the B rows read, packed: kc rows of 16 floats (the panel later calls use).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel6x16Copy(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount, float* bCopy)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
        Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
        Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
        Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
        Vector256<float> c40 = Vector256<float>.Zero, c41 = Vector256<float>.Zero;
        Vector256<float> c50 = Vector256<float>.Zero, c51 = Vector256<float>.Zero;
        Vector256<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        Sse.Prefetch0(c + 0 * ldc);
        Sse.Prefetch0(c + 0 * ldc + 15);
        Sse.Prefetch0(c + 1 * ldc);
        Sse.Prefetch0(c + 1 * ldc + 15);
        Sse.Prefetch0(c + 2 * ldc);
        Sse.Prefetch0(c + 2 * ldc + 15);
        Sse.Prefetch0(c + 3 * ldc);
        Sse.Prefetch0(c + 3 * ldc + 15);
        Sse.Prefetch0(c + 4 * ldc);
        Sse.Prefetch0(c + 4 * ldc + 15);
        Sse.Prefetch0(c + 5 * ldc);
        Sse.Prefetch0(c + 5 * ldc + 15);
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            if (pfCount > 0)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            Sse.Prefetch0(b + CopyAhead * bStride);
            Avx.Store(bCopy, b0);
            Avx.Store(bCopy + 8, b1);
            bCopy += NR;
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            Sse.Prefetch0(b + CopyAhead * bStride);
            Avx.Store(bCopy, b0);
            Avx.Store(bCopy + 8, b1);
            bCopy += NR;
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            Sse.Prefetch0(b + CopyAhead * bStride);
            Avx.Store(bCopy, b0);
            Avx.Store(bCopy + 8, b1);
            bCopy += NR;
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            Sse.Prefetch0(b + CopyAhead * bStride);
            Avx.Store(bCopy, b0);
            Avx.Store(bCopy + 8, b1);
            bCopy += NR;
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;
        }
        for (; p < kc; p++)
        {
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            Sse.Prefetch0(b + CopyAhead * bStride);
            Avx.Store(bCopy, b0);
            Avx.Store(bCopy + 8, b1);
            bCopy += NR;
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += bStride;
        }
        for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);

        if (beta == 0f)
        {
            Store0(c + 0 * ldc, c00, c01);
            Store0(c + 1 * ldc, c10, c11);
            Store0(c + 2 * ldc, c20, c21);
            Store0(c + 3 * ldc, c30, c31);
            Store0(c + 4 * ldc, c40, c41);
            Store0(c + 5 * ldc, c50, c51);
        }
        else if (beta == 1f)
        {
            Store1(c + 0 * ldc, c00, c01);
            Store1(c + 1 * ldc, c10, c11);
            Store1(c + 2 * ldc, c20, c21);
            Store1(c + 3 * ldc, c30, c31);
            Store1(c + 4 * ldc, c40, c41);
            Store1(c + 5 * ldc, c50, c51);
        }
        else
        {
            Vector256<float> bv = Vector256.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
            StoreBeta(c + 4 * ldc, c40, c41, bv);
            StoreBeta(c + 5 * ldc, c50, c51, bv);
        }
    }

    /// <summary>
    /// The edge kernel for a last panel of exactly four rows: c[0..4, 0..16] ← Σ_p a[p·6 + r]·b[p·bStride + j] + beta·c, eight accumulators.
    /// </summary>
    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = 6 floats (this kernel reads the first 4).</param>
    /// <param name="b">B micro-panel: kc rows of 16 floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats (16 when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the 4×16 C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel4x16(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
        Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
        Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
        Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
        Vector256<float> b0, b1, av;
        // The C tile is read (beta != 0) or written at the end: start fetching it now.
        Sse.Prefetch0(c + 0 * ldc);
        Sse.Prefetch0(c + 0 * ldc + 15);
        Sse.Prefetch0(c + 1 * ldc);
        Sse.Prefetch0(c + 1 * ldc + 15);
        Sse.Prefetch0(c + 2 * ldc);
        Sse.Prefetch0(c + 2 * ldc + 15);
        Sse.Prefetch0(c + 3 * ldc);
        Sse.Prefetch0(c + 3 * ldc + 15);
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            if (pfCount > 0)
            {
                Sse.Prefetch0(pf);
                pf += pfStride;
                pfCount--;
            }
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;

            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;
        }
        for (; p < kc; p++)
        {
            b0 = Avx.LoadVector256(b);
            b1 = Avx.LoadVector256(b + 8);
            av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            a += MR;
            b += bStride;
        }
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
            Vector256<float> bv = Vector256.Create(beta);
            StoreBeta(c + 0 * ldc, c00, c01, bv);
            StoreBeta(c + 1 * ldc, c10, c11, bv);
            StoreBeta(c + 2 * ldc, c20, c21, bv);
            StoreBeta(c + 3 * ldc, c30, c31, bv);
        }
    }

    /// <summary>Overwrites one 16-float row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector256<float> x0, Vector256<float> x1)
    {
        Avx.Store(c, x0);
        Avx.Store(c + 8, x1);
    }

    /// <summary>Adds one 16-float row into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store1(float* c, Vector256<float> x0, Vector256<float> x1)
    {
        Avx.Store(c, Avx.Add(Avx.LoadVector256(c), x0));
        Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), x1));
    }

    /// <summary>c ← x + beta·c for one 16-float row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBeta(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> beta)
    {
        Avx.Store(c, Fma.MultiplyAdd(beta, Avx.LoadVector256(c), x0));
        Avx.Store(c + 8, Fma.MultiplyAdd(beta, Avx.LoadVector256(c + 8), x1));
    }
}
