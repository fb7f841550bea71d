using System.Numerics;

namespace VecQ.Tensors;

// 2-D max and average pooling (NCHW, floor mode) and their gradients.
//
// Window (oh, ow) covers input rows oh·SH − PH … oh·SH − PH + KH − 1 and the matching columns;
// rows and columns outside the input are padding. Max pooling treats padding as −∞ and records the
// argmax as h·W + w within the (unpadded) input plane; average pooling counts padding as zeros in
// the divisor KH·KW (PyTorch's count_include_pad=True).
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    {
        CheckPool("max_pool2d", g, x, y);
        ExpectInt32("max_pool2d", "indices", indices);
        ExpectShape("max_pool2d", "indices", indices, g.N, g.C, g.OH, g.OW);
        switch (x.DType)
        {
            case DType.Float32: MaxPool2dT<float>(x, g, y, indices); break;
            case DType.Float64: MaxPool2dT<double>(x, g, y, indices); break;
            default: throw Unsupported("max_pool2d", x);
        }
    }

    private static void MaxPool2dT<T>(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        var ix = Data<int>(indices);
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
                        T best = T.NegativeInfinity;
                        // start at the window's first in-bounds position, so an all −∞ window still names a real element
                        int bestAt = Math.Max(h0, 0) * g.W + Math.Max(w0, 0);
                        for (int h = Math.Max(h0, 0); h < Math.Min(h0 + g.KH, g.H); h++)
                            for (int w = Math.Max(w0, 0); w < Math.Min(w0 + g.KW, g.W); w++)
                            {
                                T v = xs[At(x, n, c, h, w)];
                                // strictly greater: the first maximum wins ties; a NaN wins and stays (PyTorch)
                                if (!T.IsNaN(best) && (v > best || T.IsNaN(v))) { best = v; bestAt = h * g.W + w; }
                            }
                        ys[At(y, n, c, oh, ow)] = best;
                        ix[At(indices, n, c, oh, ow)] = bestAt;
                    }
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    {
        CheckPool("max_pool2d_backward", g, dx, dy);
        ExpectInt32("max_pool2d_backward", "indices", indices);
        ExpectShape("max_pool2d_backward", "indices", indices, g.N, g.C, g.OH, g.OW);
        switch (dx.DType)
        {
            case DType.Float32: MaxPool2dBackwardT<float>(dy, indices, g, dx); break;
            case DType.Float64: MaxPool2dBackwardT<double>(dy, indices, g, dx); break;
            default: throw Unsupported("max_pool2d_backward", dx);
        }
    }

    // dx = 0, then dx[n, c, idx / W, idx % W] += dy[n, c, oh, ow] for every window (overlapping windows accumulate).
    private static void MaxPool2dBackwardT<T>(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dys = Data<T>(dy);
        var ix = Data<int>(indices);
        var acc = new double[g.N * g.C * g.H * g.W];
        int plane = g.H * g.W;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int at = ix[At(indices, n, c, oh, ow)];
                        if (at < 0 || at >= plane)
                            throw new ArgumentException($"max_pool2d_backward: index {at} at [{n}, {c}, {oh}, {ow}] is out of range [0, {plane}) for a {g.H}x{g.W} plane");
                        acc[(n * g.C + c) * plane + at] += D(dys[At(dy, n, c, oh, ow)]);
                    }
        WriteRowMajor<T>(acc, dx);
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y)
    {
        CheckPool("avg_pool2d", g, x, y);
        switch (x.DType)
        {
            case DType.Float32: AvgPool2dT<float>(x, g, y); break;
            case DType.Float64: AvgPool2dT<double>(x, g, y); break;
            default: throw Unsupported("avg_pool2d", x);
        }
    }

    // y = (Σ of the in-bounds window elements) / (KH·KW)
    private static void AvgPool2dT<T>(Tensor x, Pool2dGeometry g, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        double divisor = g.KH * g.KW;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
                        double sum = 0;
                        for (int h = Math.Max(h0, 0); h < Math.Min(h0 + g.KH, g.H); h++)
                            for (int w = Math.Max(w0, 0); w < Math.Min(w0 + g.KW, g.W); w++)
                                sum += D(xs[At(x, n, c, h, w)]);
                        ys[At(y, n, c, oh, ow)] = Cast<T>(sum / divisor);
                    }
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx)
    {
        CheckPool("avg_pool2d_backward", g, dx, dy);
        switch (dx.DType)
        {
            case DType.Float32: AvgPool2dBackwardT<float>(dy, g, dx); break;
            case DType.Float64: AvgPool2dBackwardT<double>(dy, g, dx); break;
            default: throw Unsupported("avg_pool2d_backward", dx);
        }
    }

    // dx = 0, then every in-bounds element of window (oh, ow) receives dy[n, c, oh, ow] / (KH·KW).
    private static void AvgPool2dBackwardT<T>(Tensor dy, Pool2dGeometry g, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dys = Data<T>(dy);
        var acc = new double[g.N * g.C * g.H * g.W];
        double divisor = g.KH * g.KW;
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
                        double share = D(dys[At(dy, n, c, oh, ow)]) / divisor;
                        for (int h = Math.Max(h0, 0); h < Math.Min(h0 + g.KH, g.H); h++)
                            for (int w = Math.Max(w0, 0); w < Math.Min(w0 + g.KW, g.W); w++)
                                acc[((n * g.C + c) * g.H + h) * g.W + w] += share;
                    }
        WriteRowMajor<T>(acc, dx);
    }

    private static void CheckPool(string op, Pool2dGeometry g, Tensor x, Tensor y)
    {
        ExpectShape(op, "input", x, g.N, g.C, g.H, g.W);
        ExpectShape(op, "output", y, g.N, g.C, g.OH, g.OW);
        SameDType(op, x, y);
    }
}
