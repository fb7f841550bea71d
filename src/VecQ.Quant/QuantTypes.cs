namespace VecQ.Quant;

/// <summary>The weight quantization methods: VecQ and the baselines it is compared against (VECQ.md §5).</summary>
/// <example><code>var m = QuantMethods.Parse("ul2q"); // QuantMethod.MuL2Q</code></example>
public enum QuantMethod
{
    /// <summary>VecQ: steering (σ·λ_k step on the half-integer grid) then driving (α = w·v/v·v). Name "vecq".</summary>
    VecQ,
    /// <summary>μL2Q: mean-shifted, same grid, α fixed to λ·σ (no driving stage) with μL2Q's own λ (<see cref="VecQTheory.OptimalMuL2QLambda"/>). Name "ul2q".</summary>
    MuL2Q,
    /// <summary>TWN ternary: Δ = 0.7·mean|w|, α = mean of |w_i| over |w_i| &gt; Δ; 2 bits only. Name "twn".</summary>
    Twn,
    /// <summary>ENN-style iterative L2: alternate α and the grid projection from the VecQ start. Name "l2".</summary>
    IterativeL2,
    /// <summary>Uniform min-max: 2^k levels linearly spaced between min(w) and max(w). Name "uniform".</summary>
    Uniform,
    /// <summary>BWN binary: α = mean|w|, v = sign(w); 1 bit only. Name "binary".</summary>
    Binary,
}

/// <summary>How the step width λ (in units of σ) of VecQ is chosen.</summary>
/// <example><code>var q = new VecQQuantizer(4, LambdaMode.Exact);</code></example>
public enum LambdaMode
{
    /// <summary>λ_k from the Gaussian theory (<see cref="VecQTheory.OptimalLambda"/>): only σ is computed per pass.</summary>
    Gaussian,
    /// <summary>λ searched on the weights themselves (<see cref="VecQTheory.GridSearch"/>): the "actual" λ.</summary>
    Exact,
}

/// <summary>Whether one (σ, λ, α) serves the whole tensor or each output channel (axis 0).</summary>
/// <example><code>var q = new VecQQuantizer(2, granularity: Granularity.PerChannel);</code></example>
public enum Granularity
{
    /// <summary>One group: the whole tensor (the reference's choice).</summary>
    PerTensor,
    /// <summary>One group per index of axis 0 (output channel of conv/linear weights).</summary>
    PerChannel,
}

/// <summary>Names of <see cref="QuantMethod"/> values as used on the command line and in files.</summary>
/// <example><code>
/// QuantMethod m = QuantMethods.Parse("twn");
/// string name = m.Name(); // "twn"
/// </code></example>
public static class QuantMethods
{
    /// <summary>Every method name accepted by <see cref="Parse"/>, in enum order.</summary>
    public static readonly IReadOnlyList<string> Names = ["vecq", "ul2q", "twn", "l2", "uniform", "binary"];

    /// <summary>The short name of <paramref name="method"/> ("vecq", "ul2q", "twn", "l2", "uniform", "binary").</summary>
    /// <example><code>string s = QuantMethod.IterativeL2.Name(); // "l2"</code></example>
    public static string Name(this QuantMethod method) => method switch
    {
        QuantMethod.VecQ => "vecq",
        QuantMethod.MuL2Q => "ul2q",
        QuantMethod.Twn => "twn",
        QuantMethod.IterativeL2 => "l2",
        QuantMethod.Uniform => "uniform",
        QuantMethod.Binary => "binary",
        _ => throw new ArgumentException($"quant method: unknown value {(int)method}"),
    };

    /// <summary>Parses a method name (case-insensitive; "mul2q" and "iterative-l2" are accepted too).</summary>
    /// <exception cref="ArgumentException">The name is not a method; the message lists the valid names.</exception>
    /// <example><code>var m = QuantMethods.Parse("VecQ");</code></example>
    public static QuantMethod Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "vecq" => QuantMethod.VecQ,
            "ul2q" or "mul2q" or "μl2q" => QuantMethod.MuL2Q,
            "twn" or "ternary" => QuantMethod.Twn,
            "l2" or "iterative-l2" or "iterativel2" => QuantMethod.IterativeL2,
            "uniform" or "minmax" or "linear" => QuantMethod.Uniform,
            "binary" or "bwn" => QuantMethod.Binary,
            _ => throw new ArgumentException($"quant method: unknown method '{name}'; expected one of {string.Join(", ", Names)}"),
        };
    }

    /// <summary>The only bit width a method supports, or null when any of 1..16 works (TWN: 2, binary: 1).</summary>
    /// <example><code>int? b = QuantMethod.Twn.FixedBits(); // 2</code></example>
    public static int? FixedBits(this QuantMethod method) => method switch
    {
        QuantMethod.Twn => 2,
        QuantMethod.Binary => 1,
        _ => null,
    };

    /// <summary>Throws unless <paramref name="bits"/> is a bit width <paramref name="method"/> supports.</summary>
    /// <exception cref="ArgumentException">Bits outside 1..16, or not the fixed width of TWN/binary; the message names the value.</exception>
    /// <example><code>QuantMethod.Twn.CheckBits(2); // ok; 3 would throw</code></example>
    public static void CheckBits(this QuantMethod method, int bits, string? what = null)
    {
        string who = what ?? method.Name();
        if (bits < 1 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"{who}: bits {bits} is out of range; weight bit widths are 1..{WeightQuantizer.MaxBits}");
        if (method.FixedBits() is int fixedBits && bits != fixedBits)
            throw new ArgumentException($"{who}: method {method.Name()} supports only {fixedBits} bit{(fixedBits == 1 ? "" : "s")}, got bits {bits}");
    }
}

