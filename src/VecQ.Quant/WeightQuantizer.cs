using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>A weight quantizer on host data: k bits, one group per call.</summary>
/// <example><code>
/// IWeightQuantizer q = new VecQQuantizer(3);
/// QuantResult r = q.Quantize(weights);   // codes, α, losses
/// </code></example>
public interface IWeightQuantizer
{
    /// <summary>Bit width k.</summary>
    int Bits { get; }

    /// <summary>The method.</summary>
    QuantMethod Method { get; }

    /// <summary>Quantizes <paramref name="w"/> as one group (whatever the granularity setting).</summary>
    QuantResult Quantize(ReadOnlySpan<float> w);
}

/// <summary>Which kind of pass a quantization is (lets a method cache work between forwards).</summary>
/// <example><code>// see VecQQuantizer: exact λ is re-searched every ExactEvery training forwards</code></example>
public enum QuantPass
{
    /// <summary>A forward pass in training mode.</summary>
    TrainingForward,
    /// <summary>A forward pass in evaluation mode.</summary>
    EvalForward,
    /// <summary>A call outside the forward pass (<see cref="WeightQuantizer.Quantize"/>, export, reports): no caches.</summary>
    Standalone,
}

/// <summary>
/// The shared base of all weight quantizers (VecQ and the baselines) and their
/// <see cref="IParameterTransform"/> adapter: the one place for the straight-through estimator,
/// per-channel grouping, the dequantization formula and the loss metrics. A method only implements
/// <see cref="QuantizeGroup"/> (codes and grid values v for one group, and its α/shift).
/// </summary>
/// <remarks>
/// <para>Forward (<see cref="Apply"/>, training and evaluation alike): the float weights are read on the
/// host (the tensor's own memory when it is a contiguous CPU tensor), each group is quantized, the
/// dequantized w_q = α·v (+ shift) is written into a new tensor and returned through
/// <c>Functions.StraightThrough(p.Variable, w_q)</c>: forward w_q, dL/dw := dL/dw_q (no gradient through
/// σ, λ or α). Cost: a few SIMD passes over the weights (σ, projection, α, dequantization, one fused
/// pass for all losses), no per-element delegates; the codes tensor and scratch are reused between forwards.</para>
/// <para>After each forward the properties <see cref="Codes"/>, <see cref="Groups"/> (α, λ, σ, shift per
/// group), <see cref="OrientationLoss"/>, <see cref="ModulusLoss"/>, <see cref="Dql"/> and
/// <see cref="NormalizedDql"/> describe that forward's quantization.</para>
/// <para>Granularity: <see cref="Granularity.PerChannel"/> makes each index of axis 0 its own group
/// (one σ, λ, α per output channel) for tensors of rank ≥ 2; rank 0/1 tensors are one group.</para>
/// <para>One instance per parameter: the cached buffers follow the last tensor seen.</para>
/// </remarks>
/// <example><code>
/// var q = new VecQQuantizer(bits: 2);
/// layer.Weight.Transform = q;               // every forward now uses α·v
/// using var y = layer.Forward(x);
/// Console.WriteLine($"α = {q.Alpha}, J_o = {q.OrientationLoss}, DQL/|w|² = {q.NormalizedDql}");
/// </code></example>
public abstract class WeightQuantizer : IWeightQuantizer, IParameterTransform, IDisposable
{
    /// <summary>Largest supported bit width.</summary>
    public const int MaxBits = 16;

    private Tensor? _codes;             // like w, int32, on w's device
    private Tensor? _v;                 // [G, M] float32 grid values (device path)
    private Tensor? _zeros;             // [G] float32 zeros: centre and shift of the device path
    private DeviceForward? _last;       // what the last device forward left to read on request
    private QuantGroup[] _groups = [];
    private QuantMetrics _metrics;

    /// <summary>Checks the bit width for <paramref name="method"/> and stores the settings.</summary>
    /// <exception cref="ArgumentException">bits outside 1..16, or not 2 for TWN / 1 for binary.</exception>
    protected WeightQuantizer(QuantMethod method, int bits, Granularity granularity)
    {
        method.CheckBits(bits);
        if (!Enum.IsDefined(granularity)) throw new ArgumentException($"{method.Name()}: unknown granularity {(int)granularity}");
        Method = method;
        Bits = bits;
        Granularity = granularity;
    }

