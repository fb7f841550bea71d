using System.Globalization;
using System.Text;
using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn.Tests;

/// <summary>Shared assertions and builders for the Nn tests.</summary>
internal static class TestUtil
{
    /// <summary>
    /// Asserts |a − e| ≤ atol + rtol·|e| elementwise with atol = <paramref name="scaleAtol"/>·max|e| + 1e-7
    /// (float32 results of long reductions are compared relative to the tensor's scale).
    /// </summary>
    public static void AssertClose(Tensor expected, Tensor actual, string what, double rtol = 1e-4, double scaleAtol = 1e-4)
    {
        if (!expected.Dims.SequenceEqual(actual.Dims))
            Assert.Fail($"{what}: expected shape {expected.ShapeText}, got {actual.ShapeText}");
        var e = ToDoubles(expected);
        var a = ToDoubles(actual);
        double max = e.Length == 0 ? 0 : e.Max(Math.Abs);
        AssertClose(e, a, scaleAtol * max + 1e-7, rtol, what);
    }

    public static void AssertClose(double[] expected, double[] actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var bad = new List<(int Index, double Error)>();
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i]))) bad.Add((i, double.IsNaN(err) ? double.PositiveInfinity : err));
        }
        if (bad.Count == 0) return;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{what}: {bad.Count} of {expected.Length} values differ (atol {atol:G3}, rtol {rtol:G3}); worst:");
        foreach (var (i, err) in bad.OrderByDescending(b => b.Error).Take(5))
            sb.Append(CultureInfo.InvariantCulture, $"\n  [{i}] expected {expected[i]:R}, got {actual[i]:R} (|diff| {err:G4})");
        Assert.Fail(sb.ToString());
    }

    public static double[] ToDoubles(Tensor t) => t.DType switch
    {
        DType.Float32 => Array.ConvertAll(t.ToArray<float>(), v => (double)v),
        DType.Float64 => t.ToArray<double>(),
        _ => Array.ConvertAll(t.ToArray<int>(), v => (double)v),
    };

    public static float[] F(Tensor t) => t.ToArray<float>();

    /// <summary>A float32 tensor of N(0, 1) values from a seeded generator.</summary>
    public static Tensor RandN(int[] shape, ulong seed, double mean = 0, double std = 1) => Tensor.RandN(shape, new Rng(seed), mean, std);

    /// <summary>A constant (no-grad) variable of N(0, 1) values.</summary>
    public static Variable Input(int[] shape, ulong seed, bool requiresGrad = false) => new(RandN(shape, seed), requiresGrad);

    /// <summary>x.flat[i] = float32(sin(0.37·i)): the fixed input of make_lenet5_fixture.py --check-checkpoint.</summary>
    public static Tensor SineInput(int batch)
    {
        var v = new float[batch * 28 * 28];
        for (int i = 0; i < v.Length; i++) v[i] = (float)Math.Sin(0.37 * i);
        return Tensor.FromArray(v, [batch, 1, 28, 28]);
    }

    /// <summary>The repository root (the folder holding VecQ.sln), found upward from the test binary.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VecQ.sln"))) return dir.FullName;
        throw new InvalidOperationException($"VecQ.sln not found above {AppContext.BaseDirectory}");
    }

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
