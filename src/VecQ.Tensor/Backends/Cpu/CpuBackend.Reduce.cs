using System.Numerics;
using System.Numerics.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Reductions. x's dimensions are coalesced into runs of reduced / kept axes; then
//   innermost run reduced, stride 1 (e.g. sum over C of [N, C], or over H,W of [N, C, H, W]):
//       each output reduces rows: sums with SIMD lanes widened to double, max/min with TensorPrimitives
//   innermost run kept, stride 1 (e.g. bias grad: sum over N of [N, C]):
//       each output row accumulates input rows with TensorPrimitives.Add/Max/Min; sums add blocks of
//       64 rows in float, then each block into a double row
//   innermost stride ≠ 1 (a transposed or stepped view): a contiguous copy first.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Rows accumulated in float before being added to the running total.</summary>
    private const int RowBlock = 64;

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        if (NotF32(x)) { Reference.Reduce(op, x, y); return; } // float64: the reference backend
        // x: any strides; y: x's rank with reduced axes of size 1, contiguous
        if (x.Rank != y.Rank) throw new ArgumentException($"reduce: output {y.ShapeText} must have the rank of the input {x.ShapeText}");
        if (y.Numel == 0) return;
        float* yp = Ptr(y);
        long count = 1;
        for (int i = 0; i < x.Rank; i++) if (y.Dims[i] == 1 && x.Dims[i] != 1) count *= x.Dims[i];
        if (count == 0)
        {
            // nothing to reduce over: the identity of the reduction (mean: 0/0)
            float identity = op switch { ReduceOp.Sum => 0f, ReduceOp.Mean => float.NaN, ReduceOp.Max => float.NegativeInfinity, _ => float.PositiveInfinity };
            new Span<float>(yp, y.Numel).Fill(identity);
            return;
        }
        if (count == 1)
        {
            // no axis is reduced: y = x
            Copy(x, y);
            return;
        }

        // coalesce: runs of same-kind axes that are contiguous in x
        var (dims, strides, reduced) = CoalesceForReduce(x, y);
        int r = dims.Length;
        if (strides[r - 1] != 1)
        {
            // innermost run is strided: reduce a contiguous copy instead
            using var xc = ContiguousTemp(x);
            Reduce(op, xc, y);
            return;
        }

        // a mean divides the double sum before it is rounded to float, as the reference does
        double divisor = op == ReduceOp.Mean ? count : 1;
        if (reduced[r - 1]) ReduceRows(op, x, yp, dims, strides, reduced, y.Numel, divisor);
        else ReduceAccumulate(op, x, yp, dims, strides, reduced, y.Numel, divisor);
    }

    /// <summary>x's non-trivial axes merged into runs of reduced or kept axes that are contiguous in x (outermost first).</summary>
    private static (int[] Dims, int[] Strides, bool[] Reduced) CoalesceForReduce(Tensor x, Tensor y)
    {
        var dims = new List<int>();
        var strides = new List<int>();
        var red = new List<bool>();
        for (int i = x.Rank - 1; i >= 0; i--)
        {
            int d = x.Dims[i];
            if (d == 1) continue;
            bool isRed = y.Dims[i] == 1;
            int last = dims.Count - 1;
            if (last >= 0 && red[last] == isRed && x.Strides[i] == (long)strides[last] * dims[last])
            {
                dims[last] *= d;
                continue;
            }
            dims.Add(d);
            strides.Add(x.Strides[i]);
            red.Add(isRed);
        }
        dims.Reverse(); strides.Reverse(); red.Reverse();
        return (dims.ToArray(), strides.ToArray(), red.ToArray());
    }

    /// <summary>Splits runs into kept (in order: they index y row-major) and reduced ones, leaving out the innermost.</summary>
    private static (int[] KDims, int[] KStrides, int[] RDims, int[] RStrides) SplitRuns(int[] dims, int[] strides, bool[] reduced)
    {
        var kd = new List<int>(); var ks = new List<int>(); var rd = new List<int>(); var rs = new List<int>();
        for (int i = 0; i < dims.Length - 1; i++)
        {
            if (reduced[i]) { rd.Add(dims[i]); rs.Add(strides[i]); }
            else { kd.Add(dims[i]); ks.Add(strides[i]); }
        }
        return (kd.ToArray(), ks.ToArray(), rd.ToArray(), rs.ToArray());
    }

    /// <summary>Offset in x of output/row number <paramref name="linear"/> over the given runs (row-major).</summary>
    private static long RunOffset(long linear, int[] dims, int[] strides)
    {
        long off = 0;
        for (int d = dims.Length - 1; d >= 0; d--)
        {
            off += linear % dims[d] * strides[d];
            linear /= dims[d];
        }
        return off;
    }

    /// <summary>
    /// Innermost run reduced: y[o] = reduce over every reduced combination of a contiguous row
    /// (sums divided by <paramref name="divisor"/>: the count for a mean, else 1).
    /// </summary>
    private static void ReduceRows(ReduceOp op, Tensor x, float* yp, int[] dims, int[] strides, bool[] reduced, int outputs, double divisor)
    {
        float* xp = Ptr(x);
        int len = dims[^1];
        var (kd, ks, rd, rs) = SplitRuns(dims, strides, reduced);
        long combos = 1;
        foreach (int d in rd) combos *= d;

        if (outputs == 1 && combos == 1 && len >= 2 * CpuWalker.ParallelThreshold && Parallelism.Threads > 1)
        {
            // one long row (e.g. the sum of a whole tensor): partial results per chunk
            int chunks = Parallelism.Threads;
            var parts = new double[chunks];
            ForChunks(len, chunks, (c, s, e) => parts[c] = RowReduce(op, xp + s, e - s));
            double acc = parts[0];
            for (int c = 1; c < chunks; c++) acc = Combine(op, acc, parts[c]);
            yp[0] = (float)(acc / divisor);
            return;
        }

        void Outputs(int o0, int o1)
        {
            Span<int> ri = stackalloc int[rd.Length];
            for (int o = o0; o < o1; o++)
            {
                float* row0 = xp + RunOffset(o, kd, ks);
                ri.Clear();
                long roff = 0;
                double acc = 0;
                for (long c = 0; c < combos; c++)
                {
                    double v = RowReduce(op, row0 + roff, len);
                    acc = c == 0 ? v : Combine(op, acc, v);
                    for (int d = rd.Length - 1; d >= 0; d--)
                    {
                        ri[d]++;
                        roff += rs[d];
                        if (ri[d] < rd[d]) break;
                        roff -= (long)rs[d] * rd[d];
                        ri[d] = 0;
                    }
                }
                yp[o] = (float)(acc / divisor);
            }
        }

        int chunksOut = ChunksFor(outputs, (long)outputs * combos * len);
        if (chunksOut == 1) Outputs(0, outputs);
        else ForChunks(outputs, chunksOut, (_, s, e) => Outputs(s, e));
    }

    /// <summary>Reduces one contiguous row; sums in float blocks added in double.</summary>
    private static double RowReduce(ReduceOp op, float* p, int n)
    {
        switch (op)
        {
            case ReduceOp.Max: return TensorPrimitives.Max(new ReadOnlySpan<float>(p, n));
            case ReduceOp.Min: return TensorPrimitives.Min(new ReadOnlySpan<float>(p, n));
            default: return RowSum(p, n);
        }
    }

    /// <summary>Σ p[i] (Σ max(p[i], 0) with relu) over n contiguous floats, each SIMD lane widened to double before it is added.</summary>
    private static double RowSum(float* p, int n, bool relu = false)
    {
        int i = 0;
        double s = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            Vector<double> a0 = Vector<double>.Zero, a1 = Vector<double>.Zero, a2 = Vector<double>.Zero, a3 = Vector<double>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                Vector<float> v0 = Vector.Load(p + i), v1 = Vector.Load(p + i + w);
                if (relu) { v0 = Vector.Max(v0, Vector<float>.Zero); v1 = Vector.Max(v1, Vector<float>.Zero); }
                Vector.Widen(v0, out var l0, out var h0);
                Vector.Widen(v1, out var l1, out var h1);
                a0 += l0; a1 += h0; a2 += l1; a3 += h1;
            }
            s = Vector.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++) s += relu ? Math.Max(p[i], 0f) : p[i];
        return s;
    }

    /// <summary>acc[i] += src[i] for n elements (float source, double accumulator).</summary>
    private static void AccumulateDouble(double* acc, float* src, int n)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count, half = Vector<double>.Count;
            for (; i <= n - w; i += w)
            {
                Vector.Widen(Vector.Load(src + i), out var lo, out var hi);
                (Vector.Load(acc + i) + lo).Store(acc + i);
                (Vector.Load(acc + i + half) + hi).Store(acc + i + half);
            }
        }
        for (; i < n; i++) acc[i] += src[i];
    }

    private static double Combine(ReduceOp op, double acc, double v) => op switch
    {
        ReduceOp.Max => double.IsNaN(acc) || double.IsNaN(v) ? double.NaN : Math.Max(acc, v),
        ReduceOp.Min => double.IsNaN(acc) || double.IsNaN(v) ? double.NaN : Math.Min(acc, v),
        _ => acc + v,
    };

    /// <summary>
    /// Innermost run kept: each y row (length of that run) accumulates the matching x rows of every reduced
    /// combination (sums divided by <paramref name="divisor"/>: the count for a mean, else 1).
    /// </summary>
    private static void ReduceAccumulate(ReduceOp op, Tensor x, float* yp, int[] dims, int[] strides, bool[] reduced, int outputs, double divisor)
    {
        float* xp = Ptr(x);
        int len = dims[^1];
        int outRows = outputs / len;
        var (kd, ks, rd, rs) = SplitRuns(dims, strides, reduced);
        long combos = 1;
        foreach (int d in rd) combos *= d;
        bool sum = op is ReduceOp.Sum or ReduceOp.Mean;
        long work = (long)outputs * combos;

        // one y row (or the [c0, c1) columns of it) from all reduced combinations;
        // partial: n floats of scratch, total: n doubles of scratch (sums only)
        void Row(int row, int c0, int c1, float* partial, double* total)
        {
            float* x0 = xp + RunOffset(row, kd, ks) + c0;
            int n = c1 - c0;
            var acc = new Span<float>(yp + (long)row * len + c0, n);
            var part = new Span<float>(partial, n);
            if (sum) new Span<double>(total, n).Clear();
            Span<int> ri = stackalloc int[rd.Length];
            ri.Clear();
            long roff = 0;
            for (long c = 0; c < combos; c++)
            {
                var src = new ReadOnlySpan<float>(x0 + roff, n);
                if (!sum)
                {
                    if (c == 0) src.CopyTo(acc);
                    else if (op == ReduceOp.Max) TensorPrimitives.Max(acc, src, acc);
                    else TensorPrimitives.Min(acc, src, acc);
                }
                else
                {
                    // blocked: RowBlock rows summed into part in float, then part added to the double total
                    long inBlock = c % RowBlock;
                    if (inBlock == 0) src.CopyTo(part);
                    else TensorPrimitives.Add(part, src, part);
                    if (inBlock == RowBlock - 1 || c == combos - 1) AccumulateDouble(total, partial, n);
                }
                for (int d = rd.Length - 1; d >= 0; d--)
                {
                    ri[d]++;
                    roff += rs[d];
                    if (ri[d] < rd[d]) break;
                    roff -= (long)rs[d] * rd[d];
                    ri[d] = 0;
                }
            }
            if (sum) for (int i = 0; i < n; i++) acc[i] = (float)(total[i] / divisor);
        }

        int threads = Parallelism.Threads;
        if (outRows >= threads || threads == 1 || work < CpuWalker.ParallelThreshold)
        {
            // per chunk: len floats of partial sums, then len doubles of totals
            int chunks = ChunksFor(outRows, work);
            long per = 3L * len + 1 & ~1L;
            using var scratch = CpuScratch.Rent(chunks * per);
            float* parts = scratch.Pointer;
            long totals = len + 1 & ~1L; // keeps the doubles 8-byte aligned
            if (chunks == 1) { for (int row = 0; row < outRows; row++) Row(row, 0, len, parts, (double*)(parts + totals)); }
            else ForChunks(outRows, chunks, (c, s, e) =>
            {
                float* mine = parts + c * per;
                for (int row = s; row < e; row++) Row(row, 0, len, mine, (double*)(mine + totals));
            });
        }
        else
        {
            // few output rows: split each row's columns over the threads
            int chunks = ChunksFor(len, work);
            long totals = len + 1 & ~1L;
            using var scratch = CpuScratch.Rent(totals + 2L * len);
            float* parts = scratch.Pointer;
            double* sums = (double*)(parts + totals);
            for (int row = 0; row < outRows; row++)
            {
                int rr = row;
                ForChunks(len, chunks, (_, s, e) => Row(rr, s, e, parts + s, sums + s));
            }
        }
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y)
    {
        if (NotF32(x)) { Reference.ArgReduce(max, x, axis, y); return; } // float64: the reference backend
        // x: any strides; y: int32, x's shape with dims[axis] = 1, contiguous
        int n = x.Dims[axis], step = x.Strides[axis], outputs = y.Numel;
        if (outputs == 0) return;
        float* xp = Ptr(x);
        int* yp = IntPtr(y);
        var odims = (int[])x.Dims.Clone();
        odims[axis] = 1;
        var ostrides = (int[])x.Strides.Clone();
        ostrides[axis] = 0;

        void Outputs(int o0, int o1)
        {
            for (int o = o0; o < o1; o++)
            {
                float* p = xp + RunOffset(o, odims, ostrides);
                int best = 0;
                float bv = p[0];
                // the first extreme wins ties; the first NaN wins outright
                for (int i = 1; i < n && !float.IsNaN(bv); i++)
                {
                    float v = p[(long)i * step];
                    if (float.IsNaN(v) || (max ? v > bv : v < bv)) { bv = v; best = i; }
                }
                yp[o] = best;
            }
        }

        int chunks = ChunksFor(outputs, (long)outputs * n);
        if (chunks == 1) Outputs(0, outputs);
        else ForChunks(outputs, chunks, (_, s, e) => Outputs(s, e));
    }
}
