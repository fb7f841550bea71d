namespace VecQ.Tensors;

/// <summary>
/// An n-dimensional array: a view (shape, element strides, offset) over a reference-counted
/// <see cref="Storage"/> on a <see cref="Device"/>. Views share storage; ops allocate new tensors.
/// Ops run on the backend chosen by <see cref="Backend.For(Tensor)"/> from the operands' device.
/// </summary>
/// <example><code>
/// using var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
/// using var b = a.Transpose(0, 1);      // [3, 2] view, no copy
/// float s = a.Sum().Item();              // 21
/// </code></example>
public sealed partial class Tensor : IDisposable
{
    private int _disposed;

    /// <summary>Wraps <paramref name="storage"/> (taking one new reference) with the given layout.</summary>
    public Tensor(Storage storage, int[] shape, int[] strides, int offset)
    {
        if (shape.Length != strides.Length) throw new ArgumentException($"tensor: shape {Shape.Format(shape)} and strides {Shape.Format(strides)} have different ranks");
        foreach (int d in shape) if (d < 0) throw new ArgumentException($"tensor: shape {Shape.Format(shape)} has a negative dimension");
        storage.AddRef();
        Storage = storage;
        Dims = shape;
        Strides = strides;
        Offset = offset;
        Numel = Shape.Numel(shape);
    }

    /// <summary>Allocates an uninitialised contiguous tensor (backends and ops fill it).</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        int n = Shape.Numel(shape);
        var storage = Backend.For(dev).Allocate(dtype, n);
        var t = new Tensor(storage, (int[])shape.Clone(), Shape.ContiguousStrides(shape), 0);
        storage.Release(); // the tensor now holds the only reference
        return t;
    }

    /// <summary>The underlying storage.</summary>
    public Storage Storage { get; }
    /// <summary>The shape (do not mutate).</summary>
    public int[] Dims { get; }
    /// <summary>Element strides per dimension (0 for broadcast dimensions).</summary>
    public int[] Strides { get; }
    /// <summary>Offset of element [0,…,0] in the storage, in elements.</summary>
    public int Offset { get; }
    /// <summary>Number of elements.</summary>
    public int Numel { get; }
    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;
    /// <summary>Element type.</summary>
    public DType DType => Storage.DType;
    /// <summary>Device of the storage.</summary>
    public Device Device => Storage.Device;
    /// <summary>Size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => Dims[Shape.Axis("size", axis, Rank)];
    /// <summary>The shape as text, e.g. "[2, 3]".</summary>
    public string ShapeText => Shape.Format(Dims);

    /// <summary>True when elements are laid out row-major without gaps starting at <see cref="Offset"/>.</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Dims[i] == 1) continue;
                if (Strides[i] != expected) return false;
                expected *= Dims[i];
            }
            return true;
        }
    }

    /// <summary>Releases this view's reference to the storage. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) Storage.Release();
    }

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal void EnsureAlive(string op)
    {
        if (IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{op}: tensor {ShapeText} was disposed");
    }

    /// <summary>A new view with another layout over the same storage.</summary>
    internal Tensor AsStrided(int[] shape, int[] strides, int offset) => new(Storage, shape, strides, offset);

    /// <inheritdoc/>
    public override string ToString() => $"Tensor({ShapeText}, {DType.Name()}, {Device})";
}
