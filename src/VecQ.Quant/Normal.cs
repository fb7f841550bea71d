namespace VecQ.Quant;

/// <summary>
/// The standard normal density and distribution function in double precision, on our own
/// error-function routine: erfc(x) for 0 ≤ x &lt; 1.5 as 1 − erf(x) from the all-positive series
/// erf(x) = (2x/√π)·e^(−x²)·Σ_{n≥0} (2x²)^n/(1·3·5···(2n+1)) (no cancellation), and for x ≥ 1.5 from
/// Laplace's continued fraction √π·e^(x²)·erfc(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
/// evaluated with the modified Lentz method; erfc(−x) = 2 − erfc(x). Relative error about 1e-15
/// (the two expansions agree to that on their overlap).
/// </summary>
/// <example><code>
/// double p = Normal.Cdf(1.0);     // 0.841344746068543
/// double d = Normal.Pdf(0.0);     // 1/√(2π)
/// double e = Normal.Erfc(2.0);    // 0.004677734981047266
/// </code></example>
public static class Normal
{
    private const double InvSqrtPi = 0.56418958354775628694807945156077;   // 1/√π
    private const double InvSqrt2Pi = 0.39894228040143267793994605993438;  // 1/√(2π)
    private const double InvSqrt2 = 0.70710678118654752440084436210485;    // 1/√2

    /// <summary>φ(x) = e^(−x²/2)/√(2π).</summary>
    /// <example><code>double d = Normal.Pdf(1.0); // 0.24197072451914337</code></example>
    public static double Pdf(double x) => InvSqrt2Pi * Math.Exp(-0.5 * x * x);

    /// <summary>Φ(x) = ½·erfc(−x/√2), accurate in both tails.</summary>
    /// <example><code>double p = Normal.Cdf(-3.0); // 0.0013498980316301</code></example>
    public static double Cdf(double x) => 0.5 * Erfc(-x * InvSqrt2);

    /// <summary>The upper tail 1 − Φ(x) = ½·erfc(x/√2), without cancellation for large x.</summary>
    /// <example><code>double q = Normal.Tail(5.0); // 2.866515718791939e-7</code></example>
    public static double Tail(double x) => 0.5 * Erfc(x * InvSqrt2);

    /// <summary>
    /// Φ⁻¹(p): the rational start of Abramowitz–Stegun 26.2.23 refined by Halley steps on our
    /// <see cref="Cdf"/> to full double precision; lower half computed directly, the upper by symmetry.
    /// </summary>
    /// <exception cref="ArgumentException">p outside (0, 1).</exception>
    /// <example><code>double z = Normal.InverseCdf(0.975); // 1.959963984540054</code></example>
    public static double InverseCdf(double p)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentException($"inverse normal cdf: probability {p} must be in (0, 1)");
        if (p > 0.5) return -InverseCdf(1 - p);
        double t = Math.Sqrt(-2 * Math.Log(p));
        double x = -(t - (2.30753 + 0.27061 * t) / (1 + t * (0.99229 + 0.04481 * t)));
        for (int i = 0; i < 8; i++)
        {
            double e = Cdf(x) - p;
            double u = e / Pdf(x);
            double step = u / (1 + 0.5 * x * u);
            x -= step;
            if (Math.Abs(step) <= 1e-15 * Math.Max(1, Math.Abs(x))) break;
        }
        return x;
    }

    /// <summary>erf(x) = 1 − erfc(x) (the series directly for |x| &lt; 1.5).</summary>
    /// <example><code>double e = Normal.Erf(1.0); // 0.8427007929497149</code></example>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double ax = Math.Abs(x);
        double r = ax < 1.5 ? ErfSeries(ax) : 1 - ErfcFraction(ax);
        return x < 0 ? -r : r;
    }

    /// <summary>The complementary error function erfc(x) = (2/√π)∫_x^∞ e^(−t²) dt.</summary>
    /// <example><code>double e = Normal.Erfc(3.0); // 2.209049699858544e-5</code></example>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return 2 - Erfc(-x);
        if (x < 1.5) return 1 - ErfSeries(x);
        if (x > 27.3) return 0;   // below the smallest subnormal double
        return ErfcFraction(x);
    }

    /// <summary>erf(x) for 0 ≤ x &lt; ~3 from the all-positive series (used below 1.5).</summary>
    internal static double ErfSeries(double x)
    {
        double x2 = x * x;
        double term = 1, sum = 1;
        for (int n = 1; n < 500; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term <= 1e-17 * sum) break;
        }
        return 2 * InvSqrtPi * x * Math.Exp(-x2) * sum;
    }

    /// <summary>erfc(x) for x &gt; 0 from Laplace's continued fraction (modified Lentz; meant for x ≥ 1.5).</summary>
    internal static double ErfcFraction(double x)
    {
        // f = x + a1/(x + a2/(x + …)), a_n = n/2;  erfc(x) = e^(−x²)/(√π·f)
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 100_000; n++)
        {
            double a = 0.5 * n;
            d = x + a * d;
            if (Math.Abs(d) < tiny) d = tiny;
            d = 1 / d;
            c = x + a / c;
            if (Math.Abs(c) < tiny) c = tiny;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return InvSqrtPi * Math.Exp(-x * x) / f;
    }
}

