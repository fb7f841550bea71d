using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Batch normalization over channel axis 1 (PyTorch's _BatchNorm semantics).
/// Parameters (with <see cref="Affine"/>): "weight" γ [C] (init 1) and "bias" β [C] (init 0).
/// Buffers (with <see cref="TrackRunningStats"/>): "running_mean" [C] (init 0), "running_var" [C]
/// (init 1) and "num_batches_tracked" — an int32 scalar [] here, where PyTorch uses int64 (safetensors
/// I32; PyTorch's load_state_dict copies it into its int64 buffer).
/// </summary>
/// <remarks>
/// Training (or evaluation without running statistics): y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's
/// mean and biased variance; the running statistics are then updated in place as PyTorch does:
/// running = (1 − m)·running + m·batch, where the variance enters unbiased, σ²_B·n/(n − 1)
/// (n = elements per channel), and num_batches_tracked += 1. With momentum null, m = 1/num_batches_tracked
/// (a cumulative average). Evaluation with running statistics:
/// y = (x − running_mean)·γ/√(running_var + ε) + β in one pass (<see cref="Functions.BatchNormInference(Variable, Tensor, Tensor, Variable?, Variable?)"/>).
/// </remarks>
/// <example><code>
/// var bn = new BatchNorm2d(32);
/// using var y = bn.Forward(x);  // training: batch statistics, running stats updated
/// bn.Eval();
/// using var z = bn.Forward(x);  // evaluation: running statistics
/// </code></example>
public abstract class BatchNorm : Module
{
    /// <summary>Creates the layer (see <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/>).</summary>
    /// <param name="numFeatures">Channels C.</param>
    /// <param name="eps">ε added to the variance.</param>
    /// <param name="momentum">m of the running average, or null for a cumulative average.</param>
    /// <param name="affine">Learnable γ and β.</param>
    /// <param name="trackRunningStats">Keep running statistics (used in evaluation).</param>
    /// <param name="device">Where the parameters and buffers live (default the CPU).</param>
    /// <param name="scale">With affine, learn γ (false: γ ≡ 1 and no "weight" parameter, only β; Keras's scale=False, MXNet's fix_gamma).</param>
    private protected BatchNorm(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, Device? device, bool scale)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{GetType().Name}: num_features {numFeatures} must be positive");
        if (!(eps > 0)) throw new ArgumentException($"{GetType().Name}: eps {eps} must be > 0");
        if (momentum is { } mm && !(mm >= 0 && mm <= 1)) throw new ArgumentException($"{GetType().Name}: momentum {mm} must be in [0, 1]");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        Scale = affine && scale;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            if (Scale) Weight = RegisterParameter("weight", Tensor.Ones([numFeatures]));   // γ: [C]
            Bias = RegisterParameter("bias", Tensor.Zeros([numFeatures]));     // β: [C]
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures]));                    // [C]
            RunningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures]));                       // [C]
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int32));     // [] int32
        }
        if (device is { } d) To(d);
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <summary>Momentum of the running statistics (null: cumulative average).</summary>
    public double? Momentum { get; }

    /// <summary>Whether β exists (and γ, unless <see cref="Scale"/> is false).</summary>
    public bool Affine { get; }

    /// <summary>Whether γ is learned (false: γ ≡ 1; only with <see cref="Affine"/>).</summary>
    public bool Scale { get; }

    /// <summary>Whether running statistics are kept.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>γ [C], or null without affine or scale.</summary>
    public Parameter? Weight { get; }

    /// <summary>β [C], or null without affine.</summary>
    public Parameter? Bias { get; }

    /// <summary>Running mean [C], or null.</summary>
    public Buffer? RunningMean { get; }

    /// <summary>Running (unbiased) variance [C], or null.</summary>
    public Buffer? RunningVar { get; }

    /// <summary>Number of training batches seen: int32 scalar [], or null.</summary>
    public Buffer? NumBatchesTracked { get; }

    private long? _batches;   // host mirror of num_batches_tracked

    /// <inheritdoc/>
    protected override void OnStateLoaded() => _batches = null;

    /// <summary>Checks the input rank (BatchNorm1d: 2 or 3; BatchNorm2d: 4).</summary>
    private protected abstract void CheckInput(Variable x);

    /// <summary>x: [N, C, …] → same shape.</summary>
    /// <example><code>using var y = bn.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        CheckChannels(x);
        using var gamma = new ParameterLease(Weight, Training);   // [C] or none
        using var beta = new ParameterLease(Bias, Training);      // [C] or none
        if (Training || !TrackRunningStats) return Traced(BatchStatistics(x, gamma.Value, beta.Value));
        return Traced(RunningStatistics(x, gamma.Value, beta.Value));
    }

    /// <summary>
    /// This layer, then ReLU or ReLU6: in evaluation mode one pass over memory
    /// (<see cref="Functions.BatchNormInference(Variable, Tensor, Tensor, Variable?, Variable?, FusedActivation)"/>), in
    /// training the two functions; the same values either way.
    /// </summary>
    /// <example><code>using var h = bn.Forward(x, FusedActivation.Relu); // relu(bn(x))</code></example>
    public Variable Forward(Variable x, FusedActivation activation)
    {
        if (Training || !TrackRunningStats)
        {
            using var y = Forward(x);
            return activation == FusedActivation.Relu ? Functions.Relu(y) : Functions.Relu6(y);
        }
        CheckChannels(x);
        using var gamma = new ParameterLease(Weight, Training);   // [C] or none
        using var beta = new ParameterLease(Bias, Training);      // [C] or none
        return Traced(RunningStatistics(x, gamma.Value, beta.Value, activation));
    }

    private protected void CheckChannels(Variable x)
    {
        CheckInput(x);
        if (x.Shape[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}({NumFeatures}): input {x.Describe()} has {x.Shape[1]} channels");
    }

    private Variable BatchStatistics(Variable x, Variable? gamma, Variable? beta) =>
        WithBatchStatistics(Functions.BatchNorm(x, gamma, beta, Eps), x);   // y like x; mean, var (biased): [C]

    // Takes a training-mode result: updates the running statistics (when kept and training) and returns its output.
    private protected Variable WithBatchStatistics(BatchNormResult r, Variable x)
    {
        using var mean = r.Mean;
        using var var = r.Var;
        if (Training && TrackRunningStats)
        {
            if (r.Count <= 1)
            {
                r.Output.Dispose();
                throw new ArgumentException($"{GetType().Name}: expected more than 1 value per channel when training, got input {x.Describe()}");
            }
            UpdateRunningStats(mean, var, r.Count);
        }
        return r.Output;
    }

    // running = (1 − m)·running + m·batch; the variance enters unbiased.
    private void UpdateRunningStats(Tensor mean, Tensor biasedVar, int count)
    {
        var nbt = NumBatchesTracked!.Value;
        // the count lives on the host too (read from the buffer once after construction or a load), so a
        // training forward writes it without reading anything back
        long batches = (_batches ??= (long)nbt.Item()) + 1;
        _batches = batches;
        nbt.Fill(batches);
        double m = Momentum ?? 1.0 / batches;
        Tensor rm = RunningMean!.Value, rv = RunningVar!.Value;
        using (var a = rm.Mul(1 - m))
        using (var b = mean.Mul(m))
        using (var sum = a.Add(b))
            rm.CopyFrom(sum);
        using (var a = rv.Mul(1 - m))
        using (var b = biasedVar.Mul(m * count / (count - 1.0)))
        using (var sum = a.Add(b))
            rv.CopyFrom(sum);
    }

    /// <summary>1/√(running_var + ε): [C] (the caller disposes it).</summary>
    internal Tensor RunningInvStd()
    {
        using var varEps = RunningVar!.Value.Add(Eps);
        using var std = varEps.Sqrt();
        return 1.0 / std;                                                                          // [C]
    }

    private protected Variable RunningStatistics(Variable x, Variable? gamma, Variable? beta, FusedActivation? activation = null)
    {
        using var invStd = RunningInvStd();                                                        // [C]
        return activation is { } a
            ? Functions.BatchNormInference(x, RunningMean!.Value, invStd, gamma, beta, a)          // like x, with the activation
            : Functions.BatchNormInference(x, RunningMean!.Value, invStd, gamma, beta);            // like x, one pass
    }
}

