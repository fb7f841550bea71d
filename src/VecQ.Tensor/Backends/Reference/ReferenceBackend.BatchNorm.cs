using System.Numerics;

namespace VecQ.Tensors;

// Batch-norm normalisation and its training-mode gradient, per channel in double.
// With x̂ = (x − mean)·invStd and M = N·S elements per channel:
//   y  = x̂·gamma + beta
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = gamma·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂)
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        const string op = "batch_norm_forward";
        if (x.Rank != 3) throw new ArgumentException($"reference {op}: input {x.ShapeText} must be [N, C, S]");
        int c = x.Dims[1];
        SameShape(op, x, y);
        SameDType(op, x, y);
        CheckChannelVector(op, "mean", mean, x, c);
        CheckChannelVector(op, "invStd", invStd, x, c);
        if (gamma != null) CheckChannelVector(op, "gamma", gamma, x, c);
        if (beta != null) CheckChannelVector(op, "beta", beta, x, c);
        switch (x.DType)
        {
            case DType.Float32: BatchNormForwardT<float>(x, mean, invStd, gamma, beta, y); break;
            case DType.Float64: BatchNormForwardT<double>(x, mean, invStd, gamma, beta, y); break;
            default: throw Unsupported(op, x);
        }
    }

    private static void BatchNormForwardT<T>(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        var ms = Data<T>(mean);
        var iv = Data<T>(invStd);
        var gs = gamma != null ? Data<T>(gamma) : default;
        var bs = beta != null ? Data<T>(beta) : default;
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        for (int ch = 0; ch < c; ch++)
        {
            double mu = D(ms[At(mean, ch)]), inv = D(iv[At(invStd, ch)]);
            double gm = gamma != null ? D(gs[At(gamma, ch)]) : 1.0;
            double bt = beta != null ? D(bs[At(beta, ch)]) : 0.0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                    ys[At(y, i, ch, k)] = Cast<T>((D(xs[At(x, i, ch, k)]) - mu) * inv * gm + bt);
        }
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        const string op = "batch_norm_backward";
        if (x.Rank != 3) throw new ArgumentException($"reference {op}: input {x.ShapeText} must be [N, C, S]");
        int c = x.Dims[1];
        SameShape(op, x, dy);
        SameShape(op, x, dx);
        SameDType(op, x, dy);
        SameDType(op, x, dx);
        CheckChannelVector(op, "mean", mean, x, c);
        CheckChannelVector(op, "invStd", invStd, x, c);
        if (gamma != null) CheckChannelVector(op, "gamma", gamma, x, c);
        if (dgamma != null) CheckChannelVector(op, "dgamma", dgamma, x, c);
        if (dbeta != null) CheckChannelVector(op, "dbeta", dbeta, x, c);
        switch (x.DType)
        {
            case DType.Float32: BatchNormBackwardT<float>(dy, x, mean, invStd, gamma, dx, dgamma, dbeta); break;
            case DType.Float64: BatchNormBackwardT<double>(dy, x, mean, invStd, gamma, dx, dgamma, dbeta); break;
            default: throw Unsupported(op, x);
        }
    }

    private static void BatchNormBackwardT<T>(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dys = Data<T>(dy);
        var xs = Data<T>(x);
        var dxs = Data<T>(dx);
        var ms = Data<T>(mean);
        var iv = Data<T>(invStd);
        var gs = gamma != null ? Data<T>(gamma) : default;
        var dgs = dgamma != null ? Data<T>(dgamma) : default;
        var dbs = dbeta != null ? Data<T>(dbeta) : default;
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        double m = (double)n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double mu = D(ms[At(mean, ch)]), inv = D(iv[At(invStd, ch)]);
            double gm = gamma != null ? D(gs[At(gamma, ch)]) : 1.0;
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                {
                    double g = D(dys[At(dy, i, ch, k)]);
                    sumDy += g;
                    sumDyXhat += g * (D(xs[At(x, i, ch, k)]) - mu) * inv;
                }
            if (dbeta != null) dbs[At(dbeta, ch)] = Cast<T>(sumDy);
            if (dgamma != null) dgs[At(dgamma, ch)] = Cast<T>(sumDyXhat);
            double k0 = m == 0 ? 0 : gm * inv / m;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                {
                    double xhat = (D(xs[At(x, i, ch, k)]) - mu) * inv;
                    dxs[At(dx, i, ch, k)] = Cast<T>(k0 * (m * D(dys[At(dy, i, ch, k)]) - sumDy - xhat * sumDyXhat));
                }
        }
    }

    private static void CheckChannelVector(string op, string what, Tensor v, Tensor x, int c)
    {
        ExpectShape(op, what, v, c);
        SameDType(op, x, v);
    }
}
