using VecQ.Cuda.Native;
using VecQ.Tensors;

namespace VecQ.Cuda;

// Convolution as im2col + cuBLAS per group (in chunks of images whose column matrices fit ~64 MB), its two gradients
// (cuBLAS then col2im; cuBLAS accumulating over the images), pooling, and batch norm (NCHW, contiguous inputs).
public sealed unsafe partial class CudaBackend
{
    private const long ColumnBytes = 64L << 20;

    // Images per chunk so that images·Kg·P elements stay within ColumnBytes (at least one).
    private static int Chunk(Conv2dGeometry g, int elementBytes)
    {
        long perImage = (long)g.CPerGroup * g.KH * g.KW * g.OH * g.OW * elementBytes;
        return (int)Math.Clamp(ColumnBytes / Math.Max(1, perImage), 1, Math.Max(1, g.N));
    }

    // C (m×n, ld ldc, batch stride sc) = alpha·op(A)·op(B) + beta·C in column-major, for the dtype of the tensors.
    private void Gemm(DType dt, int opA, int opB, int m, int n, int k, ulong a, int lda, long sa, ulong b, int ldb, long sb,
        double beta, ulong c, int ldc, long sc, int batch)
    {
        if (dt == DType.Float32)
        {
            float al = 1, be = (float)beta;
            Cublas.Check(Cublas.cublasSgemmStridedBatched(_ctx.Blas, opA, opB, m, n, k, &al, a, lda, sa, b, ldb, sb, &be, c, ldc, sc, batch), "cublasSgemmStridedBatched");
        }
        else
        {
            double al = 1, be = beta;
            Cublas.Check(Cublas.cublasDgemmStridedBatched(_ctx.Blas, opA, opB, m, n, k, &al, a, lda, sa, b, ldb, sb, &be, c, ldc, sc, batch), "cublasDgemmStridedBatched");
        }
    }

