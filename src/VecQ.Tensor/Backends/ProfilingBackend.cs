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
public sealed class ProfilingBackend(IBackend inner) : IBackend, IFusedConvTail, IFusedOptimizer, IFusedLoss, IFusedLstmCell, IFusedLstmRecurrence, IFusedBatchNormActivation, IFusedConvBatchNorm
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

    /// <summary>The labels of an op struct, built once: <c>Unary:Exp</c>, <c>Binary:Add</c>, <c>Unary:ScalarRight&lt;Mul&gt;</c>.</summary>
    private static class OpLabel<TOp>
    {
        public static readonly string Unary = "Unary:" + TypeName(typeof(TOp));
        public static readonly string Binary = "Binary:" + TypeName(typeof(TOp));
    }

    private static string TypeName(Type t) => !t.IsGenericType ? t.Name
        : $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(",", t.GetGenericArguments().Select(TypeName))}>";

    /// <summary>Starts timing one call of <paramref name="op"/>; disposing the scope records it.</summary>
    private Scope Timed(string op) => new(this, op, Stopwatch.GetTimestamp());

    /// <summary>One timed call, recorded when disposed.</summary>
    private readonly struct Scope(ProfilingBackend owner, string op, long start) : IDisposable
    {
        public void Dispose()
        {
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            lock (owner._totals)
            {
                owner._totals.TryGetValue(op, out var s);
                owner._totals[op] = (s.Ms + ms, s.Calls + 1);
            }
        }
    }

    /// <inheritdoc/>
    public string Name => $"profiling({_inner.Name})";

    /// <inheritdoc/>
    public MemoryStats MemoryStats => _inner.MemoryStats;

    /// <inheritdoc/>
    public void ResetPeakMemory() => _inner.ResetPeakMemory();

    /// <inheritdoc/>
    public TransferStats Transfers => _inner.Transfers;

    /// <inheritdoc/>
    public void Synchronize() => _inner.Synchronize();

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length)
    {
        using var _ = Timed("Allocate");
        return _inner.Allocate(dtype, length);
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value)
    {
        using var _ = Timed("Fill");
        _inner.Fill(dst, value);
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        using var _ = Timed("Copy");
        _inner.Copy(src, dst);
    }

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        using var _ = Timed("Upload");
        _inner.Upload(src, dst);
    }

    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        using var _ = Timed("Download");
        _inner.Download(src, dst);
    }

    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    {
        using var _ = Timed(OpLabel<TOp>.Unary);
        _inner.Unary(op, x, y);
    }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    {
        using var _ = Timed(OpLabel<TOp>.Binary);
        _inner.Binary(op, a, b, y);
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        using var _ = Timed("Where");
        _inner.Where(cond, a, b, y);
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y)
    {
        using var _ = Timed($"Reduce:{op}");
        _inner.Reduce(op, x, y);
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y)
    {
        using var _ = Timed("ArgReduce");
        _inner.ArgReduce(max, x, axis, y);
    }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    {
        using var _ = Timed("MatMul");
        _inner.MatMul(a, b, c, alpha, beta);
    }

    // the convolution's family, so a profile separates MobileNet's depthwise and 1×1 layers from the rest
    private static string Kind(in Conv2dGeometry g) =>
        g.IsDepthwise ? ":depthwise" : g.KH == 1 && g.KW == 1 ? ":1x1" : $":{g.KH}x{g.KW}";

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    {
        using var _ = Timed("Conv2d" + Kind(g));
        _inner.Conv2d(x, w, bias, g, y);
    }

    /// <inheritdoc/>
    public void Conv2dBatchNorm(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta,
        FusedActivation? activation, Tensor y)
    {
        if (_inner is IFusedConvBatchNorm fused)
        {
            using var _ = Timed("Conv2dBatchNorm" + Kind(g));
            fused.Conv2dBatchNorm(x, w, bias, g, mean, invStd, gamma, beta, activation, y);
            return;
        }
        Conv2d(x, w, bias, g, y);
        using var y3 = y.View(g.N, g.O, g.OH * g.OW);
        if (activation is { } a) BatchNormActivation(y3, mean, invStd, gamma, beta, a, y3);
        else BatchNormForward(y3, mean, invStd, gamma, beta, y3);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    {
        using var _ = Timed("Conv2dBackwardData" + Kind(g));
        _inner.Conv2dBackwardData(dy, w, g, dx);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null)
    {
        using var _ = Timed("Conv2dBackwardWeight" + Kind(g));
        _inner.Conv2dBackwardWeight(x, dy, g, dw, dbias);
    }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    {
        using var _ = Timed("MaxPool2d");
        _inner.MaxPool2d(x, g, y, indices);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    {
        using var _ = Timed("MaxPool2dBackward");
        _inner.MaxPool2dBackward(dy, indices, g, dx);
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y)
    {
        using var _ = Timed("AvgPool2d");
        _inner.AvgPool2d(x, g, y);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx)
    {
        using var _ = Timed("AvgPool2dBackward");
        _inner.AvgPool2dBackward(dy, g, dx);
    }

    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false)
    {
        using var _ = Timed(relu ? "BatchNormStats:Relu" : "BatchNormStats");
        _inner.BatchNormStats(x, mean, var, relu);
    }

    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked)
    {
        using var _ = Timed("ReluBatchNormMaxPool2d");
        if (_inner is IFusedConvTail fused) fused.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, g, y, indices, picked);
        else ConvOps.UnfusedTail(_inner, x, mean, invStd, gamma, beta, g, y, indices, picked);
    }

    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        using var _ = Timed("ReluBatchNormMaxPool2dBackward");
        if (_inner is IFusedConvTail fused) fused.ReluBatchNormMaxPool2dBackward(dy, indices, picked, x, mean, invStd, gamma, g, dx, dgamma, dbeta);
        else ConvOps.UnfusedTailBackward(_inner, dy, indices, x, mean, invStd, gamma, g, dx, dgamma, dbeta);
    }

    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        using var _ = Timed("BatchNormForward");
        _inner.BatchNormForward(x, mean, invStd, gamma, beta, y);
    }

    /// <inheritdoc/>
    public void BatchNormActivation(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation activation, Tensor y)
    {
        if (_inner is IFusedBatchNormActivation fused)
        {
            using var _ = Timed("BatchNormActivation");
            fused.BatchNormActivation(x, mean, invStd, gamma, beta, activation, y);
            return;
        }
        BatchNormForward(x, mean, invStd, gamma, beta, y);
        NnOps.Activate(this, activation, y);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        using var _ = Timed("BatchNormBackward");
        _inner.BatchNormBackward(dy, x, mean, invStd, gamma, dx, dgamma, dbeta);
    }

    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        using var _ = Timed("LstmCell");
        if (_inner is IFusedLstmCell fused) fused.LstmCell(gates, bias, cPrev, acts, c, h);
        else RnnOps.UnfusedLstmCell(_inner, gates, bias, cPrev, acts, c, h);
    }

    /// <inheritdoc/>
    public void LstmForwardSteps(Tensor whhT, Tensor? bias, Tensor h0, Tensor acts, Tensor cells, Tensor output, bool reverse)
    {
        if (_inner is IFusedLstmRecurrence fused)
        {
            using var _ = Timed("LstmForwardSteps");
            fused.LstmForwardSteps(whhT, bias, h0, acts, cells, output, reverse);
            return;
        }
        RnnOps.UnfusedLstmForwardSteps(this, whhT, bias, h0, acts, cells, output, reverse);   // timed as MatMul and LstmCell
    }

    /// <inheritdoc/>
    public void LstmBackwardSteps(Tensor whh, Tensor acts, Tensor cells, Tensor dOutput, Tensor dc, Tensor dG, bool reverse)
    {
        if (_inner is IFusedLstmRecurrence fused)
        {
            using var _ = Timed("LstmBackwardSteps");
            fused.LstmBackwardSteps(whh, acts, cells, dOutput, dc, dG, reverse);
            return;
        }
        RnnOps.UnfusedLstmBackwardSteps(this, whh, acts, cells, dOutput, dc, dG, reverse);   // timed as Copy, MatMul and LstmCellBackward
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        using var _ = Timed("LstmCellBackward");
        if (_inner is IFusedLstmCell fused) fused.LstmCellBackward(acts, cPrev, c, dh, dc, dgates, dcPrev);
        else RnnOps.UnfusedLstmCellBackward(_inner, acts, cPrev, c, dh, dc, dgates, dcPrev);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        using var _ = Timed("Softmax");
        _inner.Softmax(x, y, log);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        using var _ = Timed("SoftmaxCrossEntropy");
        if (_inner is IFusedLoss fused) fused.SoftmaxCrossEntropy(logits, labels, smoothing, loss, probs);
        else NnOps.SoftmaxCrossEntropyUnfused(logits, labels, smoothing, loss, probs);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        using var _ = Timed("SoftmaxCrossEntropyBackward");
        if (_inner is IFusedLoss fused) fused.SoftmaxCrossEntropyBackward(probs, labels, smoothing, dloss, dlogits);
        else NnOps.SoftmaxCrossEntropyBackwardUnfused(probs, labels, smoothing, dloss, dlogits);
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y)
    {
        using var _ = Timed("IndexSelect");
        _inner.IndexSelect(x, axis, index, y);
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        using var _ = Timed("IndexAdd");
        _inner.IndexAdd(dst, axis, index, src);
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y)
    {
        using var _ = Timed("Gather");
        _inner.Gather(x, axis, index, y);
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        using var _ = Timed("ScatterAdd");
        _inner.ScatterAdd(dst, axis, index, src);
    }

    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        using var _ = Timed("SgdStep");
        if (_inner is IFusedOptimizer fused) fused.SgdStep(param, grad, momentumBuffer, args);
        else OptimOps.SgdStepUnfused(param, grad, momentumBuffer, args);
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        using var _ = Timed("AdamStep");
        if (_inner is IFusedOptimizer fused) fused.AdamStep(param, grad, expAvg, expAvgSq, args);
        else OptimOps.AdamStepUnfused(param, grad, expAvg, expAvgSq, args);
    }

    /// <inheritdoc/>
    public void SumOfSquares(Tensor x, Tensor result)
    {
        using var _ = Timed("SumOfSquares");
        _inner.SumOfSquares(x, result);
    }

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        using var _ = Timed("RandomFill");
        _inner.RandomFill(dst, kind, seed, counter, a, b);
    }

    /// <inheritdoc/>
    public void GroupMoments(Tensor x, Tensor mean, Tensor std)
    {
        using var _ = Timed("GroupMoments");
        _inner.GroupMoments(x, mean, std);
    }

    /// <inheritdoc/>
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots)
    {
        using var _ = Timed("GridProject");
        _inner.GridProject(w, center, step, spec, codes, v, dots);
    }

    /// <inheritdoc/>
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums)
    {
        using var _ = Timed("DequantizeSums");
        _inner.DequantizeSums(w, v, alpha, shift, q, sums);
    }
}
