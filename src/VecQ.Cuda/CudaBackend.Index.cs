using VecQ.Tensors;

namespace VecQ.Cuda;

// Indexing along one axis; a bad index is reported at the next synchronisation (IBackend.Synchronize's contract).
public sealed partial class CudaBackend
{
    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y) =>
        Run("index", "index_select_" + Suffix(x), y.Numel, Args().Add((long)y.Numel).Add(axis).Add((long)x.Dims[axis])
            .Add(Desc.Of(y)).Add(Base(y)).Add(Desc.Of(x)).Add(Base(x)).Add(Desc.Of(index)).Add(Base(index)).Add(_ctx.ErrorSlot));

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src) =>
        Run("index", "index_add_" + FloatSuffix("index_add", dst), src.Numel, Args().Add((long)src.Numel).Add(axis).Add((long)dst.Dims[axis])
            .Add(Desc.Of(src)).Add(Base(src)).Add(Desc.Of(dst)).Add(Base(dst)).Add(Desc.Of(index)).Add(Base(index)).Add(_ctx.ErrorSlot));

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y) =>
        Run("index", "gather_" + Suffix(x), y.Numel, Args().Add((long)y.Numel).Add(axis).Add((long)x.Dims[axis])
            .Add(Desc.Of(y)).Add(Base(y)).Add(Desc.Of(x)).Add(Base(x)).Add(Desc.Of(index)).Add(Base(index)).Add(_ctx.ErrorSlot));

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src) =>
        Run("index", "scatter_add_" + FloatSuffix("scatter_add", dst), src.Numel, Args().Add((long)src.Numel).Add(axis).Add((long)dst.Dims[axis])
            .Add(Desc.Of(src)).Add(Base(src)).Add(Desc.Of(dst)).Add(Base(dst)).Add(Desc.Of(index)).Add(Base(index)).Add(_ctx.ErrorSlot));
}
