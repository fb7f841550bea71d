using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>
/// VecQ (VECQ.md §2–3) as a parameter transform. Per group (tensor or output channel), in float32
/// with double accumulation:
/// <code>
/// σ    = population std of w (around its mean; w itself is not shifted)
/// step = λ·σ + 1e-7                                   λ = λ_k (Gaussian) or searched (Exact)
/// v_i  = clamp(round_half_even(w_i/step − ½), −2^(k−1), 2^(k−1) − 1) + ½     (steering)
/// α    = (w·v)/(v·v + 1e-7),  w_q = α·v                                      (driving)
/// </code>
/// Codes are v − ½. Training and evaluation quantize the same way; the gradient is straight-through.
/// </summary>
/// <remarks>
/// Exact λ mode searches λ on the group's current weights (<see cref="VecQTheory.GridSearch"/>), which
/// sorts the weights (tens of milliseconds for a million weights), so it is not repeated on every
/// training step: in training λ is re-searched on the first forward and then every
/// <see cref="ExactEvery"/> training forwards (default 100; weights move little between steps); in
/// evaluation λ is always the exact one for the current weights: it is re-searched whenever the
/// weights differ from those it was last searched on (a memcmp against a snapshot), so repeated
/// evaluation forwards on unchanged weights cost no search. Standalone calls
/// (<see cref="WeightQuantizer.Quantize"/>, export, reports) always search. The search grid is
/// λ ∈ (0, 3] with step <see cref="ExactLambdaStep"/> (default min(0.001, λ_k/50): the paper's 0.001
/// up to 6 bits, finer where λ_k itself is small).
/// </remarks>
/// <example><code>
/// var q = new VecQQuantizer(bits: 4, LambdaMode.Gaussian, Granularity.PerTensor);
/// conv.Weight.Transform = q;
/// using var y = conv.Forward(x);                // uses α·v, gradient flows to the float weights
/// int[] codes = q.Codes!.ToArray&lt;int&gt;();     // v − ½ in [−8, 7]
/// </code></example>
public sealed class VecQQuantizer : WeightQuantizer
{
    private double[] _lambdas = [];
    private float[] _snapshot = [];
    private Tensor? _deviceLambdas;     // [G] float64 on the weights' device (the device form's λ)
    private Tensor? _deviceSnapshot;    // [G, M]: the weights the exact λ was last searched on
    private long _trainingForwards;
    private LambdaSource _source;
    private int _exactEvery = 100;

    private enum LambdaSource { Theory, Search, SearchAndCache, Cached }

    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">k, 1..16.</param>
    /// <param name="lambdaMode">λ_k from theory (default) or searched on the weights.</param>
    /// <param name="granularity">One (σ, λ, α) per tensor (default) or per output channel.</param>
    /// <exception cref="ArgumentException">bits outside 1..16 (the message names the value).</exception>
    /// <example><code>var q = new VecQQuantizer(8, LambdaMode.Exact, Granularity.PerChannel);</code></example>
    public VecQQuantizer(int bits, LambdaMode lambdaMode = LambdaMode.Gaussian, Granularity granularity = Granularity.PerTensor)
        : base(QuantMethod.VecQ, bits, granularity)
    {
        if (!Enum.IsDefined(lambdaMode)) throw new ArgumentException($"vecq: unknown lambda mode {(int)lambdaMode}");
        LambdaMode = lambdaMode;
    }

    /// <summary>How λ is chosen.</summary>
    public LambdaMode LambdaMode { get; }

    /// <summary>λ_k of the Gaussian theory for this bit width.</summary>
    public double TheoryLambda => VecQTheory.OptimalLambda(Bits);

    /// <summary>Exact mode: training forwards between λ searches (default 100; 1 = every forward).</summary>
    /// <exception cref="ArgumentException">Values below 1.</exception>
    public int ExactEvery
    {
        get => _exactEvery;
        set => _exactEvery = value >= 1 ? value : throw new ArgumentException($"vecq: ExactEvery {value} must be >= 1");
    }

    /// <summary>Exact mode: the λ grid step (null: min(0.001, λ_k/50)).</summary>
    public double? ExactLambdaStep { get; set; }

    private double SearchStep => ExactLambdaStep ?? Math.Min(0.001, VecQTheory.OptimalLambda(Bits) / 50);