    /// <summary>Creates the quantizer of <paramref name="method"/>.</summary>
    /// <exception cref="ArgumentException">Bits not supported by the method (message names the value).</exception>
    /// <example><code>var q = WeightQuantizer.Create(QuantMethod.MuL2Q, 4);</code></example>
    public static WeightQuantizer Create(QuantMethod method, int bits, LambdaMode lambdaMode = LambdaMode.Gaussian, Granularity granularity = Granularity.PerTensor) => method switch
    {
        QuantMethod.VecQ => new VecQQuantizer(bits, lambdaMode, granularity),
        QuantMethod.MuL2Q => new MuL2QQuantizer(bits, granularity),
        QuantMethod.Twn => new TwnQuantizer(bits, granularity),
        QuantMethod.IterativeL2 => new IterativeL2Quantizer(bits, granularity),
        QuantMethod.Uniform => new UniformQuantizer(bits, granularity),
        QuantMethod.Binary => new BinaryQuantizer(bits, granularity),
        _ => throw new ArgumentException($"weight quantizer: unknown method {(int)method}"),
    };

    /// <inheritdoc/>
    public QuantMethod Method { get; }

    /// <inheritdoc/>
    public int Bits { get; }

    /// <summary>Per tensor or per output channel.</summary>
    public Granularity Granularity { get; }

    /// <summary>Smallest code, −2^(k−1).</summary>
    public int MinCode => -(1 << (Bits - 1));

    /// <summary>Largest code, 2^(k−1) − 1.</summary>
    public int MaxCode => (1 << (Bits - 1)) - 1;

    /// <summary>
    /// The int32 codes of the last forward (shape and device of the weight): v − ½ for the half-integer grids,
    /// in [−2^(k−1), 2^(k−1) − 1]. Owned by the quantizer and overwritten by the next forward (Clone to keep).
    /// </summary>
    public Tensor? Codes => _codes;

    /// <summary>Per-group parameters of the last forward (empty before the first; read from the device when asked).</summary>
    public IReadOnlyList<QuantGroup> Groups { get { Settle(); return _groups; } }

    /// <summary>α per group.</summary>
    public float[] Alphas => Groups.Select(g => g.Alpha).ToArray();

    /// <summary>λ per group (units of σ).</summary>
    public double[] Lambdas => Groups.Select(g => g.Lambda).ToArray();

    /// <summary>σ per group.</summary>
    public double[] Sigmas => Groups.Select(g => g.Sigma).ToArray();

    /// <summary>Shift per group (0 except μL2Q and uniform).</summary>
    public float[] Shifts => Groups.Select(g => g.Shift).ToArray();

    /// <summary>α of the first group (the only one per tensor); NaN before the first forward.</summary>
    public float Alpha => Groups.Count > 0 ? Groups[0].Alpha : float.NaN;

    /// <summary>λ of the first group; NaN before the first forward.</summary>
    public double Lambda => Groups.Count > 0 ? Groups[0].Lambda : double.NaN;

    /// <summary>σ of the first group; NaN before the first forward.</summary>
    public double Sigma => Groups.Count > 0 ? Groups[0].Sigma : double.NaN;

    /// <summary>The losses of the last forward (read from the device when asked).</summary>
    public QuantMetrics Metrics { get { Settle(); return _metrics; } private set => _metrics = value; }

    /// <summary>J_o = 1 − cos(w, w_q) of the last forward.</summary>
    public double OrientationLoss => Metrics.OrientationLoss;

    /// <summary>J_m = |w − α v|² of the last forward.</summary>
    public double ModulusLoss => Metrics.ModulusLoss;

    /// <summary>DQL = |w − α v|² of the last forward.</summary>
    public double Dql => Metrics.Dql;

    /// <summary>DQL/|w|² of the last forward.</summary>
    public double NormalizedDql => Metrics.NormalizedDql;

    /// <summary>Number of forwards (<see cref="Apply"/> calls) so far.</summary>
    public long ForwardCount { get; private set; }

