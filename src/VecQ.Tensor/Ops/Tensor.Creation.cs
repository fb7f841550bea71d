namespace VecQ.Tensors;

// Creation, host transfer and device movement.
public sealed partial class Tensor
{
    /// <summary>A tensor of zeros.</summary>
    /// <example><code>using var z = Tensor.Zeros([2, 3]);</code></example>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A tensor of ones.</summary>
    /// <example><code>using var o = Tensor.Ones([4]);</code></example>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    /// <example><code>using var t = Tensor.Full([2, 2], 0.5);</code></example>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        Backend.For(t).Fill(t, value);
        return t;
    }

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    /// <example><code>using var s = Tensor.Scalar(3f); // shape []</code></example>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>A tensor shaped like <paramref name="like"/> (same dtype and device) filled with <paramref name="value"/>.</summary>
    public static Tensor FullLike(Tensor like, double value) => Full(like.Dims, value, like.DType, like.Device);

    /// <summary>A zero tensor shaped like <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => FullLike(like, 0);

    /// <summary>Values start, start+step, … below end (like numpy.arange).</summary>
    /// <example><code>using var r = Tensor.Arange(0, 5); // [0, 1, 2, 3, 4]</code></example>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || double.IsNaN(start) || double.IsNaN(end) || double.IsNaN(step))
            throw new ArgumentException($"arange: start={start}, end={end}, step={step}: step must be non-zero and values finite");
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = start + i * step;
        return dtype switch
        {
            DType.Float64 => FromArray(values, [n], device),
            DType.Float32 => FromArray(Array.ConvertAll(values, v => (float)v), [n], device),
            _ => FromArray(Array.ConvertAll(values, v => (int)v), [n], device),
        };
    }

    /// <summary>Copies host data into a new tensor of the given shape (default: 1-D).</summary>
    /// <example><code>using var t = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, [2, 2]);</code></example>
    public static Tensor FromArray<T>(T[] data, int[]? shape = null, Device? device = null) where T : unmanaged =>
        FromSpan<T>(data, shape ?? [data.Length], device);

    /// <summary>Copies host data into a new tensor of the given shape.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape, Device? device = null) where T : unmanaged
    {
        int n = Shape.Numel(shape);
        if (n != data.Length) throw new ArgumentException($"from_array: {data.Length} values cannot fill shape {Shape.Format(shape)} ({n} elements)");
        var t = Empty(shape, DTypes.Of<T>(), device);
        Backend.For(t).Upload(data, t);
        return t;
    }

    /// <summary>Uniform samples on [low, high) from <paramref name="rng"/>.</summary>
    /// <example><code>using var u = Tensor.Rand([3], new Rng(1), -1, 1);</code></example>
    public static Tensor Rand(int[] shape, Rng rng, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, rng, RandomKind.Uniform, low, high, dtype, device);

    /// <summary>Normal samples with the given mean and standard deviation from <paramref name="rng"/>.</summary>
    /// <example><code>using var n = Tensor.RandN([3], new Rng(1));</code></example>
    public static Tensor RandN(int[] shape, Rng rng, double mean = 0, double std = 1, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, rng, RandomKind.Normal, mean, std, dtype, device);

    /// <summary>1 with probability <paramref name="p"/>, else 0.</summary>
    /// <example><code>using var mask = Tensor.Bernoulli([10], new Rng(1), 0.5);</code></example>
    public static Tensor Bernoulli(int[] shape, Rng rng, double p, DType dtype = DType.Float32, Device? device = null)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"bernoulli: probability {p} must be in [0, 1]");
        return Random(shape, rng, RandomKind.Bernoulli, p, 0, dtype, device);
    }

    private static Tensor Random(int[] shape, Rng rng, RandomKind kind, double a, double b, DType dtype, Device? device)
    {
        if (!dtype.IsFloat()) throw new ArgumentException($"random {kind.ToString().ToLowerInvariant()}: dtype {dtype.Name()} is not a float type");
        var t = Empty(shape, dtype, device);
        ulong counter = rng.Advance(t.Numel);
        Backend.For(t).RandomFill(t, kind, rng.Seed, counter, a, b);
        return t;
    }

    /// <summary>The elements in row-major order as a new host array.</summary>
    /// <example><code>float[] v = t.ToArray&lt;float&gt;();</code></example>
    public T[] ToArray<T>() where T : unmanaged
    {
        EnsureAlive("to_array");
        if (DTypes.Of<T>() != DType) throw new ArgumentException($"to_array: tensor is {DType.Name()}, requested {typeof(T).Name}");
        var result = new T[Numel];
        using var c = Contiguous();
        Backend.For(c).Download<T>(c, result);
        return result;
    }

    /// <summary>The float32 elements in row-major order.</summary>
    public float[] ToArray() => ToArray<float>();

    /// <summary>Copies the elements in row-major order into <paramref name="destination"/> (at least <see cref="Numel"/> long), for callers that reuse one buffer.</summary>
    /// <exception cref="ArgumentException">A different element type, or a destination shorter than the tensor.</exception>
    /// <example><code>var buf = new float[t.Numel]; t.CopyTo&lt;float&gt;(buf);</code></example>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        EnsureAlive("copy_to");
        if (DTypes.Of<T>() != DType) throw new ArgumentException($"copy_to: tensor is {DType.Name()}, destination holds {typeof(T).Name}");
        if (destination.Length < Numel) throw new ArgumentException($"copy_to: destination holds {destination.Length} elements; tensor {ShapeText} has {Numel}");
        using var c = Contiguous();
        Backend.For(c).Download<T>(c, destination[..Numel]);
    }

    /// <summary>The single value of a one-element tensor, as a double (exact for float32 and int32).</summary>
    /// <example><code>double loss = lossTensor.Item();</code></example>
    public double Item()
    {
        if (Numel != 1) throw new ArgumentException($"item: tensor {ShapeText} has {Numel} elements; expected exactly 1");
        return DType switch
        {
            DType.Float32 => ToArray<float>()[0],
            DType.Float64 => ToArray<double>()[0],
            _ => ToArray<int>()[0],
        };
    }

    /// <summary>A copy on <paramref name="device"/> (this tensor, with a new reference, when already there).</summary>
    public Tensor To(Device device)
    {
        EnsureAlive("to");
        if (device == Device) return AsStrided(Dims, Strides, Offset);
        using var c = Contiguous();
        return DType switch
        {
            DType.Float32 => FromSpan<float>(c.ToArray<float>(), Dims, device),
            DType.Float64 => FromSpan<double>(c.ToArray<double>(), Dims, device),
            _ => FromSpan<int>(c.ToArray<int>(), Dims, device),
        };
    }

    /// <summary>A copy converted to <paramref name="dtype"/> (float→int truncates toward zero).</summary>
    public Tensor Cast(DType dtype)
    {
        EnsureAlive("cast");
        var y = Empty(Dims, dtype, Device);
        Backend.For(DType == DType.Float64 ? this : y).Copy(this, y); // float64 on either side → reference
        return y;
    }

    /// <summary>A contiguous copy that owns new storage.</summary>
    public Tensor Clone()
    {
        EnsureAlive("clone");
        var y = Empty(Dims, DType, Device);
        Backend.For(this).Copy(this, y);
        return y;
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape) into this tensor in place.</summary>
    public void CopyFrom(Tensor src)
    {
        EnsureAlive("copy_");
        src.EnsureAlive("copy_");
        SameDevice("copy_", this, src);
        using var b = src.BroadcastTo(Dims);
        Backend.For(src.DType == DType.Float64 ? src : this).Copy(b, this); // float64 on either side → reference
    }

    /// <summary>Sets every element in place.</summary>
    public void Fill(double value)
    {
        EnsureAlive("fill_");
        Backend.For(this).Fill(this, value);
    }

    internal static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device) throw new ArgumentException($"{op}: tensors are on different devices ({a.Device} and {b.Device}); move one with To(device)");
    }
}
