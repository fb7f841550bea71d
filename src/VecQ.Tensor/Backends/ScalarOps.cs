using System.Numerics;

namespace VecQ.Tensors;

// "tensor op scalar" and "scalar op tensor" as unary ops: a binary op with one operand fixed to a double,
// so x + 0.5 needs no 0-d tensor. The scalar is rounded to the element type where it is used
// (T.CreateTruncating(S), i.e. (float)S for float32), exactly the value a 0-d tensor of the dtype held.

/// <summary>
/// y = op(x, S): a binary op with its right operand fixed to the scalar <see cref="S"/>. The float32 span
/// form is the binary op's span-with-scalar form with (float)S; the spec is the binary op's expression with
/// <c>a</c> → <c>x</c> and <c>b</c> → a new last parameter holding S.
/// </summary>
/// <typeparam name="TOp">The binary op.</typeparam>
/// <param name="Op">The binary op (with its own parameters, e.g. a comparison kind).</param>
/// <param name="S">The right operand.</param>
/// <example><code>using var y = x.Map(new ScalarRight&lt;Sub&gt;(new Sub(), 0.5)); // x − 0.5</code></example>
public readonly record struct ScalarRight<TOp>(TOp Op, double S) : IUnaryOp where TOp : struct, IBinaryOp
{
    /// <inheritdoc/>
    public string Name => $"{Op.Name}_tensor_scalar";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => ElementwiseSpec.WithScalar(Op.Spec, Name, tensorInput: "a", S);
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => Op.Apply(x, T.CreateTruncating(S));
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => Op.Apply(x, (float)S, y);
}

/// <summary>
/// y = op(S, x): a binary op with its left operand fixed to the scalar <see cref="S"/> (see
/// <see cref="ScalarRight{TOp}"/>); the spec has <c>b</c> → <c>x</c> and <c>a</c> → the new last parameter.
/// </summary>
/// <typeparam name="TOp">The binary op.</typeparam>
/// <param name="Op">The binary op.</param>
/// <param name="S">The left operand.</param>
/// <example><code>using var y = x.Map(new ScalarLeft&lt;Div&gt;(new Div(), 1)); // 1 / x</code></example>
public readonly record struct ScalarLeft<TOp>(TOp Op, double S) : IUnaryOp where TOp : struct, IBinaryOp
{
    /// <inheritdoc/>
    public string Name => $"{Op.Name}_scalar_tensor";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => ElementwiseSpec.WithScalar(Op.Spec, Name, tensorInput: "b", S);
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => Op.Apply(T.CreateTruncating(S), x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => Op.Apply((float)S, x, y);
}
