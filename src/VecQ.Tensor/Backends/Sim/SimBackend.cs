using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace VecQ.Tensors;

/// <summary>
/// The simulated accelerator's backend (<see cref="Device.Sim"/>): the test bed that proves a GPU
/// backend can plug in. Its storages (<see cref="SimStorage"/>) are private blocks the host cannot reach;
/// data crosses only through <see cref="Upload{T}"/> and <see cref="Download{T}"/>, which are counted
/// (calls, bytes, synchronisations), and every kernel runs the CPU backend's code on the private blocks,
/// so results equal the CPU device's bit for bit. Live bytes are counted per device.
/// </summary>
/// <remarks>
/// Ordering contract, as a GPU stream's: kernels run in call order; the host sees results only through a
/// download (a synchronisation). The simulation runs each kernel at the call, so its errors surface there;
/// a real accelerator may report a bad index only at the next synchronisation, and callers must not
/// rely on the exact call that reports it.
/// </remarks>
/// <example><code>
/// var sim = Device.Sim();
/// using var x = Tensor.FromArray(new float[] { 1, 2, 3 }, device: sim);   // one upload
/// using var y = x.Mul(2);                                                 // runs on sim's memory
/// float[] back = y.ToArray();                                             // one download
/// Console.WriteLine(SimBackend.For(0).Transfers);                         // 1 upload, 1 download
/// </code></example>
public sealed class SimBackend : IBackend, IFusedConvTail, IFusedOptimizer, IFusedLoss, IFusedLstmCell
{
    private static readonly ConcurrentDictionary<int, SimBackend> Devices = new();
    private readonly MemoryCounter _memory = new();
    private readonly ConcurrentQueue<CpuStorage> _deferred = new();
    private long _uploads, _uploadBytes, _downloads, _downloadBytes, _syncs;

    private SimBackend(int index) { Device = Device.Sim(index); }

    /// <summary>The backend of <c>sim:<paramref name="index"/></c> (one per index, made on first use).</summary>
    public static SimBackend For(int index) => Devices.GetOrAdd(index, i => new SimBackend(i));

    /// <summary>The device this backend serves.</summary>
    public Device Device { get; }

    /// <inheritdoc/>
    public string Name => $"sim:{Device.Index}";

    /// <inheritdoc/>
    public MemoryStats MemoryStats { get { DrainDeferred(); return _memory.Snapshot(); } }

    /// <inheritdoc/>
    public void ResetPeakMemory() => _memory.ResetPeak();

    /// <inheritdoc/>
    public TransferStats Transfers => new(Volatile.Read(ref _uploads), Volatile.Read(ref _uploadBytes), Volatile.Read(ref _downloads),
        Volatile.Read(ref _downloadBytes), Volatile.Read(ref _syncs));

