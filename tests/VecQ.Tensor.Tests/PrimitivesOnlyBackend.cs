namespace VecQ.Tensors.Tests;

/// <summary>
/// A backend that offers only the <see cref="IBackend"/> primitives of another one, none of its optional
/// capabilities (no <see cref="IFusedConvTail"/>, <see cref="IFusedOptimizer"/> or <see cref="IFusedLoss"/>): what a new backend looks like before it gets fused kernels,
/// so the op layer's generic fallbacks run. Selected with <c>Backend.Use</c>.
/// </summary>
internal sealed class PrimitivesOnlyBackend(IBackend inner) : IBackend
{
    public string Name => $"primitives({inner.Name})";
    public Storage Allocate(DType dtype, long length) => inner.Allocate(dtype, length);
    public MemoryStats MemoryStats => inner.MemoryStats;
    public void ResetPeakMemory() => inner.ResetPeakMemory();
    public TransferStats Transfers => inner.Transfers;
    public void Synchronize() => inner.Synchronize();
    public void Fill(Tensor dst, double value) => inner.Fill(dst, value);
    public void Copy(Tensor src, Tensor dst) => inner.Copy(src, dst);
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged => inner.Upload(src, dst);
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged => inner.Download(src, dst);
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp => inner.Unary(op, x, y);
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp => inner.Binary(op, a, b, y);
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) => inner.Where(cond, a, b, y);
    public void Reduce(ReduceOp op, Tensor x, Tensor y) => inner.Reduce(op, x, y);
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y) => inner.ArgReduce(max, x, axis, y);
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta) => inner.MatMul(a, b, c, alpha, beta);
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y) => inner.Conv2d(x, w, bias, g, y);
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx) => inner.Conv2dBackwardData(dy, w, g, dx);
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null) => inner.Conv2dBackwardWeight(x, dy, g, dw, dbias);
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices) => inner.MaxPool2d(x, g, y, indices);
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx) => inner.MaxPool2dBackward(dy, indices, g, dx);
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y) => inner.AvgPool2d(x, g, y);
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx) => inner.AvgPool2dBackward(dy, g, dx);
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false) => inner.BatchNormStats(x, mean, var, relu);
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y) =>
        inner.BatchNormForward(x, mean, invStd, gamma, beta, y);
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta) =>
        inner.BatchNormBackward(dy, x, mean, invStd, gamma, dx, dgamma, dbeta);
    public void Softmax(Tensor x, Tensor y, bool log) => inner.Softmax(x, y, log);
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y) => inner.IndexSelect(x, axis, index, y);
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src) => inner.IndexAdd(dst, axis, index, src);
    public void Gather(Tensor x, int axis, Tensor index, Tensor y) => inner.Gather(x, axis, index, y);
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src) => inner.ScatterAdd(dst, axis, index, src);
    public void SumOfSquares(Tensor x, Tensor result) => inner.SumOfSquares(x, result);
    public void GroupMoments(Tensor x, Tensor mean, Tensor std) => inner.GroupMoments(x, mean, std);
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots) =>
        inner.GridProject(w, center, step, spec, codes, v, dots);
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums) => inner.DequantizeSums(w, v, alpha, shift, q, sums);
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b) => inner.RandomFill(dst, kind, seed, counter, a, b);
}