/// <summary>
/// Batch normalization of [N, C] or [N, C, L] input (PyTorch's nn.BatchNorm1d); see <see cref="BatchNorm"/>.
/// </summary>
/// <example><code>var bn3 = new BatchNorm1d(512); using var y = bn3.Forward(h); // h: [N, 512]</code></example>
public sealed class BatchNorm1d : BatchNorm
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Channels C.</param>
    /// <param name="eps">ε added to the variance.</param>
    /// <param name="momentum">m of the running average (PyTorch convention), or null for a cumulative average.</param>
    /// <param name="affine">Learnable γ and β.</param>
    /// <param name="trackRunningStats">Keep running statistics (used in evaluation).</param>
    /// <param name="device">Where the parameters and buffers live (default the CPU).</param>
    /// <param name="scale">With affine, learn γ (false: γ ≡ 1, only β is a parameter).</param>
    /// <example><code>var bn = new BatchNorm1d(64, momentum: 0.01);</code></example>
    public BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, Device? device = null,
        bool scale = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats, device, scale) { }

    private protected override void CheckInput(Variable x)
    {
        if (x.Value.Rank is not (2 or 3))
            throw new ArgumentException($"BatchNorm1d({NumFeatures}): input {x.Describe()} must be [N, C] or [N, C, L]");
    }
}

