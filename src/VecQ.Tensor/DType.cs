namespace VecQ.Tensors;

/// <summary>Element type of a tensor.</summary>
/// <example><code>var t = Tensor.Zeros([2, 3], DType.Float64);</code></example>
public enum DType
{
    /// <summary>32-bit IEEE float: the compute type.</summary>
    Float32,
    /// <summary>64-bit IEEE float: used by gradient checks on the reference backend.</summary>
    Float64,
    /// <summary>32-bit signed integer: indices and labels.</summary>
    Int32,
}

/// <summary>Helpers over <see cref="DType"/>.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    /// <example><code>int b = DType.Float32.Size(); // 4</code></example>
    public static int Size(this DType t) => t switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>True for floating-point types.</summary>
    public static bool IsFloat(this DType t) => t is DType.Float32 or DType.Float64;

    /// <summary>The dtype that corresponds to the CLR type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        throw new NotSupportedException($"no tensor dtype for CLR type {typeof(T).Name}; expected float, double or int");

    /// <summary>Lower-case name as PyTorch prints it (float32, float64, int32).</summary>
    public static string Name(this DType t) => t.ToString().ToLowerInvariant();
}
