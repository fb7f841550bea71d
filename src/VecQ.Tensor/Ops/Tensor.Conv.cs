namespace VecQ.Tensors;

// Convolution and pooling (NCHW). Inputs are made contiguous; outputs are new tensors.
public static class ConvOps
{
    /// <summary>2-D convolution. x: [N, C, H, W], w: [O, C/groups, KH, KW], bias: [O] or null.</summary>
    /// <example><code>using var y = ConvOps.Conv2d(x, w, b, stride: (1, 1), padding: (2, 2));</code></example>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation = null, int groups = 1)
    {
        var g = Geometry(x, w, stride, padding, dilation ?? (1, 1), groups);
        if (bias != null && (bias.Rank != 1 || bias.Dims[0] != g.O || bias.DType != x.DType))
            throw new ArgumentException($"conv2d: bias {bias.ShapeText} ({bias.DType.Name()}) must be [{g.O}] {x.DType.Name()} for weight {w.ShapeText}");
        using var xc = x.Contiguous();
        using var wc = w.Contiguous();
        using var bc = bias?.Contiguous();
        var y = Tensor.Empty([g.N, g.O, g.OH, g.OW], x.DType, x.Device);
        Backend.For(x).Conv2d(xc, wc, bc, g, y);
        return y;
    }

    /// <summary>
    /// Evaluation-mode conv → batch norm (→ ReLU/ReLU6): <see cref="Conv2d"/>, then per output channel o
    /// (y − mean[o])·invStd[o]·gamma[o] + beta[o] and the activation (null: none); in one pass where the backend offers
    /// <see cref="IFusedConvBatchNorm"/>, else as the two ops. mean, invStd, gamma, beta: [O] (gamma/beta may be null).
    /// </summary>
    /// <example><code>using var y = ConvOps.Conv2dBatchNorm(x, w, null, (1, 1), (1, 1), null, 32, mean, invStd, gamma, beta, FusedActivation.Relu6);</code></example>
    public static Tensor Conv2dBatchNorm(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation, int groups, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation? activation)
    {
        var g = Geometry(x, w, stride, padding, dilation ?? (1, 1), groups);
        if (bias != null && (bias.Rank != 1 || bias.Dims[0] != g.O || bias.DType != x.DType))
            throw new ArgumentException($"conv2d_batch_norm: bias {bias.ShapeText} ({bias.DType.Name()}) must be [{g.O}] {x.DType.Name()} for weight {w.ShapeText}");
        foreach (var (name, t) in new[] { ("mean", mean), ("invStd", invStd), ("gamma", gamma), ("beta", beta) })
            if (t != null && (t.Rank != 1 || t.Dims[0] != g.O || t.DType != x.DType))
                throw new ArgumentException($"conv2d_batch_norm: {name} {t.ShapeText} ({t.DType.Name()}) must be [{g.O}] {x.DType.Name()} for weight {w.ShapeText}");
        var b = Backend.For(x);
        if (b is not IFusedConvBatchNorm fused)
        {
            using var conv = Conv2d(x, w, bias, stride, padding, dilation, groups);
            return activation is { } a ? NnOps.BatchNormForward(conv, mean, invStd, gamma, beta, a) : NnOps.BatchNormForward(conv, mean, invStd, gamma, beta);
        }
        using var xc = x.Contiguous();
        using var wc = w.Contiguous();
        using var bc = bias?.Contiguous();
        using var mc = mean.Contiguous();
        using var ic = invStd.Contiguous();
        using var gc = gamma?.Contiguous();
        using var betac = beta?.Contiguous();
        var y = Tensor.Empty([g.N, g.O, g.OH, g.OW], x.DType, x.Device);
        fused.Conv2dBatchNorm(xc, wc, bc, g, mc, ic, gc, betac, activation, y);
        return y;
    }

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to x: [N, C, H, W] (xShape), given dy: [N, O, OH, OW].</summary>
    public static Tensor Conv2dBackwardData(Tensor dy, Tensor w, int[] xShape, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation = null, int groups = 1)
    {
        if (xShape.Length != 4) throw new ArgumentException($"conv2d_backward_data: input shape {Shape.Format(xShape)} must be [N, C, H, W]");
        var g = Geometry(xShape, dy.DType, w, stride, padding, dilation ?? (1, 1), groups);
        CheckDy(dy, g);
        using var dyc = dy.Contiguous();
        using var wc = w.Contiguous();
        var dx = Tensor.Empty(xShape, dy.DType, dy.Device);
        Backend.For(dy).Conv2dBackwardData(dyc, wc, g, dx);
        return dx;
    }

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to w: [O, C/groups, KH, KW] (wShape).</summary>
    public static Tensor Conv2dBackwardWeight(Tensor x, Tensor dy, int[] wShape, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation = null, int groups = 1) =>
        BackwardWeight(x, dy, wShape, stride, padding, dilation, groups, bias: false).Dw;

