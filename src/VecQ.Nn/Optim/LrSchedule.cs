namespace VecQ.Nn;

/// <summary>
/// A learning-rate schedule as a pure function of the training position, so a resumed run gets
/// exactly the learning rate the uninterrupted run would have had (there is no state to save).
/// Positions are 0-based: the step about to be taken is step <c>stepInEpoch</c> of epoch
/// <c>epoch</c>, and its global index is <c>epoch·stepsPerEpoch + stepInEpoch</c>. Epoch-based
/// schedules (StepLR, MultiStepLR, CosineAnnealingLR) match PyTorch's schedulers stepped once per
/// epoch: the value for epoch e is what PyTorch's <c>get_last_lr()</c> reports during epoch e.
/// </summary>
/// <example><code>
/// var schedule = new LinearWarmup(new CosineAnnealingLR(0.1, tMax: 30), warmupSteps: 500);
/// for (int epoch = 0; epoch &lt; 30; epoch++)
///     for (int i = 0; i &lt; stepsPerEpoch; i++)
///     {
///         opt.Lr = schedule.LrAt(epoch, i, stepsPerEpoch);
///         // forward, backward, opt.Step()
///     }
/// </code></example>
public abstract class LrSchedule
{
    /// <summary>The learning rate for step <paramref name="stepInEpoch"/> of epoch <paramref name="epoch"/>.</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="stepInEpoch">0-based step within the epoch (below <paramref name="stepsPerEpoch"/>).</param>
    /// <param name="stepsPerEpoch">Optimizer steps per epoch (≥ 1).</param>
    /// <example><code>double lr = new StepLR(0.1, stepSize: 30).LrAt(45, 0, 100); // 0.01</code></example>
    public double LrAt(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, $"{GetType().Name}: steps per epoch must be >= 1");
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"{GetType().Name}: epoch must be >= 0");
        if (stepInEpoch < 0 || stepInEpoch >= stepsPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(stepInEpoch), stepInEpoch, $"{GetType().Name}: step in epoch must be in [0, {stepsPerEpoch})");
        return Compute(epoch, stepInEpoch, stepsPerEpoch);
    }

    /// <summary>The learning rate for a 0-based global step.</summary>
    /// <example><code>double lr = schedule.LrAt(globalStep: 1234, stepsPerEpoch: 469);</code></example>
    public double LrAt(long globalStep, int stepsPerEpoch)
    {
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, $"{GetType().Name}: steps per epoch must be >= 1");
        if (globalStep < 0) throw new ArgumentOutOfRangeException(nameof(globalStep), globalStep, $"{GetType().Name}: global step must be >= 0");
        long epoch = globalStep / stepsPerEpoch;
        if (epoch > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(globalStep), globalStep, $"{GetType().Name}: global step is too large");
        return Compute((int)epoch, (int)(globalStep % stepsPerEpoch), stepsPerEpoch);
    }

    /// <summary>The schedule's formula (arguments already validated).</summary>
    protected abstract double Compute(int epoch, int stepInEpoch, int stepsPerEpoch);

    /// <summary>Validates a learning rate argument.</summary>
    private protected static double CheckLr(double lr, string name, string owner)
    {
        if (!(lr >= 0) || double.IsInfinity(lr)) throw new ArgumentOutOfRangeException(name, lr, $"{owner}: invalid learning rate {lr}; expected a finite value >= 0");
        return lr;
    }

    private protected static double CheckGamma(double gamma, string owner)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"{owner}: invalid gamma {gamma}; expected a finite value >= 0");
        return gamma;
    }
}

/// <summary>A constant learning rate.</summary>
/// <example><code>var schedule = new ConstantLR(0.01);</code></example>
public sealed class ConstantLR : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="lr">The learning rate for every step.</param>
    public ConstantLR(double lr) { Lr = CheckLr(lr, nameof(lr), nameof(ConstantLR)); }

    /// <summary>The learning rate.</summary>
    public double Lr { get; }

    /// <inheritdoc/>
    protected override double Compute(int epoch, int stepInEpoch, int stepsPerEpoch) => Lr;
}

/// <summary>Decays the learning rate by <c>gamma</c> every <c>stepSize</c> epochs: baseLr·gamma^⌊epoch / stepSize⌋ (torch StepLR).</summary>
/// <example><code>var schedule = new StepLR(0.1, stepSize: 30, gamma: 0.1); // 0.1, then 0.01 from epoch 30</code></example>
public sealed class StepLR : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="baseLr">Learning rate of the first epochs.</param>
    /// <param name="stepSize">Epochs between decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative factor per decay.</param>
    public StepLR(double baseLr, int stepSize, double gamma = 0.1)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "StepLR: step size must be >= 1 epoch");
        BaseLr = CheckLr(baseLr, nameof(baseLr), nameof(StepLR));
        StepSize = stepSize;
        Gamma = CheckGamma(gamma, nameof(StepLR));
    }

    /// <summary>Initial learning rate.</summary>
    public double BaseLr { get; }
    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double Compute(int epoch, int stepInEpoch, int stepsPerEpoch) => BaseLr * Math.Pow(Gamma, epoch / StepSize);
}

