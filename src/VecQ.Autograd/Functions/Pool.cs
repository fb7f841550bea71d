using VecQ.Tensors;

namespace VecQ.Autograd;

// 2-D pooling (NCHW): x: [N, C, H, W] → y: [N, C, OH, OW].
public static partial class Functions
{
    /// <summary>Max pool (stride defaults to the kernel). The gradient goes to each window's argmax (saved by the forward).</summary>
    /// <example><code>using var y = Functions.MaxPool2d(x, (2, 2)); // [N, C, 28, 28] → [N, C, 14, 14]</code></example>
    public static Variable MaxPool2d(Variable x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        int[] xs = x.Shape;
        var (y, indices) = ConvOps.MaxPool2d(x.Value, kernel, stride, padding);
        using (indices)   // int32 [N, C, OH, OW]: argmax as h·W + w in each plane
            return Graph.Record("max_pool2d", y, [x], [indices], (g, ctx) =>
                [ConvOps.MaxPool2dBackward(g, ctx.Saved[0], xs, kernel, stride, padding)]);
    }

    /// <summary>Average pool (padding counts in the divisor, PyTorch's default). dx = dy spread evenly over each window.</summary>
    /// <example><code>using var y = Functions.AvgPool2d(x, (3, 3), stride: (2, 2), padding: (1, 1));</code></example>
    public static Variable AvgPool2d(Variable x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        int[] xs = x.Shape;
        return Graph.Record("avg_pool2d", ConvOps.AvgPool2d(x.Value, kernel, stride, padding), [x], [], (g, _) =>
            [ConvOps.AvgPool2dBackward(g, xs, kernel, stride, padding)]);
    }
}
