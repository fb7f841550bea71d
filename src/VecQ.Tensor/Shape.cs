namespace VecQ.Tensors;

/// <summary>Shape arithmetic shared by every op: element counts, strides, broadcasting, axis checks.</summary>
/// <example><code>int[] s = Shape.Broadcast("add", [3, 1], [1, 4]); // [3, 4]</code></example>
public static class Shape
{
    /// <summary>Number of elements of a shape (1 for a scalar shape []).</summary>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        if (n > int.MaxValue) throw new ArgumentException($"shape {Format(shape)} has {n} elements; at most {int.MaxValue} are supported");
        return (int)n;
    }

    /// <summary>Row-major (C-order) strides in elements.</summary>
    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(shape[i], 1); }
        return s;
    }

    /// <summary>"[2, 3, 4]".</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>NumPy/PyTorch broadcasting of two shapes; throws naming <paramref name="op"/>.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 0; i < n; i++)
        {
            int da = i - (n - a.Length) >= 0 ? a[i - (n - a.Length)] : 1;
            int db = i - (n - b.Length) >= 0 ? b[i - (n - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast: dimension {i} is {da} vs {db} (each must be equal or 1)");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Normalises a possibly negative axis; throws naming <paramref name="op"/>.</summary>
    public static int Axis(string op, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"{op}: axis {axis} is out of range for a tensor of rank {rank} (expected {-rank}..{rank - 1})");
        return a;
    }

    /// <summary>True when two shapes are equal.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
