using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// A loss: a function of the model's output and a target. Losses are plain classes, not
/// <see cref="Module"/>s, because they take two arguments.
/// </summary>
/// <example><code>
/// ILoss loss = new CrossEntropyLoss();
/// using var l = loss.Forward(logits, labels);
/// l.Backward();
/// </code></example>
public interface ILoss
{
    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/> (a target tensor receives no gradient).</summary>
    /// <example><code>using var l = loss.Forward(prediction, target);</code></example>
    Variable Forward(Variable input, Tensor target);
}

/// <summary>
/// Cross-entropy of softmax(logits) against integer class labels, with optional label smoothing
/// ε (target (1 − ε)·onehot + ε/C) and reduction, as PyTorch's nn.CrossEntropyLoss.
/// </summary>
/// <example><code>
/// var ce = new CrossEntropyLoss(labelSmoothing: 0.1);
/// using var loss = ce.Forward(logits, labels); // logits: [N, C], labels: int32 [N] → []
/// </code></example>
public sealed class CrossEntropyLoss : ILoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <param name="reduction">Mean (default), sum, or per-sample.</param>
    /// <example><code>var ce = new CrossEntropyLoss();</code></example>
    public CrossEntropyLoss(double labelSmoothing = 0, Reduction reduction = Reduction.Mean)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new ArgumentException($"CrossEntropyLoss: label smoothing {labelSmoothing} must be in [0, 1]");
        LabelSmoothing = labelSmoothing;
        Reduction = reduction;
    }

    /// <summary>ε.</summary>
    public double LabelSmoothing { get; }

    /// <summary>How per-sample losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>logits: [N, C], labels: int32 [N] → [] (or [N] with <see cref="Reduction.None"/>).</summary>
    /// <example><code>using var loss = ce.Forward(logits, labels);</code></example>
    public Variable Forward(Variable input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Value.Rank != 2) throw new ArgumentException($"CrossEntropyLoss: logits {input.Describe()} must be [N, C]");
        if (target.DType != DType.Int32 || target.Rank != 1 || target.Dims[0] != input.Shape[0])
            throw new ArgumentException($"CrossEntropyLoss: labels {target.ShapeText} ({target.DType.Name()}) must be int32 [{input.Shape[0]}] for logits {input.Describe()}");
        return Functions.SoftmaxCrossEntropy(input, target, LabelSmoothing, Reduction);
    }
}

/// <summary>
/// Binary cross-entropy on logits (sigmoid fused, numerically stable), as PyTorch's nn.BCEWithLogitsLoss.
/// Targets are probabilities in [0, 1] with the logits' shape.
/// </summary>
/// <example><code>
/// var bce = new BCEWithLogitsLoss();
/// using var loss = bce.Forward(logits, targets); // logits, targets: [N, 1] → []
/// </code></example>
public sealed class BCEWithLogitsLoss : ILoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean (default), sum, or per-element.</param>
    /// <example><code>var bce = new BCEWithLogitsLoss(Reduction.Sum);</code></example>
    public BCEWithLogitsLoss(Reduction reduction = Reduction.Mean) { Reduction = reduction; }

    /// <summary>How per-element losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>logits and targets of the same shape → [] (or that shape with <see cref="Reduction.None"/>); the target gets no gradient.</summary>
    /// <example><code>using var loss = bce.Forward(logits, targets);</code></example>
    public Variable Forward(Variable input, Tensor target)
    {
        using var t = LossTarget.Wrap(target);
        return Forward(input, t);
    }

    /// <summary>As <see cref="Forward(Variable, Tensor)"/>, with a target that may itself receive a gradient.</summary>
    /// <example><code>using var loss = bce.Forward(logits, targetVariable);</code></example>
    public Variable Forward(Variable input, Variable target) => Functions.BceWithLogits(input, target, Reduction);
}

/// <summary>Mean squared error (pred − target)², as PyTorch's nn.MSELoss.</summary>
/// <example><code>
/// var mse = new MSELoss();
/// using var loss = mse.Forward(pred, target); // same shapes → []
/// </code></example>
public sealed class MSELoss : ILoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean (default), sum, or per-element.</param>
    /// <example><code>var mse = new MSELoss(Reduction.None);</code></example>
    public MSELoss(Reduction reduction = Reduction.Mean) { Reduction = reduction; }

    /// <summary>How per-element losses are reduced.</summary>
    public Reduction Reduction { get; }

    /// <summary>pred and target of the same shape → [] (or that shape with <see cref="Reduction.None"/>); the target gets no gradient.</summary>
    /// <example><code>using var loss = mse.Forward(pred, target);</code></example>
    public Variable Forward(Variable input, Tensor target)
    {
        using var t = LossTarget.Wrap(target);
        return Forward(input, t);
    }

    /// <summary>As <see cref="Forward(Variable, Tensor)"/>, with a target that may itself receive a gradient.</summary>
    /// <example><code>using var loss = mse.Forward(pred, targetVariable);</code></example>
    public Variable Forward(Variable input, Variable target) => Functions.Mse(input, target, Reduction);
}

internal static class LossTarget
{
    // A constant leaf over a new view of the caller's tensor (the caller keeps ownership of target).
    public static Variable Wrap(Tensor target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return new Variable(target.Expand(target.Dims), requiresGrad: false, name: "target");
    }
}
