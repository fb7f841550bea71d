using System.Numerics;

namespace VecQ.Tensors;

// Reductions, arg-reductions and batch-norm statistics. Sums accumulate in double.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        SameDType("reduce", x, y);
        if (x.Rank != y.Rank)
            throw new ArgumentException($"reference reduce: output {y.ShapeText} must have the rank of the input {x.ShapeText}");
        for (int d = 0; d < x.Rank; d++)
            if (y.Dims[d] != x.Dims[d] && y.Dims[d] != 1)
                throw new ArgumentException($"reference reduce: output {y.ShapeText} does not match input {x.ShapeText} in dimension {d} (must be equal or 1)");
        switch (x.DType)
        {
            case DType.Float32: ReduceT<float>(op, x, y); break;
            case DType.Float64: ReduceT<double>(op, x, y); break;
            default: throw Unsupported("reduce", x);
        }
    }

    private static void ReduceT<T>(ReduceOp op, Tensor x, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outputs = y.Numel;
        if (outputs == 0) return;
        int count = x.Numel / outputs; // elements folded into each output (0 for an empty reduced axis)

        // Walk x; each element lands in the output slot whose coordinates are x's with every
        // reduced axis (y's size 1) set to 0, i.e. a row-major index into y with stride 0 there.
        var ySlotStrides = Shape.ContiguousStrides(y.Dims);
        for (int d = 0; d < x.Rank; d++)
            if (y.Dims[d] == 1) ySlotStrides[d] = 0;
        var it = new Odometer(x.Dims, [x.Strides, ySlotStrides], [x.Offset, 0]);
        var xs = Data<T>(x);

        var sum = new double[outputs];
        var best = new T[outputs];
        Array.Fill(best, op == ReduceOp.Max ? T.NegativeInfinity : T.PositiveInfinity);
        for (int i = 0; i < x.Numel; i++, it.Next())
        {
            T v = xs[it.Offsets[0]];
            int slot = it.Offsets[1];
            switch (op)
            {
                case ReduceOp.Sum:
                case ReduceOp.Mean:
                    sum[slot] += D(v);
                    break;
                case ReduceOp.Max: // NaN wins and stays
                    if (T.IsNaN(v) || v > best[slot]) best[slot] = v;
                    break;
                case ReduceOp.Min:
                    if (T.IsNaN(v) || v < best[slot]) best[slot] = v;
                    break;
            }
        }

        var ys = Data<T>(y);
        var outIt = new Odometer(y.Dims, y);
        for (int j = 0; j < outputs; j++, outIt.Next())
        {
            ys[outIt.Offsets[0]] = op switch
            {
                ReduceOp.Sum => Cast<T>(sum[j]),
                ReduceOp.Mean => Cast<T>(sum[j] / count), // 0/0 = NaN for an empty axis, as PyTorch
                _ => best[j],
            };
        }
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y)
    {
        string op = max ? "argmax" : "argmin";
        ExpectInt32(op, "output", y);
        if (axis < 0 || axis >= x.Rank) throw new ArgumentException($"reference {op}: axis {axis} is out of range for input {x.ShapeText}");
        var expect = (int[])x.Dims.Clone();
        expect[axis] = 1;
        ExpectShape(op, "output", y, expect);
        if (x.Dims[axis] == 0 && y.Numel > 0) throw new ArgumentException($"reference {op}: axis {axis} of input {x.ShapeText} is empty");
        switch (x.DType)
        {
            case DType.Float32: ArgReduceT<float>(max, x, axis, y); break;
            case DType.Float64: ArgReduceT<double>(max, x, axis, y); break;
            default: throw Unsupported(op, x);
        }
    }

    // For every position of y, scan x along the axis; the first extreme wins ties, the first NaN wins outright.
    private static void ArgReduceT<T>(bool max, Tensor x, int axis, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ys = Data<int>(y);
        int n = x.Dims[axis], step = x.Strides[axis];
        // y's odometer walks x's layout too (x's axis coordinate stays 0)
        var it = new Odometer(y.Dims, x, y);
        for (int j = 0; j < y.Numel; j++, it.Next())
        {
            int start = it.Offsets[0];
            int bestK = 0;
            T best = xs[start];
            for (int k = 1; k < n && !T.IsNaN(best); k++)
            {
                T v = xs[start + k * step];
                if (T.IsNaN(v) || (max ? v > best : v < best)) { best = v; bestK = k; }
            }
            ys[it.Offsets[1]] = bestK;
        }
    }

    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false)
    {
        if (x.Rank != 3) throw new ArgumentException($"reference batch_norm_stats: input {x.ShapeText} must be [N, C, S]");
        ExpectShape("batch_norm_stats", "mean", mean, x.Dims[1]);
        ExpectShape("batch_norm_stats", "var", var, x.Dims[1]);
        SameDType("batch_norm_stats", x, mean);
        SameDType("batch_norm_stats", x, var);
        switch (x.DType)
        {
            case DType.Float32: BatchNormStatsT<float>(x, mean, var, relu); break;
            case DType.Float64: BatchNormStatsT<double>(x, mean, var, relu); break;
            default: throw Unsupported("batch_norm_stats", x);
        }
    }

    // Two passes per channel: the mean, then the mean squared deviation (biased variance); of max(x, 0) with relu.
    private static void BatchNormStatsT<T>(Tensor x, Tensor mean, Tensor var, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double Value(T v) => relu ? ReluOf(D(v)) : D(v);
        var xs = Data<T>(x);
        var ms = Data<T>(mean);
        var vs = Data<T>(var);
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        double count = (double)n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++) sum += Value(xs[At(x, i, ch, k)]);
            double mu = sum / count;
            double sq = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                {
                    double dv = Value(xs[At(x, i, ch, k)]) - mu;
                    sq += dv * dv;
                }
            ms[At(mean, ch)] = Cast<T>(mu);
            vs[At(var, ch)] = Cast<T>(sq / count);
        }
    }
}
