using System.Diagnostics;

namespace VecQ.Tensors;

/// <summary>
/// An <see cref="IBackend"/> that forwards every call to another one and adds up the wall time and the
/// number of calls per operation (elementwise ops and reductions per kind): where a training step's time
/// goes. Time spent inside a call is counted once, on the thread that made the call.
/// </summary>
/// <example><code>
/// var profiler = new ProfilingBackend(Backend.Cpu);
/// using (Backend.Use(profiler)) { /* run some steps */ }
/// foreach (var op in profiler.Totals()) Console.WriteLine($"{op.Op}: {op.Milliseconds:F1} ms in {op.Calls} calls");
/// </code></example>
public sealed class ProfilingBackend(IBackend inner) : IBackend
{
    private readonly IBackend _inner = inner;
    private readonly Dictionary<string, (double Ms, long Calls)> _totals = new();

    /// <summary>One operation's totals.</summary>
    /// <param name="Op">Operation name (e.g. <c>Conv2d</c>, <c>Binary:Add</c>, <c>Reduce:Sum</c>).</param>
    /// <param name="Milliseconds">Wall time of all its calls.</param>
    /// <param name="Calls">Number of calls.</param>
    public readonly record struct OpTotal(string Op, double Milliseconds, long Calls);

    /// <summary>The totals so far, largest time first.</summary>
    public IReadOnlyList<OpTotal> Totals()
    {
        lock (_totals) return _totals.Select(kv => new OpTotal(kv.Key, kv.Value.Ms, kv.Value.Calls)).OrderByDescending(o => o.Milliseconds).ToList();
    }

    /// <summary>Forgets the totals.</summary>
    public void Reset()
    {
        lock (_totals) _totals.Clear();
    }

    private void Record(string op, long start)
    {
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        lock (_totals)
        {
            _totals.TryGetValue(op, out var s);
            _totals[op] = (s.Ms + ms, s.Calls + 1);
        }
    }

    /// <inheritdoc/>
    public string Name => $"profiling({_inner.Name})";

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length)
    {
        long t = Stopwatch.GetTimestamp();
        var r = _inner.Allocate(dtype, length);
        Record("Allocate", t);
        return r;
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Fill(dst, value);
        Record("Fill", t);
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Copy(src, dst);
        Record("Copy", t);
    }

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Upload(src, dst);
        Record("Upload", t);
    }

    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Download(src, dst);
        Record("Download", t);
    }

    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Unary(op, x, y);
        Record($"Unary:{typeof(TOp).Name}", t);
    }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Binary(op, a, b, y);
        Record($"Binary:{typeof(TOp).Name}", t);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Where(cond, a, b, y);
        Record("Where", t);
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Reduce(op, x, y);
        Record($"Reduce:{op}", t);
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.ArgReduce(max, x, axis, y);
        Record("ArgReduce", t);
    }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.MatMul(a, b, c, alpha, beta);
        Record("MatMul", t);
    }

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Conv2d(x, w, bias, g, y);
        Record("Conv2d", t);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Conv2dBackwardData(dy, w, g, dx);
        Record("Conv2dBackwardData", t);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Conv2dBackwardWeight(x, dy, g, dw);
        Record("Conv2dBackwardWeight", t);
    }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.MaxPool2d(x, g, y, indices);
        Record("MaxPool2d", t);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.MaxPool2dBackward(dy, indices, g, dx);
        Record("MaxPool2dBackward", t);
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.AvgPool2d(x, g, y);
        Record("AvgPool2d", t);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.AvgPool2dBackward(dy, g, dx);
        Record("AvgPool2dBackward", t);
    }

    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.BatchNormStats(x, mean, var);
        Record("BatchNormStats", t);
    }

    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.BatchNormForward(x, mean, invStd, gamma, beta, y);
        Record("BatchNormForward", t);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.BatchNormBackward(dy, x, mean, invStd, gamma, dx, dgamma, dbeta);
        Record("BatchNormBackward", t);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Softmax(x, y, log);
        Record("Softmax", t);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.SoftmaxCrossEntropy(logits, labels, smoothing, loss, probs);
        Record("SoftmaxCrossEntropy", t);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.SoftmaxCrossEntropyBackward(probs, labels, smoothing, dloss, dlogits);
        Record("SoftmaxCrossEntropyBackward", t);
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.IndexSelect(x, axis, index, y);
        Record("IndexSelect", t);
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.IndexAdd(dst, axis, index, src);
        Record("IndexAdd", t);
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.Gather(x, axis, index, y);
        Record("Gather", t);
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.ScatterAdd(dst, axis, index, src);
        Record("ScatterAdd", t);
    }

    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.SgdStep(param, grad, momentumBuffer, args);
        Record("SgdStep", t);
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.AdamStep(param, grad, expAvg, expAvgSq, args);
        Record("AdamStep", t);
    }

    /// <inheritdoc/>
    public double SumOfSquares(Tensor x)
    {
        long t = Stopwatch.GetTimestamp();
        var r = _inner.SumOfSquares(x);
        Record("SumOfSquares", t);
        return r;
    }

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        long t = Stopwatch.GetTimestamp();
        _inner.RandomFill(dst, kind, seed, counter, a, b);
        Record("RandomFill", t);
    }
}
