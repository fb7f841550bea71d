using VecQ.Tensors;

namespace VecQ.Autograd;

// Joining and splitting: Concat, Stack, Split, Chunk.
public static partial class Functions
{
    /// <summary>Joins along an existing axis. dx_i = the matching slice of dy.</summary>
    /// <example><code>using var ab = Functions.Concat([a, b], 1); // [N, 2] + [N, 3] → [N, 5]</code></example>
    public static Variable Concat(IReadOnlyList<Variable> parts, int axis)
    {
        if (parts.Count == 0) throw new ArgumentException("concat: no variables given");
        var values = parts.Select(p => p.Value).ToArray();
        var y = Tensor.Concat(values, axis);
        int a = Shape.Axis("concat", axis, y.Rank);
        var sizes = values.Select(v => v.Dims[a]).ToArray();
        return Graph.Record("concat", y, parts.ToArray(), [], (g, ctx) =>
        {
            var grads = new Tensor?[sizes.Length];
            int at = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (ctx.NeedsGrad(i)) grads[i] = g.Narrow(a, at, sizes[i]);
                at += sizes[i];
            }
            return grads;
        });
    }

    /// <summary>Stacks equally shaped variables along a new axis. dx_i = dy selected at i.</summary>
    /// <example><code>using var s = Functions.Stack([h1, h2, h3], 1); // 3 × [N, H] → [N, 3, H]</code></example>
    public static Variable Stack(IReadOnlyList<Variable> parts, int axis)
    {
        if (parts.Count == 0) throw new ArgumentException("stack: no variables given");
        var y = Tensor.Stack(parts.Select(p => p.Value).ToArray(), axis);
        int a = Shape.Axis("stack", axis, y.Rank), n = parts.Count;
        return Graph.Record("stack", y, parts.ToArray(), [], (g, ctx) =>
        {
            var grads = new Tensor?[n];
            for (int i = 0; i < grads.Length; i++) if (ctx.NeedsGrad(i)) grads[i] = g.Select(a, i);
            return grads;
        });
    }

    /// <summary>
    /// Splits into pieces of the given sizes along <paramref name="axis"/> (views). Each piece is
    /// its own narrow op; their gradients add up in x.
    /// </summary>
    /// <example><code>var gates = Functions.Split(z, [h, h, h, h], 1); // LSTM gates</code></example>
    public static Variable[] Split(Variable x, int[] sizes, int axis)
    {
        int a = Shape.Axis("split", axis, x.Value.Rank);
        if (sizes.Any(s => s < 0) || sizes.Sum() != x.Shape[a])
            throw new ArgumentException($"split: sizes {Shape.Format(sizes)} must be >= 0 and sum to {x.Shape[a]} (axis {a} of {x.Value.ShapeText})");
        var result = new Variable[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++) { result[i] = Narrow(x, a, at, sizes[i]); at += sizes[i]; }
        return result;
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces along <paramref name="axis"/> (the last may be smaller).</summary>
    /// <example><code>var halves = Functions.Chunk(x, 2, 1); // [N, 6] → 2 × [N, 3]</code></example>
    public static Variable[] Chunk(Variable x, int chunks, int axis)
    {
        int a = Shape.Axis("chunk", axis, x.Value.Rank);
        if (chunks < 1) throw new ArgumentException($"chunk: {chunks} chunks; expected >= 1");
        int per = (x.Shape[a] + chunks - 1) / chunks;
        var sizes = new List<int>();
        for (int left = x.Shape[a]; left > 0; left -= per) sizes.Add(Math.Min(per, left));
        return Split(x, sizes.ToArray(), a);
    }
}
