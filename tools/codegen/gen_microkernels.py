# Generates the SGEMM micro-kernels MicroKernelAvx2.cs and MicroKernel512.cs (VecQ.NET).
# Usage: /usr/bin/python3 tools/codegen/gen_microkernels.py src/VecQ.Tensor/Backends/Cpu/Gemm
# Edit this script, not the generated files; .ci/run regenerates them and fails on any difference.
import sys
out = sys.argv[1]

PARAMS_DOC = '''    /// <param name="kc">Depth of the product (number of k steps), ≥ 0.</param>
    /// <param name="a">Packed A micro-panel: kc steps of MR = {MR} floats (this kernel reads the first {rows}).</param>
    /// <param name="b">B micro-panel: kc rows of {NR} floats, <paramref name="bStride"/> floats apart.</param>
    /// <param name="bStride">Distance between B rows in floats ({NR} when packed, ldb when read in place).</param>
    /// <param name="c">Top-left of the {rows}×{NR} C tile.</param>
    /// <param name="ldc">Distance between C rows in floats.</param>
    /// <param name="beta">Scale of the old C (0: overwrite, 1: accumulate).</param>
    /// <param name="pf">First of <paramref name="pfCount"/> addresses to prefetch for a later call (see <see cref="SgemmKernel"/>).</param>
    /// <param name="pfStride">Bytes between prefetched addresses.</param>
    /// <param name="pfCount">Addresses to prefetch, one every four k steps (0: none).</param>'''
COPY_DOC = '''
    /// <param name="bCopy">Where to write the B rows read, packed: kc rows of {NR} floats (the panel later calls use).</param>'''

