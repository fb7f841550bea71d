namespace VecQ.Tensors;

// Softmax, cross-entropy and batch-norm statistics.
public static class NnOps
{
    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    /// <example><code>using var p = NnOps.Softmax(logits, 1);</code></example>
    public static Tensor Softmax(Tensor x, int axis) => SoftmaxImpl(x, axis, log: false, "softmax");

    /// <summary>Log-softmax along <paramref name="axis"/> (computed stably, not as log(softmax)).</summary>
    public static Tensor LogSoftmax(Tensor x, int axis) => SoftmaxImpl(x, axis, log: true, "log_softmax");

    private static Tensor SoftmaxImpl(Tensor x, int axis, bool log, string op)
    {
        x.EnsureAlive(op);
        Tensor.RequireFloat(op, x);
        if (x.Rank == 0) throw new ArgumentException($"{op}: a 0-d tensor has no axis");
        int a = Shape.Axis(op, axis, x.Rank);
        // move the axis last, run on [R, C], move it back
        var perm = Enumerable.Range(0, x.Rank).Where(i => i != a).Append(a).ToArray();
        using var moved = x.Permute(perm);
        using var c = moved.Contiguous();
        int cols = x.Dims[a];
        int rows = cols == 0 ? 0 : x.Numel / cols;
        using var x2 = c.View(rows, cols);
        using var y2 = Tensor.Empty([rows, cols], x.DType, x.Device);
        Backend.For(x).Softmax(x2, y2, log);
        using var yMoved = y2.View(moved.Dims);
        var inverse = new int[x.Rank];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        using var back = yMoved.Permute(inverse);
        return back.Contiguous();
    }

    /// <summary>
    /// Fused softmax + cross-entropy. logits: [N, C], labels: [N] int32 in [0, C).
    /// Returns the per-row losses [N] and the probabilities [N, C] (kept for the backward).
    /// With label smoothing ε the target is (1 − ε)·onehot + ε/C, as PyTorch.
    /// </summary>
    /// <example><code>var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels); double mean = loss.Mean().Item();</code></example>
    public static (Tensor Loss, Tensor Probs) SoftmaxCrossEntropy(Tensor logits, Tensor labels, double labelSmoothing = 0)
    {
        CheckCrossEntropy("softmax_cross_entropy", logits, labels, labelSmoothing);
        using var lc = logits.Contiguous();
        using var yc = labels.Contiguous();
        var loss = Tensor.Empty([logits.Dims[0]], logits.DType, logits.Device);
        var probs = Tensor.Empty(logits.Dims, logits.DType, logits.Device);
        try
        {
            if (Backend.For(logits) is IFusedLoss fused) fused.SoftmaxCrossEntropy(lc, yc, (float)labelSmoothing, loss, probs);
            else SoftmaxCrossEntropyUnfused(lc, yc, (float)labelSmoothing, loss, probs);
        }
        catch { loss.Dispose(); probs.Dispose(); throw; }
        return (loss, probs);
    }

    /// <summary>
    /// The cross-entropy of <see cref="IFusedLoss.SoftmaxCrossEntropy"/> from primitives on logits' device
    /// (what a backend without the fused kernel runs): loss[r] = −(1 − ε)·log_softmax[r, label] − (ε/C)·Σ_c log_softmax[r, c],
    /// probs = softmax(logits). Operands contiguous: logits, probs [R, C]; labels [R] int32; loss [R].
    /// </summary>
    /// <example><code>NnOps.SoftmaxCrossEntropyUnfused(logits, labels, 0.1f, loss, probs);</code></example>
    public static void SoftmaxCrossEntropyUnfused(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        var b = Backend.For(logits);
        int rows = logits.Dims[0], cols = logits.Dims[1];
        using var logp = Tensor.Empty(logits.Dims, logits.DType, logits.Device);          // [R, C]
        b.Softmax(logits, logp, log: true);
        using var lab = labels.Reshape([rows, 1]);
        using var picked = logp.Gather(1, lab);                                            // [R, 1]: log p of the label
        using var total = logp.Sum([1], keepDim: true);                                    // [R, 1]
        using var a = picked.Mul(-(1.0 - smoothing));
        using var c = total.Mul(-(double)smoothing / cols);
        using var l = a.Add(c);
        using var l1 = l.Reshape([rows]);
        loss.CopyFrom(l1);
        b.Softmax(logits, probs, log: false);
    }

