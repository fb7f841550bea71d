using System.Numerics;
using System.Numerics.Tensors;

namespace VecQ.Tensors;

// The elementwise binary functions. Comparisons return 1 or 0 in the operands' float type.

/// <summary>a + b.</summary>
public readonly struct Add : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "add";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => a + b;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Add(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(b, a, y);
}

/// <summary>a − b.</summary>
public readonly struct Sub : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "sub";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => a - b;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
}

/// <summary>a · b.</summary>
public readonly struct Mul : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "mul";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => a * b;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(b, a, y);
}

/// <summary>a / b.</summary>
public readonly struct Div : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "div";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => a / b;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
}

/// <summary>a^b.</summary>
public readonly struct Pow : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "pow";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Pow(a, b);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
}

/// <summary>max(a, b) (NaN propagates).</summary>
public readonly struct Maximum : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "maximum";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Max(a, b);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(b, a, y);
}

/// <summary>min(a, b) (NaN propagates).</summary>
public readonly struct Minimum : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "minimum";
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Min(a, b);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Min(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(b, a, y);
}

/// <summary>Comparison kinds of <see cref="Compare"/>.</summary>
public enum CompareKind
{
    /// <summary>a == b.</summary>
    Eq,
    /// <summary>a != b.</summary>
    Ne,
    /// <summary>a &lt; b.</summary>
    Lt,
    /// <summary>a &lt;= b.</summary>
    Le,
    /// <summary>a &gt; b.</summary>
    Gt,
    /// <summary>a &gt;= b.</summary>
    Ge,
}

/// <summary>1 where the comparison holds, else 0.</summary>
public readonly record struct Compare(CompareKind Kind) : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => Kind.ToString().ToLowerInvariant();
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => Holds(a, b) ? T.One : T.Zero;

    private bool Holds<T>(T a, T b) where T : IFloatingPointIeee754<T> => Kind switch
    {
        CompareKind.Eq => a == b,
        CompareKind.Ne => a != b,
        CompareKind.Lt => a < b,
        CompareKind.Le => a <= b,
        CompareKind.Gt => a > b,
        _ => a >= b,
    };

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Holds(a[i], b[i]) ? 1f : 0f;
    }
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Holds(a[i], b) ? 1f : 0f;
    }
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Holds(a, b[i]) ? 1f : 0f;
    }
}
