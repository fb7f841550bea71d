using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

internal static unsafe partial class Sgemm
{
    /// <summary>Columns of one B block on the small-M path (rows of 512 bytes: eight whole cache lines).</summary>
    internal const int SmallMBlockCols = 128;

    /// <summary>
    /// The small-M path (conv im2col shapes such as 64×19600×800), B not transposed; every part runs this.
    /// Each B element is used only M times, so B is streamed from memory exactly once and its reading has to
    /// overlap the arithmetic (DESIGN §9: packing B up front cost 25–30% there). All rows of A are packed once,
    /// K block by K block (block pc at offset R·pc, R = rows rounded up to MR); then:
    /// <code>
    /// chunk  columns claimed on demand (several NB blocks; each part packs all of A once, it is small)
    /// jb  blocks of NB columns (NB·4 bytes = whole cache lines per B row)   C block rows×NB stays in L2 across K
    ///  pc K in equal blocks ≤ KC (≈200)
    ///   jr NR-wide strips of the block   first row panel: kernel reads the kc×NR strip of B in place (stride ldb)
    ///    ir MR-tall A micro-panels       and packs it on the way (CopyFn); the other row panels use that L1 panel
    /// </code>
    /// While one block computes, the kernels prefetch the next block's B rows (and, for a new column block,
    /// its C rows; the next chunk is claimed early for this), a few lines every call, one every four k steps:
    /// rows of B are ldb apart, which the hardware prefetchers follow poorly, and bursts of prefetches
    /// between calls would fill the miss buffers and stall.
    /// Reading each strip of B once (rather than in place by every row panel) touches each of its pages once
    /// per strip instead of once per k step of every kernel call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeSmallM(Job* g)
    {
        // Column chunks are claimed one at a time; the next one is claimed when the last block of the current
        // one starts, so that block can prefetch the next chunk's first block.
        int cur = Claim(ref g->NextChunk, g->Chunks);
        if (cur < 0) return;

        SgemmKernel kern = g->Kernel;
        var fn = kern.Fn;
        int mrT = kern.MR, nrT = kern.NR, n = g->N, k = g->K, kcMax = g->Kc;
        int nbMax = Math.Max(nrT, SmallMBlockCols / nrT * nrT);
        nint ldb = g->Ldb, ldc = g->Ldc;
        int rows = g->M;
        int rowsPadded = (rows + mrT - 1) / mrT * mrT;
        PackBuffers buf = PackBuffers.ForCurrentThread();
        float* tile = buf.Get(PackBuffers.SlotTile, (nint)mrT * nrT);
        float* ap = buf.Get(PackBuffers.SlotA, (nint)rowsPadded * k);
        float* panelB = buf.Get(PackBuffers.SlotStrip, (nint)kcMax * nrT);
        for (int pc = 0; pc < k; pc += kcMax)
            Packing.PackA(ap + (nint)rowsPadded * pc, g->A, g->Lda, g->TransA, 0, rows, pc, Math.Min(kcMax, k - pc), mrT, g->Alpha);

        nint bRowBytes = ldb * sizeof(float), cRowBytes = ldc * sizeof(float);
        bool canPrefetch = Sse.IsSupported;
        while (cur >= 0)
        {
            int next = -2; // -2: not claimed yet; -1: nothing left
            int j0 = ChunkStart(g, cur) * SmallMBlockCols, j1 = Math.Min(n, ChunkStart(g, cur + 1) * SmallMBlockCols);
            for (int jb = j0; jb < j1; jb += nbMax)
            {
                int nb = Math.Min(nbMax, j1 - jb);
                bool lastBlock = jb + nbMax >= j1;
                if (lastBlock && next == -2) next = Claim(ref g->NextChunk, g->Chunks);
                float* cBlock = g->C + jb;
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    float beta = pc == 0 ? g->Beta : 1f;

                    // The next block this part will run: (jb, pc + kc), (jb + NB, 0), or the next chunk's first.
                    int pcN = pc + kc, jbN = jb, nbN = nb;
                    bool prefetch = canPrefetch;
                    if (pcN >= k)
                    {
                        pcN = 0;
                        if (!lastBlock) { jbN = jb + nbMax; nbN = Math.Min(nbMax, j1 - jbN); }
                        else if (next >= 0) { jbN = ChunkStart(g, next) * SmallMBlockCols; nbN = Math.Min(nbMax, n - jbN); }
                        else prefetch = false;
                    }
                    int kcN = Math.Min(kcMax, k - pcN);
                    // Prefetch schedule for the next block, handed to the kernels one strided segment per call:
                    // for each line offset l of a row's run (whole lines, then the run's last byte in case the
                    // run straddles one more line), the kcN rows of B, then (new column block) the rows of C.
                    nint runBytes = (nint)nbN * sizeof(float);
                    int lFull = (int)((runBytes + 63) / 64), lCount = prefetch ? lFull + 1 : 0;
                    int cRowsN = pcN == 0 ? rows : 0;
                    int calls = (nb + nrT - 1) / nrT * (rowsPadded / mrT);
                    // Segments end at each (line offset, B or C) boundary, wasting up to one call each: plan for
                    // that many fewer calls. A kernel prefetches at most one address per four k steps.
                    int groups = cRowsN > 0 ? 2 : 1;
                    long pfLines = (long)lCount * (kcN + cRowsN);
                    int usableCalls = Math.Max(1, calls - 2 * lCount * groups);
                    int rowsPerCall = (int)Math.Clamp((pfLines + usableCalls - 1) / usableCalls, 1, Math.Max(1, kc / 4));
                    byte* bN = (byte*)(g->B + pcN * ldb + jbN);
                    byte* cN = (byte*)(g->C + jbN);
                    int pfL = 0, pfGroup = 0, pfRow = 0;

                    float* apBlock = ap + (nint)rowsPadded * pc;
                    for (int jr = 0; jr < nb; jr += nrT)
                    {
                        int cols = Math.Min(nrT, nb - jr);
                        float* cStrip = cBlock + jr;
                        // The first full row panel reads the strip in place and packs it for the others; a
                        // partial strip (or too few rows, or no such kernel) is packed, zero-padded, up front.
                        bool copyInKernel = cols == nrT && rows >= mrT && kern.CopyFn != null;
                        if (!copyInKernel) Packing.PackB(panelB, g->B, ldb, false, pc, kc, jb + jr, cols, nrT);
                        for (int ir = 0; ir < rows; ir += mrT)
                        {
                            byte* pfp = null;
                            nint pfs = 0;
                            int pfc = 0;
                            if (pfL < lCount)
                            {
                                int groupRows = pfGroup == 0 ? kcN : cRowsN;
                                pfc = Math.Min(rowsPerCall, groupRows - pfRow);
                                pfs = pfGroup == 0 ? bRowBytes : cRowBytes;
                                pfp = (pfGroup == 0 ? bN : cN) + pfRow * pfs + (pfL < lFull ? pfL * 64 : runBytes - 1);
                                pfRow += pfc;
                                if (pfRow >= groupRows)
                                {
                                    pfRow = 0;
                                    if (pfGroup == 0 && cRowsN > 0) pfGroup = 1;
                                    else { pfGroup = 0; pfL++; }
                                }
                            }
                            int mr = Math.Min(mrT, rows - ir);
                            float* panelA = apBlock + (nint)ir * kc;
                            float* cij = cStrip + ir * ldc;
                            if (ir == 0 && copyInKernel)
                            {
                                kern.CopyFn(kc, panelA, g->B + pc * ldb + jb + jr, ldb, cij, ldc, beta, pfp, pfs, pfc, panelB);
                            }
                            else if (mr == mrT && cols == nrT)
                            {
                                fn(kc, panelA, panelB, nrT, cij, ldc, beta, pfp, pfs, pfc);
                            }
                            else if (mr == kern.EdgeRows && cols == nrT)
                            {
                                kern.EdgeFn(kc, panelA, panelB, nrT, cij, ldc, beta, pfp, pfs, pfc);
                            }
                            else
                            {
                                fn(kc, panelA, panelB, nrT, tile, nrT, 0f, pfp, pfs, pfc);
                                Packing.StoreTile(cij, ldc, tile, nrT, mr, cols, beta);
                            }
                        }
                    }
                }
            }
            cur = next;
        }
    }
}
