using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// Single-precision general matrix multiply on the CPU (row-major, BLAS semantics):
/// <code>C[i·ldc + j] ← alpha · Σ_p opA(i, p)·opB(p, j) + beta · C[i·ldc + j]</code>
/// with opA(i, p) = transA ? a[p·lda + i] : a[i·lda + p] and opB(p, j) = transB ? b[j·ldb + p] : b[p·ldb + j].
/// </summary>
/// <remarks>
/// <para>Two loop nests (DESIGN §9 has the measurements behind the choices), picked by shape:</para>
/// <list type="bullet">
/// <item><description><b>Packed</b> (<c>Sgemm.Packed.cs</c>): the Goto/BLIS nest. B is packed in KC×NC blocks
/// (L3), A in MC×KC blocks (L2), and the MR×NR micro-kernel runs over KC×NR B micro-panels held in L1.
/// With several threads the parts take MR-aligned row ranges and pack each B block together into shared
/// memory (one barrier per block), so neither operand is packed twice.</description></item>
/// <item><description><b>Small M</b> (<c>Sgemm.SmallM.cs</c>, M ≤ <see cref="SmallMMaxRows"/>, B not transposed;
/// conv im2col shapes such as 64×19600×800): each B element is used only M times, so B is streamed once,
/// read in place by the first row panel of each strip (which packs it for the rest), with the next block's
/// lines prefetched from inside the kernels. Threads take NR-aligned column ranges.</description></item>
/// </list>
/// <para>K is split into equal blocks (800 → 4×200, not 384+384+32). alpha is folded into the packed A;
/// beta is applied by the first K block only (later blocks accumulate), and beta == 0 overwrites C without
/// reading it, so NaN in C is ignored. Partial tiles use an edge kernel (last panel of exactly
/// <see cref="SgemmKernel.EdgeRows"/> rows) or a spill tile. Scratch memory is per thread and reused
/// (<see cref="PackBuffers"/>); threads come from <see cref="GemmWorkers"/>. No allocation per call.</para>
/// </remarks>
internal static unsafe partial class Sgemm
{
    /// <summary>Largest M that takes the small-M path (B streamed strip by strip instead of packed in blocks).</summary>
    internal const int SmallMMaxRows = 256;

    /// <summary>Default smallest number of multiply-adds worth giving to one extra thread.</summary>
    internal const long DefaultMinFmasPerPart = 1L << 20;

    private static readonly SgemmKernel AutoKernel = SgemmKernel.For(SgemmIsa.Auto);

    /// <summary>
    /// C ← alpha·op(A)·op(B) + beta·C for row-major m×k op(A), k×n op(B) and m×n C.
    /// </summary>
    /// <param name="m">Rows of C and op(A).</param>
    /// <param name="n">Columns of C and op(B).</param>
    /// <param name="k">Columns of op(A), rows of op(B); 0 gives C ← beta·C.</param>
    /// <param name="a">A as stored: m×k (row stride lda) or, when <paramref name="transA"/>, k×m.</param>
    /// <param name="lda">Row stride of A as stored (≥ k, or ≥ m when transposed).</param>
    /// <param name="transA">Use Aᵀ of the stored matrix.</param>
    /// <param name="b">B as stored: k×n (row stride ldb) or, when <paramref name="transB"/>, n×k.</param>
    /// <param name="ldb">Row stride of B as stored (≥ n, or ≥ k when transposed).</param>
    /// <param name="transB">Use Bᵀ of the stored matrix.</param>
    /// <param name="c">C: m×n with row stride ldc; must not overlap A or B.</param>
    /// <param name="ldc">Row stride of C (≥ n).</param>
    /// <param name="alpha">Scale of the product; 0 leaves A and B unread (C ← beta·C).</param>
    /// <param name="beta">Scale of the old C; 0 overwrites C without reading it.</param>
    /// <param name="threads">Threads to use; ≤ 1 runs on the calling thread only. Small problems use fewer.</param>
    public static void Run(int m, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB,
        float* c, int ldc, float alpha, float beta, int threads)
        => Run(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, alpha, beta, threads, SgemmIsa.Auto, DefaultMinFmasPerPart);