    /// <summary>
    /// The transform: quantizes <c>p.Data</c> and returns w_q through the straight-through estimator
    /// (identity gradient to <c>p.Variable</c>). Float32 weights on any device. Methods with a device form
    /// (<see cref="DeviceLambdas"/>: VecQ) run as backend operations on the weights' device and read nothing
    /// back; the others quantize a downloaded copy on the host and upload w_q and the codes.
    /// </summary>
    /// <example><code>using var wq = q.Apply(layer.Weight, training: true);</code></example>
    public Variable Apply(Parameter p, bool training)
    {
        ArgumentNullException.ThrowIfNull(p);
        var data = p.Data;
        CheckTensor(data, p.Name);
        var pass = training ? QuantPass.TrainingForward : QuantPass.EvalForward;
        if (_codes == null || _codes.IsDisposed || !Shape.Equal(_codes.Dims, data.Dims) || _codes.Device != data.Device)
        {
            _codes?.Dispose();
            _codes = Tensor.Empty(data.Dims, DType.Int32, data.Device);   // codes: like w, int32
        }
        Tensor q = HasDeviceForm ? ForwardOnDevice(data, pass) : ForwardOnHost(data, pass);   // w_q: like w
        ForwardCount++;
        try { return Functions.StraightThrough(p.Variable, q); }         // like w; dL/dw = dL/dw_q
        finally { q.Dispose(); }                                          // the straight-through output holds its own reference
    }

    /// <summary>True when the method overrides <see cref="DeviceLambdas"/> (its forward runs on the weights' device).</summary>
    protected virtual bool HasDeviceForm => false;

    /// <summary>
    /// The device form's λ per group for this pass: a [G] float64 tensor on <paramref name="w"/>'s device that
    /// the quantizer owns (step = λ·σ + 1e-7 on the half-integer grid, α = w·v/(v·v + 1e-7)).
    /// </summary>
    /// <param name="w">The weights as [G, M] (one row per group), on their device.</param>
    /// <param name="pass">The kind of pass.</param>
    protected virtual Tensor DeviceLambdas(Tensor w, QuantPass pass) =>
        throw new InvalidOperationException($"{Method.Name()}: this method has no device form");

    /// <summary>Releases the device tensors a method keeps between forwards (called by <see cref="Dispose"/>).</summary>
    protected virtual void DisposeDeviceState() { }

    // VecQ's steering and driving as backend operations: no host read, every tensor on w's device.
    private Tensor ForwardOnDevice(Tensor data, QuantPass pass)
    {
        int groups = GroupCount(data.Dims), m = data.Numel / groups;
        using var w = data.Reshape([groups, m]);                                   // [G, M]
        if (_v == null || _v.IsDisposed || !Shape.Equal(_v.Dims, w.Dims) || _v.Device != w.Device)
        {
            _v?.Dispose(); _zeros?.Dispose();
            _v = Tensor.Empty(w.Dims, DType.Float32, w.Device);                     // [G, M]
            _zeros = Tensor.Zeros([groups], DType.Float32, w.Device);               // [G]
        }
        var (mean, sigma) = QuantOps.GroupMoments(w);                              // [G], [G] float64
        mean.Dispose();
        var lambda = DeviceLambdas(w, pass);                                        // [G] float64, owned by the method
        Tensor? alpha = null, sums = null;
        try
        {
            using (var ls = lambda.Mul(sigma))
            using (var step64 = ls.Add(1e-7))
            using (var step = step64.Cast(DType.Float32))                           // [G]
            using (var codes = _codes!.Reshape([groups, m]))
            using (var dots = QuantOps.GridProject(w, _zeros!, step, GridSpec.HalfInteger(Bits), codes, _v))   // [G, 2]: w·v, v·v
            using (var wv = dots.Select(1, 0))
            using (var vv = dots.Select(1, 1))
            using (var vvEps = vv.Add(1e-7))
            using (var ratio = wv.Div(vvEps))
                alpha = ratio.Cast(DType.Float32);                                  // [G]
            var q = Tensor.Empty(data.Dims, DType.Float32, data.Device);            // like w
            using (var q2 = q.Reshape([groups, m])) sums = QuantOps.DequantizeSums(w, _v, alpha, _zeros!, q2);   // [G, 6]
            _last?.Dispose();
            _last = new DeviceForward(alpha, sigma, lambda.Clone(), sums, m);
            return q;
        }
        catch
        {
            alpha?.Dispose(); sums?.Dispose(); sigma.Dispose();
            throw;
        }
    }

    // The host form: quantize a downloaded copy, upload w_q and the codes.
    private Tensor ForwardOnHost(Tensor data, QuantPass pass)
    {
        int groups = GroupCount(data.Dims), d = data.Numel;
        float[] w = data.ToArray<float>();                                          // [d] row-major
        var codes = new int[d];
        var v = new float[d];
        var q = new float[d];
        if (_groups.Length != groups) _groups = new QuantGroup[groups];
        _last?.Dispose();
        _last = null;
        Metrics = Run(w, groups, pass, codes, v, q, _groups);
        Backend.For(_codes!.Device).Upload<int>(codes, _codes);
        return Tensor.FromArray(q, data.Dims, data.Device);
    }

