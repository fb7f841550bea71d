using VecQ.Tensors;

namespace VecQ.Autograd;

// 2-D convolution (NCHW). N = batch, C = input channels, O = output channels, H/W = input
// height/width, OH/OW = output height/width, KH/KW = kernel height/width.
public static partial class Functions
{
    /// <summary>
    /// 2-D convolution with stride, padding, dilation and groups (groups = C is depthwise).
    /// x: [N, C, H, W], weight: [O, C/groups, KH, KW], bias: [O] or null → y: [N, O, OH, OW].
    /// dx and dW come from the backend's conv backward kernels; db = Σ dy over N, OH, OW (taken by the weight
    /// gradient's pass over dy when both are needed).
    /// </summary>
    /// <example><code>using var y = Functions.Conv2d(x, w, b, stride: (2, 2), padding: (1, 1));</code></example>
    public static Variable Conv2d(Variable x, Variable weight, Variable? bias = null,
        (int H, int W)? stride = null, (int H, int W)? padding = null, (int H, int W)? dilation = null, int groups = 1)
    {
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        int[] xs = x.Shape, ws = weight.Shape;
        var y = ConvOps.Conv2d(x.Value, weight.Value, bias?.Value, s, p, d, groups);   // [N, O, OH, OW]
        bool hasBias = bias != null;
        Variable[] inputs = hasBias ? [x, weight, bias!] : [x, weight];
        return Graph.Record("conv2d", y, inputs, [x.Value, weight.Value], (g, ctx) =>
        {
            Tensor xv = ctx.Saved[0], w = ctx.Saved[1];
            var dx = ctx.NeedsGrad(0) ? ConvOps.Conv2dBackwardData(g, w, xs, s, p, d, groups) : null;        // [N, C, H, W]
            bool needW = ctx.NeedsGrad(1), needB = hasBias && ctx.NeedsGrad(2);
            Tensor? dw = null, db = null;                                                                     // [O, C/groups, KH, KW], [O]
            if (needW && needB) (dw, db) = ConvOps.Conv2dBackwardWeightAndBias(xv, g, ws, s, p, d, groups);   // one pass over dy
            else if (needW) dw = ConvOps.Conv2dBackwardWeight(xv, g, ws, s, p, d, groups);
            else if (needB) db = g.Sum([0, 2, 3]);
            return hasBias ? [dx, dw, db] : [dx, dw];
        });
    }
}
