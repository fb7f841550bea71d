using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>Which micro-kernel family <see cref="Sgemm"/> runs.</summary>
internal enum SgemmIsa
{
    /// <summary>
    /// The family chosen for this CPU (<see cref="SgemmKernel.Choose"/>), or the one the environment variable
    /// <c>VECQ_SGEMM_KERNEL</c> names (<c>avx512x12</c>, <c>avx512</c>, <c>avx2</c>, <c>portable</c>).
    /// </summary>
    Auto,
    /// <summary>8×32 tiles of <see cref="Vector512{T}"/> (runs in software where the hardware lacks 512-bit vectors, which tests use).</summary>
    Avx512,
    /// <summary>6×16 tiles of <see cref="Vector256{T}"/> with AVX2 + FMA3 intrinsics (x86 only).</summary>
    Avx2,
    /// <summary>12×32 tiles of <see cref="Vector512{T}"/>: 24 accumulators for cores with two 512-bit FMA ports (runs in software elsewhere).</summary>
    Avx512x12,
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
    /// <summary>
    /// Most floats of B the threads of one packed call pack together into shared memory at a time (a K block
    /// of whole kc blocks × a column block; every core then reads all of it, so on CPUs whose L2 can hold it
    /// this is half the L2).
    /// </summary>
    public readonly long SharedB;

    /// <summary>Creates a kernel descriptor.</summary>
    public SgemmKernel(SgemmIsa isa, int mr, int nr, int kc, int kcSmallM, int mc, int nc,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> fn,
        int edgeRows = 0, delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> edgeFn = null,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, float*, void> copyFn = null,
        long sharedB = DefaultSharedB)
    {
        Isa = isa; MR = mr; NR = nr; KC = kc; KCSmallM = kcSmallM; MC = mc; NC = nc; Fn = fn;
        EdgeRows = edgeRows; EdgeFn = edgeFn; CopyFn = copyFn; SharedB = sharedB;
    }

    /// <summary>The shared-B limit measured on the AMD machines (16 MB: usually all of B at once, from L3).</summary>
    public const long DefaultSharedB = 4L << 20;

    /// <summary>
    /// The descriptor for <paramref name="isa"/> with the blocking for this CPU; <see cref="SgemmIsa.Auto"/> takes
    /// <c>VECQ_SGEMM_KERNEL</c> when set, else <see cref="Choose"/>. <c>VECQ_SGEMM_BLOCKING</c>
    /// (<c>kc=256,kcsmall=256,mc=192,nc=4096,shared=262144</c>, any subset) overrides the blocking, so candidates can be measured anywhere.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException"><see cref="SgemmIsa.Avx2"/> on a CPU without AVX2 and FMA3.</exception>
    /// <exception cref="ArgumentException">Either environment variable holds something else than the forms above.</exception>
    public static SgemmKernel For(SgemmIsa isa) => For(isa, CpuInfo.Current,
        Environment.GetEnvironmentVariable(KernelVariable), Environment.GetEnvironmentVariable(BlockingVariable));

    /// <summary>Environment variable that names the micro-kernel family <see cref="SgemmIsa.Auto"/> runs.</summary>
    public const string KernelVariable = "VECQ_SGEMM_KERNEL";
    /// <summary>Environment variable that overrides the cache blocking.</summary>
    public const string BlockingVariable = "VECQ_SGEMM_BLOCKING";

    /// <summary>
    /// The family for <paramref name="cpu"/>: the 8×32 tiles wherever AVX-512 is accelerated, AVX2 + FMA3, else
    /// the portable kernel. (The 12×32 tiles, meant for Intel's two 512-bit FMA ports, measured as fast as 8×32
    /// on a Xeon once both run the offset-addressed unrolled loop, 0.92–0.98 of peak on L1-resident operands, and
    /// no faster in the full GEMM; they stay selectable, bench/README.md.) The blocking is chosen per CPU in
    /// <see cref="For(SgemmIsa)"/>.
    /// </summary>
    public static SgemmIsa Choose(CpuInfo cpu)
        => cpu.Avx512 ? SgemmIsa.Avx512
            : cpu.Avx2Fma ? SgemmIsa.Avx2
            : SgemmIsa.Portable;

