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
/// With several threads, B is packed once into shared memory by all of them together, then the threads
/// claim chunks of rows (packing their own A) until none are left: neither operand is packed twice, and
/// a thread the OS parks for a while holds up the others by one chunk at most. When M fits one MC block
/// (a Linear layer's batch), the threads claim chunks of columns instead and pack their own B and A.</description></item>
/// <item><description><b>Small M</b> (<c>Sgemm.SmallM.cs</c>, M ≤ <see cref="SmallMMaxRows"/>, B not transposed;
/// conv im2col shapes such as 64×19600×800): each B element is used only M times, so B is streamed once,
/// read in place by the first row panel of each strip (which packs it for the rest), with the next block's
/// lines prefetched from inside the kernels. Threads claim chunks of columns.</description></item>
/// </list>
/// <para>K is split into equal blocks (800 → 4×200, not 384+384+32). alpha is folded into the packed A;
/// beta is applied by the first K block only (later blocks accumulate), and beta == 0 overwrites C without
/// reading it, so NaN in C is ignored. Partial tiles use an edge kernel (last panel of exactly
/// <see cref="SgemmKernel.EdgeRows"/> rows) or a spill tile. Scratch memory is per thread and reused
/// (<see cref="PackBuffers"/>); threads come from <see cref="WorkerPool"/>. No allocation per call.</para>
/// </remarks>
internal static unsafe partial class Sgemm
{
    /// <summary>Largest M that takes the small-M path (B streamed strip by strip instead of packed in blocks).</summary>
    internal const int SmallMMaxRows = 256;

    /// <summary>Largest packed A (floats, all M rows × K) the small-M path keeps per thread (16 MB).</summary>
    internal const long SmallMMaxPackedA = 4L << 20;

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
    /// <param name="sharedLimitFloats">Most floats of B packed at once into shared memory by a multi-threaded packed call (≤ 0: the kernel's <see cref="SgemmKernel.SharedB"/>).</param>
    internal static void Run(int m, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB,
        float* c, int ldc, float alpha, float beta, int threads, SgemmIsa isa, long minFmasPerPart,
        long sharedLimitFloats = 0)
        => Run(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, alpha, beta, threads,
            isa == SgemmIsa.Auto ? AutoKernel : SgemmKernel.For(isa), minFmasPerPart, sharedLimitFloats);

    /// <summary>The same with a given kernel descriptor (tests use this to run every tile shape and blocking choice).</summary>
    internal static void Run(int m, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB,
        float* c, int ldc, float alpha, float beta, int threads, SgemmKernel kernel, long minFmasPerPart,
        long sharedLimitFloats = 0)
    {
        Validate(m, n, k, a, lda, transA, b, ldb, transB, c, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, c, ldc, beta);
            return;
        }

        bool smallM = !transB && m <= SmallMMaxRows && RoundUp(m, kernel.MR) * k <= SmallMMaxPackedA;
        int kc = EqualBlock(k, smallM ? kernel.KCSmallM : kernel.KC);
        long fmas = (long)m * n * k;
        if (WorkerPool.InJob) threads = 1; // inside a parallel kernel already: this call runs on its thread
        int parts = (int)Math.Clamp(fmas / Math.Max(1, minFmasPerPart), 1, Math.Max(1, threads));