def kernel(isa, rows, MR, NR, name, summary, copy=False, unroll=1, offsets=False):
    # offsets: in the unrolled loop, step u reads A at constant offsets u·MR and B at b + u·bStride (strides
    # precomputed), and the pointers advance once per group: fewer scalar µops beside the FMAs, which on
    # Intel compete with them for ports 0 and 5.
    V = "Vector256" if isa == "avx2" else "Vector512"
    W = 8 if isa == "avx2" else 16
    def load(off):
        return f"Avx.LoadVector256(b{off})" if isa == "avx2" else f"Vector512.Load(b{off})"
    def bcast(r):
        return f"Avx.BroadcastScalarToVector256(a + {r})" if isa == "avx2" else f"Vector512.Create(a[{r}])"
    def fma(x, y, z):
        return f"Fma.MultiplyAdd({x}, {y}, {z})" if isa == "avx2" else f"Vector512.FusedMultiplyAdd({x}, {y}, {z})"
    def store(v, addr):
        return f"Avx.Store({addr}, {v});" if isa == "avx2" else f"Vector512.Store({v}, {addr});"
    guard = "" if isa == "avx2" else " && Sse.IsSupported"
    BO = ["", " + bStride", " + bs2", " + bs3"]
    def step(ind, with_pf, u=None):
        s = []
        bo = BO[u] if u is not None else ""
        if with_pf:
            s += [f"{ind}if ({'(p & 3) == 0 && ' if unroll == 1 else ''}pfCount > 0{guard})",
                  f"{ind}{{", f"{ind}    Sse.Prefetch0(pf);", f"{ind}    pf += pfStride;", f"{ind}    pfCount--;", f"{ind}}}"]
        s += [f"{ind}b0 = {load(bo)};", f"{ind}b1 = {load(bo + ' + ' + str(W))};"]
        if copy:
            ahead = "ahead" if u is not None else "CopyAhead * bStride"
            pfl = f"Sse.Prefetch0(b + {ahead}{bo});"
            if NR == 32:
                pfl = f"Sse.Prefetch0(b + {ahead}{bo}); Sse.Prefetch0(b + {ahead}{bo} + 16);"
            s += [f"{ind}{pfl}" if isa == "avx2" else f"{ind}if (Sse.IsSupported) {{ {pfl} }}"]
            co = f" + {u * NR}" if u else ""
            s += [f"{ind}{store('b0', 'bCopy' + co)}", f"{ind}{store('b1', 'bCopy' + co + ' + ' + str(W))}"]
            if u is None: s += [f"{ind}bCopy += NR;"]
        for r in range(rows):
            s += [f"{ind}av = {bcast(r + (u or 0) * MR)};",
                  f"{ind}c{r}0 = {fma('av', 'b0', f'c{r}0')};",
                  f"{ind}c{r}1 = {fma('av', 'b1', f'c{r}1')};"]
        if u is None: s += [f"{ind}a += MR;", f"{ind}b += bStride;"]
        return "\n".join(s)
    ind = "            "
    decl = "\n".join(f"        {V}<float> c{r}0 = {V}<float>.Zero, c{r}1 = {V}<float>.Zero;" for r in range(rows))
    st = lambda f, extra="": "\n".join(f"            {f}(c + {r} * ldc, c{r}0, c{r}1{extra});" for r in range(rows))
    if unroll > 1 and offsets:
        assert unroll == 4
        body = "\n\n".join(step(ind, u == 0, u) for u in range(unroll))
        adv = f"{ind}a += {unroll * MR};\n{ind}b += bs4;" + (f"\n{ind}bCopy += {unroll * NR};" if copy else "")
        pre = "        nint bs2 = 2 * bStride, bs3 = 3 * bStride, bs4 = 4 * bStride;" + ("\n        nint ahead = CopyAhead * bStride;" if copy else "")
        loops = f'''{pre}
        int p = 0;
        for (; p + {unroll} <= kc; p += {unroll})
        {{
{body}
{adv}
        }}
        for (; p < kc; p++)
        {{
{step(ind, False)}
        }}'''
    elif unroll > 1:
        body = "\n\n".join(step(ind, u == 0) for u in range(unroll))
        loops = f'''        int p = 0;
        for (; p + {unroll} <= kc; p += {unroll})
        {{
{body}
        }}
        for (; p < kc; p++)
        {{
{step(ind, False)}
        }}'''
    else:
        loops = f'''        for (int p = 0; p < kc; p++)
        {{
{step(ind, True)}
        }}'''
    offs = ["", f" + {NR - 1}"] if NR == 16 else ["", " + 16", f" + {NR - 1}"]
    cpf = "\n".join(f"            Sse.Prefetch0(c + {r} * ldc{o});" for r in range(rows) for o in offs)
    if isa == "avx2":
        cprefetch = ("        // The C tile is read (beta != 0) or written at the end: start fetching it now.\n"
                     + "\n".join(l[4:] for l in cpf.split("\n")))
    else:
        cprefetch = ("        // The C tile is read (beta != 0) or written at the end: start fetching it now.\n"
                     + "        if (Sse.IsSupported)\n        {\n" + cpf + "\n        }")
    doc = PARAMS_DOC.format(MR=MR, rows=rows, NR=NR) + (COPY_DOC.format(NR=NR) if copy else "")
    sig_extra = ", float* bCopy" if copy else ""
    pf_rest = ("        for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);" if isa == "avx2"
               else "        if (Sse.IsSupported)\n            for (; pfCount > 0; pfCount--, pf += pfStride) Sse.Prefetch0(pf);")
    return f'''    /// <summary>
    /// {summary}
    /// </summary>
{doc}
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void {name}(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float beta,
        byte* pf, nint pfStride, int pfCount{sig_extra})
    {{
{decl}
        {V}<float> b0, b1, av;
{cprefetch}
{loops}
{pf_rest}

        if (beta == 0f)
        {{
{st("Store0")}
        }}
        else if (beta == 1f)
        {{
{st("Store1")}
        }}
        else
        {{
            {V}<float> bv = {V}.Create(beta);
{st("StoreBeta", ", bv")}
        }}
    }}
'''