    /// <summary>Gradient of the per-row losses: dlogits[r] = (probs[r] − target[r]) · dloss[r].</summary>
    public static Tensor SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, Tensor dloss, double labelSmoothing = 0)
    {
        CheckCrossEntropy("softmax_cross_entropy_backward", probs, labels, labelSmoothing);
        if (!Shape.Equal(dloss.Dims, [probs.Dims[0]]) || dloss.DType != probs.DType)
            throw new ArgumentException($"softmax_cross_entropy_backward: dloss {dloss.ShapeText} must be [{probs.Dims[0]}] {probs.DType.Name()}");
        using var pc = probs.Contiguous();
        using var yc = labels.Contiguous();
        using var dc = dloss.Contiguous();
        var d = Tensor.Empty(probs.Dims, probs.DType, probs.Device);
        try
        {
            if (Backend.For(probs) is IFusedLoss fused) fused.SoftmaxCrossEntropyBackward(pc, yc, (float)labelSmoothing, dc, d);
            else SoftmaxCrossEntropyBackwardUnfused(pc, yc, (float)labelSmoothing, dc, d);
        }
        catch { d.Dispose(); throw; }
        return d;
    }

    /// <summary>
    /// The gradient of <see cref="IFusedLoss.SoftmaxCrossEntropyBackward"/> from primitives:
    /// dlogits = (probs − ε/C − (1 − ε)·onehot(label)) · dloss[r] (a scatter-add puts the one-hot term in).
    /// </summary>
    /// <example><code>NnOps.SoftmaxCrossEntropyBackwardUnfused(probs, labels, 0f, dloss, dlogits);</code></example>
    public static void SoftmaxCrossEntropyBackwardUnfused(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        int rows = probs.Dims[0], cols = probs.Dims[1];
        using var shifted = probs.Sub((double)smoothing / cols);                           // [R, C]
        using var lab = labels.Reshape([rows, 1]);
        using var hot = Tensor.Full([rows, 1], -(1.0 - smoothing), probs.DType, probs.Device);
        shifted.ScatterAdd_(1, lab, hot);                                                  // − (1 − ε) at each label
        using var scale = dloss.Reshape([rows, 1]);
        using var g = shifted.Mul(scale);
        dlogits.CopyFrom(g);
    }

    private static void CheckCrossEntropy(string op, Tensor logits, Tensor labels, double smoothing)
    {
        logits.EnsureAlive(op); labels.EnsureAlive(op);
        Tensor.RequireFloat(op, logits);
        Tensor.SameDevice(op, logits, labels);
        if (logits.Rank != 2) throw new ArgumentException($"{op}: logits {logits.ShapeText} must be 2-D [N, C]");
        if (labels.DType != DType.Int32 || labels.Rank != 1 || labels.Dims[0] != logits.Dims[0])
            throw new ArgumentException($"{op}: labels {labels.ShapeText} ({labels.DType.Name()}) must be int32 [{logits.Dims[0]}] for logits {logits.ShapeText}");
        if (!(smoothing >= 0 && smoothing <= 1)) throw new ArgumentException($"{op}: label smoothing {smoothing} must be in [0, 1]");
    }

    /// <summary>
    /// Per-channel mean and biased variance over every axis but 1. x: [N, C] or [N, C, …]. With
    /// <paramref name="relu"/>, the statistics of max(x, 0) (a ReLU's output, read from its input).
    /// </summary>
    /// <example><code>var (mean, var) = NnOps.BatchNormStats(x); // x: [N, C, H, W] → [C], [C]</code></example>
    public static (Tensor Mean, Tensor Var) BatchNormStats(Tensor x, bool relu = false)
    {
        x.EnsureAlive("batch_norm_stats");
        Tensor.RequireFloat("batch_norm_stats", x);
        if (x.Rank < 2) throw new ArgumentException($"batch_norm_stats: input {x.ShapeText} must be [N, C] or [N, C, …]");
        int n = x.Dims[0], c = x.Dims[1];
        int s = c == 0 || n == 0 ? 0 : x.Numel / (n * c);
        if (n * Math.Max(s, 1) < 1 || s == 0) throw new ArgumentException($"batch_norm_stats: input {x.ShapeText} has no elements per channel");
        using var xc = x.Contiguous();
        using var x3 = xc.View(n, c, s);
        var mean = Tensor.Empty([c], x.DType, x.Device);
        var var = Tensor.Empty([c], x.DType, x.Device);
        Backend.For(x).BatchNormStats(x3, mean, var, relu);
        return (mean, var);
    }

    /// <summary>
    /// Batch-norm normalisation with given per-channel statistics: y = (x − mean[c])·invStd[c]·gamma[c] + beta[c].
    /// x: [N, C] or [N, C, …]; mean, invStd, gamma, beta: [C] (gamma/beta null: no affine transform). Returns y: like x.
    /// </summary>
    /// <example><code>using var y = NnOps.BatchNormForward(x, mean, invStd, gamma, beta); // x: [N, C, H, W]</code></example>
    public static Tensor BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta) =>
        BatchNormForward("batch_norm_forward", x, mean, invStd, gamma, beta, null);

    /// <summary>
    /// <see cref="BatchNormForward(Tensor, Tensor, Tensor, Tensor?, Tensor?)"/> followed by ReLU or ReLU6, in one pass where the
    /// backend offers <see cref="IFusedBatchNormActivation"/> (the same values either way).
    /// </summary>
    /// <example><code>using var y = NnOps.BatchNormForward(x, mean, invStd, gamma, beta, FusedActivation.Relu6); // x: [N, C, H, W]</code></example>
    public static Tensor BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation activation) =>
        BatchNormForward("batch_norm_activation", x, mean, invStd, gamma, beta, activation);

    private static Tensor BatchNormForward(string op, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation? activation)
    {
        var (n, c, s) = CheckBatchNorm(op, x, mean, invStd, ("gamma", gamma), ("beta", beta));
        using var xc = x.Contiguous();
        using var x3 = xc.View(n, c, s);                                   // [N, C, S]
        using var mc = mean.Contiguous();
        using var ic = invStd.Contiguous();
        using var gc = gamma?.Contiguous();
        using var bc = beta?.Contiguous();
        var y = Tensor.Empty(x.Dims, x.DType, x.Device);
        using var y3 = y.View(n, c, s);                                    // [N, C, S]
        var b = Backend.For(x);
        if (activation is not { } a) b.BatchNormForward(x3, mc, ic, gc, bc, y3);
        else if (b is IFusedBatchNormActivation fused) fused.BatchNormActivation(x3, mc, ic, gc, bc, a, y3);
        else
        {
            b.BatchNormForward(x3, mc, ic, gc, bc, y3);
            Activate(b, a, y3);
        }
        return y;
    }

    /// <summary>Applies <paramref name="activation"/> to y in place on backend b (the unfused half of <see cref="IFusedBatchNormActivation"/>).</summary>
    /// <example><code>NnOps.Activate(Backend.For(y), FusedActivation.Relu, y);</code></example>
    public static void Activate(IBackend b, FusedActivation activation, Tensor y)
    {
        if (activation == FusedActivation.Relu) b.Unary(new Relu(), y, y);
        else b.Unary(new Relu6(), y, y);
    }

    /// <summary>
    /// Training-mode batch-norm gradient with batch statistics. dy, x: [N, C] or [N, C, …]; mean, invStd, gamma: [C].
    /// With x̂ = (x − mean)·invStd and M = N·(spatial size): dx = gamma·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂) (like x),
    /// dgamma = Σ dy·x̂ and dbeta = Σ dy ([C]; null unless requested).
    /// </summary>
    /// <example><code>var (dx, dg, db) = NnOps.BatchNormBackward(dy, x, mean, invStd, gamma, gammaGrad: true, betaGrad: true);</code></example>
    public static (Tensor Dx, Tensor? DGamma, Tensor? DBeta) BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        bool gammaGrad, bool betaGrad)
    {
        const string op = "batch_norm_backward";
        var (n, c, s) = CheckBatchNorm(op, x, mean, invStd, ("gamma", gamma));
        dy.EnsureAlive(op);
        Tensor.SameDevice(op, x, dy);
        if (!Shape.Equal(dy.Dims, x.Dims) || dy.DType != x.DType)
            throw new ArgumentException($"{op}: gradient dy {dy.ShapeText} ({dy.DType.Name()}) must match input {x.ShapeText} ({x.DType.Name()})");
        using var xc = x.Contiguous();
        using var x3 = xc.View(n, c, s);                                   // [N, C, S]
        using var dyc = dy.Contiguous();
        using var dy3 = dyc.View(n, c, s);                                 // [N, C, S]
        using var mc = mean.Contiguous();
        using var ic = invStd.Contiguous();
        using var gc = gamma?.Contiguous();
        var dx = Tensor.Empty(x.Dims, x.DType, x.Device);
        using var dx3 = dx.View(n, c, s);                                  // [N, C, S]
        var dgamma = gammaGrad ? Tensor.Empty([c], x.DType, x.Device) : null;
        var dbeta = betaGrad ? Tensor.Empty([c], x.DType, x.Device) : null;
        Backend.For(x).BatchNormBackward(dy3, x3, mc, ic, gc, dx3, dgamma, dbeta);
        return (dx, dgamma, dbeta);
    }

    // Checks x: [N, C, …] (float) and the [C] vectors; returns (N, C, S) with S the product of the trailing axes.
    internal static (int N, int C, int S) CheckBatchNorm(string op, Tensor x, Tensor mean, Tensor invStd, params (string Name, Tensor? T)[] optional)
    {
        x.EnsureAlive(op);
        Tensor.RequireFloat(op, x);
        if (x.Rank < 2) throw new ArgumentException($"{op}: input {x.ShapeText} must be [N, C] or [N, C, …]");
        int n = x.Dims[0], c = x.Dims[1];
        int s = 1;
        for (int i = 2; i < x.Rank; i++) s *= x.Dims[i];
        foreach (var (name, t) in optional.Prepend(("invStd", invStd)).Prepend(("mean", mean)))
        {
            if (t == null) continue;
            t.EnsureAlive(op);
            Tensor.SameDevice(op, x, t);
            if (!Shape.Equal(t.Dims, [c]) || t.DType != x.DType)
                throw new ArgumentException($"{op}: {name} {t.ShapeText} ({t.DType.Name()}) must be [{c}] {x.DType.Name()} for input {x.ShapeText}");
        }
        return (n, c, s);
    }
}
