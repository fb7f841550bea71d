using System.Numerics;
using System.Numerics.Tensors;

namespace VecQ.Tensors;

// The elementwise unary functions. Each: scalar definition + float32 span form.

/// <summary>−x.</summary>
public readonly struct Neg : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "neg";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "-x");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => -x;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Negate(x, y);
}

/// <summary>e^x.</summary>
public readonly struct Exp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "exp";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "exp(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Exp(x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Exp(x, y);
}

/// <summary>Natural logarithm.</summary>
public readonly struct Log : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "log";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "log(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Log(x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Log(x, y);
}

/// <summary>√x.</summary>
public readonly struct Sqrt : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "sqrt";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "sqrt(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Sqrt(x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sqrt(x, y);
}

/// <summary>|x|.</summary>
public readonly struct Abs : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "abs";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "fabs(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Abs(x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Abs(x, y);
}

/// <summary>sign(x) ∈ {−1, 0, 1} (NaN stays NaN).</summary>
public readonly struct Sign : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "sign";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : x");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> =>
        T.IsNaN(x) ? x : x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = Apply(x[i]);
    }
}

/// <summary>max(x, 0).</summary>
public readonly struct Relu : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "relu";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "x > 0 ? x : 0");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => x > T.Zero ? x : T.Zero;
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);
}

/// <summary>min(max(x, 0), 6).</summary>
public readonly struct Relu6 : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "relu6";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "x > 6 ? 6 : x > 0 ? x : 0");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T six = T.CreateTruncating(6);
        return x > six ? six : x > T.Zero ? x : T.Zero;
    }
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        // in blocks that stay in L1, so the second half reads what the first just wrote instead of memory again
        for (int i = 0; i < x.Length; i += 2048)
        {
            int n = Math.Min(2048, x.Length - i);
            var yi = y.Slice(i, n);
            TensorPrimitives.Max(x.Slice(i, n), 0f, yi);
            TensorPrimitives.Min(yi, 6f, yi);
        }
    }
}

/// <summary>1 / (1 + e^−x).</summary>
public readonly struct Sigmoid : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "sigmoid";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "1 / (1 + exp(-x))");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);
}

/// <summary>tanh(x).</summary>
public readonly struct Tanh : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "tanh";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "tanh(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Tanh(x);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);
}

/// <summary>Round half to even (banker's rounding, as numpy/PyTorch round).</summary>
public readonly struct RoundHalfEven : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "round";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "rint(x)");
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => T.Round(x, MidpointRounding.ToEven);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Round(x, MidpointRounding.ToEven, y);
}

/// <summary>min(max(x, Min), Max).</summary>
public readonly record struct Clamp(double Min, double Max) : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "clamp";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "x < p0 ? p0 : x > p1 ? p1 : x", Min, Max);
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T lo = T.CreateTruncating(Min), hi = T.CreateTruncating(Max);
        return x < lo ? lo : x > hi ? hi : x;
    }
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Max(x, (float)Min, y);
        TensorPrimitives.Min(y, (float)Max, y);
    }
}

/// <summary>x^P for a scalar exponent P.</summary>
public readonly record struct PowScalar(double P) : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "pow_scalar";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "p0 == 2 ? x * x : p0 == 1 ? x : pow(x, p0)", P);
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> =>
        P == 2 ? x * x : P == 1 ? x : T.Pow(x, T.CreateTruncating(P));
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        if (P == 2) TensorPrimitives.Multiply(x, x, y);
        else if (P == 1) x.CopyTo(y);
        else TensorPrimitives.Pow(x, (float)P, y);
    }
}

/// <summary>Scale·x + Shift.</summary>
public readonly record struct Affine(double Scale, double Shift) : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "affine";
    /// <inheritdoc/>
    public ElementwiseSpec Spec => new(Name, 1, "x * p0 + p1", Scale, Shift);
    /// <inheritdoc/>
    public T Apply<T>(T x) where T : IFloatingPointIeee754<T> => x * T.CreateTruncating(Scale) + T.CreateTruncating(Shift);
    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Multiply(x, (float)Scale, y);
        TensorPrimitives.Add(y, (float)Shift, y);
    }
}
