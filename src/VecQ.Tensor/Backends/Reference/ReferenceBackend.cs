namespace VecQ.Tensors;

/// <summary>TEMPORARY scaffold (to be replaced).</summary>
public sealed class ReferenceBackend : IBackend
{
    /// <inheritdoc/>
    public string Name => "reference";
    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Fill(Tensor dst, double value) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b) => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp => throw new InvalidOperationException("scaffold");
    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp => throw new InvalidOperationException("scaffold");
}
