using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        int runs = ColumnRuns.Find(co, cols, runLane, runLen, runOff);
        int most = Math.Max(4, ColumnRuns.MostMoves(cols));
        int* lane = stackalloc int[most], off = stackalloc int[most];
        int moves = ColumnRuns.CutIntoMoves(runLane, runLen, runOff, runs, lane, off, null);
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
        else if (Avx2.IsSupported && PairGroups(co, cols) is int pairs and not 0)
        {
            // stride-2 columns (a strided convolution's output row): each group of eight whose offsets step by 2 is
            // the even lanes of sixteen consecutive floats (one more than needed: Src has Slack past its end)
            for (int p = 0; p < kc; p++)
            {
                float* s = Src + ro[p];
                float* d = dst + (nint)p * nr;
                for (int g = 0; g * 8 < cols; g++)
                {
                    if ((pairs >> g & 1) != 0) StridedLoads.Even8(s + co[8 * g]).Store(d + 8 * g);
                    else for (int j = 8 * g, e = Math.Min(cols, j + 8); j < e; j++) d[j] = s[co[j]];
                }
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

    /// <summary>Bit g set when columns 8g … 8g + 7 all lie within <paramref name="cols"/> and their offsets step by 2 (at most 32 groups).</summary>
    private static int PairGroups(int* co, int cols)
    {
        int mask = 0;
        for (int g = 0; g * 8 + 8 <= cols && g < 32; g++)
        {
            bool pairs = true;
            for (int j = 8 * g + 1; j < 8 * g + 8 && pairs; j++) pairs = co[j] - co[j - 1] == 2;
            if (pairs) mask |= 1 << g;
        }
        return mask;
    }
}