    // Reads what the last device forward left (α, σ, λ and the loss sums per group): only when asked for.
    private void Settle()
    {
        if (_last is not { } f) return;
        _last = null;
        using (f)
        {
            float[] alpha = f.Alpha.ToArray<float>();
            double[] sigma = f.Sigma.ToArray<double>(), lambda = f.Lambda.ToArray<double>(), sums = f.Sums.ToArray<double>();
            if (_groups.Length != alpha.Length) _groups = new QuantGroup[alpha.Length];
            double ww = 0, wq = 0, qq = 0, ee = 0;
            for (int g = 0; g < alpha.Length; g++)
            {
                _groups[g] = new QuantGroup(alpha[g], 0f, 0.5f, lambda[g], sigma[g], 0);
                double a = alpha[g];
                ww += sums[6 * g];
                wq += a * sums[6 * g + 1];
                qq += a * a * sums[6 * g + 2];
                ee += sums[6 * g + 5];
            }
            _metrics = LossMetrics(ww, wq, qq, ee);
        }
    }

    private static QuantMetrics LossMetrics(double ww, double wq, double qq, double ee)
    {
        double jo = ww == 0 ? 0 : qq <= 0 ? 1 : 1 - wq / Math.Sqrt(ww * qq);
        return new QuantMetrics(jo, ee, ww);
    }

    /// <summary>The device tensors of one forward, read by <see cref="Settle"/> when a property is asked for.</summary>
    private sealed record DeviceForward(Tensor Alpha, Tensor Sigma, Tensor Lambda, Tensor Sums, int GroupSize) : IDisposable
    {
        public void Dispose() { Alpha.Dispose(); Sigma.Dispose(); Lambda.Dispose(); Sums.Dispose(); }
    }

    /// <summary>Quantizes <paramref name="w"/> as one group (a <see cref="QuantPass.Standalone"/> pass; forward properties untouched).</summary>
    /// <example><code>var r = new UniformQuantizer(4).Quantize(new float[] { -1, 0, 0.5f, 2 });</code></example>
    public QuantResult Quantize(ReadOnlySpan<float> w)
    {
        if (w.IsEmpty) throw new ArgumentException($"{Method.Name()}: cannot quantize an empty vector");
        var codes = new int[w.Length];
        var v = new float[w.Length];
        var q = new float[w.Length];
        var groups = new QuantGroup[1];
        var metrics = Run(w, 1, QuantPass.Standalone, codes, v, q, groups);
        return new QuantResult(Method, Bits, Granularity.PerTensor, [w.Length], codes, groups, q, metrics);
    }

    /// <summary>
    /// Quantizes a float32 tensor with this quantizer's granularity (a <see cref="QuantPass.Standalone"/>
    /// pass): the same codes, α and w_q that a forward on these weights produces. Forward properties untouched.
    /// </summary>
    /// <example><code>QuantResult r = q.QuantizeTensor(conv.Weight.Data);</code></example>
    public QuantResult QuantizeTensor(Tensor w)
    {
        ArgumentNullException.ThrowIfNull(w);
        CheckTensor(w, null);
        int[] shape = (int[])w.Dims.Clone();
        int groups = GroupCount(shape);
        var codes = new int[w.Numel];
        var v = new float[w.Numel];
        var q = new float[w.Numel];
        var g = new QuantGroup[groups];
        float[] host = w.ToArray<float>();
        var metrics = Run(host, groups, QuantPass.Standalone, codes, v, q, g);
        var granularity = Granularity == Granularity.PerChannel && shape.Length >= 2 ? Granularity.PerChannel : Granularity.PerTensor;
        return new QuantResult(Method, Bits, granularity, shape, codes, g, q, metrics);
    }

    /// <summary>Number of groups for a tensor of <paramref name="shape"/>: shape[0] per channel (rank ≥ 2), else 1.</summary>
    /// <example><code>int g = q.GroupCount([64, 32, 5, 5]); // 64 per channel, 1 per tensor</code></example>
    public int GroupCount(int[] shape) => Granularity == Granularity.PerChannel && shape.Length >= 2 ? shape[0] : 1;

    /// <summary>
    /// Dequantizes codes of one group: v = (float)c + CodeOffset, w_q = v·α, then + Shift when Shift ≠ 0
    /// (float32, in this order; the transform computes exactly this).
    /// </summary>
    /// <example><code>WeightQuantizer.Dequantize(codes, group, values);</code></example>
    public static void Dequantize(ReadOnlySpan<int> codes, QuantGroup group, Span<float> destination)
    {
        if (destination.Length != codes.Length) throw new ArgumentException($"dequantize: {codes.Length} codes but a destination of {destination.Length}");
        QuantKernels.CodesToV(codes, group.CodeOffset, destination);
        QuantKernels.Dequantize(destination, group.Alpha, group.Shift, destination);
    }