COPY6 = '<see cref="Kernel6x16"/> that also copies the B rows it reads to <paramref name="bCopy"/> (kc×16, packed).'
avx2 = f'''using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The AVX2 + FMA3 SGEMM micro-kernels: one 6×16 tile of C held in twelve <see cref="Vector256{{T}}"/>
/// accumulators (12 of the 16 ymm registers; two B vectors and one A broadcast use three more).
/// </summary>
/// <remarks>
/// Per k step: two 8-float loads of B, six broadcasts of A, twelve FMAs. The k loop of the main kernel is
/// unrolled by four (DESIGN §9: unrolling helped this kernel). Variants: a 4-row edge kernel (for M ≡ 4 mod 6,
/// e.g. M = 64 or 1024) and a main kernel that also writes the B rows it reads into a packed panel (the
/// small-M path reads each B strip in place once and packs it on the way; it prefetches that strip
/// <c>CopyAhead</c> rows ahead, since the rows are ldb apart). Callers must check
/// <see cref="Avx2.IsSupported"/> and <see cref="Fma.IsSupported"/>; see <see cref="SgemmKernel"/> for the
/// operand layout. Generated by tools/codegen/gen_microkernels.py: edit the script, not this file.
/// </remarks>
internal static unsafe class MicroKernelAvx2
{{
    /// <summary>Rows of the register tile.</summary>
    public const int MR = 6;
    /// <summary>Columns of the register tile (two ymm vectors).</summary>
    public const int NR = 16;
    /// <summary>Rows of the edge kernel <see cref="Kernel4x16"/>.</summary>
    public const int EdgeRows = 4;
    /// <summary>How many rows ahead <see cref="Kernel6x16Copy"/> prefetches the B strip it reads in place.</summary>
    private const int CopyAhead = 16;

{kernel("avx2", 6, 6, 16, "Kernel6x16", "c[0..6, 0..16] ← Σ_p a[p·6 + r]·b[p·bStride + j] + beta·c (beta == 0 overwrites c without reading it).", unroll=4)}
{kernel("avx2", 6, 6, 16, "Kernel6x16Copy", COPY6, copy=True, unroll=4)}
{kernel("avx2", 4, 6, 16, "Kernel4x16", "The edge kernel for a last panel of exactly four rows: c[0..4, 0..16] ← Σ_p a[p·6 + r]·b[p·bStride + j] + beta·c, eight accumulators.", unroll=4)}
    /// <summary>Overwrites one 16-float row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector256<float> x0, Vector256<float> x1)
    {{
        Avx.Store(c, x0);
        Avx.Store(c + 8, x1);
    }}

    /// <summary>Adds one 16-float row into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store1(float* c, Vector256<float> x0, Vector256<float> x1)
    {{
        Avx.Store(c, Avx.Add(Avx.LoadVector256(c), x0));
        Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), x1));
    }}

    /// <summary>c ← x + beta·c for one 16-float row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBeta(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> beta)
    {{
        Avx.Store(c, Fma.MultiplyAdd(beta, Avx.LoadVector256(c), x0));
        Avx.Store(c + 8, Fma.MultiplyAdd(beta, Avx.LoadVector256(c + 8), x1));
    }}
}}
'''

