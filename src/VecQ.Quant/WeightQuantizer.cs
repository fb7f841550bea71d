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

    private Tensor? _codes;
    private float[] _v = [];
    private float[] _hostCopy = [];
    private QuantGroup[] _groups = [];

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
    /// The int32 codes of the last forward (shape of the weight, CPU): v − ½ for the half-integer grids,
    /// in [−2^(k−1), 2^(k−1) − 1]. Owned by the quantizer and overwritten by the next forward (Clone to keep).
    /// </summary>
    public Tensor? Codes => _codes;

    /// <summary>Per-group parameters of the last forward (empty before the first).</summary>
    public IReadOnlyList<QuantGroup> Groups => _groups;

    /// <summary>α per group.</summary>
    public float[] Alphas => _groups.Select(g => g.Alpha).ToArray();

    /// <summary>λ per group (units of σ).</summary>
    public double[] Lambdas => _groups.Select(g => g.Lambda).ToArray();

    /// <summary>σ per group.</summary>
    public double[] Sigmas => _groups.Select(g => g.Sigma).ToArray();

    /// <summary>Shift per group (0 except μL2Q and uniform).</summary>
    public float[] Shifts => _groups.Select(g => g.Shift).ToArray();

    /// <summary>α of the first group (the only one per tensor); NaN before the first forward.</summary>
    public float Alpha => _groups.Length > 0 ? _groups[0].Alpha : float.NaN;

    /// <summary>λ of the first group; NaN before the first forward.</summary>
    public double Lambda => _groups.Length > 0 ? _groups[0].Lambda : double.NaN;

    /// <summary>σ of the first group; NaN before the first forward.</summary>
    public double Sigma => _groups.Length > 0 ? _groups[0].Sigma : double.NaN;

    /// <summary>The losses of the last forward.</summary>
    public QuantMetrics Metrics { get; private set; }

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
    /// (identity gradient to <c>p.Variable</c>). Float32 weights on any device (non-CPU weights are
    /// copied to the host and back).
    /// </summary>
    /// <example><code>using var wq = q.Apply(layer.Weight, training: true);</code></example>
    public Variable Apply(Parameter p, bool training)
    {
        ArgumentNullException.ThrowIfNull(p);
        var data = p.Data;
        CheckTensor(data, p.Name);
        int[] shape = data.Dims;
        int d = data.Numel;
        int groups = GroupCount(shape);
        if (_codes == null || _codes.IsDisposed || !Shape.Equal(_codes.Dims, shape))
        {
            _codes?.Dispose();
            _codes = Tensor.Empty(shape, DType.Int32);                 // codes: like w, int32, CPU
        }
        if (_v.Length != d) _v = new float[d];
        if (_groups.Length != groups) _groups = new QuantGroup[groups];
        var q = Tensor.Empty(shape, DType.Float32);                    // w_q: like w, CPU
        try
        {
            ReadOnlySpan<float> w = HostSpan<float>(data) is { } direct ? direct.Span : CopyToHost(data);   // [d] row-major
            Metrics = Run(w, groups, training ? QuantPass.TrainingForward : QuantPass.EvalForward, HostSpan<int>(_codes)!.Value.Span, _v, HostSpan<float>(q)!.Value.Span, _groups);
            ForwardCount++;
            if (data.Storage is not CpuStorage)
            {
                var moved = q.To(data.Device);
                q.Dispose();
                q = moved;
            }
            return Functions.StraightThrough(p.Variable, q);              // like w; dL/dw = dL/dw_q
        }
        finally
        {
            q.Dispose();   // the straight-through output holds its own reference
        }
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
        HostMath.CodesToV(codes, group.CodeOffset, destination);
        HostMath.Dequantize(destination, group.Alpha, group.Shift, destination);
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
            var s = HostMath.DequantizeSums(wg, vg, grp.Alpha, grp.Shift, qg);
            double a = grp.Alpha, mu = grp.Shift;
            // w·w_q and |w_q|² in double from the exact v (w_q = α·v + μ)
            ww += s.WW;
            wq += a * s.WV + mu * s.SumW;
            qq += a * a * s.VV + 2 * a * mu * s.SumV + mu * mu * m;
            ee += s.SquaredError;
            groupsOut[g] = grp;
        }
        EndPass(w, pass);
        double jo = ww == 0 ? 0 : qq <= 0 ? 1 : 1 - wq / Math.Sqrt(ww * qq);
        return new QuantMetrics(jo, ee, ww);
    }

    private void CheckTensor(Tensor t, string? name)
    {
        if (t.DType != DType.Float32)
            throw new ArgumentException($"{Method.Name()}: parameter {name ?? ""} {t.ShapeText} is {t.DType.Name()}; weight quantizers work on float32");
        if (t.Numel == 0)
            throw new ArgumentException($"{Method.Name()}: parameter {name ?? ""} {t.ShapeText} is empty");
    }

    private ReadOnlySpan<float> CopyToHost(Tensor t)
    {
        _hostCopy = t.ToArray<float>();
        return _hostCopy;
    }

    /// <summary>The elements of a contiguous CPU tensor as memory over its own storage, or null.</summary>
    internal static HostMemory<T>? HostSpan<T>(Tensor t) where T : unmanaged =>
        t.Storage is CpuStorage && t.IsContiguous && DTypes.Of<T>() == t.DType ? new HostMemory<T>(t) : null;

    /// <summary>Releases the codes tensor.</summary>
    public void Dispose()
    {
        _codes?.Dispose();
        _codes = null;
        GC.SuppressFinalize(this);
    }
}

/// <summary>A span over a contiguous CPU tensor's elements (valid while the tensor is alive).</summary>
internal readonly struct HostMemory<T>(Tensor t) where T : unmanaged
{
    public Span<T> Span => ((CpuStorage)t.Storage).AsSpan<T>().Slice(t.Offset, t.Numel);
}
