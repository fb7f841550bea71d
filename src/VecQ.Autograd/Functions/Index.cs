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
    /// Embedding lookup: rows of weight [V, D] for int32 ids of any shape → [ids…, D]. The gradient of each used
    /// row is the sum of dy over its occurrences (added at the ids, no one-hot product); with
    /// <paramref name="paddingIdx"/> (PyTorch's padding_idx) that row gets no gradient.
    /// </summary>
    /// <example><code>using var e = Functions.Embedding(table, tokens, paddingIdx: 0); // [V, D], [B, T] → [B, T, D]</code></example>
    public static Variable Embedding(Variable weight, Tensor ids, int? paddingIdx = null)
    {
        if (weight.Value.Rank != 2) throw new ArgumentException($"embedding: weight {weight.Describe()} must be 2-D [V, D]");
        int v = weight.Shape[0], d = weight.Shape[1];
        if (paddingIdx is int pad && (pad < 0 || pad >= v))
            throw new ArgumentException($"embedding: padding index {pad} is outside the vocabulary of {v} rows");
        if (ids.DType != DType.Int32) throw new ArgumentException($"embedding: ids {ids.ShapeText} must be int32, got {ids.DType.Name()}");
        using var flat = ids.Reshape(-1);                                   // [K]
        var rows = weight.Value.IndexSelect(0, flat);                       // [K, D]; the op rejects ids outside [0, V)
        Tensor y;
        using (rows) y = rows.Reshape([.. ids.Dims, d]);                    // [ids…, D]
        return Graph.Record("embedding", y, [weight], [flat], (g, ctx) =>
        {
            var dw = Tensor.Zeros([v, d], g.DType, g.Device);               // [V, D]
            using (var g2 = g.Reshape(-1, d)) dw.IndexAdd_(0, ctx.Saved[0], g2);
            if (paddingIdx is int p)
                using (var row = dw.Narrow(0, p, 1)) row.Fill(0);
            return [dw];
        });
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
