namespace VecQ.Tensors;

// Indexing (select/gather and their adjoints) and joining (concat/stack/split).
public sealed partial class Tensor
{
    /// <summary>Rows (or slices along <paramref name="axis"/>) picked by int32 <paramref name="index"/>: [K].</summary>
    /// <example><code>using var rows = table.IndexSelect(0, ids); // embedding lookup: [V, D] → [K, D]</code></example>
    public Tensor IndexSelect(int axis, Tensor index)
    {
        EnsureAlive("index_select"); index.EnsureAlive("index_select");
        int a = Shape.Axis("index_select", axis, Rank);
        CheckIndex("index_select", index, 1);
        SameDevice("index_select", this, index);
        var shape = (int[])Dims.Clone();
        shape[a] = index.Numel;
        using var xc = Contiguous();
        using var ic = index.Contiguous();
        var y = Empty(shape, DType, Device);
        Backend.For(this).IndexSelect(xc, a, ic, y);
        return y;
    }

    /// <summary>Adds slices of <paramref name="src"/> into this tensor in place at int32 <paramref name="index"/> along <paramref name="axis"/> (duplicates accumulate).</summary>
    /// <example><code>gradTable.IndexAdd_(0, ids, gradRows);</code></example>
    public void IndexAdd_(int axis, Tensor index, Tensor src)
    {
        EnsureAlive("index_add_"); index.EnsureAlive("index_add_"); src.EnsureAlive("index_add_");
        int a = Shape.Axis("index_add_", axis, Rank);
        CheckIndex("index_add_", index, 1);
        if (!IsContiguous) throw new ArgumentException($"index_add_: destination {ShapeText} must be contiguous");
        var expect = (int[])Dims.Clone();
        expect[a] = index.Numel;
        if (!Shape.Equal(src.Dims, expect) || src.DType != DType)
            throw new ArgumentException($"index_add_: src {src.ShapeText} ({src.DType.Name()}) must be {Shape.Format(expect)} {DType.Name()}");
        using var ic = index.Contiguous();
        using var sc = src.Contiguous();
        Backend.For(this).IndexAdd(this, a, ic, sc);
    }

    /// <summary>y[i…] = x[i… with the axis coordinate replaced by index[i…]] (PyTorch's gather).</summary>
    /// <example><code>using var picked = logp.Gather(1, labels.Unsqueeze(1)); // [N, 1]</code></example>
    public Tensor Gather(int axis, Tensor index)
    {
        EnsureAlive("gather"); index.EnsureAlive("gather");
        int a = Shape.Axis("gather", axis, Rank);
        CheckIndex("gather", index, Rank);
        for (int i = 0; i < Rank; i++)
            if (i != a && index.Dims[i] > Dims[i])
                throw new ArgumentException($"gather: index {index.ShapeText} is larger than input {ShapeText} in dimension {i}");
        using var xc = Contiguous();
        using var ic = index.Contiguous();
        var y = Empty(index.Dims, DType, Device);
        Backend.For(this).Gather(xc, a, ic, y);
        return y;
    }

    /// <summary>Adds src[i…] into this[i… with the axis coordinate replaced by index[i…]] in place (the adjoint of <see cref="Gather"/>).</summary>
    public void ScatterAdd_(int axis, Tensor index, Tensor src)
    {
        EnsureAlive("scatter_add_"); index.EnsureAlive("scatter_add_"); src.EnsureAlive("scatter_add_");
        int a = Shape.Axis("scatter_add_", axis, Rank);
        CheckIndex("scatter_add_", index, Rank);
        if (!IsContiguous) throw new ArgumentException($"scatter_add_: destination {ShapeText} must be contiguous");
        if (!Shape.Equal(src.Dims, index.Dims) || src.DType != DType)
            throw new ArgumentException($"scatter_add_: src {src.ShapeText} must have the index's shape {index.ShapeText} and dtype {DType.Name()}");
        for (int i = 0; i < Rank; i++)
            if (i != a && index.Dims[i] > Dims[i])
                throw new ArgumentException($"scatter_add_: index {index.ShapeText} is larger than destination {ShapeText} in dimension {i}");
        using var ic = index.Contiguous();
        using var sc = src.Contiguous();
        Backend.For(this).ScatterAdd(this, a, ic, sc);
    }

