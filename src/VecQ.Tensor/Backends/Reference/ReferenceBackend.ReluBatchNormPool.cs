using System.Numerics;

namespace VecQ.Tensors;

// The fused conv-block tail ReLU → batch norm → max pool, written as the composition it replaces:
// u = max(x, 0); t = batch_norm(u); y = max_pool2d(t). The gradient runs the same chain backwards:
// d = max_pool2d_backward(dy); du = batch_norm_backward(d, u); dx = du where x > 0, else 0.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked)
    {
        const string op = "relu_batch_norm_max_pool2d";
        CheckPool(op, g, x, y);
        ExpectInt32(op, "indices", indices);
        ExpectShape(op, "indices", indices, g.N, g.C, g.OH, g.OW);
        ExpectShape(op, "picked", picked, g.N, g.C, g.OH, g.OW);
        SameDType(op, x, picked);
        CheckChannelVectors(op, x, g.C, ("mean", mean), ("invStd", invStd), ("gamma", gamma), ("beta", beta));
        switch (x.DType)
        {
            case DType.Float32: ReluBatchNormMaxPool2dT<float>(x, mean, invStd, gamma, beta, g, y, indices, picked); break;
            case DType.Float64: ReluBatchNormMaxPool2dT<double>(x, mean, invStd, gamma, beta, g, y, indices, picked); break;
            default: throw Unsupported(op, x);
        }
    }

    private static void ReluBatchNormMaxPool2dT<T>(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int s = g.H * g.W;
        using var u = ReluCopy<T>(x, g);                                        // u: [N, C, H·W]
        using var t = Tensor.Empty([g.N, g.C, s], x.DType);                     // t: [N, C, H·W]
        BatchNormForwardT<T>(u, mean, invStd, gamma, beta, t);
        using var t4 = t.View(g.N, g.C, g.H, g.W);                              // t: [N, C, H, W]
        MaxPool2dT<T>(t4, g, y, indices);
        var us = Data<T>(u);
        var ix = Data<int>(indices);
        var ps = Data<T>(picked);
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                        ps[At(picked, n, c, oh, ow)] = us[At(u, n, c, ix[At(indices, n, c, oh, ow)])];
    }

    /// <inheritdoc/>
    /// <remarks>The reference takes every value from x itself; picked is only checked for its shape.</remarks>
    public void ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        const string op = "relu_batch_norm_max_pool2d_backward";
        CheckPool(op, g, x, dy);
        ExpectShape(op, "dx", dx, g.N, g.C, g.H, g.W);
        SameDType(op, x, dx);
        ExpectInt32(op, "indices", indices);
        ExpectShape(op, "indices", indices, g.N, g.C, g.OH, g.OW);
        ExpectShape(op, "picked", picked, g.N, g.C, g.OH, g.OW);
        CheckChannelVectors(op, x, g.C, ("mean", mean), ("invStd", invStd), ("gamma", gamma), ("dgamma", dgamma), ("dbeta", dbeta));
        switch (x.DType)
        {
            case DType.Float32: ReluBatchNormMaxPool2dBackwardT<float>(dy, indices, x, mean, invStd, gamma, g, dx, dgamma, dbeta); break;
            case DType.Float64: ReluBatchNormMaxPool2dBackwardT<double>(dy, indices, x, mean, invStd, gamma, g, dx, dgamma, dbeta); break;
            default: throw Unsupported(op, x);
        }
    }

    private static void ReluBatchNormMaxPool2dBackwardT<T>(Tensor dy, Tensor indices, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int s = g.H * g.W;
        using var d = Tensor.Empty([g.N, g.C, g.H, g.W], x.DType);              // d: [N, C, H, W] = max-pool gradient
        MaxPool2dBackwardT<T>(dy, indices, g, d);
        using var u = ReluCopy<T>(x, g);                                        // u: [N, C, H·W]
        using var d3 = d.View(g.N, g.C, s);                                     // [N, C, H·W]
        using var du = Tensor.Empty([g.N, g.C, s], x.DType);                    // du: [N, C, H·W]
        BatchNormBackwardT<T>(d3, u, mean, invStd, gamma, du, dgamma, dbeta);
        var xs = Data<T>(x);
        var dus = Data<T>(du);
        var dxs = Data<T>(dx);
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int h = 0; h < g.H; h++)
                    for (int w = 0; w < g.W; w++)
                        dxs[At(dx, n, c, h, w)] = xs[At(x, n, c, h, w)] > T.Zero ? dus[At(du, n, c, h * g.W + w)] : T.Zero;
    }

    /// <summary>u: [N, C, H·W] (contiguous) = max(x, 0) for x: [N, C, H, W] (any strides).</summary>
    private static Tensor ReluCopy<T>(Tensor x, Pool2dGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Tensor.Empty([g.N, g.C, g.H * g.W], x.DType);
        var xs = Data<T>(x);
        var us = Data<T>(u);
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int h = 0; h < g.H; h++)
                    for (int w = 0; w < g.W; w++)
                        us[At(u, n, c, h * g.W + w)] = Cast<T>(ReluOf(D(xs[At(x, n, c, h, w)])));
        return u;
    }

    /// <summary>max(v, 0); NaN counts as not above 0 (the ReLU's rule: v &gt; 0 ? v : 0).</summary>
    private static double ReluOf(double v) => v > 0 ? v : 0;

    private static void CheckChannelVectors(string op, Tensor x, int c, params (string Name, Tensor? T)[] vectors)
    {
        foreach (var (name, t) in vectors)
            if (t != null) CheckChannelVector(op, name, t, x, c);
    }
}