/// <summary>One-dimensional minimisation used by the theory module (and usable by callers and tests).</summary>
/// <example><code>double x = Minimizer.GoldenSection(t => (t - 2) * (t - 2), 0, 5, 1e-10); // 2</code></example>
public static class Minimizer
{
    private static readonly double InvPhi = (Math.Sqrt(5) - 1) / 2;   // 1/φ ≈ 0.618

    /// <summary>
    /// Golden-section search for a minimum of <paramref name="f"/> on [a, b] (unimodal there), until
    /// the bracket is narrower than <paramref name="tolerance"/>; returns the bracket's midpoint.
    /// </summary>
    /// <example><code>double x = Minimizer.GoldenSection(Math.Cos, 2, 4, 1e-9); // π</code></example>
    public static double GoldenSection(Func<double, double> f, double a, double b, double tolerance = 1e-10, int maxIterations = 500)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (!(a < b)) throw new ArgumentException($"golden section: bracket [{a}, {b}] is empty");
        if (!(tolerance > 0)) throw new ArgumentException($"golden section: tolerance {tolerance} must be > 0");
        double c = b - InvPhi * (b - a), d = a + InvPhi * (b - a);
        double fc = f(c), fd = f(d);
        for (int i = 0; i < maxIterations && b - a > tolerance; i++)
        {
            if (fc <= fd)
            {
                b = d; d = c; fd = fc;
                c = b - InvPhi * (b - a);
                fc = f(c);
            }
            else
            {
                a = c; c = d; fc = fd;
                d = a + InvPhi * (b - a);
                fd = f(d);
            }
        }
        return 0.5 * (a + b);
    }

    /// <summary>
    /// A root of <paramref name="g"/> on [a, b] by bisection, given g(a) and g(b) of opposite signs
    /// (or zero); stops when the bracket can no longer be halved in double precision.
    /// </summary>
    /// <example><code>double r = Minimizer.Bisect(x => x * x - 2, 0, 2); // √2</code></example>
    public static double Bisect(Func<double, double> g, double a, double b)
    {
        ArgumentNullException.ThrowIfNull(g);
        double ga = g(a), gb = g(b);
        if (ga == 0) return a;
        if (gb == 0) return b;
        if (Math.Sign(ga) == Math.Sign(gb)) throw new ArgumentException($"bisect: g({a}) = {ga} and g({b}) = {gb} have the same sign");
        for (int i = 0; i < 200; i++)
        {
            double m = 0.5 * (a + b);
            if (m <= a || m >= b) break;
            double gm = g(m);
            if (gm == 0) return m;
            if (Math.Sign(gm) == Math.Sign(ga)) { a = m; ga = gm; }
            else b = m;
        }
        return 0.5 * (a + b);
    }
}
