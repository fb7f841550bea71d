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

// Adaptive average pooling (PyTorch's bins): x: [N, C, H, W] → y: [N, C, OH, OW].
public static partial class Functions
{
    /// <summary>
    /// Adaptive average pool to <paramref name="output"/> (PyTorch's F.adaptive_avg_pool2d): output row i averages
    /// input rows floor(i·H/OH) … ceil((i+1)·H/OH) − 1, and likewise for columns. A (1, 1) output is the mean over
    /// H and W; when OH divides H and OW divides W it is an average pool with kernel = stride = (H/OH, W/OW); otherwise
    /// y = Pₕ·x·P_wᵀ with constant bin-averaging matrices Pₕ [OH, H] and P_w [OW, W] (uploaded to x's device), and
    /// dx = Pₕᵀ·dy·P_w.
    /// </summary>
    /// <example><code>using var y = Functions.AdaptiveAvgPool2d(x, (1, 1)); // [N, 512, 7, 7] → [N, 512, 1, 1]</code></example>
    public static Variable AdaptiveAvgPool2d(Variable x, (int H, int W) output)
    {
        if (x.Value.Rank != 4) throw new ArgumentException($"adaptive_avg_pool2d: input {x.Describe()} must be [N, C, H, W]");
        var (oh, ow) = output;
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"adaptive_avg_pool2d: output size ({oh}, {ow}) must be positive");
        int h = x.Shape[2], w = x.Shape[3];
        if (h <= 0 || w <= 0) throw new ArgumentException($"adaptive_avg_pool2d: input {x.Describe()} has an empty spatial axis");
        if (oh == 1 && ow == 1) return Mean(x, [2, 3], keepDim: true);                       // [N, C, 1, 1]
        if (h % oh == 0 && w % ow == 0) return AvgPool2d(x, (h / oh, w / ow));               // [N, C, OH, OW]
        using var ph = BinMatrix(oh, h, x.Value.DType, x.Value.Device);                        // Pₕ: [OH, H]
        using var pwt = BinMatrixTransposed(ow, w, x.Value.DType, x.Value.Device);             // P_wᵀ: [W, OW]
        Tensor y;
        using (var rows = ph.MatMul(x.Value)) y = rows.MatMul(pwt);                            // [N, C, OH, W] → [N, C, OH, OW]
        return Graph.Record("adaptive_avg_pool2d", y, [x], [ph, pwt], (g, ctx) =>
        {
            using var pht = ctx.Saved[0].Transpose(0, 1);                                      // [H, OH]
            using var pw = ctx.Saved[1].Transpose(0, 1);                                       // [OW, W]
            using var rows = pht.MatMul(g);                                                    // [N, C, H, OW]
            return [rows.MatMul(pw)];                                                          // [N, C, H, W]
        });
    }

    // P [bins, n]: row i holds 1/len over PyTorch's bin floor(i·n/bins) .. ceil((i+1)·n/bins) − 1.
    private static Tensor BinMatrix(int bins, int n, DType dtype, Device device)
    {
        var p = new double[bins * n];
        for (int i = 0; i < bins; i++)
        {
            int start = (int)((long)i * n / bins), end = (int)(((long)(i + 1) * n + bins - 1) / bins);
            for (int j = start; j < end; j++) p[i * n + j] = 1.0 / (end - start);
        }
        return Upload(p, [bins, n], dtype, device);
    }

    private static Tensor BinMatrixTransposed(int bins, int n, DType dtype, Device device)
    {
        using var p = BinMatrix(bins, n, dtype, device);
        using var t = p.Transpose(0, 1);
        return t.Contiguous();
    }

    private static Tensor Upload(double[] data, int[] shape, DType dtype, Device device)
    {
        using var host = Tensor.FromArray(data, shape);
        using var cast = host.Cast(dtype);
        return cast.To(device);
    }
}
