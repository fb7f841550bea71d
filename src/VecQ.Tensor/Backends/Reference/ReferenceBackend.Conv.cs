using System.Numerics;

namespace VecQ.Tensors;

// Direct 2-D convolution (NCHW) and its two gradients, with stride, padding, dilation and groups.
//
// Output position (oh, ow) of output channel o reads input rows ih = oh·SH − PH + kh·DH and
// columns iw = ow·SW − PW + kw·DW of the input channels of o's group; positions outside the input
// are the zero padding. Group g owns input channels [g·C/G, (g+1)·C/G) and output channels
// [g·O/G, (g+1)·O/G); weight [o, ci, kh, kw] connects o to input channel g·C/G + ci.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    {
        CheckConv("conv2d", g, x, w, y);
        if (bias != null)
        {
            ExpectShape("conv2d", "bias", bias, g.O);
            SameDType("conv2d", bias, y);
        }
        switch (y.DType)
        {
            case DType.Float32: Conv2dT<float>(x, w, bias, g, y); break;
            case DType.Float64: Conv2dT<double>(x, w, bias, g, y); break;
            default: throw Unsupported("conv2d", y);
        }
    }

    // y[n, o, oh, ow] = bias[o] + Σ_{ci, kh, kw} x[n, g·C/G + ci, ih, iw] · w[o, ci, kh, kw]
    private static void Conv2dT<T>(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ws = Data<T>(w);
        var ys = Data<T>(y);
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
            {
                int c0 = o / g.OPerGroup * g.CPerGroup;
                double b = bias == null ? 0 : D(Data<T>(bias)[At(bias, o)]);
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        double sum = b;
                        for (int ci = 0; ci < g.CPerGroup; ci++)
                            for (int kh = 0; kh < g.KH; kh++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                if (ih < 0 || ih >= g.H) continue;
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (iw < 0 || iw >= g.W) continue;
                                    sum += D(xs[At(x, n, c0 + ci, ih, iw)]) * D(ws[At(w, o, ci, kh, kw)]);
                                }
                            }
                        ys[At(y, n, o, oh, ow)] = Cast<T>(sum);
                    }
            }
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        CheckConv("conv2d_backward_data", g, dx, w, dy);
        switch (dx.DType)
        {
            case DType.Float32: Conv2dBackwardDataT<float>(dy, w, g, dx); break;
            case DType.Float64: Conv2dBackwardDataT<double>(dy, w, g, dx); break;
            default: throw Unsupported("conv2d_backward_data", dx);
        }
    }

    // dx[n, g·C/G + ci, ih, iw] = Σ over every (o, oh, ow, kh, kw) that read it of dy[n, o, oh, ow] · w[o, ci, kh, kw]
    private static void Conv2dBackwardDataT<T>(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dys = Data<T>(dy);
        var ws = Data<T>(w);
        var acc = new double[g.N * g.C * g.H * g.W]; // dx in row-major order, starting from zero
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
            {
                int c0 = o / g.OPerGroup * g.CPerGroup;
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        double grad = D(dys[At(dy, n, o, oh, ow)]);
                        for (int ci = 0; ci < g.CPerGroup; ci++)
                            for (int kh = 0; kh < g.KH; kh++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                if (ih < 0 || ih >= g.H) continue;
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (iw < 0 || iw >= g.W) continue;
                                    acc[((n * g.C + c0 + ci) * g.H + ih) * g.W + iw] += grad * D(ws[At(w, o, ci, kh, kw)]);
                                }
                            }
                    }
            }
        WriteRowMajor<T>(acc, dx);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null)
    {
        CheckConv("conv2d_backward_weight", g, x, dw, dy);
        if (dbias != null)
        {
            ExpectShape("conv2d_backward_weight", "dbias", dbias, g.O);
            SameDType("conv2d_backward_weight", dw, dbias);
        }
        switch (dw.DType)
        {
            case DType.Float32: Conv2dBackwardWeightT<float>(x, dy, g, dw); if (dbias != null) BiasGradT<float>(dy, g, dbias); break;
            case DType.Float64: Conv2dBackwardWeightT<double>(x, dy, g, dw); if (dbias != null) BiasGradT<double>(dy, g, dbias); break;
            default: throw Unsupported("conv2d_backward_weight", dw);
        }
    }

    // dbias[o] = Σ_{n, oh, ow} dy[n, o, oh, ow]
    private static void BiasGradT<T>(Tensor dy, Conv2dGeometry g, Tensor dbias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dys = Data<T>(dy);
        var dbs = Data<T>(dbias);
        for (int o = 0; o < g.O; o++)
        {
            double sum = 0;
            for (int n = 0; n < g.N; n++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++) sum += D(dys[At(dy, n, o, oh, ow)]);
            dbs[At(dbias, o)] = Cast<T>(sum);
        }
    }

    // dw[o, ci, kh, kw] = Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, g·C/G + ci, ih, iw]
    private static void Conv2dBackwardWeightT<T>(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var dys = Data<T>(dy);
        var dws = Data<T>(dw);
        for (int o = 0; o < g.O; o++)
        {
            int c0 = o / g.OPerGroup * g.CPerGroup;
            for (int ci = 0; ci < g.CPerGroup; ci++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        double sum = 0;
                        for (int n = 0; n < g.N; n++)
                            for (int oh = 0; oh < g.OH; oh++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                if (ih < 0 || ih >= g.H) continue;
                                for (int ow = 0; ow < g.OW; ow++)
                                {
                                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (iw < 0 || iw >= g.W) continue;
                                    sum += D(dys[At(dy, n, o, oh, ow)]) * D(xs[At(x, n, c0 + ci, ih, iw)]);
                                }
                            }
                        dws[At(dw, o, ci, kh, kw)] = Cast<T>(sum);
                    }
        }
    }

    private static void CheckConv(string op, Conv2dGeometry g, Tensor x, Tensor w, Tensor y)
    {
        ExpectShape(op, "input", x, g.N, g.C, g.H, g.W);
        ExpectShape(op, "weight", w, g.O, g.CPerGroup, g.KH, g.KW);
        ExpectShape(op, "output", y, g.N, g.O, g.OH, g.OW);
        SameDType(op, x, y);
        SameDType(op, w, y);
    }

    // Writes values (row-major over t's shape) into t through its strides.
    private static void WriteRowMajor<T>(double[] values, Tensor t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ts = Data<T>(t);
        var it = new Odometer(t.Dims, t);
        for (int i = 0; i < t.Numel; i++, it.Next()) ts[it.Offsets[0]] = Cast<T>(values[i]);
    }
}
