using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>How a loss reduces its per-element values.</summary>
/// <example><code>using var perSample = Functions.SoftmaxCrossEntropy(logits, labels, reduction: Reduction.None);</code></example>
public enum Reduction
{
    /// <summary>The mean over all elements (the default).</summary>
    Mean,
    /// <summary>The sum over all elements.</summary>
    Sum,
    /// <summary>No reduction: the per-element losses.</summary>
    None,
}

// Losses. Each computes per-element losses, reduces them, and in the backward expands the
// incoming gradient back to per-element form (ReductionGrad) before applying its formula.
public static partial class Functions
{
    /// <summary>
    /// Cross-entropy of softmax(logits) against integer labels, fused (one kernel forward, one
    /// backward: dlogits = (softmax − target)·dloss). logits: [N, C], labels: int32 [N].
    /// With label smoothing ε the target is (1 − ε)·onehot + ε/C, as PyTorch.
    /// </summary>
    /// <example><code>using var loss = Functions.SoftmaxCrossEntropy(logits, labels, labelSmoothing: 0.1);</code></example>
    public static Variable SoftmaxCrossEntropy(Variable logits, Tensor labels, double labelSmoothing = 0, Reduction reduction = Reduction.Mean)
    {
        var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits.Value, labels, labelSmoothing);   // [N], [N, C]
        using (probs)
        using (loss)
        {
            int n = loss.Dims[0];
            return Graph.Record("softmax_cross_entropy", ReduceLoss(loss, reduction), [logits], [probs, labels], (g, ctx) =>
            {
                using var dloss = ReductionGrad(g, [n], reduction);                           // [N]
                return [NnOps.SoftmaxCrossEntropyBackward(ctx.Saved[0], ctx.Saved[1], dloss, labelSmoothing)];
            });
        }
    }

    /// <summary>Mean squared error (pred − target)². dpred = 2·(pred − target)·dloss, dtarget = −dpred. Shapes must match.</summary>
    /// <example><code>using var loss = Functions.Mse(pred, target);</code></example>
    public static Variable Mse(Variable pred, Variable target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("mse", pred, target);
        int[] shape = pred.Shape;
        using var diff = pred.Value.Sub(target.Value);
        using var sq = diff.Mul(diff);
        return Graph.Record("mse", ReduceLoss(sq, reduction), [pred, target], [diff], (g, ctx) =>
        {
            using var ge = ReductionGrad(g, shape, reduction);
            using var g2 = ge.Mul(2.0);
            using var d = g2.Mul(ctx.Saved[0]);
            return [ctx.NeedsGrad(0) ? Saved.NewRef(d) : null, ctx.NeedsGrad(1) ? d.Neg() : null];
        });
    }

    /// <summary>
    /// Binary cross-entropy on logits, computed stably as max(x, 0) − x·t + log(1 + e^−|x|).
    /// dx = (σ(x) − t)·dloss, dt = −x·dloss. Shapes must match; targets in [0, 1].
    /// </summary>
    /// <example><code>using var loss = Functions.BceWithLogits(logits, targets);</code></example>
    public static Variable BceWithLogits(Variable logits, Variable target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("bce_with_logits", logits, target);
        int[] shape = logits.Shape;
        Tensor x = logits.Value, t = target.Value;
        using var absX = x.Abs();
        using var negAbs = absX.Neg();
        using var e = negAbs.Exp();
        using var onePlus = e.Add(1.0);
        using var softplus = onePlus.Log();          // log(1 + e^−|x|)
        using var relu = x.Relu();
        using var xt = x.Mul(t);
        using var head = relu.Sub(xt);
        using var perElement = head.Add(softplus);
        return Graph.Record("bce_with_logits", ReduceLoss(perElement, reduction), [logits, target], [x, t], (g, ctx) =>
        {
            Tensor xv = ctx.Saved[0], tv = ctx.Saved[1];
            using var ge = ReductionGrad(g, shape, reduction);
            Tensor? dx = null, dt = null;
            if (ctx.NeedsGrad(0))
            {
                using var sig = xv.Sigmoid();
                using var d = sig.Sub(tv);
                dx = d.Mul(ge);
            }
            if (ctx.NeedsGrad(1))
            {
                using var xg = xv.Mul(ge);
                dt = xg.Neg();
            }
            return [dx, dt];
        });
    }

    // The reduced loss (a new tensor; the caller keeps perElement).
    private static Tensor ReduceLoss(Tensor perElement, Reduction reduction) => reduction switch
    {
        Reduction.Mean => perElement.Mean(),
        Reduction.Sum => perElement.Sum(),
        _ => Saved.NewRef(perElement),
    };

    // ∂L/∂perElement from ∂L/∂(reduced loss): g broadcast to shape, divided by the count for a mean.
    private static Tensor ReductionGrad(Tensor g, int[] shape, Reduction reduction)
    {
        switch (reduction)
        {
            case Reduction.None: return Saved.NewRef(g);
            case Reduction.Sum: return g.Expand(shape);
            default:
                using (var scaled = g.Div(Math.Max(1, Shape.Numel(shape)))) return scaled.Expand(shape);
        }
    }

    private static void RequireSameShape(string op, Variable a, Variable b)
    {
        if (!Shape.Equal(a.Shape, b.Shape))
            throw new ArgumentException($"{op}: prediction {a.Describe()} and target {b.Describe()} must have the same shape");
    }
}