/// <summary>Decays the learning rate by <c>gamma</c> at each milestone epoch: baseLr·gamma^(number of milestones ≤ epoch) (torch MultiStepLR).</summary>
/// <example><code>var schedule = new MultiStepLR(0.1, [30, 80], gamma: 0.1);</code></example>
public sealed class MultiStepLR : LrSchedule
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule.</summary>
    /// <param name="baseLr">Learning rate before the first milestone.</param>
    /// <param name="milestones">Epochs at which the rate decays (≥ 1; sorted here; a repeated milestone decays twice, as PyTorch).</param>
    /// <param name="gamma">Multiplicative factor per milestone.</param>
    public MultiStepLR(double baseLr, IEnumerable<int> milestones, double gamma = 0.1)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        BaseLr = CheckLr(baseLr, nameof(baseLr), nameof(MultiStepLR));
        _milestones = milestones.Order().ToArray();
        if (_milestones.Length > 0 && _milestones[0] < 1)
            throw new ArgumentOutOfRangeException(nameof(milestones), _milestones[0], "MultiStepLR: milestones must be epochs >= 1");
        Gamma = CheckGamma(gamma, nameof(MultiStepLR));
    }

    /// <summary>Initial learning rate.</summary>
    public double BaseLr { get; }
    /// <summary>The milestone epochs in ascending order.</summary>
    public IReadOnlyList<int> Milestones => _milestones;
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double Compute(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        int passed = 0;
        foreach (int m in _milestones) if (m <= epoch) passed++;
        return BaseLr * Math.Pow(Gamma, passed);
    }
}

/// <summary>
/// Cosine annealing from baseLr to etaMin over tMax epochs (torch CosineAnnealingLR's closed form):
/// etaMin + (baseLr − etaMin)·(1 + cos(π·t / tMax)) / 2. t is the epoch, or with
/// <c>perStep</c> the fractional epoch epoch + stepInEpoch / stepsPerEpoch. Past tMax the curve
/// continues (rising again with period 2·tMax) exactly as PyTorch's does.
/// </summary>
/// <example><code>var schedule = new CosineAnnealingLR(0.1, tMax: 200, etaMin: 1e-4);</code></example>
public sealed class CosineAnnealingLR : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="baseLr">Learning rate at t = 0.</param>
    /// <param name="tMax">Epochs from baseLr down to etaMin (≥ 1).</param>
    /// <param name="etaMin">Minimum learning rate.</param>
    /// <param name="perStep">Change the rate every step along the curve (fractional epochs) rather than once per epoch.</param>
    public CosineAnnealingLR(double baseLr, int tMax, double etaMin = 0, bool perStep = false)
    {
        if (tMax < 1) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "CosineAnnealingLR: tMax must be >= 1 epoch");
        BaseLr = CheckLr(baseLr, nameof(baseLr), nameof(CosineAnnealingLR));
        EtaMin = CheckLr(etaMin, nameof(etaMin), nameof(CosineAnnealingLR));
        TMax = tMax;
        PerStep = perStep;
    }

    /// <summary>Initial learning rate.</summary>
    public double BaseLr { get; }
    /// <summary>Half period in epochs.</summary>
    public int TMax { get; }
    /// <summary>Minimum learning rate.</summary>
    public double EtaMin { get; }
    /// <summary>Whether the rate follows the curve within an epoch.</summary>
    public bool PerStep { get; }

    /// <inheritdoc/>
    protected override double Compute(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        double t = PerStep ? epoch + (double)stepInEpoch / stepsPerEpoch : epoch;
        return EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * t / TMax)) / 2;
    }
}

/// <summary>
/// Linear warm-up over the first <c>warmupSteps</c> global steps, multiplying another schedule:
/// for global step g &lt; warmupSteps the factor is startFactor + (1 − startFactor)·(g + 1) / warmupSteps
/// (so the last warm-up step reaches the full rate), then 1.
/// </summary>
/// <example><code>var schedule = new LinearWarmup(new StepLR(0.1, 30), warmupSteps: 1000);</code></example>
public sealed class LinearWarmup : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="inner">The schedule being warmed up.</param>
    /// <param name="warmupSteps">Number of warm-up steps (0: none).</param>
    /// <param name="startFactor">Factor before the first step, in [0, 1].</param>
    public LinearWarmup(LrSchedule inner, long warmupSteps, double startFactor = 0)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "LinearWarmup: warm-up steps must be >= 0");
        if (!(startFactor >= 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "LinearWarmup: start factor must be in [0, 1]");
        Inner = inner;
        WarmupSteps = warmupSteps;
        StartFactor = startFactor;
    }

    /// <summary>The wrapped schedule.</summary>
    public LrSchedule Inner { get; }
    /// <summary>Number of warm-up steps.</summary>
    public long WarmupSteps { get; }
    /// <summary>Factor before the first step.</summary>
    public double StartFactor { get; }

    /// <inheritdoc/>
    protected override double Compute(int epoch, int stepInEpoch, int stepsPerEpoch)
    {
        double lr = Inner.LrAt(epoch, stepInEpoch, stepsPerEpoch);
        long g = (long)epoch * stepsPerEpoch + stepInEpoch;
        if (g >= WarmupSteps) return lr;
        return lr * (StartFactor + (1 - StartFactor) * (g + 1) / WarmupSteps);
    }
}
