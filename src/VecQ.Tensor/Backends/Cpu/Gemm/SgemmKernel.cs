using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>Which micro-kernel family <see cref="Sgemm"/> runs.</summary>
internal enum SgemmIsa
{
    /// <summary>The fastest family the hardware accelerates: <see cref="Avx512"/>, then <see cref="Avx2"/>, then <see cref="Portable"/>.</summary>
    Auto,
    /// <summary>8×32 tiles of <see cref="Vector512{T}"/> (runs in software where the hardware lacks 512-bit vectors, which tests use).</summary>
    Avx512,
    /// <summary>6×16 tiles of <see cref="Vector256{T}"/> with AVX2 + FMA3 intrinsics (x86 only).</summary>
    Avx2,
    /// <summary>4×(2·<see cref="System.Numerics.Vector{T}.Count"/>) tiles of <see cref="System.Numerics.Vector{T}"/>: any CPU.</summary>
    Portable,
}

/// <summary>
/// One micro-kernel and the cache blocking tuned for it.
/// </summary>
/// <remarks>
/// The kernel computes one MR×NR tile of C from a packed A micro-panel and a B micro-panel:
/// <code>
/// a : kc steps × MR floats, contiguous (A[i0..i0+MR, p] for p = 0..kc; alpha already folded in)
/// b : kc rows × NR floats, row p at b + p·bStride (bStride = NR when packed, ldb when read in place)
/// c : MR rows × NR floats, row r at c + r·ldc;  c ← acc + beta·c   (beta == 0 overwrites, NaN-safe)
/// pf: pfCount addresses pf, pf + pfStride, … to prefetch into L1 for a later call, one every four k steps
/// </code>
/// Spreading the prefetches through the arithmetic keeps only a few misses in flight at a time; the same
/// prefetches issued in a burst between calls fill the miss buffers and stall the core. The kernels also
/// prefetch their own C tile before the k loop, so the final read-modify-write of C does not stall.
/// Blocking (see DESIGN §9): KC bounds the k-depth of one pass (a KC×NR B micro-panel should stay in L1),
/// MC the rows of one packed A block (MC×KC in L2), NC the columns of one packed B block (KC×NC in L3).
/// </remarks>
internal readonly unsafe struct SgemmKernel
{
    /// <summary>Rows of one register tile.</summary>
    public readonly int MR;
    /// <summary>Columns of one register tile (a multiple of the vector width).</summary>
    public readonly int NR;
    /// <summary>Largest k-depth of one pass; K is split into equal blocks no deeper than this.</summary>
    public readonly int KC;
    /// <summary>Largest k-depth of one pass on the small-M path, so a KC×NR strip of B stays in L1.</summary>
    public readonly int KCSmallM;
    /// <summary>Rows of one packed A block (a multiple of <see cref="MR"/>).</summary>
    public readonly int MC;
    /// <summary>Columns of one packed B block (a multiple of <see cref="NR"/>).</summary>
    public readonly int NC;
    /// <summary>The micro-kernel: (kc, a, b, bStride, c, ldc, beta, pf, pfStride, pfCount).</summary>
    public readonly delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> Fn;
    /// <summary>
    /// Optional edge kernel for a last A panel of exactly <see cref="EdgeRows"/> rows (same operand layout,
    /// A still MR floats per k step), so M ≡ EdgeRows (mod MR) wastes no FMAs and needs no spill tile; or null.
    /// </summary>
    public readonly delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> EdgeFn;
    /// <summary>Rows of <see cref="EdgeFn"/> (0 when there is none).</summary>
    public readonly int EdgeRows;
    /// <summary>
    /// Optional variant of <see cref="Fn"/> that also writes the B rows it reads, packed (kc×NR), to its last
    /// argument: the small-M path reads each B strip in place once this way and packs it for the other row
    /// panels without a separate pass; or null.
    /// </summary>
    public readonly delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, float*, void> CopyFn;
    /// <summary>Which family this is.</summary>
    public readonly SgemmIsa Isa;

    /// <summary>Creates a kernel descriptor.</summary>
    public SgemmKernel(SgemmIsa isa, int mr, int nr, int kc, int kcSmallM, int mc, int nc,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> fn,
        int edgeRows = 0, delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> edgeFn = null,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, float*, void> copyFn = null)
    {
        Isa = isa; MR = mr; NR = nr; KC = kc; KCSmallM = kcSmallM; MC = mc; NC = nc; Fn = fn;
        EdgeRows = edgeRows; EdgeFn = edgeFn; CopyFn = copyFn;
    }

    /// <summary>The descriptor for <paramref name="isa"/>; <see cref="SgemmIsa.Auto"/> picks by hardware.</summary>
    /// <exception cref="PlatformNotSupportedException"><see cref="SgemmIsa.Avx2"/> on a CPU without AVX2 and FMA3.</exception>
    public static SgemmKernel For(SgemmIsa isa)
    {
        if (isa == SgemmIsa.Auto)
        {
            isa = Vector512.IsHardwareAccelerated ? SgemmIsa.Avx512
                : Avx2.IsSupported && Fma.IsSupported ? SgemmIsa.Avx2
                : SgemmIsa.Portable;
        }
        switch (isa)
        {
            case SgemmIsa.Avx512:
                return new SgemmKernel(isa, MicroKernel512.MR, MicroKernel512.NR,
                    kc: 384, kcSmallM: 256, mc: 192, nc: 4096, &MicroKernel512.Kernel8x32,
                    MicroKernel512.EdgeRows, &MicroKernel512.Kernel4x32, &MicroKernel512.Kernel8x32Copy);
            case SgemmIsa.Avx2:
                if (!(Avx2.IsSupported && Fma.IsSupported))
                    throw new PlatformNotSupportedException("The AVX2 SGEMM kernel needs AVX2 and FMA3.");
                return new SgemmKernel(isa, MicroKernelAvx2.MR, MicroKernelAvx2.NR,
                    kc: 256, kcSmallM: 256, mc: 144, nc: 4096, &MicroKernelAvx2.Kernel6x16,
                    MicroKernelAvx2.EdgeRows, &MicroKernelAvx2.Kernel4x16, &MicroKernelAvx2.Kernel6x16Copy);
            default:
                int nr = MicroKernelPortable.NR;
                return new SgemmKernel(SgemmIsa.Portable, MicroKernelPortable.MR, nr,
                    kc: 256, kcSmallM: 256, mc: 128, nc: nr * (2048 / nr), &MicroKernelPortable.Kernel4xN);
        }
    }
}