    /// <summary>
    /// <see cref="Run(int,int,int,float*,int,bool,float*,int,bool,float*,int,float,float,int)"/> with a
    /// chosen micro-kernel family and thread granularity (tests use these to reach every path).
    /// </summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Depth of the product.</param>
    /// <param name="a">A as stored.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="transA">Use Aᵀ.</param>
    /// <param name="b">B as stored.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="transB">Use Bᵀ.</param>
    /// <param name="c">C.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="beta">Scale of the old C.</param>
    /// <param name="threads">Threads to use.</param>
    /// <param name="isa">Micro-kernel family.</param>
    /// <param name="minFmasPerPart">Smallest m·n·k worth one more thread.</param>
    internal static void Run(int m, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB,
        float* c, int ldc, float alpha, float beta, int threads, SgemmIsa isa, long minFmasPerPart)
    {
        Validate(m, n, k, a, lda, transA, b, ldb, transB, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, c, ldc, beta);
            return;
        }

        SgemmKernel kernel = isa == SgemmIsa.Auto ? AutoKernel : SgemmKernel.For(isa);
        bool smallM = !transB && m <= SmallMMaxRows;
        int kc = EqualBlock(k, smallM ? kernel.KCSmallM : kernel.KC);

        int nStrips = (n + kernel.NR - 1) / kernel.NR;
        int mPanels = (m + kernel.MR - 1) / kernel.MR;
        long fmas = (long)m * n * k;
        int parts = (int)Math.Clamp(fmas / Math.Max(1, minFmasPerPart), 1, Math.Max(1, threads));

        // Split:   small M: column ranges (each part streams its own B strips; A is tiny).
        //          packed:  row ranges sharing one packed B block per (jc, pc) step, so neither operand is
        //                   packed twice; column ranges only when M is too short to give every part a panel.
        Split split;
        if (smallM) split = nStrips >= parts || nStrips >= mPanels ? Split.Columns : Split.Rows;
        else split = mPanels >= parts ? Split.RowsSharedB : nStrips >= mPanels ? Split.Columns : Split.Rows;
        parts = Math.Min(parts, split == Split.Columns ? nStrips : mPanels);
        if (parts == 1) split = Split.Columns;

