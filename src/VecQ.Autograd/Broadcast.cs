using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Undoing broadcasting in backward formulas, in one place. When an op broadcast an input of
/// shape s to the output shape, the input's gradient is the output gradient summed over the
/// broadcast dimensions: the leading ones that s lacks and those where s has size 1.
/// </summary>
/// <example><code>
/// // b: [4] was broadcast to y: [8, 4]
/// using var db = Broadcast.SumToShape(dy, b.Shape); // [8, 4] → [4]
/// </code></example>
public static class Broadcast
{
    /// <summary>
    /// Sums <paramref name="grad"/> down to <paramref name="shape"/> (which must broadcast to
    /// grad's shape). Returns a new tensor (or a new view when no sum is needed); the caller
    /// keeps ownership of <paramref name="grad"/>.
    /// </summary>
    public static Tensor SumToShape(Tensor grad, int[] shape)
    {
        if (Shape.Equal(grad.Dims, shape)) return Saved.NewRef(grad);
        int lead = grad.Rank - shape.Length;
        if (lead < 0)
            throw new ArgumentException($"sum_to_shape: gradient {grad.ShapeText} has fewer dimensions than the target shape {Shape.Format(shape)}");
        var axes = new List<int>();
        for (int i = 0; i < grad.Rank; i++)
        {
            if (i < lead) { axes.Add(i); continue; }
            int want = shape[i - lead], have = grad.Dims[i];
            if (want == have) continue;
            if (want != 1)
                throw new ArgumentException($"sum_to_shape: gradient {grad.ShapeText} cannot be summed to {Shape.Format(shape)}: dimension {i} is {have} vs {want}");
            axes.Add(i);
        }
        if (axes.Count == 0) return grad.Reshape(shape);
        using var summed = grad.Sum(axes.ToArray(), keepDim: true); // leading axes kept as 1, then dropped
        return summed.Reshape(shape);
    }

    /// <summary>The keep-dim shape of a reduction: <paramref name="shape"/> with each reduced axis set to 1 (all axes when <paramref name="axes"/> is null or empty).</summary>
    /// <example><code>int[] k = Broadcast.KeepDimShape([2, 3, 4], [1]); // [2, 1, 4]</code></example>
    public static int[] KeepDimShape(int[] shape, int[]? axes)
    {
        var mask = ReducedAxes(shape.Length, axes);
        return shape.Select((d, i) => mask[i] ? 1 : d).ToArray();
    }

    /// <summary>The shape of a reduction without keepDim: <paramref name="shape"/> without the reduced axes.</summary>
    /// <example><code>int[] r = Broadcast.ReducedShape([2, 3, 4], [1]); // [2, 4]</code></example>
    public static int[] ReducedShape(int[] shape, int[]? axes)
    {
        var mask = ReducedAxes(shape.Length, axes);
        return shape.Where((_, i) => !mask[i]).ToArray();
    }

    // Which axes a reduction over `axes` covers (all when null or empty), as Tensor.Sum reads them.
    private static bool[] ReducedAxes(int rank, int[]? axes)
    {
        var mask = new bool[rank];
        if (axes == null || axes.Length == 0) Array.Fill(mask, true);
        else foreach (int ax in axes) mask[Shape.Axis("reduce", ax, rank)] = true;
        return mask;
    }
}
