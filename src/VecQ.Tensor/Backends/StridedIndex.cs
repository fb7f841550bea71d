namespace VecQ.Tensors;

/// <summary>
/// Layout arithmetic for strided views, shared by the host backends. Element (i0, …, in) of a
/// tensor lives at <c>storage[Offset + Σ i_k · Strides[k]]</c>; the "linear index" of an element
/// is its position in row-major order over the tensor's shape (what <c>ToArray</c> returns).
/// </summary>
/// <example><code>
/// int at = StridedIndex.OffsetOf(t, 5);                  // storage position of t's 6th element
/// var it = new Odometer(y.Dims, x, y);                   // walk x and y together
/// for (int i = 0; i &lt; y.Numel; i++, it.Next()) ys[it.Offsets[1]] = xs[it.Offsets[0]];
/// </code></example>
internal static class StridedIndex
{
    /// <summary>Storage position of the element with row-major linear index <paramref name="linear"/>.</summary>
    public static int OffsetOf(Tensor t, int linear) => OffsetOf(t.Dims, t.Strides, t.Offset, linear);

    /// <summary>Storage position of linear index <paramref name="linear"/> in a layout (shape, strides, offset).</summary>
    public static int OffsetOf(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, int offset, int linear)
    {
        int at = offset;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            int n = shape[d];
            at += linear % n * strides[d];
            linear /= n;
        }
        return at;
    }

    /// <summary>Writes the coordinates of linear index <paramref name="linear"/> over <paramref name="shape"/> into <paramref name="index"/>.</summary>
    public static void Unravel(int linear, ReadOnlySpan<int> shape, Span<int> index)
    {
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            int n = shape[d];
            index[d] = linear % n;
            linear /= n;
        }
    }

    /// <summary>Row-major linear index of <paramref name="index"/> over <paramref name="shape"/>.</summary>
    public static int Ravel(ReadOnlySpan<int> index, ReadOnlySpan<int> shape)
    {
        int linear = 0;
        for (int d = 0; d < shape.Length; d++) linear = linear * shape[d] + index[d];
        return linear;
    }

    /// <summary>Storage position of the coordinates <paramref name="index"/>: offset + Σ index[k]·strides[k].</summary>
    public static int OffsetAt(ReadOnlySpan<int> index, ReadOnlySpan<int> strides, int offset)
    {
        int at = offset;
        for (int d = 0; d < index.Length; d++) at += index[d] * strides[d];
        return at;
    }

    /// <summary>
    /// Advances <paramref name="index"/> to the next coordinates in row-major order (the last
    /// dimension moves fastest). Returns false, with the index back at all zeros, after the last one.
    /// </summary>
    public static bool Increment(Span<int> index, ReadOnlySpan<int> shape)
    {
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (++index[d] < shape[d]) return true;
            index[d] = 0;
        }
        return false;
    }
}

/// <summary>
/// Walks a shape in row-major order while tracking the storage position of several layouts at
/// once (each update is a few additions, no division). It starts at coordinates (0, …, 0);
/// <see cref="Next"/> moves to the following element. Layouts are used for their first
/// <c>shape.Length</c> dimensions, so a caller can walk the outer dimensions of a tensor and run
/// its own loop over the innermost ones.
/// </summary>
/// <example><code>
/// var it = new Odometer(y.Dims, a, b, y);   // a and b already expanded to y's shape
/// for (int i = 0; i &lt; y.Numel; i++, it.Next())
///     ys[it.Offsets[2]] = as_[it.Offsets[0]] + bs[it.Offsets[1]];
/// </code></example>
internal sealed class Odometer
{
    private readonly int[] _shape;
    private readonly int[][] _strides;

    /// <summary>Walks <paramref name="shape"/> over the layouts of <paramref name="tensors"/>.</summary>
    public Odometer(int[] shape, params Tensor[] tensors)
        : this(shape, tensors.Select(t => t.Strides).ToArray(), tensors.Select(t => t.Offset).ToArray())
    {
    }

    /// <summary>Walks <paramref name="shape"/> over explicit layouts (strides per dimension, start offset).</summary>
    public Odometer(int[] shape, int[][] strides, int[] offsets)
    {
        if (strides.Length != offsets.Length) throw new ArgumentException("odometer: one offset per layout is required");
        foreach (var s in strides)
            if (s.Length < shape.Length)
                throw new ArgumentException($"odometer: a layout with {s.Length} strides cannot walk shape {Shape.Format(shape)}");
        _shape = shape;
        _strides = strides;
        Start = (int[])offsets.Clone();
        Offsets = (int[])offsets.Clone();
        Index = new int[shape.Length];
    }

    /// <summary>Current coordinates (do not modify).</summary>
    public int[] Index { get; }

    /// <summary>Current storage position of each layout (do not modify).</summary>
    public int[] Offsets { get; }

    /// <summary>Storage position of each layout at coordinates (0, …, 0).</summary>
    public int[] Start { get; }

    /// <summary>Moves to the next element; returns false (and wraps to the start) after the last one.</summary>
    public bool Next()
    {
        for (int d = _shape.Length - 1; d >= 0; d--)
        {
            if (++Index[d] < _shape[d])
            {
                for (int k = 0; k < Offsets.Length; k++) Offsets[k] += _strides[k][d];
                return true;
            }
            // dimension d wraps: undo its contribution and carry into d − 1
            for (int k = 0; k < Offsets.Length; k++) Offsets[k] -= (Index[d] - 1) * _strides[k][d];
            Index[d] = 0;
        }
        return false;
    }
}
