using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>Which fan a Kaiming initialisation preserves the variance of.</summary>
/// <example><code>Init.KaimingNormal(w, rng, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);</code></example>
public enum FanMode
{
    /// <summary>Preserve the forward pass's variance (fan_in = inputs per output).</summary>
    FanIn,
    /// <summary>Preserve the backward pass's variance (fan_out = outputs per input).</summary>
    FanOut,
}

/// <summary>The nonlinearity that follows a layer, for <see cref="Init.CalculateGain"/>.</summary>
/// <example><code>double g = Init.CalculateGain(Nonlinearity.Tanh); // 5/3</code></example>
public enum Nonlinearity
{
    /// <summary>No nonlinearity (gain 1); also conv and sigmoid.</summary>
    Linear,
    /// <summary>Sigmoid (gain 1).</summary>
    Sigmoid,
    /// <summary>Tanh (gain 5/3).</summary>
    Tanh,
    /// <summary>ReLU (gain √2).</summary>
    Relu,
    /// <summary>Leaky ReLU with negative slope a (gain √(2/(1 + a²))); PyTorch's Kaiming default.</summary>
    LeakyRelu,
    /// <summary>SELU (gain 3/4).</summary>
    Selu,
}

/// <summary>
/// Weight initialisers with PyTorch's formulas (torch.nn.init), filling a tensor or parameter in
/// place from a seeded <see cref="Rng"/> so model initialisation is reproducible. The random
/// numbers themselves come from VecQ's counter-based generator, so they differ from PyTorch's;
/// the distributions (bounds, standard deviations, fans) are the same.
/// </summary>
/// <remarks>
/// Fans as PyTorch computes them for a weight of shape [out, in, k…]: receptive = Π k…,
/// fan_in = in·receptive, fan_out = out·receptive (a Linear weight [out, in] has receptive 1;
/// a grouped conv's weight [out, in/groups, kh, kw] gives fan_in = in/groups·kh·kw).
/// Layer defaults (PyTorch's reset_parameters): Linear and Conv2d weights
/// kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in), and biases U(−1/√fan_in, 1/√fan_in);
/// batch-norm weight 1, bias 0.
/// </remarks>
/// <example><code>
/// var rng = new Rng(42);
/// using var w = Tensor.Zeros([128, 784]);
/// Init.KaimingUniform(w, rng, nonlinearity: Nonlinearity.Relu);   // U(−√(6/784), √(6/784))
/// </code></example>
public static class Init
{
    /// <summary>
    /// The generator layer constructors use when they are given no <see cref="Rng"/> (and
    /// <see cref="Dropout"/> when it has none): seeded 0 at start-up, so a program that builds its
    /// model in the same order gets the same weights every run. It is shared global state and not
    /// thread-safe; replace it (<c>Init.DefaultRng = new Rng(seed)</c>) to reseed, or pass an
    /// <see cref="Rng"/> to each constructor when models are built concurrently.
    /// </summary>
    /// <example><code>Init.DefaultRng = new Rng(7); var model = new LeNet5();</code></example>
    public static Rng DefaultRng { get; set; } = new(0);

