using VecQ.Tensors;

namespace VecQ.Autograd;

// Indexing with int32 indices. Backwards add the gradient back at the indices (duplicates accumulate).
public static partial class Functions
{
    /// <summary>Slices of x along <paramref name="axis"/> picked by int32 index: [K]. dx = zeros with dy added at the indices (IndexAdd_).</summary>
    /// <example><code>using var rows = Functions.IndexSelect(table, 0, ids); // [V, D] → [K, D]</code></example>
    public static Variable IndexSelect(Variable x, int axis, Tensor index)
    {
        int[] xs = x.Shape;
        return Graph.Record("index_select", x.Value.IndexSelect(axis, index), [x], [index], (g, ctx) =>
        {
            var dx = Tensor.Zeros(xs, g.DType, g.Device);
            dx.IndexAdd_(axis, ctx.Saved[0], g);
            return [dx];
        });
    }

    /// <summary>
    /// Embedding lookup: rows of weight [V, D] for int32 ids of any shape → [ids…, D]. The
    /// gradient of each used row is the sum of dy over its occurrences.
    /// </summary>
    /// <example><code>using var e = Functions.Embedding(table, tokens); // [V, D], [B, T] → [B, T, D]</code></example>
    public static Variable Embedding(Variable weight, Tensor ids)
    {
        if (weight.Value.Rank != 2) throw new ArgumentException($"embedding: weight {weight.Describe()} must be 2-D [V, D]");
        using var flat = ids.Reshape(-1);                                   // [K]
        using var rows = IndexSelect(weight, 0, flat);                      // [K, D]
        return Reshape(rows, [.. ids.Dims, weight.Shape[1]]);
    }

    /// <summary>y[i…] = x[i… with the axis coordinate replaced by index[i…]] (PyTorch's gather). dx = zeros with dy scatter-added (ScatterAdd_).</summary>
    /// <example><code>using var picked = Functions.Gather(logp, 1, labelsColumn); // [N, C], [N, 1] → [N, 1]</code></example>
    public static Variable Gather(Variable x, int axis, Tensor index)
    {
        int[] xs = x.Shape;
        return Graph.Record("gather", x.Value.Gather(axis, index), [x], [index], (g, ctx) =>
        {
            var dx = Tensor.Zeros(xs, g.DType, g.Device);
            dx.ScatterAdd_(axis, ctx.Saved[0], g);
            return [dx];
        });
    }
}
