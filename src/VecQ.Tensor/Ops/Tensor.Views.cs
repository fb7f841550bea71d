namespace VecQ.Tensors;

// Views: new layouts over the same storage, never a copy (except Contiguous/Reshape when they must).
public sealed partial class Tensor
{
    /// <summary>A view with a new shape (one dimension may be −1); throws when strides make a view impossible.</summary>
    /// <example><code>using var v = t.View(2, -1);</code></example>
    public Tensor View(params int[] shape)
    {
        EnsureAlive("view");
        var s = InferShape("view", shape);
        var strides = ViewStrides(s) ?? throw new ArgumentException(
            $"view: tensor {ShapeText} with strides {Shape.Format(Strides)} cannot be viewed as {Shape.Format(s)} without a copy; call Contiguous() or Reshape()");
        return AsStrided(s, strides, Offset);
    }

    /// <summary>Like <see cref="View(int[])"/>, but copies when the layout requires it.</summary>
    /// <example><code>using var r = t.Transpose(0, 1).Reshape(-1);</code></example>
    public Tensor Reshape(params int[] shape)
    {
        EnsureAlive("reshape");
        var s = InferShape("reshape", shape);
        var strides = ViewStrides(s);
        if (strides != null) return AsStrided(s, strides, Offset);
        using var c = Contiguous();
        return c.AsStrided(s, Shape.ContiguousStrides(s), c.Offset);
    }