    /// <summary>fan_in and fan_out of a weight shape [out, in, k…] (rank ≥ 2), as torch.nn.init computes them.</summary>
    /// <example><code>var (fanIn, fanOut) = Init.CalculateFans([64, 32, 5, 5]); // (800, 1600)</code></example>
    public static (long FanIn, long FanOut) CalculateFans(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 2)
            throw new ArgumentException($"init: fan in and fan out cannot be computed for a tensor of shape {Shape.Format(shape)} (fewer than 2 dimensions)");
        long receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>
    /// The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear and
    /// sigmoid, 5/3 for tanh, √2 for ReLU, √(2/(1 + a²)) for leaky ReLU with slope
    /// <paramref name="negativeSlope"/>, 3/4 for SELU.
    /// </summary>
    /// <example><code>double g = Init.CalculateGain(Nonlinearity.LeakyRelu, Math.Sqrt(5)); // √(1/3)</code></example>
    public static double CalculateGain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        Nonlinearity.Selu => 0.75,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unknown nonlinearity"),
    };

    /// <summary>Fills <paramref name="t"/> in place with U(<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <example><code>Init.Uniform(b, rng, -0.1, 0.1);</code></example>
    public static void Uniform(Tensor t, Rng rng, double low = 0, double high = 1)
    {
        Check(t, rng, "uniform");
        if (!(high >= low)) throw new ArgumentException($"init uniform: low {low} must not exceed high {high}");
        using var r = Tensor.Rand(t.Dims, rng, low, high, t.DType, t.Device);
        t.CopyFrom(r);
    }

    /// <summary>Fills <paramref name="t"/> in place with N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    /// <example><code>Init.Normal(w, rng, 0, 0.01);</code></example>
    public static void Normal(Tensor t, Rng rng, double mean = 0, double std = 1)
    {
        Check(t, rng, "normal");
        if (!(std >= 0)) throw new ArgumentException($"init normal: std {std} must be ≥ 0");
        using var r = Tensor.RandN(t.Dims, rng, mean, std, t.DType, t.Device);
        t.CopyFrom(r);
    }

    /// <summary>Sets every element of <paramref name="t"/> to 0.</summary>
    /// <example><code>Init.Zeros(bias);</code></example>
    public static void Zeros(Tensor t) { ArgumentNullException.ThrowIfNull(t); t.Fill(0); }

    /// <summary>Sets every element of <paramref name="t"/> to 1.</summary>
    /// <example><code>Init.Ones(gamma);</code></example>
    public static void Ones(Tensor t) { ArgumentNullException.ThrowIfNull(t); t.Fill(1); }

    /// <summary>
    /// Kaiming (He) uniform: U(−b, b) with b = gain·√(3/fan), gain = <see cref="CalculateGain"/>
    /// of <paramref name="nonlinearity"/> with slope <paramref name="a"/>, fan by <paramref name="mode"/>.
    /// Defaults as torch.nn.init.kaiming_uniform_ (a = 0, fan_in, leaky_relu).
    /// </summary>
    /// <example><code>Init.KaimingUniform(w, rng, a: Math.Sqrt(5)); // PyTorch's Linear/Conv default</code></example>
    public static void KaimingUniform(Tensor t, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        double std = KaimingStd(t, a, mode, nonlinearity);
        double bound = Math.Sqrt(3.0) * std;
        Uniform(t, rng, -bound, bound);
    }

    /// <summary>
    /// Kaiming (He) normal: N(0, std²) with std = gain/√fan (see <see cref="KaimingUniform"/> for the arguments).
    /// </summary>
    /// <example><code>Init.KaimingNormal(w, rng, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu); // ResNet's choice</code></example>
    public static void KaimingNormal(Tensor t, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Normal(t, rng, 0, KaimingStd(t, a, mode, nonlinearity));

    /// <summary>Xavier (Glorot) uniform: U(−b, b) with b = gain·√(6/(fan_in + fan_out)).</summary>
    /// <example><code>Init.XavierUniform(w, rng);</code></example>
    public static void XavierUniform(Tensor t, Rng rng, double gain = 1)
    {
        double bound = Math.Sqrt(3.0) * XavierStd(t, gain);
        Uniform(t, rng, -bound, bound);
    }

    /// <summary>Xavier (Glorot) normal: N(0, std²) with std = gain·√(2/(fan_in + fan_out)).</summary>
    /// <example><code>Init.XavierNormal(w, rng, gain: Init.CalculateGain(Nonlinearity.Tanh));</code></example>
    public static void XavierNormal(Tensor t, Rng rng, double gain = 1) => Normal(t, rng, 0, XavierStd(t, gain));

    /// <summary>
    /// PyTorch's default for a Linear or Conv2d: weight kaiming_uniform(a = √5) and, when
    /// <paramref name="bias"/> is given, bias U(−1/√fan_in, 1/√fan_in) with fan_in from the weight.
    /// </summary>
    /// <example><code>Init.DefaultLinearOrConv(layer.Weight.Data, layer.Bias?.Data, rng);</code></example>
    public static void DefaultLinearOrConv(Tensor weight, Tensor? bias, Rng rng)
    {
        KaimingUniform(weight, rng, a: Math.Sqrt(5.0));
        if (bias is null) return;
        var (fanIn, _) = CalculateFans(weight.Dims);
        double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        Uniform(bias, rng, -bound, bound);
    }

    private static double KaimingStd(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        ArgumentNullException.ThrowIfNull(t);
        var (fanIn, fanOut) = CalculateFans(t.Dims);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"init kaiming: tensor {t.ShapeText} has {mode} 0");
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    private static double XavierStd(Tensor t, double gain)
    {
        ArgumentNullException.ThrowIfNull(t);
        var (fanIn, fanOut) = CalculateFans(t.Dims);
        if (fanIn + fanOut == 0) throw new ArgumentException($"init xavier: tensor {t.ShapeText} has fan_in + fan_out = 0");
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    private static void Check(Tensor t, Rng rng, string what)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(rng);
        if (!t.DType.IsFloat()) throw new ArgumentException($"init {what}: tensor {t.ShapeText} is {t.DType.Name()}; only float tensors can be initialised randomly");
    }
}
