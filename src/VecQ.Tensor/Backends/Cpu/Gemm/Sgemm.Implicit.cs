using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors.Backends.Cpu;

// GEMM with an operand given through offsets into an image instead of as a matrix (convolutions):
//   RunImplicitB  C = A·B, B(k, j) = src[RowOff[k] + ColOff[j]]        (forward, weight gradient)
//   RunImplicitC  dst[RowOff[i] + ColOff[j]] += (A·B)(i, j)             (input gradient: col2im fused)
// A is packed once for all the calls of a convolution (PackAllA); the register tiles cover its rows as
// PanelPlan says. Everything runs on the calling thread: the convolution spreads samples over threads.
internal static unsafe partial class Sgemm
{
    /// <summary>The micro-kernel and blocking <see cref="Run(int,int,int,float*,int,bool,float*,int,bool,float*,int,float,float,int)"/> uses on this machine.</summary>
    internal static SgemmKernel Kernel => AutoKernel;

    /// <summary>Floats <see cref="PackAllA"/> writes for an m×k A.</summary>
    internal static long PackedASize(in SgemmKernel kern, int m, int k) => (long)new PanelPlan(kern, m).Panels * kern.MR * k;

    /// <summary>
    /// Packs all of op(A) (m×k) for <see cref="RunImplicitB"/>: K blocks of <paramref name="kcMax"/>, block pc
    /// at dst + Panels·MR·pc, each as the <see cref="PanelPlan"/>'s micro-panels. Holds <see cref="PackedASize"/> floats.
    /// </summary>
    internal static void PackAllA(in SgemmKernel kern, float* dst, float* a, int lda, bool transA, int m, int k, int kcMax)
    {
        var plan = new PanelPlan(kern, m);
        int mr = kern.MR, fullRows = plan.Full * mr;
        long blockRows = (long)plan.Panels * mr;
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            float* block = dst + blockRows * pc;
            Packing.PackA(block, a, lda, transA, 0, fullRows, pc, kc, mr, 1f);
            for (int e = 0; e < plan.Edge; e++)
                Packing.PackA(block + (nint)(plan.Full + e) * mr * kc, a, lda, transA, fullRows + e * kern.EdgeRows,
                    kern.EdgeRows, pc, kc, mr, 1f);
            if (plan.Partial > 0)
                Packing.PackA(block + (nint)(plan.Full + plan.Edge) * mr * kc, a, lda, transA, m - plan.Partial,
                    plan.Partial, pc, kc, mr, 1f);
        }
    }

    /// <summary>
    /// C[:, j0..j1) ← A·B[:, j0..j1) + beta·C[:, j0..j1) on the calling thread, for A packed by
    /// <see cref="PackAllA"/> (m×k, K blocks of <paramref name="kcMax"/>) and an implicit B (k×n):
    /// <code>
    /// jr NR-wide columns     C strip m×NR stays in L1/L2 across K
    ///  pc K blocks            pack the kc×NR micro-panel of B from its source (L1)
    ///   q  A panels           micro-kernel (MR rows, EdgeRows rows, or a partial tile)
    /// </code>
    /// </summary>
    /// <param name="kern">The kernel <paramref name="packedA"/> was packed for.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="k">Depth.</param>
    /// <param name="kcMax">K block depth used by <see cref="PackAllA"/>.</param>
    /// <param name="packedA">A packed by <see cref="PackAllA"/>.</param>
    /// <param name="b">The implicit B.</param>
    /// <param name="j0">First column of C to compute.</param>
    /// <param name="j1">End of the columns to compute.</param>
    /// <param name="c">C (row stride <paramref name="ldc"/>).</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="beta">Scale of the old C; 0 overwrites without reading.</param>
    /// <param name="panel">Scratch for one B micro-panel: kcMax·NR + <see cref="ImplicitB.Slack"/> floats.</param>
    /// <param name="tile">Scratch for one MR×NR spill tile.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RunImplicitB(in SgemmKernel kern, int m, int k, int kcMax, float* packedA, in ImplicitB b,
        int j0, int j1, float* c, int ldc, float beta, float* panel, float* tile)
    {
        var plan = new PanelPlan(kern, m);
        int nr = kern.NR;
        long blockRows = (long)plan.Panels * kern.MR;
        for (int jr = j0; jr < j1; jr += nr)
        {
            int cols = Math.Min(nr, j1 - jr);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float bt = pc == 0 ? beta : 1f;
                b.PackPanel(panel, pc, kc, jr, cols, nr);
                PanelColumn(kern, plan, kc, packedA + blockRows * pc, panel, c + jr, ldc, cols, bt, tile);
            }
        }
    }

    /// <summary>
    /// One B micro-panel (kc×NR at <paramref name="bp"/>) against every A panel of a K block packed by <see cref="PackAllA"/>
    /// (<paramref name="ap"/>), into the rows of C at <paramref name="c"/> (its first column) for <paramref name="cols"/>
    /// columns: full tiles by the kernel, EdgeRows panels by its edge variant, the rest through the spill tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PanelColumn(in SgemmKernel kern, in PanelPlan plan, int kc, float* ap, float* bp, float* c, int ldc, int cols, float beta, float* tile)
    {
        int nr = kern.NR, mr = kern.MR;
        for (int q = 0; q < plan.Panels; q++)
        {
            float* aq = ap + (nint)q * mr * kc;
            bool edge = plan.IsEdge(q);
            int rows = plan.Rows(q, kern);
            float* cq = c + (nint)plan.FirstRow(q, kern) * ldc;
            if (cols == nr && !edge && rows == mr) kern.Fn(kc, aq, bp, nr, cq, ldc, beta, null, 0, 0);
            else if (cols == nr && edge) kern.EdgeFn(kc, aq, bp, nr, cq, ldc, beta, null, 0, 0);
            else
            {
                kern.Fn(kc, aq, bp, nr, tile, nr, 0f, null, 0, 0);
                Packing.StoreTile(cq, ldc, tile, nr, rows, cols, beta);
            }
        }
    }

    /// <summary>
    /// C += A·B on the calling thread for A packed by <see cref="PackAllA"/> (m×k, K blocks of
    /// <paramref name="kcMax"/>), a row-major B (k×n, row stride <paramref name="ldb"/>) and an implicit C,
    /// over columns [j0, j1):
    /// <code>
    /// jr NR-wide columns     pack the k×NR strip of B (L1); find the strip's runs of destination columns
    ///  q  A panels            tile ← Σ over K blocks of micro-kernel products; add the tile into C
    ///                         (the strip's runs cut into masked 8-lane moves once, used by every tile)
    /// </code>
    /// </summary>
    /// <param name="kern">The kernel <paramref name="packedA"/> was packed for.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="k">Depth.</param>
    /// <param name="kcMax">K block depth used by <see cref="PackAllA"/>.</param>
    /// <param name="packedA">A packed by <see cref="PackAllA"/>.</param>
    /// <param name="b">B, row-major k×n.</param>
    /// <param name="ldb">Row stride of B.</param>
    /// <param name="c">The implicit C (added to).</param>
    /// <param name="j0">First column.</param>
    /// <param name="j1">End of the columns.</param>
    /// <param name="strip">Scratch for one packed strip of B: k·NR floats.</param>
    /// <param name="tile">Scratch for one MR×NR tile.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RunImplicitC(in SgemmKernel kern, int m, int k, int kcMax, float* packedA, float* b, int ldb,
        in ImplicitC c, int j0, int j1, float* strip, float* tile)
    {
        var plan = new PanelPlan(kern, m);
        int nr = kern.NR, mr = kern.MR, panels = plan.Panels;
        long blockRows = (long)panels * mr;
        var fn = kern.Fn;
        var edgeFn = kern.EdgeFn;
        int* runLane = stackalloc int[nr], runLen = stackalloc int[nr], runOff = stackalloc int[nr];
        int most = ColumnRuns.MostMoves(nr);
        int* lane = stackalloc int[most], off = stackalloc int[most];
        Vector256<float>* mask = stackalloc Vector256<float>[most];
        bool vector = Vector256.IsHardwareAccelerated;
        for (int jr = j0; jr < j1; jr += nr)
        {
            int cols = Math.Min(nr, j1 - jr);
            Packing.PackB(strip, b, ldb, false, 0, k, jr, cols, nr);
            int runs = ColumnRuns.Find(c.ColOff + jr, cols, runLane, runLen, runOff);
            int moves = vector ? ColumnRuns.CutIntoMoves(runLane, runLen, runOff, runs, lane, off, mask) : 0;
            for (int q = 0; q < panels; q++)
            {
                bool edge = plan.IsEdge(q);
                int row = plan.FirstRow(q, kern), rows = plan.Rows(q, kern);
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    float* aq = packedA + blockRows * pc + (nint)q * mr * kc;
                    float beta = pc == 0 ? 0f : 1f;
                    if (edge) edgeFn(kc, aq, strip + (nint)pc * nr, nr, tile, nr, beta, null, 0, 0);
                    else fn(kc, aq, strip + (nint)pc * nr, nr, tile, nr, beta, null, 0, 0);
                }
                if (vector) c.AddTile(tile, nr, row, rows, lane, off, mask, moves);
                else c.AddTileScalar(tile, nr, row, rows, runLane, runLen, runOff, runs);
            }
        }
    }
}
