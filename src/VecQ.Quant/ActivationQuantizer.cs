using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>
/// Activation quantizer (VECQ.md §4): the k-bit half-integer grid of VecQ with the step taken from
/// the batch and tracked like batch-norm statistics. With λ = λ_k (<see cref="VecQTheory.OptimalLambda"/>):
/// <code>
/// training:  s = λ·std(x) + 1e-7            (population std over every element of the batch)
///            v = clamp(round_half_even(x/s − ½), −2^(k−1), 2^(k−1) − 1) + ½
///            a = |x|/|v|                     (Euclidean norms over the batch)
///            y = a·v                         (the batch's own s and a)
///            step  ← momentum·step  + (1 − momentum)·s      (momentum 0.9)
///            scale ← momentum·scale + (1 − momentum)·a
/// eval:      v with s = step, y = scale·v    (the running values)
/// </code>
/// The gradient is straight-through (dL/dx = dL/dy). Buffers "step" and "scale" are float32 scalars
/// saved in checkpoints; both start at λ_k, the values for unit-variance input (so an untrained
/// quantizer in evaluation is a plain grid of step λ_k).
/// </summary>
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
    /// <exception cref="ArgumentException">bits outside 1..16 or momentum outside [0, 1].</exception>
    /// <example><code>var q = new ActivationQuantizer(8, momentum: 0.9);</code></example>
    public ActivationQuantizer(int bits = 8, double momentum = 0.9)
    {
        if (bits < 1 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"activation quantizer: bits {bits} is out of range 1..{WeightQuantizer.MaxBits}");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"activation quantizer: momentum {momentum} must be in [0, 1]");
        Bits = bits;
        Momentum = momentum;
        Lambda = VecQTheory.OptimalLambda(bits);
        StepBuffer = RegisterBuffer("step", Tensor.Scalar(Lambda));     // [] float32
        ScaleBuffer = RegisterBuffer("scale", Tensor.Scalar(Lambda));   // [] float32
    }

    /// <summary>Bit width k.</summary>
    public int Bits { get; }

    /// <summary>Weight of the old running value.</summary>
    public double Momentum { get; }

    /// <summary>λ_k used for the step.</summary>
    public double Lambda { get; }

    /// <summary>The running step buffer ("step", scalar).</summary>
    public Nn.Buffer StepBuffer { get; }

    /// <summary>The running scale buffer ("scale", scalar).</summary>
    public Nn.Buffer ScaleBuffer { get; }

    /// <summary>Current running step.</summary>
    public double RunningStep => StepBuffer.Value.Item();

    /// <summary>Current running scale.</summary>
    public double RunningScale => ScaleBuffer.Value.Item();

    /// <summary>Step s of the last forward (batch value in training, running value in eval).</summary>
    public double LastStep { get; private set; } = double.NaN;

    /// <summary>Scale a of the last forward.</summary>
    public double LastScale { get; private set; } = double.NaN;

    /// <summary>x: any float32 shape → a·v, same shape (straight-through gradient).</summary>
    /// <example><code>using var y = act.Forward(h); // h: [N, C, H, W]</code></example>
    public override Variable Forward(Variable x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var xv = x.Value;
        if (xv.DType != DType.Float32) throw new ArgumentException($"activation quantizer: input {x.Describe()} is {xv.DType.Name()}; expected float32");
        if (xv.Numel == 0) throw new ArgumentException($"activation quantizer: input {x.Describe()} is empty");
        double lo = -(1 << (Bits - 1)), hi = (1 << (Bits - 1)) - 1;
        double step, scale;
        Tensor v;
        if (Training)
        {
            double std;
            using (var variance = xv.Var(correction: 0)) std = Math.Sqrt(Math.Max(variance.Item(), 0));
            step = Lambda * std + 1e-7;
            v = Grid(xv, step, lo, hi);                                        // like x
            double xx, vv;
            using (var sq = xv.Mul(xv)) using (var s = sq.Sum()) xx = s.Item();
            using (var sq = v.Mul(v)) using (var s = sq.Sum()) vv = s.Item();
            scale = vv > 0 ? Math.Sqrt(xx) / Math.Sqrt(vv) : 0;
            Update(StepBuffer, step);
            Update(ScaleBuffer, scale);
        }
        else
        {
            step = RunningStep;
            scale = RunningScale;
            v = Grid(xv, step, lo, hi);                                        // like x
        }
        LastStep = step;
        LastScale = scale;
        using (v)
        using (var y = v.Mul(scale))                                           // a·v: like x
            return Functions.StraightThrough(x, y);
    }

    private void Update(Nn.Buffer b, double batch)
    {
        double running = b.Value.Item();
        b.Value.Fill(Momentum * running + (1 - Momentum) * batch);
    }

    // clamp(round_half_even(x/step − ½), lo, hi) + ½
    private static Tensor Grid(Tensor x, double step, double lo, double hi)
    {
        using var t = x.Div(step);
        using var t2 = t.Sub(0.5);
        using var r = t2.Round();
        using var c = r.Clamp(lo, hi);
        return c.Add(0.5);
    }
}
