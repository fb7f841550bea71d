using System.Numerics;

namespace VecQ.Tensors;

// Batched matrix product: the triple loop, reading a and b through their strides.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    {
        if (a.Rank != 3 || b.Rank != 3 || c.Rank != 3)
            throw new ArgumentException($"reference matmul: operands {a.ShapeText} x {b.ShapeText} -> {c.ShapeText} must all be 3-D [B, M, K] x [B, K, N] -> [B, M, N]");
        int batch = c.Dims[0], m = a.Dims[1], k = a.Dims[2], n = b.Dims[2];
        if (a.Dims[0] != batch || b.Dims[0] != batch || b.Dims[1] != k || c.Dims[1] != m || c.Dims[2] != n)
            throw new ArgumentException($"reference matmul: {a.ShapeText} x {b.ShapeText} -> {c.ShapeText}: shapes must be [B, M, K] x [B, K, N] -> [B, M, N]");
        SameDType("matmul", a, c);
        SameDType("matmul", b, c);
        switch (c.DType)
        {
            case DType.Float32: MatMulT<float>(a, b, c, alpha, beta); break;
            case DType.Float64: MatMulT<double>(a, b, c, alpha, beta); break;
            default: throw Unsupported("matmul", c);
        }
    }

    // c[p, i, j] = alpha · Σ_k a[p, i, k] · b[p, k, j] + beta · c[p, i, j]; beta == 0 never reads c.
    private static void MatMulT<T>(Tensor a, Tensor b, Tensor c, double alpha, double beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var av = Data<T>(a);
        var bv = Data<T>(b);
        var cv = Data<T>(c);
        int batch = c.Dims[0], m = a.Dims[1], k = a.Dims[2], n = b.Dims[2];
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int q = 0; q < k; q++) sum += D(av[At(a, p, i, q)]) * D(bv[At(b, p, q, j)]);
                    int at = At(c, p, i, j);
                    double r = alpha * sum;
                    if (beta != 0) r += beta * D(cv[at]);
                    cv[at] = Cast<T>(r);
                }
    }
}