    /// <summary>Dequantizes codes split evenly into <paramref name="groups"/>.Count consecutive groups.</summary>
    /// <example><code>WeightQuantizer.Dequantize(result.Codes, result.Groups, values);</code></example>
    public static void Dequantize(ReadOnlySpan<int> codes, IReadOnlyList<QuantGroup> groups, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Count == 0 || codes.Length % groups.Count != 0)
            throw new ArgumentException($"dequantize: {codes.Length} codes cannot be split into {groups.Count} equal groups");
        if (destination.Length != codes.Length) throw new ArgumentException($"dequantize: {codes.Length} codes but a destination of {destination.Length}");
        int m = codes.Length / groups.Count;
        for (int g = 0; g < groups.Count; g++) Dequantize(codes.Slice(g * m, m), groups[g], destination.Slice(g * m, m));
    }

    /// <summary>
    /// Quantizes one group: fills <paramref name="codes"/> (within [MinCode, MaxCode]) and
    /// <paramref name="v"/> with v[i] = codes[i] + CodeOffset exactly, and returns α, shift, CodeOffset, λ, σ.
    /// </summary>
    /// <param name="group">Index of the group (0 per tensor).</param>
    /// <param name="w">The group's float weights.</param>
    /// <param name="codes">Output codes.</param>
    /// <param name="v">Output grid values (also usable as scratch before being written).</param>
    protected abstract QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v);

    /// <summary>Called before the groups of a pass are quantized (e.g. to decide whether a cached λ is still valid).</summary>
    /// <param name="w">All weights of the pass.</param>
    /// <param name="groups">Number of groups.</param>
    /// <param name="pass">The kind of pass.</param>
    protected virtual void BeginPass(ReadOnlySpan<float> w, int groups, QuantPass pass) { }

    /// <summary>Called after every group of a pass was quantized.</summary>
    /// <param name="w">All weights of the pass.</param>
    /// <param name="pass">The kind of pass.</param>
    protected virtual void EndPass(ReadOnlySpan<float> w, QuantPass pass) { }

    private QuantMetrics Run(ReadOnlySpan<float> w, int groups, QuantPass pass, Span<int> codes, Span<float> v, Span<float> q, QuantGroup[] groupsOut)
    {
        if (w.IsEmpty) throw new ArgumentException($"{Method.Name()}: cannot quantize an empty tensor");
        BeginPass(w, groups, pass);
        int m = w.Length / groups;
        double ww = 0, wq = 0, qq = 0, ee = 0;
        for (int g = 0; g < groups; g++)
        {
            var wg = w.Slice(g * m, m);
            var cg = codes.Slice(g * m, m);
            var vg = v.Slice(g * m, m);
            var qg = q.Slice(g * m, m);
            var grp = QuantizeGroup(g, wg, cg, vg);
            var s = QuantKernels.DequantizeSums(wg, vg, grp.Alpha, grp.Shift, qg);
            double a = grp.Alpha, mu = grp.Shift;
            // w·w_q and |w_q|² in double from the exact v (w_q = α·v + μ)
            ww += s.WW;
            wq += a * s.WV + mu * s.SumW;
            qq += a * a * s.VV + 2 * a * mu * s.SumV + mu * mu * m;
            ee += s.SquaredError;
            groupsOut[g] = grp;
        }
        EndPass(w, pass);
        return LossMetrics(ww, wq, qq, ee);
    }

    private void CheckTensor(Tensor t, string? name)
    {
        if (t.DType != DType.Float32)
            throw new ArgumentException($"{Method.Name()}: parameter {name ?? ""} {t.ShapeText} is {t.DType.Name()}; weight quantizers work on float32");
        if (t.Numel == 0)
            throw new ArgumentException($"{Method.Name()}: parameter {name ?? ""} {t.ShapeText} is empty");
    }

    /// <summary>Releases the device tensors (codes, grid values, the last forward's statistics).</summary>
    public void Dispose()
    {
        _codes?.Dispose(); _v?.Dispose(); _zeros?.Dispose(); _last?.Dispose();
        _codes = _v = _zeros = null;
        _last = null;
        DisposeDeviceState();
        GC.SuppressFinalize(this);
    }
}
