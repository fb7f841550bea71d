using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Backends.Cpu;

internal static unsafe partial class Sgemm
{
    /// <summary>
    /// The packed path (the Goto/BLIS loop nest) for C[i0..i1, j0..j1]:
    /// <code>
    /// jc  NC-wide column blocks          pack B block kc×nc  (shared: each part packs 1/parts of its panels, then a barrier)
    ///  pc K in equal blocks ≤ KC
    ///   ic MC-tall row blocks            pack A block mc×kc  (alpha folded in)
    ///    jr NR-wide B micro-panels       (L1)
    ///     ir MR-tall A micro-panels      micro-kernel
    /// </code>
    /// With <see cref="Split.RowsSharedB"/> the B blocks alternate between two shared buffers, so one barrier per
    /// block suffices: a part packing block t+1 knows every part is past block t−1, whose buffer it overwrites.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputePacked(Job* g, int part, int i0, int i1, int j0, int j1)
    {
        SgemmKernel kern = g->Kernel;
        int mrT = kern.MR, nrT = kern.NR, mcMax = kern.MC, ncMax = kern.NC, k = g->K, kcMax = g->Kc;
        nint lda = g->Lda, ldb = g->Ldb, ldc = g->Ldc;
        bool shared = g->Split == Split.RowsSharedB;
        PackBuffers buf = PackBuffers.ForCurrentThread();
        float* tile = buf.Get(PackBuffers.SlotTile, (nint)mrT * nrT);
        float* apk = buf.Get(PackBuffers.SlotA, (nint)mcMax * kcMax);
        float* ownB = shared ? null : buf.Get(PackBuffers.SlotB, (nint)ncMax * kcMax);
        int step = 0;
        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < k; pc += kcMax, step++)
            {
                int kc = Math.Min(kcMax, k - pc);
                float beta = pc == 0 ? g->Beta : 1f;
                float* bpk;
                if (shared)
                {
                    bpk = GemmWorkers.Shared + (step & 1) * g->SharedBlock;
                    int panels = (nc + nrT - 1) / nrT;
                    int q0 = panels * part / g->Parts, q1 = panels * (part + 1) / g->Parts;
                    if (q0 < q1)
                        Packing.PackB(bpk + (nint)q0 * nrT * kc, g->B, ldb, g->TransB, pc, kc,
                            jc + q0 * nrT, Math.Min(nc, q1 * nrT) - q0 * nrT, nrT);
                    Barrier(g);
                }
                else
                {
                    bpk = ownB;
                    Packing.PackB(bpk, g->B, ldb, g->TransB, pc, kc, jc, nc, nrT);
                }
                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    Packing.PackA(apk, g->A, lda, g->TransA, ic, mc, pc, kc, mrT, g->Alpha);
                    float* cBlock = g->C + ic * ldc + jc;
                    for (int jr = 0; jr < nc; jr += nrT)
                        MicroLoop(in kern, kc, apk, mc, bpk + (nint)jr * kc, nrT, cBlock + jr, ldc,
                            Math.Min(nrT, nc - jr), beta, tile);
                }
            }
        }
    }
}
