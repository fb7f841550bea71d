using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// A B operand that is never stored: B(k, j) = Src[RowOff[k] + ColOff[j]]. For a convolution it is the
/// im2col matrix read straight from the zero-padded input planes (forward: k = (c, kh, kw), j = output
/// position; weight gradient: the transpose), so the GEMM packs its micro-panels from an image that sits in
/// L1/L2 instead of writing and re-reading a matrix KH·KW times the image's size.
/// </summary>
/// <remarks>
/// Columns whose offsets are consecutive (an output row, for stride 1; a kernel row, for dilation 1) are
/// copied as runs with 8-float vector moves. A run's last move may write up to 7 floats past the run: the
/// runs of a panel row are written in lane order and the rows in k order, so anything written past a run is
/// overwritten by the next run or row; the panel buffer needs <see cref="Slack"/> floats past its end for the
/// last row, and Src must be readable <see cref="Slack"/> floats past its largest offset.
/// </remarks>
internal readonly unsafe struct ImplicitB(float* src, int* rowOff, int* colOff)
{
    /// <summary>Floats a panel buffer (and the source) must have past the last one used.</summary>
    public const int Slack = 8;

    /// <summary>Base of the source (zero-padded planes).</summary>
    public readonly float* Src = src;
    /// <summary>Offset of each row k of B (K entries).</summary>
    public readonly int* RowOff = rowOff;
    /// <summary>Offset of each column j of B (N entries).</summary>
    public readonly int* ColOff = colOff;

    /// <summary>
    /// Packs B(k0..k0+kc, j0..j0+cols) as one kc×<paramref name="nr"/> micro-panel (element (p, j) at
    /// p·nr + j; lanes past <paramref name="cols"/> are zero). <paramref name="dst"/> holds kc·nr + <see cref="Slack"/> floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PackPanel(float* dst, int k0, int kc, int j0, int cols, int nr)
    {
        // The panel's columns as runs of consecutive offsets, cut into 8-float moves (destination lane, source
        // offset); every row makes the same moves, so the loop below has a fixed trip count per panel.
        int* co = ColOff + j0;
        int* runLane = stackalloc int[cols], runLen = stackalloc int[cols], runOff = stackalloc int[cols];
        int runs = FindRuns(co, cols, runLane, runLen, runOff);
        int* lane = stackalloc int[cols + 8], off = stackalloc int[cols + 8];
        int moves = 0;
        for (int r = 0; r < runs; r++)
            for (int t = 0; t < runLen[r]; t += 8)
            {
                lane[moves] = runLane[r] + t;
                off[moves] = runOff[r] + t;
                moves++;
            }
        int* ro = RowOff + k0;
        if (Vector256.IsHardwareAccelerated && 2 * runs <= cols && moves <= 4)
        {
            // up to four moves held in registers (the last repeated: writing it twice is harmless), no inner loop
            for (int m = moves; m < 4; m++) { lane[m] = lane[moves - 1]; off[m] = off[moves - 1]; }
            nint l0 = lane[0], l1 = lane[1], l2 = lane[2], l3 = lane[3], o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3];
            for (int p = 0; p < kc; p++)
            {
                float* s = Src + ro[p];
                float* d = dst + (nint)p * nr;
                Vector256.Load(s + o0).Store(d + l0);
                Vector256.Load(s + o1).Store(d + l1);
                Vector256.Load(s + o2).Store(d + l2);
                Vector256.Load(s + o3).Store(d + l3);
            }
        }
        else if (Vector256.IsHardwareAccelerated && 2 * runs <= cols) // runs average ≥ 2 columns
        {
            for (int p = 0; p < kc; p++)
            {
                float* s = Src + ro[p];
                float* d = dst + (nint)p * nr;
                for (int m = 0; m < moves; m++) Vector256.Load(s + off[m]).Store(d + lane[m]);
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                float* s = Src + ro[p];
                float* d = dst + (nint)p * nr;
                for (int j = 0; j < cols; j++) d[j] = s[co[j]];
            }
        }
        if (cols < nr)
            for (int p = 0; p < kc; p++)
                new Span<float>(dst + (nint)p * nr + cols, nr - cols).Clear();
    }

    /// <summary>
    /// Splits <paramref name="count"/> offsets into runs of consecutive values: run r covers positions
    /// [lane[r], lane[r] + len[r]) with offsets off[r], off[r] + 1, …; returns the number of runs.
    /// </summary>
    public static int FindRuns(int* offsets, int count, int* lane, int* len, int* off)
    {
        int runs = 0;
        for (int j = 0; j < count;)
        {
            int n = 1;
            while (j + n < count && offsets[j + n] == offsets[j] + n) n++;
            lane[runs] = j;
            len[runs] = n;
            off[runs] = offsets[j];
            runs++;
            j += n;
        }
        return runs;
    }
}

