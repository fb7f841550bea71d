using System.Globalization;
using System.Text;

namespace VecQ.Tensors.Tests;

/// <summary>Shared assertions and tensor builders for the tensor tests (reference and CPU backends alike).</summary>
public static class TestUtil
{
    /// <summary>Float32 tolerance used against PyTorch fixtures: |a − e| ≤ atol + rtol·|e|.</summary>
    public const double Atol = 1e-5, Rtol = 1e-4;

    /// <summary>
    /// Asserts |actual[i] − expected[i]| ≤ atol + rtol·|expected[i]| for every i (NaN matches only NaN,
    /// infinities only themselves); the failure lists the worst elements and names <paramref name="what"/>.
    /// </summary>
    public static void AssertClose(float[] expected, float[] actual, double atol = Atol, double rtol = Rtol, string what = "values") =>
        AssertClose(Array.ConvertAll(expected, v => (double)v), Array.ConvertAll(actual, v => (double)v), atol, rtol, what);

    /// <summary>Double version of <see cref="AssertClose(float[], float[], double, double, string)"/>.</summary>
    public static void AssertClose(double[] expected, double[] actual, double atol, double rtol, string what)
    {
        if (expected.Length != actual.Length)
            Assert.Fail($"{what}: expected {expected.Length} values, got {actual.Length}");
        var bad = new List<(int Index, double Error)>();
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            bool ok = double.IsNaN(e) ? double.IsNaN(a)
                : double.IsInfinity(e) ? e == a
                : Math.Abs(a - e) <= atol + rtol * Math.Abs(e);
            if (!ok) bad.Add((i, double.IsNaN(a - e) ? double.PositiveInfinity : Math.Abs(a - e)));
        }
        if (bad.Count == 0) return;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{what}: {bad.Count} of {expected.Length} values differ (atol {atol}, rtol {rtol}); worst:");
        foreach (var (i, err) in bad.OrderByDescending(b => b.Error).Take(5))
            sb.Append(CultureInfo.InvariantCulture, $"\n  [{i}] expected {expected[i]:R}, got {actual[i]:R} (|diff| {err:G4})");
        Assert.Fail(sb.ToString());
    }

    /// <summary>Asserts the tensor's shape and then its float32 values.</summary>
    public static void AssertClose(float[] expected, int[] expectedShape, Tensor actual, double atol = Atol, double rtol = Rtol, string what = "values")
    {
        AssertShape(expectedShape, actual, what);
        AssertClose(expected, actual.ToArray(), atol, rtol, what);
    }

    /// <summary>Asserts a fixture tensor (shape and values) against <paramref name="actual"/>.</summary>
    public static void AssertClose(FixtureTensor expected, Tensor actual, string what, double atol = Atol, double rtol = Rtol) =>
        AssertClose(expected.Data, expected.Shape, actual, atol, rtol, what);

    /// <summary>Asserts the shape of <paramref name="t"/>.</summary>
    public static void AssertShape(int[] expected, Tensor t, string what = "tensor")
    {
        if (!expected.SequenceEqual(t.Dims))
            Assert.Fail($"{what}: expected shape {Shape.Format(expected)}, got {t.ShapeText}");
    }

    /// <summary>The fused SGD kernel of <paramref name="backend"/> (which must offer <see cref="IFusedOptimizer"/>).</summary>
    public static void SgdStep(this IBackend backend, Tensor p, Tensor g, Tensor? buf, SgdStepArgs args) =>
        ((IFusedOptimizer)backend).SgdStep(p, g, buf, args);

    /// <summary>The fused Adam kernel of <paramref name="backend"/> (which must offer <see cref="IFusedOptimizer"/>).</summary>
    public static void AdamStep(this IBackend backend, Tensor p, Tensor g, Tensor m, Tensor v, AdamStepArgs args) =>
        ((IFusedOptimizer)backend).AdamStep(p, g, m, v, args);

    /// <summary>Σ x² through <paramref name="backend"/>'s kernel, read back.</summary>
    public static double SumOfSquares(this IBackend backend, Tensor x)
    {
        using var r = Tensor.Empty([], DType.Float64, x.Device);
        backend.SumOfSquares(x, r);
        return r.Item();
    }

    /// <summary>A float32 tensor from values and a shape (1-D when no shape is given).</summary>
    public static Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape);

    /// <summary>A float64 tensor from values and a shape (1-D when no shape is given).</summary>
    public static Tensor T(double[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape);

    /// <summary>An int32 tensor from values and a shape (1-D when no shape is given).</summary>
    public static Tensor T(int[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape);

    /// <summary>A float32 tensor holding a fixture tensor.</summary>
    public static Tensor T(FixtureTensor f) => Tensor.FromArray(f.Data, f.Shape);

    /// <summary>Values 0, 1, …, n−1 as float32 in the given shape.</summary>
    public static Tensor Iota(params int[] shape)
    {
        int n = Shape.Numel(shape);
        return Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), shape);
    }

    /// <summary>Deterministic pseudo-random float32 values in [−1, 1) (independent of any backend).</summary>
    public static float[] Values(int n, int seed)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(r.NextDouble() * 2 - 1);
        return v;
    }
}
