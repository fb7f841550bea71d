using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

internal static unsafe partial class Sgemm
{
    /// <summary>Columns of one B block on the small-M path (rows of 512 bytes: eight whole cache lines).</summary>
    internal static int SmallMBlockCols = 128;

    /// <summary>
    /// The small-M path (conv im2col shapes such as 64×19600×800) for C[i0..i1, j0..j1], B not transposed.
    /// Each B element is used only M times, so B is streamed from memory once and its reading must overlap
    /// the arithmetic (DESIGN §9: packing B up front cost 25–30% there). All rows of A are packed once, K block
    /// by K block (block pc at offset R·pc, R = rows rounded up to MR); then:
    /// <code>
    /// jb  blocks of NB columns (NB·4 bytes = whole cache lines per B row)   C block rows×NB stays in L2 across K
    ///  pc K in equal blocks ≤ KC (≈200)     copy the kc×NB block of B into NR-wide panels (L2; one panel in L1)
    ///   jr NR-wide panels of the block
    ///    ir MR-tall A micro-panels         micro-kernel
    /// </code>
    /// While one block computes, the next block's B rows (and, for a new column block, its C rows) are
    /// prefetched, a few lines before each kernel call: rows of B are ldb apart, which the hardware
    /// prefetchers follow poorly, and runs of whole lines per row keep DRAM pages open.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeSmallM(Job* g, int i0, int i1, int j0, int j1)
    {
        SgemmKernel kern = g->Kernel;
        var fn = kern.Fn;
        int mrT = kern.MR, nrT = kern.NR, k = g->K, kcMax = g->Kc;
        int nbMax = Math.Max(nrT, SmallMBlockCols / nrT * nrT);
        nint ldb = g->Ldb, ldc = g->Ldc;
        int rows = i1 - i0;
        int rowsPadded = (rows + mrT - 1) / mrT * mrT;
        PackBuffers buf = PackBuffers.ForCurrentThread();
        float* tile = buf.Get(PackBuffers.SlotTile, (nint)mrT * nrT);
        float* ap = buf.Get(PackBuffers.SlotA, (nint)rowsPadded * k);
        float* bblk = buf.Get(PackBuffers.SlotB, (nint)kcMax * nbMax);
        for (int pc = 0; pc < k; pc += kcMax)
            Packing.PackA(ap + (nint)rowsPadded * pc, g->A, g->Lda, g->TransA, i0, rows, pc, Math.Min(kcMax, k - pc), mrT, g->Alpha);

        nint bRowBytes = ldb * sizeof(float), cRowBytes = ldc * sizeof(float);
        bool canPrefetch = LabPf > 0 && Sse.IsSupported;
        for (int jb = j0; jb < j1; jb += nbMax)
        {
            int nb = Math.Min(nbMax, j1 - jb);
            float* cBlock = g->C + i0 * ldc + jb;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float beta = pc == 0 ? g->Beta : 1f;
                Packing.PackB(bblk, g->B, ldb, false, pc, kc, jb, nb, nrT);

                // The next block in this order: (jb, pc + kc), or (jb + NB, 0) with its C rows too.
                int pcN = pc + kc, jbN = jb;
                if (pcN >= k) { pcN = 0; jbN = jb + nbMax; }
                bool prefetch = canPrefetch && jbN < j1;
                int nbN = Math.Min(nbMax, j1 - jbN), kcN = Math.Min(kcMax, k - pcN);
                int lineBytes = nbN * sizeof(float);
                int linesPerRow = (lineBytes + 63) / 64 + 1; // +1: the run may straddle one more line
                int pfRows = kcN + (pcN == 0 ? rows : 0);
                int pfTotal = pfRows * linesPerRow;
                int calls = (nb + nrT - 1) / nrT * (rowsPadded / mrT);
                int pfPerCall = (pfTotal + calls - 1) / calls;
                byte* bN = (byte*)(g->B + pcN * ldb + jbN);
                byte* cN = (byte*)(g->C + i0 * ldc + jbN);
                int pf = 0;

                float* apBlock = ap + (nint)rowsPadded * pc;
                for (int jr = 0; jr < nb; jr += nrT)
                {
                    int cols = Math.Min(nrT, nb - jr);
                    float* panelB = bblk + (nint)jr * kc;
                    float* cStrip = cBlock + jr;
                    for (int ir = 0; ir < rows; ir += mrT)
                    {
                        if (prefetch)
                        {
                            int stop = Math.Min(pfTotal, pf + pfPerCall);
                            for (; pf < stop; pf++)
                            {
                                int row = pf / linesPerRow, l = pf - row * linesPerRow;
                                byte* rowStart = row < kcN ? bN + row * bRowBytes : cN + (row - kcN) * cRowBytes;
                                byte* line = rowStart + Math.Min(l * 64, lineBytes - 1);
                                if (LabPf == 1) Sse.Prefetch0(line);
                                else if (LabPf == 2) Sse.Prefetch1(line);
                                else Sse.Prefetch2(line);
                            }
                        }
                        int mr = Math.Min(mrT, rows - ir);
                        float* panelA = apBlock + (nint)ir * kc;
                        float* cij = cStrip + ir * ldc;
                        if (mr == mrT && cols == nrT)
                        {
                            fn(kc, panelA, panelB, nrT, cij, ldc, beta);
                        }
                        else if (mr == kern.EdgeRows && cols == nrT)
                        {
                            kern.EdgeFn(kc, panelA, panelB, nrT, cij, ldc, beta);
                        }
                        else
                        {
                            fn(kc, panelA, panelB, nrT, tile, nrT, 0f);
                            Packing.StoreTile(cij, ldc, tile, nrT, mr, cols, beta);
                        }
                    }
                }
            }
        }
    }
}