        Job job = new()
        {
            M = m, N = n, K = k, A = a, Lda = lda, TransA = transA, B = b, Ldb = ldb, TransB = transB,
            C = c, Ldc = ldc, Alpha = alpha, Beta = beta, Kernel = kernel, Kc = kc, SmallM = smallM,
            Parts = parts, Split = split, Units = split == Split.Columns ? nStrips : mPanels,
        };
        nint shared = 0;
        if (split == Split.RowsSharedB)
        {
            job.SharedBlock = (nint)kernel.NC * kc;
            shared = 2 * job.SharedBlock;
        }
        GemmWorkers.Run(parts, &RunPart, &job, shared);
    }

    /// <summary>How the parts of one call divide C.</summary>
    private enum Split : byte
    {
        /// <summary>NR-aligned column ranges, each part fully independent.</summary>
        Columns,
        /// <summary>MR-aligned row ranges, each part fully independent.</summary>
        Rows,
        /// <summary>MR-aligned row ranges; the parts pack each B block together into shared memory.</summary>
        RowsSharedB,
    }

    /// <summary>Everything one part needs; lives on the caller's stack for the duration of the call.</summary>
    private struct Job
    {
        public int M, N, K, Lda, Ldb, Ldc, Kc, Parts, Units;
        public float* A, B, C;
        public bool TransA, TransB, SmallM;
        public Split Split;
        public float Alpha, Beta;
        public SgemmKernel Kernel;
        /// <summary>Floats in one of the two shared B blocks (RowsSharedB only).</summary>
        public nint SharedBlock;
        /// <summary>Barrier state: parts arrived at the current barrier, and how many barriers have completed.</summary>
        public int Arrived, Generation;
        /// <summary>Set when a part failed, so the others leave their barriers instead of waiting forever.</summary>
        public int Failed;
    }

    /// <summary>Runs part <paramref name="part"/> of the job at <paramref name="state"/>.</summary>
    private static void RunPart(void* state, int part)
    {
        Job* g = (Job*)state;
        int u0 = (int)((long)g->Units * part / g->Parts);
        int u1 = (int)((long)g->Units * (part + 1) / g->Parts);
        int i0 = 0, i1 = g->M, j0 = 0, j1 = g->N;
        if (g->Split == Split.Columns)
        {
            j0 = u0 * g->Kernel.NR;
            j1 = Math.Min(g->N, u1 * g->Kernel.NR);
        }
        else
        {
            i0 = u0 * g->Kernel.MR;
            i1 = Math.Min(g->M, u1 * g->Kernel.MR);
        }
        try
        {
            if (g->SmallM)
            {
                if (i0 < i1 && j0 < j1) ComputeSmallM(g, i0, i1, j0, j1);
            }
            else
            {
                ComputePacked(g, part, i0, i1, j0, j1);
            }
        }
        catch
        {
            Volatile.Write(ref g->Failed, 1);
            throw;
        }
    }

    /// <summary>
    /// Waits until every part of the job has arrived (a sense-counting spin barrier; parts run on
    /// otherwise idle cores, and the waits are short). Throws if another part failed.
    /// </summary>
    private static void Barrier(Job* g)
    {
        int generation = Volatile.Read(ref g->Generation);
        if (Interlocked.Increment(ref g->Arrived) == g->Parts)
        {
            g->Arrived = 0;
            Volatile.Write(ref g->Generation, generation + 1);
            return;
        }
        SpinWait spin = default;
        while (Volatile.Read(ref g->Generation) == generation)
        {
            if (Volatile.Read(ref g->Failed) != 0) throw new OperationCanceledException("Another SGEMM part failed.");
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// Runs the micro-kernel down one B micro-panel: every MR-row panel of the packed A block
    /// (rows × kc) against the kc×NR panel at <paramref name="bp"/>, into the rows×cols strip of C at <paramref name="c"/>.
    /// Partial tiles go through the spill <paramref name="tile"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroLoop(in SgemmKernel kern, int kc, float* ap, int rows, float* bp, nint bs,
        float* c, nint ldc, int cols, float beta, float* tile)
    {
        int mrT = kern.MR, nrT = kern.NR;
        var fn = kern.Fn;
        for (int ir = 0; ir < rows; ir += mrT)
        {
            int mr = Math.Min(mrT, rows - ir);
            float* panel = ap + (nint)ir * kc;
            float* cij = c + ir * ldc;
            if (mr == mrT && cols == nrT)
            {
                fn(kc, panel, bp, bs, cij, ldc, beta, null, 0, 0);
            }
            else if (mr == kern.EdgeRows && cols == nrT)
            {
                kern.EdgeFn(kc, panel, bp, bs, cij, ldc, beta, null, 0, 0);
            }
            else
            {
                fn(kc, panel, bp, bs, tile, nrT, 0f, null, 0, 0);
                Packing.StoreTile(cij, ldc, tile, nrT, mr, cols, beta);
            }
        }
    }

    /// <summary>Depth of equal K blocks no deeper than <paramref name="kcMax"/> (800 → 4×200, not 384+384+32).</summary>
    internal static int EqualBlock(int k, int kcMax)
    {
        if (k <= 0) return 1;
        int blocks = (k + kcMax - 1) / kcMax;
        return (k + blocks - 1) / blocks;
    }

    /// <summary>C ← beta·C (beta == 0 writes zeros without reading C).</summary>
    private static void ScaleC(int m, int n, float* c, nint ldc, float beta)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = new(c + i * ldc, n);
            if (beta == 0f) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    /// <summary>Throws for negative sizes, short strides or missing operands.</summary>
    private static void Validate(int m, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB, float* c, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0) return;
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, Math.Max(1, n));
        if (c == null) throw new ArgumentNullException(nameof(c));
        if (k == 0) return;
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, Math.Max(1, transA ? m : k));
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, Math.Max(1, transB ? k : n));
        if (a == null) throw new ArgumentNullException(nameof(a));
        if (b == null) throw new ArgumentNullException(nameof(b));
    }
}
