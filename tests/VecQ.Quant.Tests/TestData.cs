using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>Seeded sample sets shared by the tests (built once per test run).</summary>
internal static class TestData
{
    public const int Million = 1_000_000;

    private static readonly Lazy<double[]> GaussianDouble = new(() => VecQTheory.GaussianSamples(Million, 20240611));
    private static readonly Lazy<float[]> GaussianFloat = new(() => Array.ConvertAll(GaussianDouble.Value, x => (float)x));
    private static readonly Lazy<float[]> LaplaceFloat = new(() => Laplace(Million, 777));
    private static readonly Lazy<double[]> QuantileDouble = new(() => GaussianQuantiles(Million));

    /// <summary>10^6 iid N(0, 1) draws (double), seed 20240611.</summary>
    public static double[] Gaussian1M => GaussianDouble.Value;

    /// <summary>The same draws as float32 weights.</summary>
    public static float[] Gaussian1MFloat => GaussianFloat.Value;

    /// <summary>10^6 iid Laplace(0, 1) draws, seed 777.</summary>
    public static float[] Laplace1M => LaplaceFloat.Value;

    /// <summary>The stratified "quantile" Gaussian sample Φ⁻¹((i + ½)/n), i &lt; 10^6 (deterministic, low variance).</summary>
    public static double[] Quantiles1M => QuantileDouble.Value;

    /// <summary>Laplace(0, 1) by inversion: x = −sign(u)·ln(1 − 2|u|), u uniform on [−½, ½).</summary>
    public static float[] Laplace(int n, ulong seed)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u = Rng.Uniform01(seed, (ulong)i) - 0.5;
            x[i] = (float)(-Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
        }
        return x;
    }

    /// <summary>n iid N(0, scale²) float32 draws.</summary>
    public static float[] Gaussian(int n, ulong seed, double scale = 1)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(scale * Rng.StandardNormal(seed, (ulong)i));
        return x;
    }

    private static double[] GaussianQuantiles(int n)
    {
        var t = new double[n];
        // symmetric: compute the lower half and mirror it
        Parallel.For(0, n / 2, i =>
        {
            double x = Normal.InverseCdf((i + 0.5) / n);
            t[i] = x;
            t[n - 1 - i] = -x;
        });
        return t;
    }
}
