using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b (PyTorch's nn.Linear). Parameters "weight" [out, in] and,
/// with <c>bias</c>, "bias" [out]; initialised as PyTorch does (weight kaiming_uniform(a = √5),
/// bias U(−1/√in, 1/√in)). The weight is read through <see cref="Parameter.Value"/>, so a
/// transform (quantizer) attached to it takes effect.
/// </summary>
/// <example><code>
/// var fc = new Linear(784, 128, rng: new Rng(0));
/// using var y = fc.Forward(x); // x: [N, 784] → y: [N, 128]
/// </code></example>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Input features (last dimension of the input).</param>
    /// <param name="outFeatures">Output features.</param>
    /// <param name="bias">Whether to add a learnable bias.</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the parameters live (default the CPU; initialised there, then moved).</param>
    /// <example><code>var head = new Linear(512, 10, bias: true, device: Device.Sim());</code></example>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Rng? rng = null, Device? device = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: features must be positive (in {inFeatures}, out {outFeatures})");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        rng ??= Init.DefaultRng;
        Weight = RegisterParameter("weight", Tensor.Empty([outFeatures, inFeatures]));   // [out, in]
        if (bias) Bias = RegisterParameter("bias", Tensor.Empty([outFeatures]));        // [out]
        Init.DefaultLinearOrConv(Weight.Data, Bias?.Data, rng);
        if (device is { } d) To(d);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight [out, in].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>x: [N…, in] → [N…, out].</summary>
    /// <example><code>using var logits = fc.Forward(h);</code></example>
    public override Variable Forward(Variable x)
    {
        using var w = new ParameterLease(Weight, Training);   // [out, in]
        using var b = new ParameterLease(Bias, Training);     // [out] or none
        return Traced(Functions.Linear(x, w.Value!, b.Value));   // [N…, out]
    }
}