        Job job = new()
        {
            M = m, N = n, K = k, A = a, Lda = lda, TransA = transA, B = b, Ldb = ldb, TransB = transB,
            C = c, Ldc = ldc, Alpha = alpha, Beta = beta, Kernel = kernel, Kc = kc, SmallM = smallM,
        };
        nint shared = 0;
        if (smallM)
        {
            // Column chunks: whole NB blocks, about eight chunks per part, sizes within one block of each other.
            int blocks = (n + SmallMBlockCols - 1) / SmallMBlockCols;
            job.Units = blocks;
            job.Chunks = Math.Min(blocks, 8 * parts);
            parts = Math.Min(parts, job.Chunks);
        }
        else if (parts > 1 && m <= kernel.MC)
        {
            // Few rows: column chunks of whole NR panels, about four per part, each run by the one-thread nest.
            int panels = (n + kernel.NR - 1) / kernel.NR;
            job.Units = panels;
            job.Chunks = Math.Min(panels, 4 * parts);
            job.ByColumns = true;
            parts = Math.Min(parts, job.Chunks);
        }
        else if (parts > 1)
        {
            // Row chunks: whole MR panels, at most MC rows, a multiple of the part count and within one panel
            // of each other (so the parts end together), against B packed once into shared memory,
            // KShared × NcShared at a time (all of it when it fits the limit; else at least 16 panels of
            // columns, and K in whole kc blocks).
            int mr = kernel.MR, nr = kernel.NR;
            int panels = (m + mr - 1) / mr;
            int chunks = Math.Max(2 * parts, (panels + kernel.MC / mr - 1) / (kernel.MC / mr));
            chunks = Math.Min(panels, (chunks + parts - 1) / parts * parts);
            job.Units = panels;
            job.Chunks = chunks;
            job.ChunkRows = (panels + chunks - 1) / chunks * mr;
            parts = Math.Min(parts, chunks);
            // All columns of one kc block if they fit, then as many whole kc blocks as fit: A is packed once per
            // column block, and every extra K block costs only a barrier.
            long limit = sharedLimitFloats > 0 ? sharedLimitFloats : kernel.SharedB;
            long ncShared = Math.Min(RoundUp(n, nr), Math.Max(16L * nr, limit / kc / nr * nr));
            long kShared = Math.Min(k, Math.Max(kc, limit / ncShared / kc * kc));
            job.NcShared = (int)ncShared;
            job.KShared = (int)kShared;
            shared = (nint)(kShared * ncShared);
        }
        job.Parts = parts;
        WorkerPool.Run(parts, &RunPart, &job, parts > 1 ? shared : 0);
    }

    /// <summary>Columns of B packed together per unit of shared packing work (a few dozen KB per unit).</summary>
    private const int PackUnitColumns = 256;

    /// <summary>Everything the parts of one call need; lives on the caller's stack for the duration of the call.</summary>
    private struct Job
    {
        public int M, N, K, Lda, Ldb, Ldc, Kc, Parts;
        public float* A, B, C;
        public bool TransA, TransB, SmallM;
        /// <summary>Packed path, several parts, M ≤ MC: parts claim column chunks (<see cref="ComputePackedColumns"/>).</summary>
        public bool ByColumns;
        public float Alpha, Beta;
        public SgemmKernel Kernel;
        /// <summary>
        /// Work items: <see cref="Units"/> (NB-column blocks on the small-M path, NR-column panels on the packed
        /// path by columns, MR-row panels on the packed path by rows) dealt into <see cref="Chunks"/> chunks, chunk r holding units [r·Units/Chunks, (r+1)·Units/Chunks).
        /// </summary>
        public int Units, Chunks;
        /// <summary>Packed, several parts: most rows in a chunk, and the columns and depth of B packed into shared memory at once.</summary>
        public int ChunkRows, NcShared, KShared;
        /// <summary>
        /// Work counters, only ever increased: chunks claimed, shared-B pack units claimed and finished,
        /// row chunks claimed and finished (the packed counters run on across column blocks).
        /// </summary>
        public int NextChunk, PackNext, PackDone, RowNext, RowDone;
        /// <summary>Set when a part failed, so the others stop waiting instead of waiting forever.</summary>
        public int Failed;
    }

    /// <summary>Runs part <paramref name="part"/> of the job at <paramref name="state"/>: claims work until none is left.</summary>
    private static void RunPart(void* state, int part)
    {
        Job* g = (Job*)state;
        try
        {
            if (g->SmallM) ComputeSmallM(g);
            else if (g->Parts == 1) ComputePacked(g, 0, g->N);
            else if (g->ByColumns) ComputePackedColumns(g);
            else ComputePackedShared(g);
        }
        catch
        {
            Volatile.Write(ref g->Failed, 1);
            throw;
        }
    }

    /// <summary>First unit of chunk <paramref name="chunk"/> (chunk sizes differ by at most one unit).</summary>
    private static int ChunkStart(Job* g, int chunk) => (int)((long)g->Units * chunk / g->Chunks);

    /// <summary>Claims the next work item below <paramref name="limit"/> from <paramref name="counter"/>; −1 when none is left.</summary>
    private static int Claim(ref int counter, int limit)
    {
        while (true)
        {
            int v = Volatile.Read(ref counter);
            if (v >= limit) return -1;
            if (Interlocked.CompareExchange(ref counter, v + 1, v) == v) return v;
        }
    }

    /// <summary>
    /// Waits (spinning, yielding, never sleeping) until <paramref name="counter"/> reaches <paramref name="target"/>.
    /// Throws if another part failed.
    /// </summary>
    private static void WaitFor(Job* g, ref int counter, int target)
    {
        SpinWait spin = default;
        while (Volatile.Read(ref counter) < target)
        {
            if (Volatile.Read(ref g->Failed) != 0) throw new OperationCanceledException("Another SGEMM part failed.");
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>
    /// Runs the micro-kernel down one B micro-panel: every MR-row panel of the packed A block
    /// (rows × kc) against the kc×NR panel at <paramref name="bp"/>, into the rows×cols strip of C at <paramref name="c"/>.
    /// Partial tiles go through the spill <paramref name="tile"/>. The calls prefetch the next B micro-panel
    /// (<paramref name="bNext"/>, kc×NR contiguous floats; null for none) a few lines each, so the first call
    /// on it does not wait for L3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroLoop(in SgemmKernel kern, int kc, float* ap, int rows, float* bp, nint bs,
        float* c, nint ldc, int cols, float beta, float* tile, float* bNext)
    {
        int mrT = kern.MR, nrT = kern.NR;
        var fn = kern.Fn;
        int lines = bNext == null ? 0 : kc * nrT * sizeof(float) / 64;
        int calls = (rows + mrT - 1) / mrT;
        int perCall = (lines + calls - 1) / calls;
        byte* pf = (byte*)bNext;
        for (int ir = 0; ir < rows; ir += mrT)
        {
            int mr = Math.Min(mrT, rows - ir);
            float* panel = ap + (nint)ir * kc;
            float* cij = c + ir * ldc;
            int pfc = Math.Min(perCall, lines);
            lines -= pfc;
            if (mr == mrT && cols == nrT)
            {
                fn(kc, panel, bp, bs, cij, ldc, beta, pf, 64, pfc);
            }
            else if (mr == kern.EdgeRows && cols == nrT)
            {
                kern.EdgeFn(kc, panel, bp, bs, cij, ldc, beta, pf, 64, pfc);
            }
            else
            {
                fn(kc, panel, bp, bs, tile, nrT, 0f, pf, 64, pfc);
                Packing.StoreTile(cij, ldc, tile, nrT, mr, cols, beta);
            }
            pf += pfc * 64;
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

    /// <summary><paramref name="x"/> rounded up to a multiple of <paramref name="to"/>.</summary>
    private static long RoundUp(long x, int to) => (x + to - 1) / to * to;

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
