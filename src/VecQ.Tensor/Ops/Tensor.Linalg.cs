namespace VecQ.Tensors;

// Matrix products.
public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with PyTorch's rules: 1-D·1-D is a dot product, 2-D·2-D a matrix product,
    /// and batched operands ([…, M, K] × […, K, N]) broadcast their batch dimensions.
    /// Transposed views are used in place (no copy).
    /// </summary>
    /// <example><code>using var y = x.MatMul(w.T()); // [N, in] × [in, out] → [N, out]</code></example>
    public Tensor MatMul(Tensor other)
    {
        EnsureAlive("matmul"); other.EnsureAlive("matmul");
        RequireFloat("matmul", this);
        if (DType != other.DType) throw new ArgumentException($"matmul: dtypes differ ({DType.Name()} and {other.DType.Name()})");
        SameDevice("matmul", this, other);
        if (Rank == 0 || other.Rank == 0) throw new ArgumentException($"matmul: {ShapeText} x {other.ShapeText}: both operands need at least one dimension");
        // promote 1-D operands as PyTorch does, remember which dims to drop afterwards
        using var a = Rank == 1 ? Unsqueeze(0) : AsStrided(Dims, Strides, Offset);
        using var b = other.Rank == 1 ? other.Unsqueeze(1) : other.AsStrided(other.Dims, other.Strides, other.Offset);
        int m = a.Dims[^2], k = a.Dims[^1], k2 = b.Dims[^2], n = b.Dims[^1];
        if (k != k2) throw new ArgumentException($"matmul: {ShapeText} x {other.ShapeText}: inner dimensions {k} and {k2} differ");
        var batch = Shape.Broadcast("matmul", a.Dims[..^2], b.Dims[..^2]);
        int nb = Shape.Numel(batch);
        using var a3 = BatchView(a, batch, nb);
        using var b3 = BatchView(b, batch, nb);
        var c = Empty([nb, m, n], DType, Device);
        Backend.For(this).MatMul(a3, b3, c, 1f, 0f);
        var outShape = batch.Concat(new[] { m, n }).ToList();
        if (other.Rank == 1) outShape.RemoveAt(outShape.Count - 1);
        if (Rank == 1) outShape.RemoveAt(outShape.Count - (other.Rank == 1 ? 1 : 2));
        using (c) return c.Reshape(outShape.ToArray());
    }

    // [batch…, R, C] → [nb, R, C] view; copies only when the batch dims cannot be merged into one
    // stride or neither of the last two strides is 1 (a layout no GEMM can read in place).
    private static Tensor BatchView(Tensor t, int[] batch, int nb)
    {
        using var e = t.Expand(batch.Concat(t.Dims[^2..]).ToArray());
        int r = e.Dims[^2], c = e.Dims[^1];
        bool gemmReadable = e.Strides[^1] == 1 || e.Strides[^2] == 1 || r == 1 || c == 1;
        int? batchStride = MergedBatchStride(e, batch.Length);
        if (gemmReadable && batchStride is int bs) return e.AsStrided([nb, r, c], [bs, e.Strides[^2], e.Strides[^1]], e.Offset);
        using var copy = e.Contiguous();
        return copy.AsStrided([nb, r, c], Shape.ContiguousStrides([nb, r, c]), copy.Offset);
    }

    // The single stride that walks all batch dims in order, or null when there is none.
    private static int? MergedBatchStride(Tensor e, int nbatch)
    {
        int? baseStride = null;
        long expect = 0;
        for (int i = nbatch - 1; i >= 0; i--)
        {
            if (e.Dims[i] == 1) continue;
            if (baseStride == null) { baseStride = e.Strides[i]; expect = (long)e.Strides[i] * e.Dims[i]; continue; }
            if (e.Strides[i] != expect) return null;
            expect = (long)e.Strides[i] * e.Dims[i];
        }
        return baseStride ?? 0;
    }
}