/// <summary>
/// The parameters of one quantized group (the whole tensor or one output channel). The dequantized
/// weight of code c is <c>Alpha·(c + CodeOffset) + Shift</c>, computed in float32 as
/// <c>v = (float)c + CodeOffset; w_q = v·Alpha; if (Shift != 0) w_q += Shift</c> (see
/// <see cref="WeightQuantizer.Dequantize(ReadOnlySpan{int}, QuantGroup, Span{float})"/>).
/// </summary>
/// <param name="Alpha">Scale α (float32, exactly the value used in the forward pass and stored on export).</param>
/// <param name="Shift">Additive shift (μ for μL2Q, the range midpoint for uniform; 0 otherwise).</param>
/// <param name="CodeOffset">½ for the half-integer grids (v = c + ½), 0 for TWN's integer levels.</param>
/// <param name="Lambda">Step width in units of σ (NaN where the method has none).</param>
/// <param name="Sigma">Population standard deviation of the group (NaN where the method does not use it).</param>
/// <param name="Iterations">Alternation rounds of iterative L2 (0 for the one-shot methods).</param>
/// <example><code>var g = new QuantGroup(0.1f, 0f, 0.5f, 0.996, 0.05, 0); // w_q = 0.1·(c + ½)</code></example>
public readonly record struct QuantGroup(float Alpha, float Shift, float CodeOffset, double Lambda, double Sigma, int Iterations);

/// <summary>
/// The losses of a quantized tensor (VECQ.md §1), with w the float weights and w_q the dequantized ones:
/// orientation loss J_o = 1 − cos(w, w_q) (for the unshifted methods with α &gt; 0 this is exactly
/// 1 − cos(w, v), computed in double from v), modulus loss J_m = |w − w_q|² (= DQL), and the
/// normalised DQL J_m/|w|². Per-channel tensors report totals: J_m summed, J_o over the whole tensor.
/// </summary>
/// <param name="OrientationLoss">J_o = 1 − cos(w, w_q) (0 for an all-zero w; 1 when w ≠ 0 but w_q = 0).</param>
/// <param name="ModulusLoss">J_m = |w − w_q|² with w_q the float32 weights actually used.</param>
/// <param name="NormSquared">|w|².</param>
/// <example><code>double n = metrics.NormalizedDql;</code></example>
public readonly record struct QuantMetrics(double OrientationLoss, double ModulusLoss, double NormSquared)
{
    /// <summary>Direct quantization loss |w − α v|² (the same number as <see cref="ModulusLoss"/>).</summary>
    public double Dql => ModulusLoss;

    /// <summary>|w − α v|²/|w|² (0 for an all-zero w).</summary>
    public double NormalizedDql => NormSquared > 0 ? ModulusLoss / NormSquared : 0;
}

/// <summary>
/// A quantized tensor: the integer codes (k-bit two's complement values in [−2^(k−1), 2^(k−1) − 1]),
/// one <see cref="QuantGroup"/> per group, the dequantized float32 values and the losses.
/// </summary>
/// <example><code>
/// var r = new VecQQuantizer(2).Quantize(weights);   // one group
/// float a = r.Alpha; int c0 = r.Codes[0]; double jo = r.OrientationLoss;
/// </code></example>
public sealed class QuantResult
{
    internal QuantResult(QuantMethod method, int bits, Granularity granularity, int[] shape, int[] codes, QuantGroup[] groups, float[] values, QuantMetrics metrics)
    {
        Method = method;
        Bits = bits;
        Granularity = granularity;
        Shape = shape;
        Codes = codes;
        Groups = groups;
        Values = values;
        Metrics = metrics;
    }

    /// <summary>The method that produced the result.</summary>
    public QuantMethod Method { get; }
    /// <summary>Bit width k.</summary>
    public int Bits { get; }
    /// <summary>Per tensor or per channel (axis 0).</summary>
    public Granularity Granularity { get; }
    /// <summary>Shape of the tensor ([n] for a span).</summary>
    public int[] Shape { get; }
    /// <summary>The codes c (v = c + CodeOffset), row-major.</summary>
    public int[] Codes { get; }
    /// <summary>One entry per group (1, or Shape[0] per channel).</summary>
    public IReadOnlyList<QuantGroup> Groups { get; }
    /// <summary>The dequantized weights w_q (float32, row-major): exactly what the transform feeds the layer.</summary>
    public float[] Values { get; }
    /// <summary>The losses.</summary>
    public QuantMetrics Metrics { get; }
    /// <summary>α of the first group (the only one per tensor).</summary>
    public float Alpha => Groups[0].Alpha;
    /// <summary>λ of the first group.</summary>
    public double Lambda => Groups[0].Lambda;
    /// <summary>σ of the first group.</summary>
    public double Sigma => Groups[0].Sigma;
    /// <summary>J_o = 1 − cos(w, w_q).</summary>
    public double OrientationLoss => Metrics.OrientationLoss;
    /// <summary>J_m = |w − w_q|².</summary>
    public double ModulusLoss => Metrics.ModulusLoss;
    /// <summary>DQL = |w − α v|².</summary>
    public double Dql => Metrics.Dql;
    /// <summary>DQL/|w|².</summary>
    public double NormalizedDql => Metrics.NormalizedDql;
}