    /// <summary>
    /// Gradients of <see cref="Conv2d"/> with respect to w: [O, C/groups, KH, KW] (wShape) and its bias:
    /// [O] = Σ dy over N, OH, OW, in one pass over dy.
    /// </summary>
    /// <example><code>var (dw, db) = ConvOps.Conv2dBackwardWeightAndBias(x, dy, w.Dims, (1, 1), (2, 2));</code></example>
    public static (Tensor Dw, Tensor Db) Conv2dBackwardWeightAndBias(Tensor x, Tensor dy, int[] wShape, (int H, int W) stride,
        (int H, int W) padding, (int H, int W)? dilation = null, int groups = 1)
    {
        var (dw, db) = BackwardWeight(x, dy, wShape, stride, padding, dilation, groups, bias: true);
        return (dw, db!);
    }

    private static (Tensor Dw, Tensor? Db) BackwardWeight(Tensor x, Tensor dy, int[] wShape, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation, int groups, bool bias)
    {
        if (wShape.Length != 4) throw new ArgumentException($"conv2d_backward_weight: weight shape {Shape.Format(wShape)} must be [O, C/groups, KH, KW]");
        var g = Geometry(x.Dims, x.DType, wShape, stride, padding, dilation ?? (1, 1), groups);
        CheckDy(dy, g);
        using var xc = x.Contiguous();
        using var dyc = dy.Contiguous();
        var dw = Tensor.Empty(wShape, x.DType, x.Device);
        var db = bias ? Tensor.Empty([g.O], x.DType, x.Device) : null;
        try { Backend.For(x).Conv2dBackwardWeight(xc, dyc, g, dw, db); }
        catch { dw.Dispose(); db?.Dispose(); throw; }
        return (dw, db);
    }

