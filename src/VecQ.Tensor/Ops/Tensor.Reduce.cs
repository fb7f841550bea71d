namespace VecQ.Tensors;

// Reductions along axes (all axes when none are given), with keepdim.
public sealed partial class Tensor
{
    /// <summary>Sum over <paramref name="axes"/> (all when empty).</summary>
    /// <example><code>using var s = x.Sum([1], keepDim: true); // [N, C] → [N, 1]</code></example>
    public Tensor Sum(int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Sum, "sum", axes, keepDim);
    /// <summary>Mean over <paramref name="axes"/> (all when empty).</summary>
    public Tensor Mean(int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Mean, "mean", axes, keepDim);
    /// <summary>Maximum over <paramref name="axes"/> (all when empty).</summary>
    public Tensor Max(int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Max, "max", axes, keepDim);
    /// <summary>Minimum over <paramref name="axes"/> (all when empty).</summary>
    public Tensor Min(int[]? axes = null, bool keepDim = false) => Reduce(ReduceOp.Min, "min", axes, keepDim);

    /// <summary>Variance over <paramref name="axes"/> with Bessel's correction (divisor n − correction; PyTorch's default correction = 1).</summary>
    /// <example><code>using var v = x.Var([0], correction: 0); // population variance</code></example>
    public Tensor Var(int[]? axes = null, bool keepDim = false, int correction = 1)
    {
        var (mask, count) = ReducedAxes("var", axes);
        if (correction < 0) throw new ArgumentException($"var: correction {correction} must be >= 0");
        using var mean = Mean(axes, keepDim: true);
        using var diff = Sub(mean);
        using var sq = diff.Mul(diff);
        using var s = sq.Sum(axes, keepDim);
        _ = mask;
        return s.Div(Math.Max(count - correction, 0));
    }

    /// <summary>Index of the maximum along <paramref name="axis"/> (int32; first index wins ties).</summary>
    /// <example><code>using var pred = logits.ArgMax(1); // [N]</code></example>
    public Tensor ArgMax(int axis, bool keepDim = false) => ArgReduce(true, "argmax", axis, keepDim);
    /// <summary>Index of the minimum along <paramref name="axis"/> (int32).</summary>
    public Tensor ArgMin(int axis, bool keepDim = false) => ArgReduce(false, "argmin", axis, keepDim);

    private Tensor Reduce(ReduceOp op, string name, int[]? axes, bool keepDim)
    {
        EnsureAlive(name);
        RequireFloat(name, this);
        var (mask, count) = ReducedAxes(name, axes);
        if (count == 0 && op is ReduceOp.Max or ReduceOp.Min)
            throw new ArgumentException($"{name}: cannot reduce over an empty axis of tensor {ShapeText}");
        var kept = new int[Rank];
        for (int i = 0; i < Rank; i++) kept[i] = mask[i] ? 1 : Dims[i];
        var y = Empty(kept, DType, Device);
        Backend.For(this).Reduce(op, this, y);
        if (keepDim) return y;
        using (y) return y.Reshape(DropAxes(kept, mask));
    }

    private Tensor ArgReduce(bool max, string name, int axis, bool keepDim)
    {
        EnsureAlive(name);
        RequireFloat(name, this);
        int a = Shape.Axis(name, axis, Rank);
        if (Dims[a] == 0) throw new ArgumentException($"{name}: axis {a} of tensor {ShapeText} is empty");
        var kept = (int[])Dims.Clone();
        kept[a] = 1;
        var y = Empty(kept, DType.Int32, Device);
        Backend.For(this).ArgReduce(max, this, a, y);
        if (keepDim) return y;
        using (y) return y.Squeeze(a);
    }

    // Which axes are reduced, and how many elements each output element covers.
    private (bool[] Mask, int Count) ReducedAxes(string name, int[]? axes)
    {
        var mask = new bool[Rank];
        if (axes == null || axes.Length == 0) Array.Fill(mask, true);
        else
            foreach (int ax in axes)
            {
                int a = Shape.Axis(name, ax, Rank);
                if (mask[a]) throw new ArgumentException($"{name}: axis {a} is listed twice in {Shape.Format(axes)}");
                mask[a] = true;
            }
        int count = 1;
        for (int i = 0; i < Rank; i++) if (mask[i]) count *= Dims[i];
        return (mask, count);
    }

    private static int[] DropAxes(int[] shape, bool[] mask) => shape.Where((_, i) => !mask[i]).ToArray();
}
