using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>
/// Activation quantizer (VECQ.md §4): the k-bit half-integer grid of VecQ with the step taken from
/// the batch's std and tracked like batch-norm statistics:
/// <code>
/// training:  s = λ·std(x) + 1e-7            (population std over every element of the batch)
///            v = clamp(round_half_even(x/s − ½), −2^(k−1), 2^(k−1) − 1) + ½
///            a = |x|/|v|                     (Euclidean norms over the batch)
///            y = a·v                         (the batch's own s and a)
///            step  ← momentum·step  + (1 − momentum)·s      (momentum 0.9)
///            scale ← momentum·scale + (1 − momentum)·a
/// eval:      v with s = step, y = scale·v    (the running values)
/// </code>
/// The gradient is straight-through (dL/dx = dL/dy).
/// </summary>
/// <remarks>
/// λ: <see cref="LambdaMode.Exact"/> (the default) searches it on the batch itself with
/// <see cref="VecQTheory.GridSearch"/> (VecQ's steering rule: the λ of least orientation loss) on the
/// first training forward and then every <see cref="SearchEvery"/> training forwards (default 100);
/// <see cref="LambdaMode.Gaussian"/> uses λ_k. λ_k is right for Gaussian weights but not for post-ReLU
/// activations, which are one-sided and heavy-tailed (maxima 9–27 std on a trained LeNet5): at k = 8 its
/// grid ends at ±3.9 std and the relative error |y − x|/|x| of those activations was 0.20–0.49, against
/// 0.02–0.07 with the searched λ (0.06–0.16), and 8-bit-activation training lost over 20 accuracy points.
/// <para>
/// Granularity: one step and scale for the whole tensor (channels = 0, the formulas above), or one per
/// channel (channels = C: std, s and a per channel of axis 1; one λ, searched on x with each channel divided
/// by its std). `vecq train` uses per-channel steps in LeNet5, whose quantizers feed a batch norm: with one
/// step for the tensor, fc1 units whose outputs all fell in the lowest bin (6 of 512 on a trained model) had
/// zero batch variance after quantization, so the batch norm after them scaled their straight-through
/// gradient by 1/√ε ≈ 316; fc1's gradient pointed elsewhere (cosine 0.27 to the float one) and training
/// diverged (NaN loss). Per channel, no channel collapses.
/// </para>
/// Buffers (all saved in checkpoints so a resumed run continues exactly): "step", "scale" (float32, [] or
/// [C]; start at λ_k, the values for unit-variance input), "lambda" (float32 [], the λ in use) and
/// "num_batches_tracked" (int32 [], training forwards so far; the search schedule counts them).
/// </remarks>
/// <example><code>
/// var model = new LeNet5(activations: slot => new ActivationQuantizer(bits: 8));
/// var act = new ActivationQuantizer(4);
/// using var y = act.Forward(x);   // training: batch step/scale, running values updated
/// act.Eval();
/// using var z = act.Forward(x);   // evaluation: running step/scale
/// </code></example>
public sealed class ActivationQuantizer : Module
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">k, 1..16 (8 in the W/A experiments).</param>
    /// <param name="momentum">Weight of the old running value (0.9: running = 0.9·running + 0.1·batch).</param>
    /// <param name="lambdaMode">Exact (searched on the batch, default) or Gaussian (λ_k).</param>
    /// <param name="searchEvery">Exact mode: training forwards between searches (default 100; 1 = every forward).</param>
    /// <param name="channels">0: one step and scale for the whole tensor; C &gt; 0: one per channel (axis 1 of the input, which must have C channels).</param>
    /// <exception cref="ArgumentException">bits outside 1..16, momentum outside [0, 1], an unknown mode, searchEvery &lt; 1 or channels &lt; 0.</exception>
    /// <example><code>var q = new ActivationQuantizer(8, momentum: 0.9, LambdaMode.Gaussian);</code></example>
    public ActivationQuantizer(int bits = 8, double momentum = 0.9, LambdaMode lambdaMode = LambdaMode.Exact, int searchEvery = 100, int channels = 0)
    {
        if (channels < 0) throw new ArgumentException($"activation quantizer: channels {channels} must be >= 0 (0: one step for the whole tensor)");
        if (bits < 1 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"activation quantizer: bits {bits} is out of range 1..{WeightQuantizer.MaxBits}");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"activation quantizer: momentum {momentum} must be in [0, 1]");
        if (!Enum.IsDefined(lambdaMode)) throw new ArgumentException($"activation quantizer: unknown lambda mode {(int)lambdaMode}");
        if (searchEvery < 1) throw new ArgumentException($"activation quantizer: searchEvery {searchEvery} must be >= 1");
        Bits = bits;
        Momentum = momentum;
        LambdaMode = lambdaMode;
        SearchEvery = searchEvery;
        TheoryLambda = VecQTheory.OptimalLambda(bits);
        Channels = channels;
        int[] shape = channels > 0 ? [channels] : [];
        StepBuffer = RegisterBuffer("step", Tensor.Full(shape, TheoryLambda));                         // [] or [C] float32
        ScaleBuffer = RegisterBuffer("scale", Tensor.Full(shape, TheoryLambda));                       // [] or [C] float32
        LambdaBuffer = RegisterBuffer("lambda", Tensor.Scalar(TheoryLambda));                          // [] float32
        TrackedBuffer = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int32));          // [] int32
    }

    /// <summary>0: one step for the whole tensor; C: one step and scale per channel.</summary>
    public int Channels { get; }

    /// <summary>How λ is chosen.</summary>
    public LambdaMode LambdaMode { get; }

    /// <summary>Exact mode: training forwards between λ searches.</summary>
    public int SearchEvery { get; }

    /// <summary>λ_k of the Gaussian theory for this bit width.</summary>
    public double TheoryLambda { get; }

    /// <summary>λ in use: λ_k (Gaussian mode) or the last searched one (Exact mode; λ_k before the first search). Reads the buffer.</summary>
    public double Lambda => LambdaMode == LambdaMode.Gaussian ? TheoryLambda : LambdaBuffer.Value.Item();

    /// <summary>The λ buffer ("lambda", scalar).</summary>
    public Nn.Buffer LambdaBuffer { get; }

    /// <summary>The training-forward counter ("num_batches_tracked", int32 scalar).</summary>
    public Nn.Buffer TrackedBuffer { get; }

    /// <summary>Bit width k.</summary>
    public int Bits { get; }

    /// <summary>Weight of the old running value.</summary>
    public double Momentum { get; }

    /// <summary>The running step buffer ("step", scalar).</summary>
    public Nn.Buffer StepBuffer { get; }

    /// <summary>The running scale buffer ("scale", scalar).</summary>
    public Nn.Buffer ScaleBuffer { get; }

    /// <summary>Current running step (per channel: the mean over channels).</summary>
    public double RunningStep => MeanOf(StepBuffer.Value);

    /// <summary>Current running scale (per channel: the mean over channels).</summary>
    public double RunningScale => MeanOf(ScaleBuffer.Value);

    /// <summary>Step s of the last forward (batch value in training, running value in eval; per channel: the mean). Read from the device when asked.</summary>
    public double LastStep => _lastStep is { IsDisposed: false } t ? MeanOf(t) : double.NaN;

    /// <summary>Scale a of the last forward (per channel: the mean). Read from the device when asked.</summary>
    public double LastScale => _lastScale is { IsDisposed: false } t ? MeanOf(t) : double.NaN;

    private Tensor? _lastStep, _lastScale;   // [] or [C] on the input's device
    private long? _tracked;                  // host mirror of num_batches_tracked (read once after a load)

    private static double MeanOf(Tensor t)
    {
        using var m = t.Mean();
        return m.Item();
    }

    /// <inheritdoc/>
    protected override void OnStateLoaded() => _tracked = null;

    /// <inheritdoc/>
    protected override void ReleaseState()
    {
        _lastStep?.Dispose(); _lastScale?.Dispose();
        _lastStep = _lastScale = null;
    }

    /// <summary>x: any float32 shape (per channel: [N, C, …]) → a·v, same shape (straight-through gradient).</summary>
    /// <remarks>
    /// Runs on x's device and reads nothing back, except the exact-λ search (a download of x on the first
    /// training forward and every <see cref="SearchEvery"/> after) and, once after construction or a
    /// checkpoint load, the training-forward counter.
    /// </remarks>
    /// <example><code>using var y = act.Forward(h); // h: [N, C, H, W]</code></example>
    public override Variable Forward(Variable x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var xv = x.Value;
        if (xv.DType != DType.Float32) throw new ArgumentException($"activation quantizer: input {x.Describe()} is {xv.DType.Name()}; expected float32");
        if (xv.Numel == 0) throw new ArgumentException($"activation quantizer: input {x.Describe()} is empty");
        if (Channels > 0 && (xv.Rank < 2 || xv.Dims[1] != Channels))
            throw new ArgumentException($"activation quantizer: input {x.Describe()} must be [N, {Channels}, …] (per-channel steps for {Channels} channels)");
        double lo = -(1 << (Bits - 1)), hi = (1 << (Bits - 1)) - 1;
        // step, scale: [] for the whole tensor or [C], seen by x through the broadcast shape [1, C, 1, …]
        var bshape = Channels > 0 ? Enumerable.Range(0, xv.Rank).Select(a => a == 1 ? Channels : 1).ToArray() : [];
        int[]? axes = Channels > 0 ? Enumerable.Range(0, xv.Rank).Where(a => a != 1).ToArray() : null;
        Tensor step, scale, v;
        if (Training)
        {
            using var std = BatchStd(xv);                                               // [] or [C]
            long tracked = _tracked ??= (long)TrackedBuffer.Value.Item();
            if (LambdaMode == LambdaMode.Exact && tracked % SearchEvery == 0) SearchLambda(xv, std, bshape);
            _tracked = tracked + 1;
            TrackedBuffer.Value.Fill(tracked + 1);
            using (var scaled = LambdaMode == LambdaMode.Gaussian ? std.Mul(TheoryLambda) : std.Mul(LambdaBuffer.Value))
                step = scaled.Add(1e-7);                                                // [] or [C]
            using (var stepB = step.Reshape(bshape)) v = Grid(xv, stepB, lo, hi);       // like x
            using (var x2 = xv.Mul(xv)) using (var xx = x2.Sum(axes))                  // [] or [C]
            using (var v2 = v.Mul(v)) using (var vv = v2.Sum(axes))                    // ≥ ¼ per element: never 0
            using (var ratio = xx.Div(vv))
                scale = ratio.Sqrt();                                                   // a = |x|/|v|
            Update(StepBuffer, step);
            Update(ScaleBuffer, scale);
        }
        else
        {
            step = StepBuffer.Value.Clone();
            scale = ScaleBuffer.Value.Clone();
            using var stepB = step.Reshape(bshape);
            v = Grid(xv, stepB, lo, hi);                                                // like x
        }
        _lastStep?.Dispose(); _lastScale?.Dispose();
        (_lastStep, _lastScale) = (step, scale);
        using var scaleB = scale.Reshape(bshape);
        using (v)
        using (var y = v.Mul(scaleB))                                                   // a·v: like x
            return Traced(Functions.StraightThrough(x, y));
    }

    // The batch's population std: of every element ([]), or per channel of axis 1 ([C]).
    private Tensor BatchStd(Tensor x)
    {
        if (Channels == 0)
        {
            using var variance = x.Var(correction: 0);                                  // []
            using var nonNegative = variance.Clamp(0, double.MaxValue);
            return nonNegative.Sqrt();
        }
        var (mean, variance2) = NnOps.BatchNormStats(x);                                // [C], [C] (population)
        mean.Dispose();
        using (variance2) return variance2.Sqrt();
    }

    // Exact mode: λ searched on the host (x downloaded). Per channel: one λ for every channel, searched on
    // x with each channel divided by its std, stored in units of the channels' own std.
    private void SearchLambda(Tensor x, Tensor std, int[] bshape)
    {
        double gridStep = Math.Min(0.001, TheoryLambda / 50);
        if (Channels == 0)
        {
            LambdaBuffer.Value.Fill(VecQTheory.GridSearch(x.ToArray(), Bits, gridStep).Lambda);
            return;
        }
        using var stdSafe = std.Add(1e-7);
        using var stdB = stdSafe.Reshape(bshape);
        using var z = x.Div(stdB);                                                      // like x
        var r = VecQTheory.GridSearch(z.ToArray(), Bits, gridStep);
        LambdaBuffer.Value.Fill(r.Lambda * r.Sigma);
    }

    private void Update(Nn.Buffer b, Tensor batch)
    {
        using var old = b.Value.Mul(Momentum);
        using var fresh = batch.Mul(1 - Momentum);
        using var next = old.Add(fresh);
        b.Value.CopyFrom(next);
    }

    // clamp(round_half_even(x/step − ½), lo, hi) + ½ with a step tensor that broadcasts against x
    private static Tensor Grid(Tensor x, Tensor step, double lo, double hi)
    {
        using var t = x.Div(step);
        using var t2 = t.Sub(0.5);
        using var r = t2.Round();
        using var c = r.Clamp(lo, hi);
        return c.Add(0.5);
    }
}