    /// <summary>Max pool. Returns y: [N, C, OH, OW] and int32 indices (argmax as h·W + w in each plane).</summary>
    /// <example><code>var (y, idx) = ConvOps.MaxPool2d(x, (2, 2), (2, 2), (0, 0));</code></example>
    public static (Tensor Y, Tensor Indices) MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        var g = PoolGeometry("max_pool2d", x, kernel, stride ?? kernel, padding ?? (0, 0));
        using var xc = x.Contiguous();
        var y = Tensor.Empty([g.N, g.C, g.OH, g.OW], x.DType, x.Device);
        var idx = Tensor.Empty([g.N, g.C, g.OH, g.OW], DType.Int32, x.Device);
        Backend.For(x).MaxPool2d(xc, g, y, idx);
        return (y, idx);
    }

    /// <summary>Gradient of <see cref="MaxPool2d"/>: dx: xShape.</summary>
    public static Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] xShape, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        var g = PoolGeometry("max_pool2d_backward", xShape, dy, kernel, stride ?? kernel, padding ?? (0, 0));
        if (!Shape.Equal(dy.Dims, [g.N, g.C, g.OH, g.OW]) || !Shape.Equal(indices.Dims, dy.Dims) || indices.DType != DType.Int32)
            throw new ArgumentException($"max_pool2d_backward: dy {dy.ShapeText} and int32 indices {indices.ShapeText} ({indices.DType.Name()}) must both be [{g.N}, {g.C}, {g.OH}, {g.OW}]");
        using var dyc = dy.Contiguous();
        using var ic = indices.Contiguous();
        var dx = Tensor.Empty(xShape, dy.DType, dy.Device);
        Backend.For(dy).MaxPool2dBackward(dyc, ic, g, dx);
        return dx;
    }

    /// <summary>
    /// The fused conv-block tail: y = MaxPool2d(BatchNorm(ReLU(x))) with the given per-channel statistics,
    /// y = max over each window of (max(x, 0) − mean[c])·invStd[c]·gamma[c] + beta[c]. x: [N, C, H, W];
    /// mean, invStd, gamma, beta: [C] (gamma/beta null: no affine transform). Returns y: [N, C, OH, OW],
    /// int32 indices (argmax as h·W + w in each plane, as <see cref="MaxPool2d"/> gives them) and picked
    /// (max(x, 0) at each argmax: [N, C, OH, OW]), the last two for <see cref="ReluBatchNormMaxPool2dBackward"/>.
    /// </summary>
    /// <example><code>var (y, idx, picked) = ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (2, 2)); // [N, C, 28, 28] → [N, C, 14, 14]</code></example>
    public static (Tensor Y, Tensor Indices, Tensor Picked) ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta,
        (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        const string op = "relu_batch_norm_max_pool2d";
        var g = PoolGeometry(op, x, kernel, stride ?? kernel, padding ?? (0, 0));
        NnOps.CheckBatchNorm(op, x, mean, invStd, ("gamma", gamma), ("beta", beta));
        using var xc = x.Contiguous();
        using var mc = mean.Contiguous();
        using var ic = invStd.Contiguous();
        using var gc = gamma?.Contiguous();
        using var bc = beta?.Contiguous();
        var y = Tensor.Empty([g.N, g.C, g.OH, g.OW], x.DType, x.Device);
        var idx = Tensor.Empty([g.N, g.C, g.OH, g.OW], DType.Int32, x.Device);
        var picked = Tensor.Empty([g.N, g.C, g.OH, g.OW], x.DType, x.Device);
        try
        {
            var backend = Backend.For(x);
            if (backend is IFusedConvTail fused) fused.ReluBatchNormMaxPool2d(xc, mc, ic, gc, bc, g, y, idx, picked);
            else UnfusedTail(backend, xc, mc, ic, gc, bc, g, y, idx, picked);
        }
        catch { y.Dispose(); idx.Dispose(); picked.Dispose(); throw; }
        return (y, idx, picked);
    }

    /// <summary>
    /// The generic form of <see cref="IFusedConvTail.ReluBatchNormMaxPool2d"/> from <paramref name="b"/>'s
    /// primitives (ReLU, batch norm, max pool, gather): what a backend without the fused kernel runs.
    /// Operands as the capability documents them, contiguous.
    /// </summary>
    /// <example><code>ConvOps.UnfusedTail(Backend.For(x), x, mean, invStd, gamma, beta, g, y, idx, picked);</code></example>
    public static void UnfusedTail(IBackend b, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g,
        Tensor y, Tensor indices, Tensor picked)
    {
        int s = g.H * g.W;
        using var u = Tensor.Empty(x.Dims, x.DType, x.Device);                       // u = max(x, 0): [N, C, H, W]
        b.Unary(new Relu(), x, u);
        using var n = Tensor.Empty(x.Dims, x.DType, x.Device);                       // batch-normed u
        using (var u3 = u.Reshape([g.N, g.C, s])) using (var n3 = n.Reshape([g.N, g.C, s]))
            b.BatchNormForward(u3, mean, invStd, gamma, beta, n3);
        b.MaxPool2d(n, g, y, indices);
        using var uPlanes = u.Reshape([g.N * g.C, s]);                                // [N·C, H·W]
        using var iPlanes = indices.Reshape([g.N * g.C, g.OH * g.OW]);                // [N·C, OH·OW]
        using var pPlanes = picked.Reshape([g.N * g.C, g.OH * g.OW]);
        b.Gather(uPlanes, 1, iPlanes, pPlanes);
    }

    /// <summary>
    /// The generic form of <see cref="IFusedConvTail.ReluBatchNormMaxPool2dBackward"/> from <paramref name="b"/>'s
    /// primitives: max-pool gradient, batch-norm gradient on u = max(x, 0), then the ReLU mask.
    /// </summary>
    /// <example><code>ConvOps.UnfusedTailBackward(Backend.For(x), dy, idx, x, mean, invStd, gamma, g, dx, dgamma, dbeta);</code></example>
    public static void UnfusedTailBackward(IBackend b, Tensor dy, Tensor indices, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        int s = g.H * g.W;
        using var d = Tensor.Empty(x.Dims, x.DType, x.Device);                       // max-pool gradient: [N, C, H, W]
        b.MaxPool2dBackward(dy, indices, g, d);
        using var u = Tensor.Empty(x.Dims, x.DType, x.Device);
        b.Unary(new Relu(), x, u);
        using var du = Tensor.Empty(x.Dims, x.DType, x.Device);                      // gradient at u
        using (var d3 = d.Reshape([g.N, g.C, s])) using (var u3 = u.Reshape([g.N, g.C, s])) using (var du3 = du.Reshape([g.N, g.C, s]))
            b.BatchNormBackward(d3, u3, mean, invStd, gamma, du3, dgamma, dbeta);
        using var zero = Tensor.Empty([], x.DType, x.Device);
        b.Fill(zero, 0);
        using var zeros = zero.Expand(x.Dims);
        using var mask = Tensor.Empty(x.Dims, x.DType, x.Device);                    // [x > 0]
        b.Binary(new Compare(CompareKind.Gt), x, zeros, mask);
        b.Where(mask, du, zeros, dx);                                                 // [x > 0]·du
    }

    /// <summary>
    /// Training-mode gradient of <see cref="ReluBatchNormMaxPool2d"/> (mean and invStd are the batch's own):
    /// dy, and the forward's indices and picked: [N, C, OH, OW]; x: [N, C, H, W]. Returns dx: like x, and dgamma,
    /// dbeta: [C] when requested.
    /// </summary>
    /// <example><code>var (dx, dg, db) = ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx, picked, x, mean, invStd, gamma, (2, 2), gammaGrad: true, betaGrad: true);</code></example>
    public static (Tensor Dx, Tensor? DGamma, Tensor? DBeta) ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean,
        Tensor invStd, Tensor? gamma, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null,
        bool gammaGrad = false, bool betaGrad = false)
    {
        const string op = "relu_batch_norm_max_pool2d_backward";
        var g = PoolGeometry(op, x, kernel, stride ?? kernel, padding ?? (0, 0));
        var (_, c, _) = NnOps.CheckBatchNorm(op, x, mean, invStd, ("gamma", gamma));
        dy.EnsureAlive(op);
        indices.EnsureAlive(op);
        picked.EnsureAlive(op);
        Tensor.SameDevice(op, x, dy);
        Tensor.SameDevice(op, x, indices);
        Tensor.SameDevice(op, x, picked);
        int[] pooled = [g.N, g.C, g.OH, g.OW];
        if (!Shape.Equal(dy.Dims, pooled) || dy.DType != x.DType || !Shape.Equal(picked.Dims, pooled) || picked.DType != x.DType
            || !Shape.Equal(indices.Dims, pooled) || indices.DType != DType.Int32)
            throw new ArgumentException($"{op}: dy {dy.ShapeText} ({dy.DType.Name()}), picked {picked.ShapeText} ({picked.DType.Name()}) and indices {indices.ShapeText} ({indices.DType.Name()}) must be {Shape.Format(pooled)} ({x.DType.Name()}, {x.DType.Name()}, int32) for input {x.ShapeText}");
        using var xc = x.Contiguous();
        using var dyc = dy.Contiguous();
        using var ic = indices.Contiguous();
        using var pc = picked.Contiguous();
        using var mc = mean.Contiguous();
        using var sc = invStd.Contiguous();
        using var gc = gamma?.Contiguous();
        var dx = Tensor.Empty(x.Dims, x.DType, x.Device);
        var dgamma = gammaGrad ? Tensor.Empty([c], x.DType, x.Device) : null;
        var dbeta = betaGrad ? Tensor.Empty([c], x.DType, x.Device) : null;
        try
        {
            var backend = Backend.For(x);
            if (backend is IFusedConvTail fused) fused.ReluBatchNormMaxPool2dBackward(dyc, ic, pc, xc, mc, sc, gc, g, dx, dgamma, dbeta);
            else UnfusedTailBackward(backend, dyc, ic, xc, mc, sc, gc, g, dx, dgamma, dbeta);
        }
        catch { dx.Dispose(); dgamma?.Dispose(); dbeta?.Dispose(); throw; }
        return (dx, dgamma, dbeta);
    }

    /// <summary>Average pool (padding counts in the divisor, PyTorch's default).</summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        var g = PoolGeometry("avg_pool2d", x, kernel, stride ?? kernel, padding ?? (0, 0));
        using var xc = x.Contiguous();
        var y = Tensor.Empty([g.N, g.C, g.OH, g.OW], x.DType, x.Device);
        Backend.For(x).AvgPool2d(xc, g, y);
        return y;
    }

    /// <summary>Gradient of <see cref="AvgPool2d"/>: dx: xShape.</summary>
    public static Tensor AvgPool2dBackward(Tensor dy, int[] xShape, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        var g = PoolGeometry("avg_pool2d_backward", xShape, dy, kernel, stride ?? kernel, padding ?? (0, 0));
        if (!Shape.Equal(dy.Dims, [g.N, g.C, g.OH, g.OW]))
            throw new ArgumentException($"avg_pool2d_backward: dy {dy.ShapeText} must be [{g.N}, {g.C}, {g.OH}, {g.OW}]");
        using var dyc = dy.Contiguous();
        var dx = Tensor.Empty(xShape, dy.DType, dy.Device);
        Backend.For(dy).AvgPool2dBackward(dyc, g, dx);
        return dx;
    }

    private static Conv2dGeometry Geometry(Tensor x, Tensor w, (int, int) stride, (int, int) padding, (int, int) dilation, int groups)
    {
        x.EnsureAlive("conv2d"); w.EnsureAlive("conv2d");
        Tensor.SameDevice("conv2d", x, w);
        if (w.DType != x.DType) throw new ArgumentException($"conv2d: input is {x.DType.Name()} but weight is {w.DType.Name()}");
        return Geometry(x.Dims, x.DType, w.Dims, stride, padding, dilation, groups);
    }

    private static Conv2dGeometry Geometry(int[] xShape, DType dtype, Tensor w, (int, int) stride, (int, int) padding, (int, int) dilation, int groups) =>
        Geometry(xShape, dtype, w.Dims, stride, padding, dilation, groups);

    private static Conv2dGeometry Geometry(int[] xShape, DType dtype, int[] wShape, (int, int) stride, (int, int) padding, (int, int) dilation, int groups)
    {
        if (!dtype.IsFloat()) throw new ArgumentException($"conv2d: dtype {dtype.Name()} is not a float type");
        if (xShape.Length != 4) throw new ArgumentException($"conv2d: input {Shape.Format(xShape)} must be 4-D [N, C, H, W]");
        if (wShape.Length != 4) throw new ArgumentException($"conv2d: weight {Shape.Format(wShape)} must be 4-D [O, C/groups, KH, KW]");
        if (groups < 1 || xShape[1] % groups != 0 || wShape[1] * groups != xShape[1])
            throw new ArgumentException($"conv2d: input {Shape.Format(xShape)} and weight {Shape.Format(wShape)}: weight dim 1 ({wShape[1]}) × groups ({groups}) must equal the input channels {xShape[1]}");
        return Conv2dGeometry.Create(xShape[0], xShape[1], xShape[2], xShape[3], wShape[0], wShape[2], wShape[3], stride, padding, dilation, groups);
    }

    private static void CheckDy(Tensor dy, Conv2dGeometry g)
    {
        if (!Shape.Equal(dy.Dims, [g.N, g.O, g.OH, g.OW]))
            throw new ArgumentException($"conv2d backward: dy {dy.ShapeText} must be [{g.N}, {g.O}, {g.OH}, {g.OW}] for this geometry");
    }

    private static Pool2dGeometry PoolGeometry(string op, Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        x.EnsureAlive(op);
        Tensor.RequireFloat(op, x);
        return PoolGeometry(op, x.Dims, x, kernel, stride, padding);
    }

    private static Pool2dGeometry PoolGeometry(string op, int[] xShape, Tensor like, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        Tensor.RequireFloat(op, like);
        if (xShape.Length != 4) throw new ArgumentException($"{op}: input {Shape.Format(xShape)} must be 4-D [N, C, H, W]");
        return Pool2dGeometry.Create(op, xShape[0], xShape[1], xShape[2], xShape[3], kernel, stride, padding);
    }
}
