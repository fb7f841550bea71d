using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// 1-D convolution over [N, C, L] (PyTorch's nn.Conv1d and its names): "weight" [O, C/groups, K], "bias" [O];
/// PyTorch's initialisation (kaiming-uniform with a = √5, bias U(±1/√fan_in)). Runs as the 2-D convolution of
/// [N, C, 1, L] with a 1×K kernel (<see cref="Functions.Conv1d"/>).
/// </summary>
/// <example><code>
/// var conv = new Conv1d(128, 64, kernel: 5);
/// using var y = conv.Forward(x); // x: [N, 128, 100] → y: [N, 64, 96]
/// </code></example>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels C.</param>
    /// <param name="outChannels">Output channels O.</param>
    /// <param name="kernel">Kernel length K.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zeros on each end.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Groups (must divide C and O).</param>
    /// <param name="bias">Whether there is a bias.</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the parameters live (default the CPU).</param>
    public Conv1d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        bool bias = true, Rng? rng = null, Device? device = null)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"Conv1d: channels must be positive (in {inChannels}, out {outChannels})");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv1d: groups {groups} must divide both in_channels {inChannels} and out_channels {outChannels}");
        if (kernel <= 0 || stride <= 0 || dilation <= 0 || padding < 0)
            throw new ArgumentException($"Conv1d: kernel {kernel}, stride {stride} and dilation {dilation} must be positive and padding {padding} ≥ 0");
        (InChannels, OutChannels, Kernel, Stride, Padding, Dilation, Groups) = (inChannels, outChannels, kernel, stride, padding, dilation, groups);
        Weight = RegisterParameter("weight", Tensor.Empty([outChannels, inChannels / groups, kernel]));   // [O, C/groups, K]
        if (bias) Bias = RegisterParameter("bias", Tensor.Empty([outChannels]));                           // [O]
        Init.DefaultLinearOrConv(Weight.Data, Bias?.Data, rng ?? Init.DefaultRng);
        if (device is { } d) To(d);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel length.</summary>
    public int Kernel { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zeros on each end.</summary>
    public int Padding { get; }
    /// <summary>Tap spacing.</summary>
    public int Dilation { get; }
    /// <summary>Groups.</summary>
    public int Groups { get; }
    /// <summary>"weight": [O, C/groups, K].</summary>
    public Parameter Weight { get; }
    /// <summary>"bias": [O], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>x: [N, C, L] → [N, O, L'].</summary>
    /// <example><code>using var y = conv.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 3 || x.Shape[1] != InChannels)
            throw new ArgumentException($"Conv1d({InChannels}, {OutChannels}): input {x.Describe()} must be [N, {InChannels}, L]");
        using var w = new ParameterLease(Weight, Training);   // [O, C/groups, K]
        using var b = new ParameterLease(Bias, Training);     // [O] or none
        return Traced(Functions.Conv1d(x, w.Value!, b.Value, Stride, Padding, Dilation, Groups));   // [N, O, L']
    }
}

/// <summary>What the 1-D pools share: window length, step (default the window) and padding, checked as the 2-D pools'.</summary>
public abstract class Pool1dBase : Module
{
    /// <summary>Checks and keeps the geometry.</summary>
    /// <param name="name">The layer's name for messages.</param>
    /// <param name="kernel">Window length.</param>
    /// <param name="stride">Step (default the kernel).</param>
    /// <param name="padding">Padding on each end (at most half the kernel).</param>
    private protected Pool1dBase(string name, int kernel, int? stride, int padding)
    {
        (Kernel, Stride, Padding) = (kernel, stride ?? kernel, padding);
        Pool.Check(name, (1, kernel), (1, Stride), (0, padding));
    }

    /// <summary>Window length.</summary>
    public int Kernel { get; }
    /// <summary>Step.</summary>
    public int Stride { get; }
    /// <summary>Padding on each end.</summary>
    public int Padding { get; }
}

/// <summary>1-D max pool over [N, C, L] (PyTorch's nn.MaxPool1d; stride defaults to the kernel; −∞ padding).</summary>
/// <example><code>var pool = new MaxPool1d(4); using var y = pool.Forward(x); // [N, C, 96] → [N, C, 24]</code></example>
public sealed class MaxPool1d(int kernel, int? stride = null, int padding = 0) : Pool1dBase("MaxPool1d", kernel, stride, padding)
{
    /// <summary>x: [N, C, L] → [N, C, L'].</summary>
    /// <example><code>using var y = pool.Forward(x);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.MaxPool1d(x, Kernel, Stride, Padding));
}

/// <summary>1-D average pool over [N, C, L] (PyTorch's nn.AvgPool1d; padding counts in the divisor).</summary>
/// <example><code>var pool = new AvgPool1d(2); using var y = pool.Forward(x); // [N, C, 10] → [N, C, 5]</code></example>
public sealed class AvgPool1d(int kernel, int? stride = null, int padding = 0) : Pool1dBase("AvgPool1d", kernel, stride, padding)
{
    /// <summary>x: [N, C, L] → [N, C, L'].</summary>
    /// <example><code>using var y = pool.Forward(x);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.AvgPool1d(x, Kernel, Stride, Padding));
}
