using System.Numerics;

namespace VecQ.Tensors;

// Row softmax / log-softmax and the fused softmax cross-entropy, computed in double and stably:
// with m = max_c x_c and s = Σ_c e^(x_c − m), log_softmax_c = x_c − m − log s.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        string op = log ? "log_softmax" : "softmax";
        if (x.Rank != 2) throw new ArgumentException($"reference {op}: input {x.ShapeText} must be 2-D [R, C]");
        SameShape(op, x, y);
        SameDType(op, x, y);
        switch (x.DType)
        {
            case DType.Float32: SoftmaxT<float>(x, y, log); break;
            case DType.Float64: SoftmaxT<double>(x, y, log); break;
            default: throw Unsupported(op, x);
        }
    }

    private static void SoftmaxT<T>(Tensor x, Tensor y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        int rows = x.Dims[0], cols = x.Dims[1];
        var logp = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            LogSoftmaxRow(xs, x, r, logp);
            for (int c = 0; c < cols; c++) ys[At(y, r, c)] = Cast<T>(log ? logp[c] : Math.Exp(logp[c]));
        }
    }

    // logp[c] = x[r, c] − max − log Σ e^(x[r, ·] − max)
    private static void LogSoftmaxRow<T>(Span<T> xs, Tensor x, int r, double[] logp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cols = x.Dims[1];
        double max = double.NegativeInfinity;
        for (int c = 0; c < cols; c++) max = Math.Max(max, D(xs[At(x, r, c)]));
        double sum = 0;
        for (int c = 0; c < cols; c++) sum += Math.Exp(D(xs[At(x, r, c)]) - max);
        double logSum = Math.Log(sum);
        for (int c = 0; c < cols; c++) logp[c] = D(xs[At(x, r, c)]) - max - logSum;
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        CheckCrossEntropy("softmax_cross_entropy", logits, labels);
        ExpectShape("softmax_cross_entropy", "loss", loss, logits.Dims[0]);
        SameShape("softmax_cross_entropy", logits, probs);
        SameDType("softmax_cross_entropy", logits, loss);
        SameDType("softmax_cross_entropy", logits, probs);
        switch (logits.DType)
        {
            case DType.Float32: SoftmaxCrossEntropyT<float>(logits, labels, smoothing, loss, probs); break;
            case DType.Float64: SoftmaxCrossEntropyT<double>(logits, labels, smoothing, loss, probs); break;
            default: throw Unsupported("softmax_cross_entropy", logits);
        }
    }

    // loss[r] = −Σ_c target[r, c] · log_softmax(logits[r])_c with target = (1 − ε)·onehot(label) + ε/C;
    // probs[r] = softmax(logits[r]).
    private static void SoftmaxCrossEntropyT<T>(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(logits);
        var ls = Data<T>(loss);
        var ps = Data<T>(probs);
        int rows = logits.Dims[0], cols = logits.Dims[1];
        var labelOf = ReadLabels("softmax_cross_entropy", labels, cols);
        var logp = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            LogSoftmaxRow(xs, logits, r, logp);
            double l = 0;
            for (int c = 0; c < cols; c++)
            {
                l -= Target(c, labelOf[r], cols, smoothing) * logp[c];
                ps[At(probs, r, c)] = Cast<T>(Math.Exp(logp[c]));
            }
            ls[At(loss, r)] = Cast<T>(l);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        CheckCrossEntropy("softmax_cross_entropy_backward", probs, labels);
        ExpectShape("softmax_cross_entropy_backward", "dloss", dloss, probs.Dims[0]);
        SameShape("softmax_cross_entropy_backward", probs, dlogits);
        SameDType("softmax_cross_entropy_backward", probs, dloss);
        SameDType("softmax_cross_entropy_backward", probs, dlogits);
        switch (probs.DType)
        {
            case DType.Float32: SoftmaxCrossEntropyBackwardT<float>(probs, labels, smoothing, dloss, dlogits); break;
            case DType.Float64: SoftmaxCrossEntropyBackwardT<double>(probs, labels, smoothing, dloss, dlogits); break;
            default: throw Unsupported("softmax_cross_entropy_backward", probs);
        }
    }

    // dlogits[r, c] = (probs[r, c] − target[r, c]) · dloss[r]
    private static void SoftmaxCrossEntropyBackwardT<T>(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ps = Data<T>(probs);
        var ds = Data<T>(dloss);
        var gs = Data<T>(dlogits);
        int rows = probs.Dims[0], cols = probs.Dims[1];
        var labelOf = ReadLabels("softmax_cross_entropy_backward", labels, cols);
        for (int r = 0; r < rows; r++)
        {
            double scale = D(ds[At(dloss, r)]);
            for (int c = 0; c < cols; c++)
                gs[At(dlogits, r, c)] = Cast<T>((D(ps[At(probs, r, c)]) - Target(c, labelOf[r], cols, smoothing)) * scale);
        }
    }

    // The smoothed one-hot target: (1 − ε)·[c == label] + ε/C.
    private static double Target(int c, int label, int classes, double smoothing) =>
        (c == label ? 1 - smoothing : 0) + smoothing / classes;

    // Reads and checks the labels first, so a bad label leaves the outputs untouched.
    private static int[] ReadLabels(string op, Tensor labels, int classes)
    {
        var ls = Data<int>(labels);
        var result = new int[labels.Dims[0]];
        for (int r = 0; r < result.Length; r++)
        {
            int label = ls[At(labels, r)];
            if (label < 0 || label >= classes)
                throw new ArgumentException($"{op}: label {label} in row {r} is out of range [0, {classes})");
            result[r] = label;
        }
        return result;
    }

    private static void CheckCrossEntropy(string op, Tensor logits, Tensor labels)
    {
        if (logits.Rank != 2) throw new ArgumentException($"reference {op}: logits {logits.ShapeText} must be 2-D [R, C]");
        ExpectInt32(op, "labels", labels);
        ExpectShape(op, "labels", labels, logits.Dims[0]);
    }
}
