using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Backends.Cpu;

internal static unsafe partial class Sgemm
{
    /// <summary>
    /// The packed path on one thread (the Goto/BLIS loop nest) for columns [n0, n1) of C:
    /// <code>
    /// jc  NC-wide column blocks          pack B block kc×nc into NR-wide micro-panels  (L3)
    ///  pc K in equal blocks ≤ KC
    ///   ic MC-tall row blocks            pack A block mc×kc into MR-tall micro-panels  (L2; alpha folded in)
    ///    jr NR-wide B micro-panels       one KC×NR micro-panel                         (L1)
    ///     ir MR-tall A micro-panels      micro-kernel
    /// </code>
    /// </summary>
    /// <param name="g">The job.</param>
    /// <param name="n0">First column.</param>
    /// <param name="n1">End of the columns.</param>
    /// <param name="packedA">All of A packed already (M ≤ MC: K block pc at packedA + R·pc, R = M rounded up to MR), or null to pack it here.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputePacked(Job* g, int n0, int n1, float* packedA = null)
    {
        SgemmKernel kern = g->Kernel;
        int mrT = kern.MR, nrT = kern.NR, mcMax = kern.MC, ncMax = kern.NC, m = g->M, k = g->K, kcMax = g->Kc;
        nint lda = g->Lda, ldb = g->Ldb, ldc = g->Ldc;
        nint rowsPadded = (m + mrT - 1) / mrT * mrT;
        PackBuffers buf = PackBuffers.ForCurrentThread();
        float* tile = buf.Get(PackBuffers.SlotTile, (nint)mrT * nrT);
        float* apk = packedA != null ? null : buf.Get(PackBuffers.SlotA, (nint)mcMax * kcMax);
        float* bpk = buf.Get(PackBuffers.SlotB, (nint)ncMax * kcMax);
        for (int jc = n0; jc < n1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n1 - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float beta = pc == 0 ? g->Beta : 1f;
                Packing.PackB(bpk, g->B, ldb, g->TransB, pc, kc, jc, nc, nrT);
                for (int ic = 0; ic < m; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m - ic);
                    float* ap = packedA != null ? packedA + rowsPadded * pc + (nint)ic * kc : apk;
                    if (packedA == null) Packing.PackA(apk, g->A, lda, g->TransA, ic, mc, pc, kc, mrT, g->Alpha);
                    float* cBlock = g->C + ic * ldc + jc;
                    for (int jr = 0; jr < nc; jr += nrT)
                        MicroLoop(in kern, kc, ap, mc, bpk + (nint)jr * kc, nrT, cBlock + jr, ldc,
                            Math.Min(nrT, nc - jr), beta, tile, jr + nrT < nc ? bpk + (nint)(jr + nrT) * kc : null);
                }
            }
        }
    }

    /// <summary>
    /// The packed path on several threads when C has few rows (at most one MC block): the parts claim chunks
    /// of columns and run the one-thread loop nest on each, so every packed B micro-panel serves all M rows
    /// from L1 (splitting rows would leave each B panel serving a few dozen rows, streamed from L3), and A,
    /// which is small, is packed again per chunk.
    /// </summary>
    private static void ComputePackedColumns(Job* g)
    {
        // Each part packs all of A once, at its first chunk, rather than once per chunk (a Linear layer's
        // x·Wᵀ at batch 100, 100×512×3136: A is 1.2 MB and was packed once for each of eight chunks), unless
        // that would take more than the small-M path's bound on packed A.
        int mr = g->Kernel.MR, kcMax = g->Kc;
        long rowsPadded = RoundUp(g->M, mr);
        bool once = rowsPadded * g->K <= SmallMMaxPackedA;
        float* packedA = null;
        int c;
        while ((c = Claim(ref g->NextChunk, g->Chunks)) >= 0)
        {
            if (once && packedA == null)
            {
                packedA = PackBuffers.ForCurrentThread().Get(PackBuffers.SlotA, (nint)(rowsPadded * g->K));
                for (int pc = 0; pc < g->K; pc += kcMax)
                    Packing.PackA(packedA + rowsPadded * pc, g->A, g->Lda, g->TransA, 0, g->M, pc, Math.Min(kcMax, g->K - pc), mr, g->Alpha);
            }
            ComputePacked(g, ChunkStart(g, c) * g->Kernel.NR, Math.Min(g->N, ChunkStart(g, c + 1) * g->Kernel.NR), packedA);
        }
    }

    /// <summary>
    /// The packed path on several threads, every part running this until the work is gone. For each block
    /// of B (<see cref="Job.KShared"/> rows × <see cref="Job.NcShared"/> columns; usually all of B):
    /// <code>
    /// 1. all parts pack the block into shared memory, claiming units of (K block, ≤256 columns);
    ///    K block pc sits at offset (pc − ks)·ncPadded, as NR-wide micro-panels of kc×NR
    /// 2. wait until every unit is packed
    /// 3. all parts claim row chunks (≤ MC rows, whole MR panels): pc → pack own A chunk mc×kc → jr → ir → micro-kernel
    /// </code>
    /// Each operand is packed exactly once, and work is handed out on demand rather than split in fixed
    /// halves, so a part that the OS descheduled for a while (this machine is shared) delays the call by at
    /// most one chunk. Before the next block overwrites the shared B, every row chunk of the previous one
    /// must be finished. Counters only grow, so every part derives the same work ranges without resets.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputePackedShared(Job* g)
    {
        SgemmKernel kern = g->Kernel;
        int mrT = kern.MR, nrT = kern.NR, m = g->M, n = g->N, k = g->K, kcMax = g->Kc;
        int chunkRows = g->ChunkRows, rowChunks = g->Chunks;
        nint lda = g->Lda, ldb = g->Ldb, ldc = g->Ldc;
        PackBuffers buf = PackBuffers.ForCurrentThread();
        float* tile = buf.Get(PackBuffers.SlotTile, (nint)mrT * nrT);
        float* apk = buf.Get(PackBuffers.SlotA, (nint)chunkRows * kcMax);
        float* shared = WorkerPool.Shared;
        int panelsPerUnit = Math.Max(1, PackUnitColumns / nrT);
        int packBase = 0, rowBase = 0;
        for (int jc = 0; jc < n; jc += g->NcShared)
        {
            int nc = Math.Min(g->NcShared, n - jc);
            int ncPadded = (nc + nrT - 1) / nrT * nrT;
            int groups = (ncPadded / nrT + panelsPerUnit - 1) / panelsPerUnit;
            for (int ks = 0; ks < k; ks += g->KShared)
            {
                int kEnd = Math.Min(k, ks + g->KShared);
                int units = (kEnd - ks + kcMax - 1) / kcMax * groups;

                if (packBase > 0) WaitFor(g, ref g->RowDone, rowBase);
                int u;
                while ((u = Claim(ref g->PackNext, packBase + units)) >= 0)
                {
                    u -= packBase;
                    int pc = ks + u / groups * kcMax, q0 = u % groups * panelsPerUnit;
                    int kc = Math.Min(kcMax, kEnd - pc);
                    int cols = Math.Min(nc, (q0 + panelsPerUnit) * nrT) - q0 * nrT;
                    Packing.PackB(shared + (nint)(pc - ks) * ncPadded + (nint)q0 * nrT * kc, g->B, ldb, g->TransB,
                        pc, kc, jc + q0 * nrT, cols, nrT);
                    Interlocked.Increment(ref g->PackDone);
                }
                packBase += units;
                WaitFor(g, ref g->PackDone, packBase);

                int r;
                while ((r = Claim(ref g->RowNext, rowBase + rowChunks)) >= 0)
                {
                    int ic = ChunkStart(g, r - rowBase) * mrT;
                    int mc = Math.Min(m, ChunkStart(g, r - rowBase + 1) * mrT) - ic;
                    float* cBlock = g->C + ic * ldc + jc;
                    for (int pc = ks; pc < kEnd; pc += kcMax)
                    {
                        int kc = Math.Min(kcMax, kEnd - pc);
                        float beta = pc == 0 ? g->Beta : 1f;
                        Packing.PackA(apk, g->A, lda, g->TransA, ic, mc, pc, kc, mrT, g->Alpha);
                        float* bBlock = shared + (nint)(pc - ks) * ncPadded;
                        for (int jr = 0; jr < nc; jr += nrT)
                            MicroLoop(in kern, kc, apk, mc, bBlock + (nint)jr * kc, nrT, cBlock + jr, ldc,
                                Math.Min(nrT, nc - jr), beta, tile, jr + nrT < nc ? bBlock + (nint)(jr + nrT) * kc : null);
                    }
                    Interlocked.Increment(ref g->RowDone);
                }
                rowBase += rowChunks;
            }
        }
    }
}