/// <summary>Batch normalization of [N, C, H, W] input (PyTorch's nn.BatchNorm2d); see <see cref="BatchNorm"/>.</summary>
/// <example><code>var bn1 = new BatchNorm2d(32); using var y = bn1.Forward(x); // x: [N, 32, H, W]</code></example>
public sealed class BatchNorm2d : BatchNorm
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Channels C.</param>
    /// <param name="eps">ε added to the variance.</param>
    /// <param name="momentum">m of the running average (PyTorch convention), or null for a cumulative average.</param>
    /// <param name="affine">Learnable γ and β.</param>
    /// <param name="trackRunningStats">Keep running statistics (used in evaluation).</param>
    /// <param name="device">Where the parameters and buffers live (default the CPU).</param>
    /// <param name="scale">With affine, learn γ (false: γ ≡ 1, only β is a parameter).</param>
    /// <example><code>var bn = new BatchNorm2d(64, eps: 1e-3);</code></example>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, Device? device = null,
        bool scale = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats, device, scale) { }

    private protected override void CheckInput(Variable x)
    {
        if (x.Value.Rank != 4)
            throw new ArgumentException($"BatchNorm2d({NumFeatures}): input {x.Describe()} must be [N, C, H, W]");
    }

    /// <summary>
    /// The conv-block tail MaxPool2d(this(ReLU(x))) (VECQ.md §4's order), as one fused node in training mode:
    /// the same output, gradients and running-statistics update as <c>Functions.MaxPool2d(Forward(Functions.Relu(x)), …)</c>
    /// without its full-size intermediates. In evaluation (with running statistics) it runs those three steps.
    /// x: [N, C, H, W] → [N, C, OH, OW].
    /// </summary>
    /// <example><code>using var y = bn1.ReluForwardMaxPool(conv1Out, (2, 2)); // [N, 32, 28, 28] → [N, 32, 14, 14]</code></example>
    public Variable ReluForwardMaxPool(Variable x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        CheckChannels(x);
        using var gamma = new ParameterLease(Weight, Training);   // [C] or none
        using var beta = new ParameterLease(Bias, Training);      // [C] or none
        if (Training || !TrackRunningStats)
            return Traced(WithBatchStatistics(Functions.ReluBatchNormMaxPool2d(x, gamma.Value, beta.Value, Eps, kernel, stride, padding), x));
        using var h = Functions.Relu(x);                                      // [N, C, H, W]
        using var t = RunningStatistics(h, gamma.Value, beta.Value);          // [N, C, H, W]
        return Traced(Functions.MaxPool2d(t, kernel, stride, padding));       // [N, C, OH, OW]
    }
}