    /// <summary><see cref="For(SgemmIsa)"/> for a given CPU and environment (tests use this).</summary>
    internal static SgemmKernel For(SgemmIsa isa, CpuInfo cpu, string? kernelVar, string? blockingVar)
    {
        if (isa == SgemmIsa.Auto) isa = string.IsNullOrWhiteSpace(kernelVar) ? Choose(cpu) : ParseIsa(kernelVar);
        var kern = isa switch
        {
            // AMD keeps the blocking measured there (DESIGN §9); Intel's follows its caches.
            SgemmIsa.Avx512 when !cpu.IsIntel => new SgemmKernel(isa, MicroKernel512.MR, MicroKernel512.NR,
                kc: 384, kcSmallM: 256, mc: 192, nc: 4096, &MicroKernel512.Kernel8x32,
                MicroKernel512.EdgeRows, &MicroKernel512.Kernel4x32, &MicroKernel512.Kernel8x32Copy),
            SgemmIsa.Avx512 => FromCaches(cpu, isa, MicroKernel512.MR, MicroKernel512.NR, &MicroKernel512.Kernel8x32,
                &MicroKernel512.Kernel4x32, &MicroKernel512.Kernel8x32Copy),
            SgemmIsa.Avx512x12 => FromCaches(cpu, isa, MicroKernel512x12.MR, MicroKernel512x12.NR, &MicroKernel512x12.Kernel12x32,
                &MicroKernel512x12.Kernel4x32, &MicroKernel512x12.Kernel12x32Copy),
            SgemmIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported
                ? new SgemmKernel(isa, MicroKernelAvx2.MR, MicroKernelAvx2.NR,
                    kc: 256, kcSmallM: 256, mc: 144, nc: 4096, &MicroKernelAvx2.Kernel6x16,
                    MicroKernelAvx2.EdgeRows, &MicroKernelAvx2.Kernel4x16, &MicroKernelAvx2.Kernel6x16Copy)
                : throw new PlatformNotSupportedException("The AVX2 SGEMM kernel needs AVX2 and FMA3."),
            _ => new SgemmKernel(SgemmIsa.Portable, MicroKernelPortable.MR, MicroKernelPortable.NR,
                kc: 256, kcSmallM: 256, mc: 128, nc: MicroKernelPortable.NR * (2048 / MicroKernelPortable.NR), &MicroKernelPortable.Kernel4xN),
        };
        return string.IsNullOrWhiteSpace(blockingVar) ? kern : kern.WithBlocking(blockingVar);
    }

    /// <summary>
    /// A 512-bit family (4-row edge kernel) with blocking from <paramref name="cpu"/>'s caches: the kc×NR B
    /// micro-panel fills at most two thirds of L1 (48 KiB, NR = 32 → kc = 256, which measured best on a Xeon),
    /// the packed mc×kc A block at most half of L2 and no more than 192 rows (row chunks for the threads), the
    /// kc×nc B block a few MB of L3, and the B the threads share half of L2 (so each core streams it from its own
    /// L2, not from an L3 that a VM shares with its neighbours).
    /// </summary>
    private static SgemmKernel FromCaches(CpuInfo cpu, SgemmIsa isa, int mr, int nr,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> fn,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, void> edgeFn,
        delegate*<int, float*, float*, nint, float*, nint, float, byte*, nint, int, float*, void> copyFn)
    {
        int kc = Math.Clamp(cpu.L1Bytes * 2 / 3 / (nr * sizeof(float)) / 16 * 16, 64, 512);
        int mc = Math.Clamp(cpu.L2Bytes / 2 / (kc * sizeof(float)) / mr * mr, 2 * mr, 192 / mr * mr);
        long sharedB = Math.Max(16L * nr * kc, cpu.L2Bytes / 2 / sizeof(float));
        return new SgemmKernel(isa, mr, nr, kc, kcSmallM: kc, mc, nc: 4096, fn, 4, edgeFn, copyFn, sharedB);
    }

    /// <summary>This kernel with the blocking in <paramref name="spec"/> (<c>kc=…,kcsmall=…,mc=…,nc=…,shared=…</c>, any subset; shared in floats).</summary>
    private SgemmKernel WithBlocking(string spec)
    {
        int kc = KC, kcSmall = KCSmallM, mc = MC, nc = NC;
        long shared = SharedB;
        foreach (string part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || !int.TryParse(kv[1], out int v) || v <= 0)
                throw new ArgumentException($"{BlockingVariable}: '{part}' is not name=positive integer (expected e.g. kc=256,kcsmall=256,mc=192,nc=4096,shared=262144).");
            switch (kv[0].ToLowerInvariant())
            {
                case "kc": kc = v; break;
                case "kcsmall": kcSmall = v; break;
                case "mc": mc = (v + MR - 1) / MR * MR; break;
                case "nc": nc = (v + NR - 1) / NR * NR; break;
                case "shared": shared = v; break;
                default: throw new ArgumentException($"{BlockingVariable}: unknown name '{kv[0]}' (expected kc, kcsmall, mc, nc or shared).");
            }
        }
        return new SgemmKernel(Isa, MR, NR, kc, kcSmall, mc, nc, Fn, EdgeRows, EdgeFn, CopyFn, shared);
    }

    /// <summary>The family a <c>VECQ_SGEMM_KERNEL</c> value names.</summary>
    private static SgemmIsa ParseIsa(string name) => name.Trim().ToLowerInvariant() switch
    {
        "avx512x12" or "12x32" => SgemmIsa.Avx512x12,
        "avx512" or "8x32" => SgemmIsa.Avx512,
        "avx2" or "6x16" => SgemmIsa.Avx2,
        "portable" => SgemmIsa.Portable,
        _ => throw new ArgumentException($"{KernelVariable}='{name}': expected avx512x12, avx512, avx2 or portable."),
    };

    /// <summary>One line for reports: family, tile and blocking, e.g. "avx512x12 12×32 (edge 4), kc 192, mc 2724, nc 4096".</summary>
    public override string ToString()
        => $"{Isa.ToString().ToLowerInvariant()} {MR}×{NR}{(EdgeRows > 0 ? $" (edge {EdgeRows})" : "")}, kc {KC}, kc small-M {KCSmallM}, mc {MC}, nc {NC}, shared B {SharedB * sizeof(float) >> 10} KiB";
}