    /// <inheritdoc/>
    public void Synchronize()
    {
        Interlocked.Increment(ref _syncs);
        DrainDeferred();
    }

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length)
    {
        DrainDeferred();
        return new SimStorage(this, CpuStorage.Allocate(dtype, length, _memory));
    }

    /// <summary>Queues a block whose storage was never released (called by its finalizer).</summary>
    internal void DeferFree(CpuStorage block) => _deferred.Enqueue(block);

    private void DrainDeferred()
    {
        while (_deferred.TryDequeue(out var block)) block.Release();
    }

    // ---- the private view of a sim tensor ------------------------------------------------

    /// <summary>A host view over <paramref name="t"/>'s private block (same layout); the caller disposes it.</summary>
    private Tensor H(Tensor t)
    {
        if (t.Storage is not SimStorage s || t.Device != Device)
            throw new ArgumentException($"{Name} backend: tensor {t.ShapeText} lives on {t.Device}; expected {Device} (move it with To(device))");
        return new Tensor(s.Inner, t.Dims, t.Strides, t.Offset);
    }

    private Tensor? HOpt(Tensor? t) => t is null ? null : H(t);

    /// <summary>The kernels: the CPU device's backend in the current scope (a test may select the reference one).</summary>
    private static IBackend Cpu => Backend.For(Device.Cpu);

    // ---- data movement -------------------------------------------------------------------

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        using var d = H(dst);
        Cpu.Upload(src, d);
        Interlocked.Increment(ref _uploads);
        Interlocked.Add(ref _uploadBytes, (long)src.Length * Marshal.SizeOf<T>());
    }

    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        using var s = H(src);
        Cpu.Download(s, dst);
        Interlocked.Increment(ref _downloads);
        Interlocked.Add(ref _downloadBytes, (long)dst.Length * Marshal.SizeOf<T>());
        Interlocked.Increment(ref _syncs); // the host waits for the result
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value) { using var d = H(dst); Cpu.Fill(d, value); }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst) { using var s = H(src); using var d = H(dst); Cpu.Copy(s, d); }

    // ---- elementwise, reductions, linear algebra -------------------------------------------

    /// <inheritdoc/>
    public void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp
    { using var hx = H(x); using var hy = H(y); Cpu.Unary(op, hx, hy); }

    /// <inheritdoc/>
    public void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp
    { using var ha = H(a); using var hb = H(b); using var hy = H(y); Cpu.Binary(op, ha, hb, hy); }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    { using var hc = H(cond); using var ha = H(a); using var hb = H(b); using var hy = H(y); Cpu.Where(hc, ha, hb, hy); }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, Tensor y) { using var hx = H(x); using var hy = H(y); Cpu.Reduce(op, hx, hy); }

    /// <inheritdoc/>
    public void ArgReduce(bool max, Tensor x, int axis, Tensor y) { using var hx = H(x); using var hy = H(y); Cpu.ArgReduce(max, hx, axis, hy); }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta)
    { using var ha = H(a); using var hb = H(b); using var hc = H(c); Cpu.MatMul(ha, hb, hc, alpha, beta); }

    // ---- convolution and pooling -------------------------------------------------------------

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y)
    { using var hx = H(x); using var hw = H(w); using var hb = HOpt(bias); using var hy = H(y); Cpu.Conv2d(hx, hw, hb, g, hy); }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx)
    { using var hdy = H(dy); using var hw = H(w); using var hdx = H(dx); Cpu.Conv2dBackwardData(hdy, hw, g, hdx); }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null)
    { using var hx = H(x); using var hdy = H(dy); using var hdw = H(dw); using var hdb = HOpt(dbias); Cpu.Conv2dBackwardWeight(hx, hdy, g, hdw, hdb); }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices)
    { using var hx = H(x); using var hy = H(y); using var hi = H(indices); Cpu.MaxPool2d(hx, g, hy, hi); }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx)
    { using var hdy = H(dy); using var hi = H(indices); using var hdx = H(dx); Cpu.MaxPool2dBackward(hdy, hi, g, hdx); }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y) { using var hx = H(x); using var hy = H(y); Cpu.AvgPool2d(hx, g, hy); }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx) { using var hdy = H(dy); using var hdx = H(dx); Cpu.AvgPool2dBackward(hdy, g, hdx); }

    // ---- normalisation, softmax, loss ------------------------------------------------------------

    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false)
    { using var hx = H(x); using var hm = H(mean); using var hv = H(var); Cpu.BatchNormStats(hx, hm, hv, relu); }

    /// <inheritdoc/>
    public void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y)
    {
        using var hx = H(x); using var hm = H(mean); using var hs = H(invStd); using var hg = HOpt(gamma); using var hb = HOpt(beta); using var hy = H(y);
        Cpu.BatchNormForward(hx, hm, hs, hg, hb, hy);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        using var hdy = H(dy); using var hx = H(x); using var hm = H(mean); using var hs = H(invStd); using var hg = HOpt(gamma);
        using var hdx = H(dx); using var hdg = HOpt(dgamma); using var hdb = HOpt(dbeta);
        Cpu.BatchNormBackward(hdy, hx, hm, hs, hg, hdx, hdg, hdb);
    }

    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked)
    {
        using var hx = H(x); using var hm = H(mean); using var hs = H(invStd); using var hg = HOpt(gamma); using var hb = HOpt(beta);
        using var hy = H(y); using var hi = H(indices); using var hp = H(picked);
        var cpu = Cpu;
        if (cpu is IFusedConvTail fused) fused.ReluBatchNormMaxPool2d(hx, hm, hs, hg, hb, g, hy, hi, hp);
        else ConvOps.UnfusedTail(cpu, hx, hm, hs, hg, hb, g, hy, hi, hp);
    }

    /// <inheritdoc/>
    public void ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        using var hdy = H(dy); using var hi = H(indices); using var hp = H(picked); using var hx = H(x); using var hm = H(mean);
        using var hs = H(invStd); using var hg = HOpt(gamma); using var hdx = H(dx); using var hdg = HOpt(dgamma); using var hdb = HOpt(dbeta);
        var cpu = Cpu;
        if (cpu is IFusedConvTail fused) fused.ReluBatchNormMaxPool2dBackward(hdy, hi, hp, hx, hm, hs, hg, g, hdx, hdg, hdb);
        else ConvOps.UnfusedTailBackward(cpu, hdy, hi, hx, hm, hs, hg, g, hdx, hdg, hdb);
    }

    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        using var hg = H(gates); using var hbias = HOpt(bias); using var hcp = H(cPrev); using var ha = H(acts); using var hc = H(c); using var hh = H(h);
        if (Cpu is IFusedLstmCell fused) fused.LstmCell(hg, hbias, hcp, ha, hc, hh);
        else RnnOps.UnfusedLstmCell(Cpu, hg, hbias, hcp, ha, hc, hh);
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        using var ha = H(acts); using var hcp = H(cPrev); using var hc = H(c); using var hdh = H(dh); using var hdc = H(dc);
        using var hdg = H(dgates); using var hdcp = H(dcPrev);
        if (Cpu is IFusedLstmCell fused) fused.LstmCellBackward(ha, hcp, hc, hdh, hdc, hdg, hdcp);
        else RnnOps.UnfusedLstmCellBackward(Cpu, ha, hcp, hc, hdh, hdc, hdg, hdcp);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log) { using var hx = H(x); using var hy = H(y); Cpu.Softmax(hx, hy, log); }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        using var hl = H(logits); using var hy = H(labels); using var hloss = H(loss); using var hp = H(probs);
        if (Cpu is IFusedLoss fused) fused.SoftmaxCrossEntropy(hl, hy, smoothing, hloss, hp);
        else NnOps.SoftmaxCrossEntropyUnfused(hl, hy, smoothing, hloss, hp);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        using var hp = H(probs); using var hy = H(labels); using var hd = H(dloss); using var hdl = H(dlogits);
        if (Cpu is IFusedLoss fused) fused.SoftmaxCrossEntropyBackward(hp, hy, smoothing, hd, hdl);
        else NnOps.SoftmaxCrossEntropyBackwardUnfused(hp, hy, smoothing, hd, hdl);
    }

    // ---- indexing ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y)
    { using var hx = H(x); using var hi = H(index); using var hy = H(y); Cpu.IndexSelect(hx, axis, hi, hy); }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src)
    { using var hd = H(dst); using var hi = H(index); using var hs = H(src); Cpu.IndexAdd(hd, axis, hi, hs); }

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y)
    { using var hx = H(x); using var hi = H(index); using var hy = H(y); Cpu.Gather(hx, axis, hi, hy); }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src)
    { using var hd = H(dst); using var hi = H(index); using var hs = H(src); Cpu.ScatterAdd(hd, axis, hi, hs); }

    // ---- optimizer steps, random -------------------------------------------------------------------

    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        using var hp = H(param); using var hg = H(grad); using var hm = HOpt(momentumBuffer);
        if (Cpu is IFusedOptimizer fused) fused.SgdStep(hp, hg, hm, args);
        else OptimOps.SgdStepUnfused(hp, hg, hm, args);
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        using var hp = H(param); using var hg = H(grad); using var hm = H(expAvg); using var hv = H(expAvgSq);
        if (Cpu is IFusedOptimizer fused) fused.AdamStep(hp, hg, hm, hv, args);
        else OptimOps.AdamStepUnfused(hp, hg, hm, hv, args);
    }

    /// <inheritdoc/>
    public void SumOfSquares(Tensor x, Tensor result) { using var hx = H(x); using var hr = H(result); Cpu.SumOfSquares(hx, hr); }

    /// <inheritdoc/>
    public void GroupMoments(Tensor x, Tensor mean, Tensor std)
    { using var hx = H(x); using var hm = H(mean); using var hs = H(std); Cpu.GroupMoments(hx, hm, hs); }

    /// <inheritdoc/>
    public void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots)
    {
        using var hw = H(w); using var hc = H(center); using var hs = H(step); using var hcodes = H(codes); using var hv = H(v); using var hd = H(dots);
        Cpu.GridProject(hw, hc, hs, spec, hcodes, hv, hd);
    }

    /// <inheritdoc/>
    public void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums)
    {
        using var hw = H(w); using var hv = H(v); using var ha = H(alpha); using var hs = H(shift); using var hq = H(q); using var hsum = H(sums);
        Cpu.DequantizeSums(hw, hv, ha, hs, hq, hsum);
    }

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    { using var d = H(dst); Cpu.RandomFill(d, kind, seed, counter, a, b); }
}
