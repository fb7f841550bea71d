using System.Runtime.Intrinsics;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The columns of an implicit operand (<see cref="ImplicitB"/>, <see cref="ImplicitC"/>) as runs of
/// consecutive image offsets, and those runs cut into 8-float moves: one output row of a convolution,
/// for stride 1, is one run, so a whole panel row moves with a few vector loads and stores.
/// </summary>
internal static unsafe class ColumnRuns
{
    /// <summary>Most moves <see cref="CutIntoMoves"/> makes for <paramref name="cols"/> columns (one per run, plus one per further 8 floats).</summary>
    public static int MostMoves(int cols) => cols + cols / 8;

    /// <summary>
    /// Splits <paramref name="count"/> offsets into runs of consecutive values: run r covers positions
    /// [lane[r], lane[r] + len[r]) with offsets off[r], off[r] + 1, …; returns the number of runs.
    /// </summary>
    public static int Find(int* offsets, int count, int* lane, int* len, int* off)
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

    /// <summary>
    /// Cuts runs (from <see cref="Find"/>) into 8-float moves (position lane, image offset and, when
    /// <paramref name="mask"/> is not null, a lane mask that is set for the lanes inside the run); returns
    /// the number of moves (at most <see cref="MostMoves"/> of the runs' total length).
    /// </summary>
    public static int CutIntoMoves(int* runLane, int* runLen, int* runOff, int runs, int* lane, int* off, Vector256<float>* mask)
    {
        int moves = 0;
        for (int q = 0; q < runs; q++)
            for (int t = 0; t < runLen[q]; t += 8)
            {
                lane[moves] = runLane[q] + t;
                off[moves] = runOff[q] + t;
                if (mask != null)
                    mask[moves] = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(runLen[q] - t)).AsSingle();
                moves++;
            }
        return moves;
    }
}
