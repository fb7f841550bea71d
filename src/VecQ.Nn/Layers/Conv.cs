using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// A (height, width) pair for kernel sizes, strides, dilations and pooling windows. An
/// <c>int</c> converts to a square pair and a <c>(h, w)</c> tuple converts as is, so arguments read
/// like PyTorch's (<c>kernel: 5</c>, <c>stride: (2, 1)</c>).
/// </summary>
/// <example><code>Size2 k = 3; Size2 s = (2, 1); // (3, 3) and (2, 1)</code></example>
public readonly record struct Size2(int H, int W)
{
    /// <summary>The square pair (n, n).</summary>
    /// <example><code>Size2 k = 5;</code></example>
    public static implicit operator Size2(int n) => new(n, n);

    /// <summary>The pair (h, w).</summary>
    /// <example><code>Size2 k = (3, 5);</code></example>
    public static implicit operator Size2((int H, int W) hw) => new(hw.H, hw.W);

    /// <summary>The pair as a tuple (what the autograd functions take).</summary>
    /// <example><code>(int H, int W) t = new Size2(2, 2).ToTuple();</code></example>
    public (int H, int W) ToTuple() => (H, W);

    /// <inheritdoc/>
    public override string ToString() => H == W ? H.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"({H}, {W})";
}

/// <summary>
/// Convolution padding: explicit symmetric amounts (an <c>int</c> or <c>(h, w)</c>), or the strings
/// "same" (output spatial size = input size; stride 1 only) and "valid" (no padding), as PyTorch's
/// <c>padding</c> argument.
/// </summary>
/// <remarks>
/// "same" pads dilation·(k − 1) in total per axis, half on each side. When that total is odd
/// (an even kernel with an odd dilation) PyTorch pads one more on the bottom/right; VecQ's conv
/// kernels take symmetric padding only, so that case is rejected with an error that says so
/// (use an odd kernel, or pad explicitly).
/// </remarks>
/// <example><code>ConvPadding a = 2, b = (1, 0), c = "same";</code></example>
public readonly record struct ConvPadding
{
    private ConvPadding(int h, int w, bool same) { H = h; W = w; IsSame = same; }

    /// <summary>Explicit padding rows (top and bottom each); 0 for "same" until resolved.</summary>
    public int H { get; }

    /// <summary>Explicit padding columns (left and right each); 0 for "same" until resolved.</summary>
    public int W { get; }

    /// <summary>True for "same".</summary>
    public bool IsSame { get; }

    /// <summary>"same" padding.</summary>
    public static ConvPadding Same => new(0, 0, true);

    /// <summary>No padding ("valid").</summary>
    public static ConvPadding Valid => new(0, 0, false);

    /// <summary>Explicit symmetric padding.</summary>
    /// <example><code>var p = ConvPadding.Explicit(1, 2);</code></example>
    public static ConvPadding Explicit(int h, int w)
    {
        if (h < 0 || w < 0) throw new ArgumentException($"conv padding ({h}, {w}) must be ≥ 0");
        return new(h, w, false);
    }

    /// <summary>n on every side.</summary>
    /// <example><code>ConvPadding p = 2;</code></example>
    public static implicit operator ConvPadding(int n) => Explicit(n, n);

    /// <summary>h rows top and bottom, w columns left and right.</summary>
    /// <example><code>ConvPadding p = (1, 2);</code></example>
    public static implicit operator ConvPadding((int H, int W) hw) => Explicit(hw.H, hw.W);

    /// <summary>"same" or "valid" (case-insensitive).</summary>
    /// <example><code>ConvPadding p = "same";</code></example>
    public static implicit operator ConvPadding(string mode) => mode?.ToLowerInvariant() switch
    {
        "same" => Same,
        "valid" => Valid,
        _ => throw new ArgumentException($"conv padding '{mode}': expected \"same\", \"valid\", an int or (h, w)"),
    };

    /// <summary>
    /// The symmetric (h, w) padding for a kernel, stride and dilation: the explicit amounts, or for
    /// "same" dilation·(k − 1)/2 per side (errors for stride ≠ 1 or when the total is odd).
    /// </summary>
    /// <example><code>var p = ConvPadding.Same.Resolve(5, 1, 1); // (2, 2)</code></example>
    public (int H, int W) Resolve(Size2 kernel, Size2 stride, Size2 dilation)
    {
        if (!IsSame) return (H, W);
        if (stride.H != 1 || stride.W != 1)
            throw new ArgumentException($"conv padding \"same\" needs stride 1 (got stride {stride}), as in PyTorch; pad explicitly for strided convolutions");
        int th = dilation.H * (kernel.H - 1), tw = dilation.W * (kernel.W - 1);
        if (th % 2 != 0 || tw % 2 != 0)
            throw new ArgumentException(
                $"conv padding \"same\" with kernel {kernel} and dilation {dilation} needs total padding ({th}, {tw}); an odd total must be split " +
                "asymmetrically (PyTorch pads the extra row/column at the bottom/right), which VecQ's conv does not support. Use an odd kernel or explicit padding.");
        return (th / 2, tw / 2);
    }

    /// <inheritdoc/>
    public override string ToString() => IsSame ? "same" : H == W ? H.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"({H}, {W})";
}