    private static void CheckIndex(string op, Tensor index, int rank)
    {
        if (index.DType != DType.Int32) throw new ArgumentException($"{op}: index {index.ShapeText} is {index.DType.Name()}; expected int32");
        if (index.Rank != rank) throw new ArgumentException($"{op}: index {index.ShapeText} must have rank {rank}");
    }

    /// <summary>Joins tensors along an existing axis; all other dimensions must match.</summary>
    /// <example><code>using var ab = Tensor.Concat([a, b], 0); // [2, 3] + [4, 3] → [6, 3]</code></example>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        if (parts.Count == 0) throw new ArgumentException("concat: no tensors given");
        var first = parts[0];
        int a = Shape.Axis("concat", axis, first.Rank);
        int total = 0;
        foreach (var p in parts)
        {
            p.EnsureAlive("concat");
            SameDevice("concat", first, p);
            bool ok = p.Rank == first.Rank && p.DType == first.DType;
            for (int i = 0; ok && i < p.Rank; i++) ok = i == a || p.Dims[i] == first.Dims[i];
            if (!ok) throw new ArgumentException($"concat: {p.ShapeText} ({p.DType.Name()}) does not match {first.ShapeText} ({first.DType.Name()}) outside axis {a}");
            total += p.Dims[a];
        }
        var shape = (int[])first.Dims.Clone();
        shape[a] = total;
        var y = Empty(shape, first.DType, first.Device);
        int at = 0;
        foreach (var p in parts)
        {
            using var dst = y.Narrow(a, at, p.Dims[a]);
            Backend.For(y).Copy(p, dst);
            at += p.Dims[a];
        }
        return y;
    }

    /// <summary>Stacks equally-shaped tensors along a new axis.</summary>
    /// <example><code>using var batch = Tensor.Stack([img1, img2], 0); // 2 × [C, H, W] → [2, C, H, W]</code></example>
    public static Tensor Stack(IReadOnlyList<Tensor> parts, int axis)
    {
        if (parts.Count == 0) throw new ArgumentException("stack: no tensors given");
        foreach (var p in parts)
            if (!Shape.Equal(p.Dims, parts[0].Dims))
                throw new ArgumentException($"stack: {p.ShapeText} differs from {parts[0].ShapeText}; all shapes must be equal");
        int a = Shape.Axis("stack", axis, parts[0].Rank + 1);
        var views = parts.Select(p => p.Unsqueeze(a)).ToArray();
        try { return Concat(views, a); }
        finally { foreach (var v in views) v.Dispose(); }
    }

    /// <summary>Splits into views of the given sizes along <paramref name="axis"/> (they must sum to its size).</summary>
    /// <example><code>var parts = x.Split([2, 3], 1);</code></example>
    public Tensor[] Split(int[] sizes, int axis)
    {
        int a = Shape.Axis("split", axis, Rank);
        if (sizes.Any(s => s < 0) || sizes.Sum() != Dims[a])
            throw new ArgumentException($"split: sizes {Shape.Format(sizes)} must be >= 0 and sum to {Dims[a]} (axis {a} of {ShapeText})");
        var result = new Tensor[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++) { result[i] = Narrow(a, at, sizes[i]); at += sizes[i]; }
        return result;
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal views along <paramref name="axis"/> (the last may be smaller).</summary>
    public Tensor[] Chunk(int chunks, int axis)
    {
        int a = Shape.Axis("chunk", axis, Rank);
        if (chunks < 1) throw new ArgumentException($"chunk: {chunks} chunks; expected >= 1");
        int per = (Dims[a] + chunks - 1) / chunks;
        var sizes = new List<int>();
        for (int left = Dims[a]; left > 0; left -= per) sizes.Add(Math.Min(per, left));
        return Split(sizes.ToArray(), a);
    }
}
