using System.Numerics;

namespace VecQ.Tensors;

/// <summary>
/// An elementwise unary function as a small struct: the scalar form is the definition (the
/// reference backend and scalar tails use it), the span form is the fast float32 path
/// (usually one <c>TensorPrimitives</c> call). Generic code over <c>TOp : struct</c> is
/// specialised by the JIT, so there is no delegate call per element. <see cref="Spec"/> describes the op
/// (name, parameters, expression) so that one kernel generator can compile any of them for a device.
/// </summary>
/// <example><code>Backend.For(Device.Cpu).Unary(new Exp(), x, y);</code></example>
public interface IUnaryOp
{
    /// <summary>Name used in messages and as the CUDA kernel name.</summary>
    string Name { get; }
    /// <summary>
    /// What the op computes as an expression over <c>x</c> and its parameters, for a kernel generator
    /// (see <see cref="ElementwiseSpec"/>); it evaluates exactly as <see cref="Apply{T}(T)"/>.
    /// </summary>
    ElementwiseSpec Spec { get; }
    /// <summary>The scalar definition.</summary>
    T Apply<T>(T x) where T : IFloatingPointIeee754<T>;
    /// <summary>The float32 span form: y[i] = Apply(x[i]).</summary>
    void Apply(ReadOnlySpan<float> x, Span<float> y);
}

/// <summary>An elementwise binary function (see <see cref="IUnaryOp"/>).</summary>
/// <example><code>Backend.For(Device.Cpu).Binary(new Add(), a, b, y);</code></example>
public interface IBinaryOp
{
    /// <summary>Name used in messages and as the CUDA kernel name.</summary>
    string Name { get; }
    /// <summary>
    /// What the op computes as an expression over <c>a</c>, <c>b</c> and its parameters, for a kernel
    /// generator (see <see cref="ElementwiseSpec"/>); it evaluates exactly as <see cref="Apply{T}(T, T)"/>.
    /// </summary>
    ElementwiseSpec Spec { get; }
    /// <summary>The scalar definition.</summary>
    T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T>;
    /// <summary>y[i] = Apply(a[i], b[i]).</summary>
    void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    /// <summary>y[i] = Apply(a[i], b).</summary>
    void Apply(ReadOnlySpan<float> a, float b, Span<float> y);
    /// <summary>y[i] = Apply(a, b[i]).</summary>
    void Apply(float a, ReadOnlySpan<float> b, Span<float> y);
}