    /// <inheritdoc/>
    protected override bool HasDeviceForm => true;

    /// <summary>
    /// λ per group on the weights' device. Gaussian: λ_k, uploaded once. Exact: searched on the host, which
    /// downloads the weights (one transfer) on the first training forward and every <see cref="ExactEvery"/>
    /// training forwards, and in evaluation whenever the weights differ from the last searched ones (the
    /// comparison runs on the device and reads back one number per evaluation forward); the λ found are
    /// uploaded (one transfer).
    /// </summary>
    protected override Tensor DeviceLambdas(Tensor w, QuantPass pass)
    {
        int groups = w.Dims[0];
        bool fresh = _deviceLambdas == null || _deviceLambdas.Dims[0] != groups || _deviceLambdas.Device != w.Device;
        if (LambdaMode == LambdaMode.Gaussian)
        {
            if (fresh) Replace(ref _deviceLambdas, Tensor.Full([groups], TheoryLambda, DType.Float64, w.Device));
            return _deviceLambdas!;
        }
        bool stale = fresh || _deviceSnapshot == null || !Shape.Equal(_deviceSnapshot.Dims, w.Dims);
        if (pass == QuantPass.TrainingForward)
        {
            stale |= _trainingForwards % ExactEvery == 0;
            _trainingForwards++;
        }
        else if (!stale)
        {
            using var differ = w.Ne(_deviceSnapshot!);
            using var any = differ.Max();
            stale = any.Item() != 0;
        }
        if (stale)
        {
            float[] host = w.ToArray<float>();
            int m = w.Dims[1];
            var lambdas = new double[groups];
            for (int g = 0; g < groups; g++) lambdas[g] = VecQTheory.GridSearch(host.AsSpan(g * m, m), Bits, SearchStep).Lambda;
            Replace(ref _deviceLambdas, Tensor.FromArray(lambdas, device: w.Device));
            Replace(ref _deviceSnapshot, w.Clone());
        }
        return _deviceLambdas!;
    }

    private static void Replace(ref Tensor? slot, Tensor value)
    {
        slot?.Dispose();
        slot = value;
    }

    /// <inheritdoc/>
    protected override void DisposeDeviceState()
    {
        _deviceLambdas?.Dispose(); _deviceSnapshot?.Dispose();
        _deviceLambdas = _deviceSnapshot = null;
    }

    /// <inheritdoc/>
    protected override void BeginPass(ReadOnlySpan<float> w, int groups, QuantPass pass)
    {
        if (LambdaMode == LambdaMode.Gaussian) { _source = LambdaSource.Theory; return; }
        if (pass == QuantPass.Standalone) { _source = LambdaSource.Search; return; }
        bool stale = _lambdas.Length != groups || _snapshot.Length != w.Length;
        if (pass == QuantPass.TrainingForward)
        {
            stale |= _trainingForwards % ExactEvery == 0;
            _trainingForwards++;
        }
        else stale |= !w.SequenceEqual(_snapshot);
        if (stale && _lambdas.Length != groups) _lambdas = new double[groups];
        _source = stale ? LambdaSource.SearchAndCache : LambdaSource.Cached;
    }

    /// <inheritdoc/>
    protected override void EndPass(ReadOnlySpan<float> w, QuantPass pass)
    {
        if (_source != LambdaSource.SearchAndCache) return;
        if (_snapshot.Length != w.Length) _snapshot = new float[w.Length];
        w.CopyTo(_snapshot);
    }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        var (_, sigma) = QuantKernels.MeanStd(w);
        if (!double.IsFinite(sigma)) throw new InvalidOperationException($"vecq: group {group} of the weights contains NaN or infinity");
        double lambda = _source switch
        {
            LambdaSource.Theory => VecQTheory.OptimalLambda(Bits),
            LambdaSource.Cached => _lambdas[group],
            _ => VecQTheory.GridSearch(w, Bits, SearchStep).Lambda,
        };
        if (_source == LambdaSource.SearchAndCache) _lambdas[group] = lambda;
        float step = (float)(lambda * sigma + 1e-7);
        var (wv, vv) = QuantKernels.Project(w, 0f, step, 0.5f, MinCode, MaxCode, 0, 0.5f, codes, v);
        float alpha = (float)(wv / (vv + 1e-7));
        return new QuantGroup(alpha, 0f, 0.5f, lambda, sigma, 0);
    }
}