    // body(col, n0, images, gi) for every chunk of images and every group, with one column scratch of a chunk's size
    // ([images, Kg, P]); kernels on the stream run in order, so the scratch is reused chunk after chunk.
    private void ForEachChunk(Conv2dGeometry g, DType dt, Action<ulong, int, int, int> body)
    {
        int kg = g.CPerGroup * g.KH * g.KW, p = g.OH * g.OW, chunk = Chunk(g, dt.Size());
        var col = Allocate(dt, (long)Math.Min(chunk, g.N) * kg * p);
        try
        {
            ulong cp = ((CudaStorage)col).Pointer;
            for (int n0 = 0; n0 < g.N; n0 += chunk)
                for (int gi = 0; gi < g.Groups; gi++) body(cp, n0, Math.Min(chunk, g.N - n0), gi);
        }
        finally { col.Release(); }
    }

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    {
        // x: [N, C, H, W], w: [O, C/groups, KH, KW], y: [N, O, OH, OW]; per group: y_g[n] [Og, P] = W_g [Og, Kg] · col[n] [Kg, P]
        Contiguous("conv2d", x, w, bias, y);
        string sfx = FloatSuffix("conv2d", x);
        int es = x.DType.Size(), kg = g.CPerGroup * g.KH * g.KW, og = g.OPerGroup, p = g.OH * g.OW;
        if (g.N == 0) return;
        ulong xp = At(x), wp = At(w), yp = At(y);
        var geom = ConvGeom.Of(g);
        ForEachChunk(g, x.DType, (cp, n0, images, gi) =>
        {
            Run("conv", "im2col_" + sfx, (long)images * kg * p, Args().Add(geom).Add(n0).Add(images).Add(gi).Add(xp).Add(cp));
            // column-major: y_gᵀ [P, Og] = colᵀ [P, Kg] · W_gᵀ [Kg, Og]
            Gemm(x.DType, Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, p, og, kg, cp, p, (long)kg * p, wp + (ulong)((long)gi * og * kg * es), kg, 0,
                0, yp + (ulong)(((long)n0 * g.O + (long)gi * og) * p * es), p, (long)g.O * p, images);
        });
        if (bias != null)
            Run("conv", "add_bias_" + sfx, y.Numel, Args().Add((long)y.Numel).Add(g.O).Add((long)p).Add(At(bias)).Add(At(y)));
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        // col[n] [Kg, P] = W_gᵀ [Kg, Og] · dy_g[n] [Og, P], then col2im into dx (every element of dx written)
        Contiguous("conv2d_backward_data", dy, w, dx);
        string sfx = FloatSuffix("conv2d_backward_data", dy);
        int es = dy.DType.Size(), kg = g.CPerGroup * g.KH * g.KW, og = g.OPerGroup, p = g.OH * g.OW;
        if (g.N == 0) return;
        ulong dyp = At(dy), wp = At(w), dxp = At(dx);
        var geom = ConvGeom.Of(g);
        ForEachChunk(g, dy.DType, (cp, n0, images, gi) =>
        {
            // column-major: colᵀ [P, Kg] = dy_gᵀ [P, Og] · W_g [Og, Kg]   (W_g's memory is W_gᵀ column-major: op T)
            Gemm(dy.DType, Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_T, p, kg, og, dyp + (ulong)(((long)n0 * g.O + (long)gi * og) * p * es), p, (long)g.O * p,
                wp + (ulong)((long)gi * og * kg * es), kg, 0, 0, cp, p, (long)kg * p, images);
            Run("conv", "col2im_" + sfx, (long)images * g.CPerGroup * g.H * g.W, Args().Add(geom).Add(n0).Add(images).Add(gi).Add(cp).Add(dxp));
        });
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null)
    {
        // dW_g [Og, Kg] = Σ_n dy_g[n] [Og, P] · col[n]ᵀ [P, Kg]: per chunk of images one GEMM over K = images·P, on the
        // chunk's columns and dy rows laid side by side (colK [Kg, images·P], dyK [Og, images·P]); beta 1 after the first chunk
        Contiguous("conv2d_backward_weight", x, dy, dw, dbias);
        string sfx = FloatSuffix("conv2d_backward_weight", x);
        int es = x.DType.Size(), kg = g.CPerGroup * g.KH * g.KW, og = g.OPerGroup, p = g.OH * g.OW;
        if (g.N == 0)
        {
            Fill(dw, 0);
            if (dbias != null) Fill(dbias, 0);
            return;
        }
        ulong xp = At(x), dyp = At(dy), dwp = At(dw);
        var geom = ConvGeom.Of(g);
        var dyK = Allocate(x.DType, (long)Math.Min(Chunk(g, es), g.N) * og * p);
        try
        {
            ulong dk = ((CudaStorage)dyK).Pointer;
            ForEachChunk(g, x.DType, (cp, n0, images, gi) =>
            {
                long width = (long)images * p;
                if (width > int.MaxValue) throw new ArgumentException($"cuda conv2d_backward_weight: {images} images of {p} positions exceed one GEMM");
                Run("conv", "im2col_kmajor_" + sfx, kg * width, Args().Add(geom).Add(n0).Add(images).Add(gi).Add(xp).Add(cp));
                Run("conv", "dy_kmajor_" + sfx, og * width, Args().Add(geom).Add(n0).Add(images).Add(gi).Add(dyp).Add(dk));
                // column-major: dW_gᵀ [Kg, Og] = colK [Kg, images·P] (its memory is colKᵀ: op T) · dyKᵀ [images·P, Og]
                Gemm(x.DType, Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, kg, og, (int)width, cp, (int)width, 0, dk, (int)width, 0,
                    n0 == 0 ? 0 : 1, dwp + (ulong)((long)gi * og * kg * es), kg, 0, 1);
            });
        }
        finally { dyK.Release(); }
        if (dbias != null)
            RunBlocks("conv", "bias_grad_" + sfx, g.O, Args().Add(g.N).Add(g.O).Add((long)p).Add(At(dy)).Add(At(dbias)));
    }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    {
        Contiguous("max_pool2d", x, y, indices);
        Run("pool", "maxpool_" + FloatSuffix("max_pool2d", x), y.Numel, Args().Add(PoolGeom.Of(g)).Add(At(x)).Add(At(y)).Add(At(indices)));
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    {
        Contiguous("max_pool2d_backward", dy, indices, dx);
        Run("pool", "maxpool_back_" + FloatSuffix("max_pool2d_backward", dy), dx.Numel, Args().Add(PoolGeom.Of(g)).Add(At(dy)).Add(At(indices)).Add(At(dx)));
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y)
    {
        Contiguous("avg_pool2d", x, y);
        Run("pool", "avgpool_" + FloatSuffix("avg_pool2d", x), y.Numel, Args().Add(PoolGeom.Of(g)).Add(At(x)).Add(At(y)));
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx)
    {
        Contiguous("avg_pool2d_backward", dy, dx);
        Run("pool", "avgpool_back_" + FloatSuffix("avg_pool2d_backward", dy), dx.Numel, Args().Add(PoolGeom.Of(g)).Add(At(dy)).Add(At(dx)));
    }

    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false)
    {
        // x: [N, C, S] → mean, var: [C]
        Contiguous("batch_norm_stats", x, mean, var);
        RunBlocks("norm", "bn_stats_" + FloatSuffix("batch_norm_stats", x), x.Dims[1],
            Args().Add(x.Dims[0]).Add(x.Dims[1]).Add((long)x.Dims[2]).Add(relu ? 1 : 0).Add(At(x)).Add(At(mean)).Add(At(var)));
    }

    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        Contiguous("batch_norm_forward", x, mean, invStd, gamma, beta, y);
        Run("norm", "bn_forward_" + FloatSuffix("batch_norm_forward", x), x.Numel, Args().Add((long)x.Numel).Add(x.Dims[1]).Add((long)x.Dims[2])
            .Add(At(x)).Add(At(mean)).Add(At(invStd)).Add(AtOpt(gamma)).Add(AtOpt(beta)).Add(At(y)));
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        Contiguous("batch_norm_backward", dy, x, mean, invStd, gamma, dx, dgamma, dbeta);
        string sfx = FloatSuffix("batch_norm_backward", x);
        int n = x.Dims[0], c = x.Dims[1];
        long s = x.Dims[2];
        var sums = Allocate(DType.Float64, 2L * Math.Max(1, c));   // Σ dy, Σ dy·x̂ per channel
        try
        {
            ulong sp = ((CudaStorage)sums).Pointer;
            RunBlocks("norm", "bn_back_sums_" + sfx, c, Args().Add(n).Add(c).Add(s).Add(At(dy)).Add(At(x)).Add(At(mean)).Add(At(invStd))
                .Add(sp).Add(AtOpt(dgamma)).Add(AtOpt(dbeta)));
            Run("norm", "bn_back_dx_" + sfx, x.Numel, Args().Add((long)x.Numel).Add(n).Add(c).Add(s).Add(At(dy)).Add(At(x)).Add(At(mean))
                .Add(At(invStd)).Add(AtOpt(gamma)).Add(sp).Add(At(dx)));
        }
        finally { sums.Release(); }
    }
}
