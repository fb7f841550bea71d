using VecQ.Cuda.Native;
using VecQ.Tensors;

namespace VecQ.Cuda;

// Elementwise (generated kernels), reductions, matrix products (cuBLAS), softmax, the quantizer's reductions, random fills.
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    {
        var spec = op.Spec;
        var prm = Params(spec);
        var args = Args().Add((long)y.Numel).Add(Desc.Of(x)).Add(Base(x)).Add(Desc.Of(y)).Add(Base(y)).Add(prm);
        RunGenerated(spec, y, args);
    }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        var spec = op.Spec;
        var prm = Params(spec);
        var args = Args().Add((long)y.Numel).Add(Desc.Of(a)).Add(Base(a)).Add(Desc.Of(b)).Add(Base(b)).Add(Desc.Of(y)).Add(Base(y)).Add(prm);
        RunGenerated(spec, y, args);
    }

    private static ElementwiseParams Params(ElementwiseSpec spec)
    {
        var p = new ElementwiseParams();
        for (int i = 0; i < spec.Parameters.Count && i < ElementwiseParams.Most; i++) p.V[i] = spec.Parameters[i];
        return p;
    }

    private void RunGenerated(ElementwiseSpec spec, Tensor y, KernelArgs args)
    {
        using (args)
        {
            string key = ElementwiseKernels.Key(spec, y.DType);
            var f = _ctx.Generated(key, ElementwiseKernels.Entry, () => ElementwiseKernels.Source(spec, y.DType));
            if (y.Numel > 0) _ctx.Launch(f, GridFor(y.Numel), Block, args);
        }
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) =>
        Run("data", $"where_{FloatSuffix("where", y)}_{Suffix(cond)}", y.Numel, Args().Add((long)y.Numel)
            .Add(Desc.Of(cond)).Add(Base(cond)).Add(Desc.Of(a)).Add(Base(a)).Add(Desc.Of(b)).Add(Base(b)).Add(Desc.Of(y)).Add(Base(y)));

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        // kept coordinates from y's index (x's strides), reduced ones from a second view over the axes y has as 1
        int rank = x.Rank;
        var keptSizes = new int[rank];
        var reducedSizes = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            bool reduced = y.Dims[d] == 1 && x.Dims[d] != 1;
            keptSizes[d] = y.Dims[d];
            reducedSizes[d] = reduced ? x.Dims[d] : 1;
            count *= reducedSizes[d];
        }
        var kd = Desc.Of(keptSizes, x.Strides, x.Offset);
        var rd = Desc.Of(reducedSizes, x.Strides, 0);
        RunBlocks("reduce", "reduce_" + FloatSuffix("reduce", x), y.Numel,
            Args().Add((int)op).Add(count).Add(kd).Add(rd).Add(Base(x)).Add(Desc.Of(y)).Add(Base(y)));
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y)
    {
        if (x.Dims[axis] == 0 && y.Numel > 0) throw new ArgumentException($"cuda argreduce: axis {axis} of {x.ShapeText} is empty");
        var kd = Desc.Of(y.Dims, x.Strides, x.Offset);
        Run("reduce", "argreduce_" + FloatSuffix("argreduce", x), y.Numel,
            Args().Add(max ? 1 : 0).Add((long)y.Numel).Add(kd).Add((long)x.Dims[axis]).Add((long)x.Strides[axis]).Add(Base(x)).Add(Desc.Of(y)).Add(Base(y)));
    }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    {
        // row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets B first; a row-major operand with unit column stride
        // is its own transpose in column-major (op N), a transposed view (unit row stride) is op T
        if (a.Rank != 3 || b.Rank != 3 || c.Rank != 3) throw new ArgumentException($"cuda matmul: operands {a.ShapeText}, {b.ShapeText}, {c.ShapeText} must be [B, M, K], [B, K, N], [B, M, N]");
        Contiguous("matmul", c);
        int batch = c.Dims[0], m = c.Dims[1], n = c.Dims[2], k = a.Dims[2];
        if (m == 0 || n == 0 || batch == 0) return;
        // an operand cuBLAS cannot address (stride 0 along a matrix axis) goes through a contiguous copy
        Tensor? ac = Operand(a, m, k) is null ? Contiguous3(a) : null, bc = Operand(b, k, n) is null ? Contiguous3(b) : null;
        try { Gemm3(ac ?? a, bc ?? b, c, m, n, k, batch, alpha, beta); }
        finally { ac?.Dispose(); bc?.Dispose(); }
    }

    private Tensor Contiguous3(Tensor t)
    {
        var copy = Tensor.Empty(t.Dims, t.DType, t.Device);
        Copy(t, copy);
        return copy;
    }

    private void Gemm3(Tensor a, Tensor b, Tensor c, int m, int n, int k, int batch, float alpha, float beta)
    {
        var (opA, lda) = Operand(a, m, k)!.Value;
        var (opB, ldb) = Operand(b, k, n)!.Value;
        _ctx.MakeCurrent();
        if (c.DType == DType.Float32)
        {
            float al = alpha, be = beta;
            Cublas.Check(Cublas.cublasSgemmStridedBatched(_ctx.Blas, opB, opA, n, m, k, &al, At(b), ldb, b.Strides[0], At(a), lda, a.Strides[0],
                &be, At(c), n, (long)m * n, batch), "cublasSgemmStridedBatched");
        }
        else if (c.DType == DType.Float64)
        {
            double al = alpha, be = beta;
            Cublas.Check(Cublas.cublasDgemmStridedBatched(_ctx.Blas, opB, opA, n, m, k, &al, At(b), ldb, b.Strides[0], At(a), lda, a.Strides[0],
                &be, At(c), n, (long)m * n, batch), "cublasDgemmStridedBatched");
        }
        else throw new ArgumentException($"cuda matmul: {c.DType.Name()} is not supported (float32 or float64)");
    }

    // A row-major rows×cols operand as cuBLAS sees its transpose: (op, leading dimension); null when its strides give cuBLAS
    // no valid leading dimension (a broadcast row or column: stride 0), so the caller makes a contiguous copy.
    internal static (int Op, int Ld)? Operand(Tensor t, int rows, int cols)
    {
        int s0 = t.Strides[1], s1 = t.Strides[2];
        if (s1 == 1 || cols == 1)
        {
            if (rows == 1) return (Cublas.CUBLAS_OP_N, Math.Max(1, cols));
            if (s0 >= Math.Max(1, cols)) return (Cublas.CUBLAS_OP_N, s0);
        }
        if (s0 == 1 || rows == 1)
        {
            if (cols == 1) return (Cublas.CUBLAS_OP_T, Math.Max(1, rows));
            if (s1 >= Math.Max(1, rows)) return (Cublas.CUBLAS_OP_T, s1);
        }
        return null;
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        Contiguous("softmax", y);
        RunBlocks("softmax", "softmax_" + FloatSuffix("softmax", x), x.Dims[0],
            Args().Add((long)x.Dims[1]).Add((long)x.Strides[0]).Add((long)x.Strides[1]).Add((long)x.Offset).Add(Base(x)).Add(At(y)).Add(log ? 1 : 0));
    }

    /// <inheritdoc/>
    public void SumOfSquares(Tensor x, Tensor result)
    {
        Contiguous("sum_of_squares", x);
        RunBlocks("quant", "sum_of_squares_" + FloatSuffix("sum_of_squares", x), 1, Args().Add((long)x.Numel).Add(At(x)).Add(At(result)));
    }

    /// <inheritdoc/>
    public void GroupMoments(Tensor x, Tensor mean, Tensor std)
    {
        Contiguous("group_moments", x, mean, std);
        RunBlocks("quant", "group_moments", x.Dims[0], Args().Add((long)x.Dims[1]).Add(At(x)).Add(At(mean)).Add(At(std)));
    }

    /// <inheritdoc/>
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots)
    {
        Contiguous("grid_project", w, center, step, codes, v, dots);
        RunBlocks("quant", "grid_project", w.Dims[0], Args().Add((long)w.Dims[1]).Add(At(w)).Add(At(center)).Add(At(step))
            .Add(spec.PreSubtract).Add(spec.Lo).Add(spec.Hi).Add(spec.CodeShift).Add(spec.VOffset).Add(At(codes)).Add(At(v)).Add(At(dots)));
    }

    /// <inheritdoc/>
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums)
    {
        Contiguous("dequantize_sums", w, v, alpha, shift, q, sums);
        RunBlocks("quant", "dequantize_sums", w.Dims[0],
            Args().Add((long)w.Dims[1]).Add(At(w)).Add(At(v)).Add(At(alpha)).Add(At(shift)).Add(At(q)).Add(At(sums)));
    }

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        int code = kind switch
        {
            RandomKind.Uniform => 0,
            RandomKind.Normal => 1,
            RandomKind.Bernoulli => 2,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "random fill: unknown distribution"),
        };
        if (!dst.IsContiguous)
        {
            // element i is still row-major i: fill a contiguous temporary, then copy into the view
            using var tmp = Tensor.Empty(dst.Dims, dst.DType, dst.Device);
            RandomFill(tmp, kind, seed, counter, a, b);
            Copy(tmp, dst);
            return;
        }
        Run("random", "random_" + FloatSuffix("random_fill", dst), dst.Numel,
            Args().Add((long)dst.Numel).Add(code).Add(seed).Add(counter).Add(a).Add(b).Add(At(dst)));
    }
}