    private int[] InferShape(string op, int[] shape)
    {
        var s = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: shape {Shape.Format(shape)} has more than one -1");
                infer = i;
            }
            else if (s[i] < 0) throw new ArgumentException($"{op}: shape {Shape.Format(shape)} has a negative dimension");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"{op}: cannot infer -1 in {Shape.Format(shape)} for a tensor {ShapeText} of {Numel} elements");
            s[infer] = (int)(Numel / known);
        }
        if (Shape.Numel(s) != Numel)
            throw new ArgumentException($"{op}: tensor {ShapeText} ({Numel} elements) cannot take shape {Shape.Format(shape)} ({Shape.Numel(s)} elements)");
        return s;
    }

    // Strides for a view of shape s, or null when the current layout cannot express it.
    // Walks the current dimensions from the innermost, grouping runs that are contiguous with each
    // other ("chunks"); each chunk must be covered exactly by consecutive new dimensions.
    private int[]? ViewStrides(int[] s)
    {
        if (IsContiguous || Numel == 0) return Shape.ContiguousStrides(s);
        var result = new int[s.Length];
        int vd = s.Length - 1;
        long chunkStride = Strides[Rank - 1], tensorNumel = 1, viewNumel = 1;
        for (int td = Rank - 1; td >= 0; td--)
        {
            tensorNumel *= Dims[td];
            bool chunkEnds = td == 0 || (Dims[td - 1] != 1 && Strides[td - 1] != tensorNumel * chunkStride);
            if (!chunkEnds) continue;
            while (vd >= 0 && (viewNumel < tensorNumel || s[vd] == 1))
            {
                result[vd] = (int)(viewNumel * chunkStride);
                viewNumel *= s[vd];
                vd--;
            }
            if (viewNumel != tensorNumel) return null;
            if (td > 0) { chunkStride = Strides[td - 1]; tensorNumel = 1; viewNumel = 1; }
        }
        return vd == -1 ? result : null;
    }

    /// <summary>Swaps two dimensions (a view).</summary>
    /// <example><code>using var t2 = x.Transpose(0, 1); // [3, 2] from [2, 3]</code></example>
    public Tensor Transpose(int dim0, int dim1)
    {
        EnsureAlive("transpose");
        int a = Shape.Axis("transpose", dim0, Rank), b = Shape.Axis("transpose", dim1, Rank);
        var perm = Enumerable.Range(0, Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a 2-D tensor (a view).</summary>
    public Tensor T()
    {
        if (Rank != 2) throw new ArgumentException($"t: tensor {ShapeText} is not 2-D");
        return Transpose(0, 1);
    }

    /// <summary>Reorders dimensions (a view): result dim i is this tensor's dim perm[i].</summary>
    /// <example><code>using var nhwc = x.Permute(0, 2, 3, 1);</code></example>
    public Tensor Permute(params int[] perm)
    {
        EnsureAlive("permute");
        if (perm.Length != Rank) throw new ArgumentException($"permute: {Shape.Format(perm)} has {perm.Length} axes for a tensor {ShapeText} of rank {Rank}");
        var seen = new bool[Rank];
        var shape = new int[Rank];
        var strides = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int p = Shape.Axis("permute", perm[i], Rank);
            if (seen[p]) throw new ArgumentException($"permute: {Shape.Format(perm)} repeats axis {p}");
            seen[p] = true;
            shape[i] = Dims[p];
            strides[i] = Strides[p];
        }
        return AsStrided(shape, strides, Offset);
    }

    /// <summary>Elements start..start+length−1 of <paramref name="axis"/> (a view).</summary>
    /// <example><code>using var firstTwo = x.Narrow(0, 0, 2);</code></example>
    public Tensor Narrow(int axis, int start, int length)
    {
        EnsureAlive("narrow");
        int a = Shape.Axis("narrow", axis, Rank);
        if (start < 0 || length < 0 || start + length > Dims[a])
            throw new ArgumentException($"narrow: [{start}, {start + length}) is outside axis {a} of size {Dims[a]} in tensor {ShapeText}");
        var shape = (int[])Dims.Clone();
        shape[a] = length;
        return AsStrided(shape, (int[])Strides.Clone(), Offset + start * Strides[a]);
    }

    /// <summary>Python-style slice start:end:step along an axis (negative start/end count from the end; step ≥ 1).</summary>
    /// <example><code>using var evens = x.Slice(1, 0, x.Size(1), 2);</code></example>
    public Tensor Slice(int axis, int start, int end, int step = 1)
    {
        EnsureAlive("slice");
        int a = Shape.Axis("slice", axis, Rank);
        if (step < 1) throw new ArgumentException($"slice: step {step} must be >= 1");
        int n = Dims[a];
        int s = Math.Clamp(start < 0 ? start + n : start, 0, n);
        int e = Math.Clamp(end < 0 ? end + n : end, 0, n);
        int len = e > s ? (e - s + step - 1) / step : 0;
        var shape = (int[])Dims.Clone();
        var strides = (int[])Strides.Clone();
        shape[a] = len;
        strides[a] = Strides[a] * step;
        return AsStrided(shape, strides, Offset + s * Strides[a]);
    }

    /// <summary>Index one position of an axis, removing it (a view).</summary>
    /// <example><code>using var row = x.Select(0, 1);</code></example>
    public Tensor Select(int axis, int index)
    {
        int a = Shape.Axis("select", axis, Rank);
        if (index < 0) index += Dims[a];
        using var n = Narrow(a, index, 1);
        return n.Squeeze(a);
    }

    /// <summary>Broadcasts to <paramref name="shape"/> with stride-0 dimensions (a view); −1 keeps a size.</summary>
    /// <example><code>using var e = bias.Expand(8, 4); // [4] → [8, 4]</code></example>
    public Tensor Expand(params int[] shape)
    {
        EnsureAlive("expand");
        if (shape.Length < Rank) throw new ArgumentException($"expand: tensor {ShapeText} cannot expand to fewer dimensions {Shape.Format(shape)}");
        int lead = shape.Length - Rank;
        var outShape = new int[shape.Length];
        var strides = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            int want = shape[i];
            if (i < lead)
            {
                if (want < 0) throw new ArgumentException($"expand: -1 is not allowed for a new leading dimension in {Shape.Format(shape)}");
                outShape[i] = want; strides[i] = 0; continue;
            }
            int have = Dims[i - lead];
            if (want == -1) want = have;
            if (have == want) { outShape[i] = have; strides[i] = Strides[i - lead]; }
            else if (have == 1) { outShape[i] = want; strides[i] = 0; }
            else throw new ArgumentException($"expand: tensor {ShapeText} cannot expand to {Shape.Format(shape)}: dimension {i} is {have} (must be 1 or equal)");
        }
        return AsStrided(outShape, strides, Offset);
    }

    /// <summary>Same as <see cref="Expand"/> (NumPy's name).</summary>
    public Tensor BroadcastTo(int[] shape) => Expand(shape);

    /// <summary>Removes size-1 dimensions (all, or only <paramref name="axis"/>) (a view).</summary>
    public Tensor Squeeze(int? axis = null)
    {
        EnsureAlive("squeeze");
        if (axis is int ax)
        {
            int a = Shape.Axis("squeeze", ax, Rank);
            if (Dims[a] != 1) return AsStrided(Dims, Strides, Offset);
            return AsStrided(Dims.Where((_, i) => i != a).ToArray(), Strides.Where((_, i) => i != a).ToArray(), Offset);
        }
        var keep = Enumerable.Range(0, Rank).Where(i => Dims[i] != 1).ToArray();
        return AsStrided(keep.Select(i => Dims[i]).ToArray(), keep.Select(i => Strides[i]).ToArray(), Offset);
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="axis"/> (a view).</summary>
    /// <example><code>using var col = v.Unsqueeze(1); // [n] → [n, 1]</code></example>
    public Tensor Unsqueeze(int axis)
    {
        EnsureAlive("unsqueeze");
        int a = Shape.Axis("unsqueeze", axis, Rank + 1);
        var shape = Dims.ToList(); shape.Insert(a, 1);
        var strides = Strides.ToList(); strides.Insert(a, a < Rank ? Strides[a] * Dims[a] : 1);
        return AsStrided(shape.ToArray(), strides.ToArray(), Offset);
    }

    /// <summary>Flattens dimensions start..end (inclusive) into one.</summary>
    /// <example><code>using var f = x.Flatten(1); // [N, C, H, W] → [N, C·H·W]</code></example>
    public Tensor Flatten(int startAxis = 0, int endAxis = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shape.Axis("flatten", startAxis, Rank), e = Shape.Axis("flatten", endAxis, Rank);
        if (s > e) throw new ArgumentException($"flatten: start axis {startAxis} is after end axis {endAxis}");
        var shape = new List<int>();
        for (int i = 0; i < s; i++) shape.Add(Dims[i]);
        int prod = 1;
        for (int i = s; i <= e; i++) prod *= Dims[i];
        shape.Add(prod);
        for (int i = e + 1; i < Rank; i++) shape.Add(Dims[i]);
        return Reshape(shape.ToArray());
    }

    /// <summary>This tensor when contiguous (a new reference), else a contiguous copy.</summary>
    /// <example><code>using var c = x.Transpose(0, 1).Contiguous();</code></example>
    public Tensor Contiguous()
    {
        EnsureAlive("contiguous");
        if (IsContiguous) return AsStrided(Dims, Strides, Offset);
        return Clone();
    }
}