/// <summary>
/// How <see cref="Sgemm.RunImplicitB"/> covers the m rows of A with register tiles: <see cref="Full"/> panels
/// of MR rows, then <see cref="Edge"/> panels of the kernel's EdgeRows (m = 6·4 + 4·2 = 32 on AVX2, so no
/// FMAs are wasted), or, when no such split exists, one partial panel through the spill tile.
/// Every panel is stored MR floats wide per k step, as <see cref="Packing.PackA"/> writes it.
/// </summary>
internal readonly struct PanelPlan
{
    /// <summary>Panels of MR rows.</summary>
    public readonly int Full;
    /// <summary>Panels of EdgeRows rows after the full ones.</summary>
    public readonly int Edge;
    /// <summary>Rows of the last, partial panel after those (0 for none).</summary>
    public readonly int Partial;

    /// <summary>The plan for <paramref name="m"/> rows with <paramref name="kern"/>.</summary>
    public PanelPlan(in SgemmKernel kern, int m)
    {
        int mr = kern.MR, e = kern.EdgeRows, r = m % mr;
        Full = m / mr;
        if (r == 0) return;
        if (e > 0 && r % e == 0) Edge = r / e;
        else if (e > 0 && Full > 0 && (r + mr) % e == 0) { Full--; Edge = (r + mr) / e; }
        else Partial = r;
    }

    /// <summary>Packed panels (each MR·kc floats per K block).</summary>
    public int Panels => Full + Edge + (Partial > 0 ? 1 : 0);

    /// <summary>Rows the register tiles compute (m plus what the partial panel wastes).</summary>
    public int ComputedRows(in SgemmKernel kern) => (Full + (Partial > 0 ? 1 : 0)) * kern.MR + Edge * kern.EdgeRows;
}

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
        int nr = kern.NR, mr = kern.MR, er = kern.EdgeRows, panels = plan.Panels;
        long blockRows = (long)panels * mr;
        var fn = kern.Fn;
        var edgeFn = kern.EdgeFn;
        for (int jr = j0; jr < j1; jr += nr)
        {
            int cols = Math.Min(nr, j1 - jr);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float bt = pc == 0 ? beta : 1f;
                b.PackPanel(panel, pc, kc, jr, cols, nr);
                float* ap = packedA + blockRows * pc;
                for (int q = 0; q < panels; q++)
                {
                    float* aq = ap + (nint)q * mr * kc;
                    bool edge = q >= plan.Full && q < plan.Full + plan.Edge;
                    int row = q <= plan.Full ? q * mr : plan.Full * mr + (q - plan.Full) * er;
                    int rows = q < plan.Full ? mr : edge ? er : plan.Partial;
                    float* cq = c + (nint)row * ldc + jr;
                    if (cols == nr && !edge && rows == mr) fn(kc, aq, panel, nr, cq, ldc, bt, null, 0, 0);
                    else if (cols == nr && edge) edgeFn(kc, aq, panel, nr, cq, ldc, bt, null, 0, 0);
                    else
                    {
                        fn(kc, aq, panel, nr, tile, nr, 0f, null, 0, 0);
                        Packing.StoreTile(cq, ldc, tile, nr, rows, cols, bt);
                    }
                }
            }
        }
    }
}
