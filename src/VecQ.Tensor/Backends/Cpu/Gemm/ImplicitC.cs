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

    /// <summary>
    /// Adds rows [0, rows) of a tile (row stride <paramref name="nr"/>) as C rows i0.. through the strip's
    /// moves (<see cref="ColumnRuns.CutIntoMoves"/>, masks included): 8-lane read-add-writes whose lanes past a run's end add zero (the tile
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
