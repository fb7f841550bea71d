namespace VecQ.Tensors;

/// <summary>
/// Fused optimizer steps and the sum of squares behind gradient clipping: one pass over the
/// operands on their device's backend (<see cref="IFusedOptimizer.SgdStep"/>, <see cref="IFusedOptimizer.AdamStep"/>,
/// <see cref="IBackend.SumOfSquares"/>). Every tensor must be contiguous, alive, float32 or float64,
/// on one device, with the parameter's shape and dtype; the parameter and the state tensors are
/// updated in place. Unlike most ops these pick the backend by device only, so float64 optimizer state
/// on the CPU also runs the SIMD kernels (the reference backend runs them under <c>Backend.Use</c>).
/// </summary>
/// <example><code>
/// using var w = Tensor.Ones([3, 2]);
/// using var g = Tensor.Full([3, 2], 0.5);
/// OptimOps.SgdStep(w, g, null, new SgdStepArgs(Lr: 0.1)); // every weight is now 0.95
/// double ss = OptimOps.SumOfSquares(g);                    // 1.5
/// </code></example>
public static class OptimOps
{
    /// <summary>
    /// One SGD step in place, PyTorch's rule (see <see cref="SgdStepArgs"/>): param, grad and
    /// momentumBuffer share a shape [*]; momentumBuffer is needed exactly when the momentum is non-zero
    /// (on the first step its contents are ignored and it receives the gradient).
    /// </summary>
    /// <param name="param">The weights [*], updated in place.</param>
    /// <param name="grad">The gradient [*], read only.</param>
    /// <param name="momentumBuffer">The momentum buffer [*] (null when <see cref="SgdStepArgs.Momentum"/> is 0), updated in place.</param>
    /// <param name="args">Learning rate, momentum, dampening, weight decay, Nesterov and first-step flags.</param>
    /// <exception cref="ArgumentException">An operand breaks a rule above; the message names sgd_step, the shapes and the rule.</exception>
    /// <example><code>
    /// using var buf = Tensor.Empty(w.Dims);                                 // w, g: [64, 10]
    /// OptimOps.SgdStep(w, g, buf, new SgdStepArgs(Lr: 0.1, Momentum: 0.9, FirstStep: true));
    /// OptimOps.SgdStep(w, g, buf, new SgdStepArgs(Lr: 0.1, Momentum: 0.9)); // later steps
    /// </code></example>
    public static void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        CheckSgdStep(param, grad, momentumBuffer, args);
        if (Backend.For(param.Device) is IFusedOptimizer fused) fused.SgdStep(param, grad, momentumBuffer, args);
        else SgdStepUnfused(param, grad, momentumBuffer, args);
    }

    /// <summary>
    /// The SGD rule as elementwise primitives on param's device (what a backend without
    /// <see cref="IFusedOptimizer"/> runs): the same float operations in the same order as the fused kernels.
    /// </summary>
    /// <example><code>OptimOps.SgdStepUnfused(w, g, null, new SgdStepArgs(Lr: 0.1));</code></example>
    public static void SgdStepUnfused(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        CheckSgdStep(param, grad, momentumBuffer, args);
        var owned = new List<Tensor>();
        Tensor Keep(Tensor t) { owned.Add(t); return t; }
        try
        {
            Tensor g = grad;                                                               // [*]
            if (args.WeightDecay != 0) g = Keep(grad.Add(Keep(param.Mul(args.WeightDecay))));   // g + wd·p
            if (momentumBuffer != null)
            {
                if (args.FirstStep) momentumBuffer.CopyFrom(g);                            // b ← g
                else momentumBuffer.CopyFrom(Keep(Keep(momentumBuffer.Mul(args.Momentum)).Add(Keep(g.Mul(1 - args.Dampening)))));
                g = args.Nesterov ? Keep(g.Add(Keep(momentumBuffer.Mul(args.Momentum)))) : momentumBuffer;
            }
            param.CopyFrom(Keep(param.Sub(Keep(g.Mul(args.Lr)))));                          // p − lr·g
        }
        finally { foreach (var t in owned) t.Dispose(); }
    }

    /// <summary>
    /// One Adam / AdamW step in place, PyTorch's rule (see <see cref="AdamStepArgs"/>): param, grad,
    /// expAvg (m) and expAvgSq (v) share a shape [*]; m and v start as zeros before step 1.
    /// </summary>
    /// <param name="param">The weights [*], updated in place.</param>
    /// <param name="grad">The gradient [*], read only.</param>
    /// <param name="expAvg">The first-moment average m [*], updated in place.</param>
    /// <param name="expAvgSq">The second-moment average v [*], updated in place.</param>
    /// <param name="args">Learning rate, step number (≥ 1), betas, eps, weight decay and its form.</param>
    /// <exception cref="ArgumentException">An operand breaks a rule above or the step is below 1; the message names adam_step.</exception>
    /// <example><code>
    /// using var m = Tensor.ZerosLike(w);                                    // w, g: [64, 10]
    /// using var v = Tensor.ZerosLike(w);
    /// OptimOps.AdamStep(w, g, m, v, new AdamStepArgs(Lr: 1e-3, Step: 1));
    /// </code></example>
    public static void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        CheckAdamStep(param, grad, expAvg, expAvgSq, args);
        if (Backend.For(param.Device) is IFusedOptimizer fused) fused.AdamStep(param, grad, expAvg, expAvgSq, args);
        else AdamStepUnfused(param, grad, expAvg, expAvgSq, args);
    }

    /// <summary>
    /// The Adam / AdamW rule as elementwise primitives on param's device (what a backend without
    /// <see cref="IFusedOptimizer"/> runs): the same float operations in the same order as the fused kernels.
    /// </summary>
    /// <example><code>OptimOps.AdamStepUnfused(w, g, m, v, new AdamStepArgs(Lr: 1e-3, Step: 1));</code></example>
    public static void AdamStepUnfused(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        CheckAdamStep(param, grad, expAvg, expAvgSq, args);
        var owned = new List<Tensor>();
        Tensor Keep(Tensor t) { owned.Add(t); return t; }
        try
        {
            Tensor g = grad, p = param;                                                     // [*]
            if (args.HasL2) g = Keep(grad.Add(Keep(param.Mul(args.WeightDecay))));          // g + wd·p
            if (args.HasDecoupledDecay) p = Keep(param.Mul(args.Decay));                    // decay·p
            expAvg.CopyFrom(Keep(Keep(expAvg.Mul(args.Beta1)).Add(Keep(g.Mul(1 - args.Beta1)))));               // m·β1 + (1 − β1)·g
            expAvgSq.CopyFrom(Keep(Keep(expAvgSq.Mul(args.Beta2)).Add(Keep(Keep(g.Mul(1 - args.Beta2)).Mul(g)))));   // v·β2 + (1 − β2)·g·g
            var denom = Keep(Keep(Keep(expAvgSq.Sqrt()).Div(args.Bc2Sqrt)).Add(args.Eps));                        // √v / √bc2 + ε
            param.CopyFrom(Keep(p.Sub(Keep(Keep(expAvg.Mul(args.StepSize)).Div(denom)))));                      // p − stepSize·m / denom
        }
        finally { foreach (var t in owned) t.Dispose(); }
    }

    /// <summary>Σ x² over every element of a contiguous float tensor [*], squared and summed in double.</summary>
    /// <exception cref="ArgumentException">x is not a contiguous float tensor; the message names sum_of_squares.</exception>
    /// <example><code>
    /// using var g = Tensor.FromArray(new float[] { 3, 4 });
    /// double norm = Math.Sqrt(OptimOps.SumOfSquares(g)); // 5
    /// </code></example>
    public static double SumOfSquares(Tensor x)
    {
        using var result = SumOfSquaresTensor(x);
        return result.Item();
    }

    /// <summary>
    /// Σ x² as a float64 0-d tensor on x's device (nothing is read back: on an accelerator the host waits
    /// only when it reads the result).
    /// </summary>
    /// <exception cref="ArgumentException">x is not a contiguous float tensor; the message names sum_of_squares.</exception>
    /// <example><code>
    /// using var ss = OptimOps.SumOfSquaresTensor(g);   // g: [64, 10] on any device → [] float64 there
    /// </code></example>
    public static Tensor SumOfSquaresTensor(Tensor x)
    {
        CheckTarget("sum_of_squares", "input", x);
        var result = Tensor.Empty([], DType.Float64, x.Device);
        try { Backend.For(x.Device).SumOfSquares(x, result); }
        catch { result.Dispose(); throw; }
        return result;
    }

    // ---- the operand rules, shared with the backends (which check again before touching memory) ----

    internal static void CheckSgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        const string op = "sgd_step";
        CheckTarget(op, "param", param);
        CheckLike(op, param, "grad", grad);
        if (args.HasMomentum)
        {
            if (momentumBuffer is null)
                throw new ArgumentException($"{op}: momentum {args.Momentum} needs a momentum buffer shaped like param {param.ShapeText}; got none");
            CheckLike(op, param, "momentum buffer", momentumBuffer);
        }
        else if (momentumBuffer != null)
            throw new ArgumentException($"{op}: momentum is 0, so no momentum buffer is used; got one {momentumBuffer.ShapeText}");
    }

    internal static void CheckAdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        const string op = "adam_step";
        CheckTarget(op, "param", param);
        CheckLike(op, param, "grad", grad);
        CheckLike(op, param, "exp_avg", expAvg);
        CheckLike(op, param, "exp_avg_sq", expAvgSq);
        if (args.Step < 1) throw new ArgumentException($"{op}: step {args.Step} must be >= 1 (the first update is step 1)");
    }

    internal static void CheckSumOfSquares(Tensor x, Tensor result)
    {
        CheckTarget("sum_of_squares", "input", x);
        result.EnsureAlive("sum_of_squares");
        Tensor.SameDevice("sum_of_squares", x, result);
        if (result.DType != DType.Float64 || result.Numel != 1)
            throw new ArgumentException($"sum_of_squares: result {result.ShapeText} is {result.DType.Name()}; expected one float64 element");
    }

    // t is alive, float32 or float64, and contiguous.
    private static void CheckTarget(string op, string name, Tensor t)
    {
        t.EnsureAlive(op);
        if (!t.DType.IsFloat()) throw new ArgumentException($"{op}: {name} {t.ShapeText} is {t.DType.Name()}; expected float32 or float64");
        if (!t.IsContiguous)
            throw new ArgumentException($"{op}: {name} {t.ShapeText} with strides {Shape.Format(t.Strides)} must be contiguous; call Contiguous() first");
    }

    // t is a contiguous tensor on param's device with param's shape and dtype.
    private static void CheckLike(string op, Tensor param, string name, Tensor t)
    {
        t.EnsureAlive(op);
        Tensor.SameDevice(op, param, t);
        if (!Shape.Equal(t.Dims, param.Dims))
            throw new ArgumentException($"{op}: {name} {t.ShapeText} must have the shape of param {param.ShapeText}");
        if (t.DType != param.DType)
            throw new ArgumentException($"{op}: {name} {t.ShapeText} is {t.DType.Name()} but param {param.ShapeText} is {param.DType.Name()}; every operand must have param's dtype");
        CheckTarget(op, name, t);
    }
}
