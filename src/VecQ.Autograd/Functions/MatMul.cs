using VecQ.Tensors;

namespace VecQ.Autograd;

// Matrix products with PyTorch's rules (1-D promotion, broadcast batch dimensions).
public static partial class Functions
{
    /// <summary>
    /// a × b: 1-D·1-D is a dot product, 2-D·2-D a matrix product, batched operands
    /// ([…, M, K] × […, K, N]) broadcast their batch dimensions.
    /// da = dy × bᵀ, db = aᵀ × dy, each summed over broadcast batch dimensions.
    /// </summary>
    /// <example><code>using var y = Functions.MatMul(q, Functions.Transpose(k, -1, -2)); // [B, T, D] × [B, D, T]</code></example>
    public static Variable MatMul(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        var y = a.Value.MatMul(b.Value);
        return Graph.Record("matmul", y, [a, b], [a.Value, b.Value], (g, ctx) =>
        {
            // promote 1-D operands as the forward did: a [K] → [1, K], b [K] → [K, 1]
            using var a2 = sa.Length == 1 ? ctx.Saved[0].Unsqueeze(0) : Saved.NewRef(ctx.Saved[0]);
            using var b2 = sb.Length == 1 ? ctx.Saved[1].Unsqueeze(1) : Saved.NewRef(ctx.Saved[1]);
            int[] batch = Shape.Broadcast("matmul", a2.Dims[..^2], b2.Dims[..^2]);
            using var g2 = g.Reshape([.. batch, a2.Dims[^2], b2.Dims[^1]]); // [batch…, M, N]
            Tensor? da = null, db = null;
            if (ctx.NeedsGrad(0))
            {
                using var bt = b2.Transpose(-1, -2);
                using var full = g2.MatMul(bt);            // [batch…, M, K]
                using var summed = Broadcast.SumToShape(full, a2.Dims);
                da = summed.Reshape(sa);
            }
            if (ctx.NeedsGrad(1))
            {
                using var at = a2.Transpose(-1, -2);
                using var full = at.MatMul(g2);            // [batch…, K, N]
                using var summed = Broadcast.SumToShape(full, b2.Dims);
                db = summed.Reshape(sb);
            }
            return [da, db];
        });
    }
}
