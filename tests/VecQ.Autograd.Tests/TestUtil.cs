using VecQ.Tensors;

namespace VecQ.Autograd.Tests;

/// Helpers shared by the autograd tests: seeded float64 inputs and a gradcheck wrapper.
internal static class TestUtil
{
    /// Runs on the reference backend (float64 runs there anyway; this also covers allocation).
    public static IDisposable Reference() => Backend.Use(Backend.Reference);

    /// Standard normal float64 values.
    public static Tensor RandN(int[] shape, ulong seed, double std = 1) =>
        Tensor.RandN(shape, new Rng(seed), 0, std, DType.Float64);

    /// Uniform float64 values in [lo, hi).
    public static Tensor Rand(int[] shape, ulong seed, double lo, double hi) =>
        Tensor.Rand(shape, new Rng(seed), lo, hi, DType.Float64);

    /// Random int32 values in [0, n).
    public static Tensor RandInt(int[] shape, ulong seed, int n)
    {
        var rng = new Rng(seed);
        var data = new int[Shape.Numel(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = rng.NextInt(n);
        return Tensor.FromArray(data, shape);
    }

    /// GradCheck that disposes its inputs afterwards.
    public static GradCheckResult Check(Func<Variable[], Variable> f, params Tensor[] inputs)
    {
        try
        {
            using var _ = Reference();
            return GradCheck.Check(f, inputs);
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
    }

    /// A leaf over float64 data.
    public static Variable Leaf(double[] data, int[] shape, bool requiresGrad = true, string? name = null) =>
        new(Tensor.FromArray(data, shape), requiresGrad, name);

    public static double[] Values(Tensor t) => t.DType == DType.Float64 ? t.ToArray<double>() : t.ToArray<float>().Select(v => (double)v).ToArray();

    public static void AssertClose(double[] expected, Tensor actual, double tol = 1e-9)
    {
        var a = Values(actual);
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol, $"element {i}: expected {expected[i]}, got {a[i]}");
    }
}
