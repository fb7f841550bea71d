using VecQ.Tensors;

namespace VecQ.Autograd;

// Zero padding of the two spatial axes (NCHW), possibly asymmetric.
public static partial class Functions
{
    /// <summary>
    /// Pads the last two axes of x with zeros: <paramref name="left"/>/<paramref name="right"/> columns and
    /// <paramref name="top"/>/<paramref name="bottom"/> rows (PyTorch's F.pad(x, (left, right, top, bottom)),
    /// all amounts ≥ 0). x: [N, C, H, W] (any rank ≥ 2) → [N, C, top + H + bottom, left + W + right].
    /// dx = dy cropped back to x's region.
    /// </summary>
    /// <example><code>using var y = Functions.ZeroPad2d(x, 0, 1, 0, 1); // [N, 3, 224, 224] → [N, 3, 225, 225] (Keras's MobileNet stem)</code></example>
    public static Variable ZeroPad2d(Variable x, int left, int right, int top, int bottom)
    {
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new ArgumentException($"zero_pad2d: padding (left {left}, right {right}, top {top}, bottom {bottom}) must be ≥ 0");
        int rank = x.Value.Rank;
        if (rank < 2) throw new ArgumentException($"zero_pad2d: input {x.Describe()} needs at least two axes (…, H, W)");
        int[] xs = x.Shape;
        int h = xs[rank - 2], w = xs[rank - 1];
        int[] ys = [.. xs[..^2], top + h + bottom, left + w + right];
        var y = Tensor.Zeros(ys, x.Value.DType, x.Value.Device);        // [N, C, H', W']
        using (var inner = Region(y, rank, left, top, h, w)) inner.CopyFrom(x.Value);
        return Graph.Record("zero_pad2d", y, [x], [], (g, _) =>
        {
            using var region = Region(g, rank, left, top, h, w);       // view of dy over x's positions
            return [region.Contiguous()];
        });
    }

    // t[…, top:top+h, left:left+w] as a view.
    private static Tensor Region(Tensor t, int rank, int left, int top, int h, int w)
    {
        using var rows = t.Narrow(rank - 2, top, h);
        return rows.Narrow(rank - 1, left, w);
    }
}
