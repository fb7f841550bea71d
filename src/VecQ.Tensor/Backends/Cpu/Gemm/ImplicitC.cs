using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// A C operand that is never stored: C(i, j) is added into Dst[RowOff[i] + ColOff[j]]. For a convolution's
/// input gradient it is col2im fused into the GEMM: each (kernel index, output position) product of Wᵀ·dy
/// is added straight into the zero-padded input-gradient planes from the register tile, so the KH·KW-times
/// larger column matrix is never written or read back.
/// </summary>
/// <remarks>Several (i, j) may share a destination (overlapping windows); their adds run one after another.</remarks>
internal readonly unsafe struct ImplicitC(float* dst, int* rowOff, int* colOff)
{
    /// <summary>Base of the destination (zero-padded planes).</summary>
    public readonly float* Dst = dst;
    /// <summary>Offset of each row i of C (M entries).</summary>
    public readonly int* RowOff = rowOff;
    /// <summary>Offset of each column j of C (N entries).</summary>
    public readonly int* ColOff = colOff;

    /// <summary>Most moves <see cref="PlanMoves"/> makes for a strip of <paramref name="nr"/> columns.</summary>
    public static int MostMoves(int nr) => nr + nr / 8;

    /// <summary>
    /// Cuts a strip's column runs (tile lane, length, destination offset; <see cref="ImplicitB.FindRuns"/>) into
    /// 8-lane moves (tile lane, destination offset, lane mask) for <see cref="AddTile"/>; returns their number.
    /// </summary>
    public static int PlanMoves(int* runLane, int* runLen, int* runOff, int runs, int* lane, int* off, Vector256<float>* mask)
    {
        int moves = 0;
        for (int q = 0; q < runs; q++)
            for (int t = 0; t < runLen[q]; t += 8)
            {
                lane[moves] = runLane[q] + t;
                off[moves] = runOff[q] + t;
                mask[moves] = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(runLen[q] - t)).AsSingle();
                moves++;
            }
        return moves;
    }

    /// <summary>
    /// Adds rows [0, rows) of a tile (row stride <paramref name="nr"/>) as C rows i0.. through the strip's
    /// moves (<see cref="PlanMoves"/>): 8-lane read-add-writes whose lanes past a run's end add zero (the tile
    /// values are masked), so they write back what they read. The tile and the destination must be readable
    /// and writable <see cref="ImplicitB.Slack"/> floats past their last used element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddTile(float* tile, int nr, int i0, int rows, int* lane, int* off, Vector256<float>* mask, int moves)
    {
        for (int r = 0; r < rows; r++)
        {
            float* d = Dst + RowOff[i0 + r];
            float* t = tile + (nint)r * nr;
            for (int m = 0; m < moves; m++)
            {
                float* dm = d + off[m];
                (Vector256.Load(dm) + (Vector256.Load(t + lane[m]) & mask[m])).Store(dm);
            }
        }
    }

    /// <summary>The same adds, lane by lane (no 256-bit vectors on this machine).</summary>
    public void AddTileScalar(float* tile, int nr, int i0, int rows, int* runLane, int* runLen, int* runOff, int runs)
    {
        for (int r = 0; r < rows; r++)
        {
            float* d = Dst + RowOff[i0 + r];
            float* t = tile + (nint)r * nr;
            for (int q = 0; q < runs; q++)
                for (int j = 0; j < runLen[q]; j++) d[runOff[q] + j] += t[runLane[q] + j];
        }
    }
}

internal static unsafe partial class Sgemm
{
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
        int nr = kern.NR, mr = kern.MR, er = kern.EdgeRows, panels = plan.Panels;
        long blockRows = (long)panels * mr;
        var fn = kern.Fn;
        var edgeFn = kern.EdgeFn;
        int* runLane = stackalloc int[nr], runLen = stackalloc int[nr], runOff = stackalloc int[nr];
        int most = ImplicitC.MostMoves(nr);
        int* lane = stackalloc int[most], off = stackalloc int[most];
        Vector256<float>* mask = stackalloc Vector256<float>[most];
        bool vector = Vector256.IsHardwareAccelerated;
        for (int jr = j0; jr < j1; jr += nr)
        {
            int cols = Math.Min(nr, j1 - jr);
            Packing.PackB(strip, b, ldb, false, 0, k, jr, cols, nr);
            int runs = ImplicitB.FindRuns(c.ColOff + jr, cols, runLane, runLen, runOff);
            int moves = vector ? ImplicitC.PlanMoves(runLane, runLen, runOff, runs, lane, off, mask) : 0;
            for (int q = 0; q < panels; q++)
            {
                bool edge = q >= plan.Full && q < plan.Full + plan.Edge;
                int row = q <= plan.Full ? q * mr : plan.Full * mr + (q - plan.Full) * er;
                int rows = q < plan.Full ? mr : edge ? er : plan.Partial;
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