def family512(cls, MR, unroll, summary, remarks):
    main = f"Kernel{MR}x32"
    copy_doc = f'<see cref="{main}"/> that also copies the B rows it reads to <paramref name="bCopy"/> (kc×32, packed).'
    return f'''using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// {summary}
/// </summary>
/// <remarks>
{remarks}
/// Written with the cross-platform <see cref="Vector512"/> API, so it compiles to AVX-512F where
/// <see cref="Vector512.IsHardwareAccelerated"/> and still runs (slowly, in software) elsewhere, which lets
/// tests check it on any machine. See <see cref="SgemmKernel"/> for the operand layout.
/// Generated by tools/codegen/gen_microkernels.py: edit the script, not this file.
/// </remarks>
internal static unsafe class {cls}
{{
    /// <summary>Rows of the register tile.</summary>
    public const int MR = {MR};
    /// <summary>Columns of the register tile (two zmm vectors).</summary>
    public const int NR = 32;
    /// <summary>Rows of the edge kernel <see cref="Kernel4x32"/>.</summary>
    public const int EdgeRows = 4;
    /// <summary>How many rows ahead <see cref="{main}Copy"/> prefetches the B strip it reads in place.</summary>
    private const int CopyAhead = 16;

{kernel("512", MR, MR, 32, main, f"c[0..{MR}, 0..32] ← Σ_p a[p·{MR} + r]·b[p·bStride + j] + beta·c (beta == 0 overwrites c without reading it).", unroll=unroll, offsets=unroll > 1)}
{kernel("512", MR, MR, 32, main + "Copy", copy_doc, copy=True, unroll=unroll, offsets=unroll > 1)}
{kernel("512", 4, MR, 32, "Kernel4x32", f"The edge kernel for a last panel of exactly four rows (M ≡ 4 mod {MR}): c[0..4, 0..32] ← Σ_p a[p·{MR} + r]·b[p·bStride + j] + beta·c.", unroll=unroll, offsets=unroll > 1)}
    /// <summary>Overwrites one 32-float row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store0(float* c, Vector512<float> x0, Vector512<float> x1)
    {{
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + 16);
    }}

    /// <summary>Adds one 32-float row into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store1(float* c, Vector512<float> x0, Vector512<float> x1)
    {{
        Vector512.Store(Vector512.Load(c) + x0, c);
        Vector512.Store(Vector512.Load(c + 16) + x1, c + 16);
    }}

    /// <summary>c ← x + beta·c for one 32-float row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBeta(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> beta)
    {{
        Vector512.Store(Vector512.FusedMultiplyAdd(beta, Vector512.Load(c), x0), c);
        Vector512.Store(Vector512.FusedMultiplyAdd(beta, Vector512.Load(c + 16), x1), c + 16);
    }}
}}
'''

k512 = family512("MicroKernel512", 8, 4,
    "The 512-bit SGEMM micro-kernels: one 8×32 tile of C held in sixteen <see cref=\"Vector512{T}\"/>\n/// accumulators (16 of the 32 zmm registers).",
    """/// Per k step: two 16-float loads of B, eight broadcasts of A, sixteen FMAs (half the instructions per
/// FLOP of the AVX2 kernel; DESIGN §9 measured such kernels at ~98% of peak even where 512-bit FMAs are
/// split in two). Eight rows make M = 64 (LeNet conv2) exactly eight tiles. Variants as in
/// <see cref="MicroKernelAvx2"/>: a 4-row edge kernel and a main kernel that packs the B rows it reads.""")
k512x12 = family512("MicroKernel512x12", 12, 4,
    "The tall 512-bit SGEMM micro-kernels: one 12×32 tile of C held in twenty-four <see cref=\"Vector512{T}\"/>\n/// accumulators (24 of the 32 zmm registers; two B vectors and one A broadcast use three more).",
    """/// For cores with two 512-bit FMA ports (Intel Xeon since Skylake-SP): at four cycles of FMA latency they
/// need at least eight independent accumulators in flight, and 24 leave room for the loads. Per k step: two
/// 16-float loads of B, twelve broadcasts of A, twenty-four FMAs (fourteen loads per twelve cycles, where the
/// 8×32 kernel issues ten per eight). 12·5 + 4 = 64 and 12·85 + 4 = 1024 rows: the 4-row edge kernel covers
/// the usual remainders. Variants as in <see cref="MicroKernel512"/>.""")
open(out + "/MicroKernelAvx2.cs", "w").write(avx2)
open(out + "/MicroKernel512.cs", "w").write(k512)
open(out + "/MicroKernel512x12.cs", "w").write(k512x12)
