using VecQ.Tensors;

namespace VecQ.Autograd;

// Shape and layout functions. Forwards are views (no copy) where Tensor's are; backwards map
// the gradient back to the input's layout.
public static partial class Functions
{
    /// <summary>A new shape (one dimension may be −1); copies only when the layout requires it. dx = dy reshaped back.</summary>
    /// <example><code>using var flat = Functions.Reshape(x, x.Shape[0], -1);</code></example>
    public static Variable Reshape(Variable x, params int[] shape) => Reshaped("reshape", x, x.Value.Reshape(shape));

    /// <summary>Like <see cref="Reshape"/> but never copies (throws when the layout cannot be viewed).</summary>
    /// <example><code>using var v = Functions.View(x, 2, -1);</code></example>
    public static Variable View(Variable x, params int[] shape) => Reshaped("view", x, x.Value.View(shape));

    /// <summary>Flattens axes start..end (inclusive) into one. dx = dy reshaped back.</summary>
    /// <example><code>using var f = Functions.Flatten(x, 1); // [N, C, H, W] → [N, C·H·W]</code></example>
    public static Variable Flatten(Variable x, int startAxis = 0, int endAxis = -1) => Reshaped("flatten", x, x.Value.Flatten(startAxis, endAxis));

    /// <summary>Removes size-1 dimensions (all, or only <paramref name="axis"/>). dx = dy reshaped back.</summary>
    /// <example><code>using var s = Functions.Squeeze(x, 1); // [N, 1] → [N]</code></example>
    public static Variable Squeeze(Variable x, int? axis = null) => Reshaped("squeeze", x, x.Value.Squeeze(axis));

    /// <summary>Inserts a size-1 dimension at <paramref name="axis"/>. dx = dy reshaped back.</summary>
    /// <example><code>using var col = Functions.Unsqueeze(v, 1); // [n] → [n, 1]</code></example>
    public static Variable Unsqueeze(Variable x, int axis) => Reshaped("unsqueeze", x, x.Value.Unsqueeze(axis));

    private static Variable Reshaped(string name, Variable x, Tensor y)
    {
        int[] xs = x.Shape;
        return Graph.Record(name, y, [x], [], (g, _) => [g.Reshape(xs)]);
    }

    /// <summary>Swaps two dimensions (a view). dx = dyᵀ over the same two dimensions.</summary>
    /// <example><code>using var t = Functions.Transpose(x, 0, 1);</code></example>
    public static Variable Transpose(Variable x, int dim0, int dim1) =>
        Graph.Record("transpose", x.Value.Transpose(dim0, dim1), [x], [], (g, _) => [g.Transpose(dim0, dim1)]);

    /// <summary>Reorders dimensions (a view): result dim i is x's dim perm[i]. dx = dy permuted by the inverse.</summary>
    /// <example><code>using var nhwc = Functions.Permute(x, 0, 2, 3, 1);</code></example>
    public static Variable Permute(Variable x, params int[] perm)
    {
        var y = x.Value.Permute(perm);
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[Shape.Axis("permute", perm[i], perm.Length)] = i;
        return Graph.Record("permute", y, [x], [], (g, _) => [g.Permute(inverse)]);
    }

    /// <summary>Elements start..start+length−1 of <paramref name="axis"/> (a view). dx = dy placed into zeros.</summary>
    /// <example><code>using var firstTwo = Functions.Narrow(x, 0, 0, 2);</code></example>
    public static Variable Narrow(Variable x, int axis, int start, int length)
    {
        int[] xs = x.Shape;
        return Graph.Record("narrow", x.Value.Narrow(axis, start, length), [x], [], (g, _) =>
            [ScatterInto(xs, g, dx => dx.Narrow(axis, start, length))]);
    }

    /// <summary>Python-style slice start:end:step along <paramref name="axis"/> (a view). dx = dy placed into zeros.</summary>
    /// <example><code>using var evens = Functions.Slice(x, 1, 0, x.Shape[1], 2);</code></example>
    public static Variable Slice(Variable x, int axis, int start, int end, int step = 1)
    {
        int[] xs = x.Shape;
        return Graph.Record("slice", x.Value.Slice(axis, start, end, step), [x], [], (g, _) =>
            [ScatterInto(xs, g, dx => dx.Slice(axis, start, end, step))]);
    }

    /// <summary>One position of <paramref name="axis"/>, removing that axis (a view). dx = dy placed into zeros.</summary>
    /// <example><code>using var last = Functions.Select(h, 1, -1); // [N, T, H] → [N, H]</code></example>
    public static Variable Select(Variable x, int axis, int index)
    {
        int[] xs = x.Shape;
        int a = Shape.Axis("select", axis, xs.Length);
        int i = index < 0 ? index + xs[a] : index;
        return Graph.Record("select", x.Value.Select(a, i), [x], [], (g, _) =>
            [ScatterInto(xs, g, dx => dx.Select(a, i))]);
    }

    /// <summary>Broadcasts to <paramref name="shape"/> (a view; −1 keeps a size). dx = Σ dy over the broadcast dimensions.</summary>
    /// <example><code>using var e = Functions.Expand(bias, 8, 4); // [4] → [8, 4]</code></example>
    public static Variable Expand(Variable x, params int[] shape)
    {
        int[] xs = x.Shape;
        return Graph.Record("expand", x.Value.Expand(shape), [x], [], (g, _) => [Broadcast.SumToShape(g, xs)]);
    }

    /// <summary>Same as <see cref="Expand"/> (NumPy's name).</summary>
    /// <example><code>using var e = Functions.BroadcastTo(b, [8, 4]);</code></example>
    public static Variable BroadcastTo(Variable x, int[] shape) => Expand(x, shape);

    // Zeros of shape xs with g copied into the region that `region` selects.
    private static Tensor ScatterInto(int[] xs, Tensor g, Func<Tensor, Tensor> region)
    {
        var dx = Tensor.Zeros(xs, g.DType, g.Device);
        using var view = region(dx);
        view.CopyFrom(g);
        return dx;
    }
}