/// <summary>
/// 2-D convolution over NCHW input (PyTorch's nn.Conv2d): parameters "weight"
/// [out, in/groups, kh, kw] and, with <c>bias</c>, "bias" [out]; stride, padding (explicit,
/// "same" or "valid", see <see cref="ConvPadding"/>), dilation and groups (groups = in = out is a
/// depthwise convolution). Initialised as PyTorch does (weight kaiming_uniform(a = √5), bias
/// U(−1/√fan_in, 1/√fan_in), fan_in = in/groups·kh·kw). The weight is read through
/// <see cref="Parameter.Value"/>.
/// </summary>
/// <example><code>
/// var conv = new Conv2d(1, 32, kernel: 5, padding: "same");
/// using var y = conv.Forward(x); // x: [N, 1, 28, 28] → y: [N, 32, 28, 28]
/// </code></example>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels C.</param>
    /// <param name="outChannels">Output channels O.</param>
    /// <param name="kernel">Kernel size (int or (kh, kw)).</param>
    /// <param name="stride">Stride (default 1).</param>
    /// <param name="padding">Padding: int, (h, w), "same" or "valid" (default 0).</param>
    /// <param name="dilation">Dilation (default 1).</param>
    /// <param name="groups">Groups; C and O must both be divisible by it.</param>
    /// <param name="bias">Whether to add a learnable bias.</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the parameters live (default the CPU; initialised there, then moved).</param>
    /// <example><code>var dw = new Conv2d(32, 32, 3, padding: 1, groups: 32, bias: false); // depthwise</code></example>
    public Conv2d(int inChannels, int outChannels, Size2 kernel, Size2? stride = null, ConvPadding? padding = null,
        Size2? dilation = null, int groups = 1, bool bias = true, Rng? rng = null, Device? device = null)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"Conv2d: channels must be positive (in {inChannels}, out {outChannels})");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups {groups} must divide both in_channels {inChannels} and out_channels {outChannels}");
        Stride = stride ?? 1;
        Dilation = dilation ?? 1;
        if (kernel.H <= 0 || kernel.W <= 0) throw new ArgumentException($"Conv2d: kernel {kernel} must be positive");
        if (Stride.H <= 0 || Stride.W <= 0) throw new ArgumentException($"Conv2d: stride {Stride} must be positive");
        if (Dilation.H <= 0 || Dilation.W <= 0) throw new ArgumentException($"Conv2d: dilation {Dilation} must be positive");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Padding = padding ?? ConvPadding.Valid;
        var (ph, pw) = Padding.Resolve(kernel, Stride, Dilation);
        ResolvedPadding = new Size2(ph, pw);
        Groups = groups;
        rng ??= Init.DefaultRng;
        Weight = RegisterParameter("weight", Tensor.Empty([outChannels, inChannels / groups, kernel.H, kernel.W]));   // [O, C/groups, KH, KW]
        if (bias) Bias = RegisterParameter("bias", Tensor.Empty([outChannels]));                                       // [O]
        Init.DefaultLinearOrConv(Weight.Data, Bias?.Data, rng);
        if (device is { } d) To(d);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel size.</summary>
    public Size2 Kernel { get; }

    /// <summary>Stride.</summary>
    public Size2 Stride { get; }

    /// <summary>Padding as given.</summary>
    public ConvPadding Padding { get; }

    /// <summary>The symmetric padding actually applied ("same" resolved).</summary>
    public Size2 ResolvedPadding { get; }

    /// <summary>Dilation.</summary>
    public Size2 Dilation { get; }

    /// <summary>Groups.</summary>
    public int Groups { get; }

    /// <summary>The weight [out, in/groups, kh, kw].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>x: [N, C, H, W] → [N, O, OH, OW].</summary>
    /// <example><code>using var y = conv.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        if (x.Value.Rank != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"Conv2d({InChannels}, {OutChannels}): input {x.Describe()} must be [N, {InChannels}, H, W]");
        using var w = new ParameterLease(Weight, Training);   // [O, C/groups, KH, KW]
        using var b = new ParameterLease(Bias, Training);     // [O] or none
        return Traced(Functions.Conv2d(x, w.Value!, b.Value, Stride.ToTuple(), ResolvedPadding.ToTuple(), Dilation.ToTuple(), Groups));   // [N, O, OH, OW]
    }
}
