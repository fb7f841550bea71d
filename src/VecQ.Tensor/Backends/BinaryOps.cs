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
    public ElementwiseSpec Spec => new(Name, 2, "a + b");
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
    public ElementwiseSpec Spec => new(Name, 2, "a - b");
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
    public ElementwiseSpec Spec => new(Name, 2, "a * b");
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
    public ElementwiseSpec Spec => new(Name, 2, "a / b");
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
    public ElementwiseSpec Spec => new(Name, 2, "pow(a, b)");
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Pow(a, b);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Pow(a, b, y);
}

/// <summary>
/// max(a, b) (NaN propagates; of two zeros, +0 unless both are −0). The spec spells this out with
/// comparisons, since C's fmax drops NaNs: on equal zeros a + b gives exactly that sign rule.
/// </summary>
public readonly struct Maximum : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "maximum";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 2, "a != a ? a : b != b ? b : a > b ? a : b > a ? b : a == 0 ? a + b : a");
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Max(a, b);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(b, a, y);
}

/// <summary>
/// min(a, b) (NaN propagates; of two zeros, −0 unless both are +0). The spec spells this out with
/// comparisons, since C's fmin drops NaNs: on equal zeros −(−a − b) gives exactly that sign rule.
/// </summary>
public readonly struct Minimum : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "minimum";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 2, "a != a ? a : b != b ? b : a < b ? a : b < a ? b : a == 0 ? -(-a - b) : a");
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
    public ElementwiseSpec Spec => new(Name, 2, Kind switch
    {
        CompareKind.Eq => "a == b ? 1 : 0",
        CompareKind.Ne => "a != b ? 1 : 0",
        CompareKind.Lt => "a < b ? 1 : 0",
        CompareKind.Le => "a <= b ? 1 : 0",
        CompareKind.Gt => "a > b ? 1 : 0",
        _ => "a >= b ? 1 : 0",
    });
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

    // The vector mask of the comparison (all bits set where it holds); Ne is the complement of Eq, so
    // NaN operands compare as they do in the scalar definition (only Ne holds).
    private Vector<int> Mask(Vector<float> a, Vector<float> b) => Kind switch
    {
        CompareKind.Eq => Vector.Equals(a, b),
        CompareKind.Ne => ~Vector.Equals(a, b),
        CompareKind.Lt => Vector.LessThan(a, b),
        CompareKind.Le => Vector.LessThanOrEqual(a, b),
        CompareKind.Gt => Vector.GreaterThan(a, b),
        _ => Vector.GreaterThanOrEqual(a, b),
    };

    private static Vector<float> OneWhere(Vector<int> mask) => Vector.AsVectorSingle(mask & Vector.AsVectorInt32(Vector<float>.One));

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - w; i += w)
                OneWhere(Mask(new Vector<float>(a.Slice(i, w)), new Vector<float>(b.Slice(i, w)))).CopyTo(y.Slice(i, w));
        for (; i < y.Length; i++) y[i] = Holds(a[i], b[i]) ? 1f : 0f;
    }
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var bv = new Vector<float>(b);
            for (; i <= y.Length - w; i += w)
                OneWhere(Mask(new Vector<float>(a.Slice(i, w)), bv)).CopyTo(y.Slice(i, w));
        }
        for (; i < y.Length; i++) y[i] = Holds(a[i], b) ? 1f : 0f;
    }
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var av = new Vector<float>(a);
            for (; i <= y.Length - w; i += w)
                OneWhere(Mask(av, new Vector<float>(b.Slice(i, w)))).CopyTo(y.Slice(i, w));
        }
        for (; i < y.Length; i++) y[i] = Holds(a, b[i]) ? 1f : 0f;
    }
}

/// <summary>
/// The ReLU gradient: a where b &gt; 0, else 0 (a = the incoming gradient dy, b = the ReLU's input x).
/// One pass instead of a comparison mask and a product.
/// </summary>
/// <example><code>using var dx = Tensor.Zip(new ReluGrad(), dy, x);</code></example>
public readonly struct ReluGrad : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "relu_grad";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 2, "b > 0 ? a : 0");
    /// <inheritdoc/>
    public T Apply<T>(T a, T b) where T : IFloatingPointIeee754<T> => b > T.Zero ? a : T.Zero;

    private static Vector<float> Select(Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(b, Vector<float>.Zero), a, Vector<float>.Zero);

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - w; i += w)
                Select(new Vector<float>(a.Slice(i, w)), new Vector<float>(b.Slice(i, w))).CopyTo(y.Slice(i, w));
        for (; i < y.Length; i++) y[i] = b[i] > 0 ? a[i] : 0f;
    }
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> a, float b, Span<float> y)
    {
        if (b > 0) a.CopyTo(y);
        else y.Clear();
    }
    /// <inheritdoc/>
    public void Apply(float a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0, w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var av = new Vector<float>(a);
            for (; i <= y.Length - w; i += w)
                Select(av, new Vector<float>(b.Slice(i, w))).CopyTo(y.Slice(i, w));
        }
        for (; i < y.Length; i++) y[i] = b[i] > 0 ? a : 0f;
    }
}
