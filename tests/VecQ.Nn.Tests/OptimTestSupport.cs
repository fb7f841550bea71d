using System.Globalization;
using System.Text;
using System.Text.Json;
using VecQ.Tensors;

namespace VecQ.Nn.Tests;

/// <summary>Helpers shared by the optimizer, schedule, clipping and checkpoint tests.</summary>
internal static class OptimTestSupport
{
    /// <summary>A parameter over a copy of <paramref name="values"/>.</summary>
    public static Parameter Param(float[] values, int[] shape, string name = "p") => new(Tensor.FromArray(values, shape), name);

    /// <summary>Replaces the parameter's gradient (null drops it).</summary>
    public static void SetGrad(Parameter p, float[]? grad)
    {
        p.ZeroGrad();
        if (grad != null) p.Variable.Grad = Tensor.FromArray(grad, p.Shape);
    }

    /// <summary>Replaces a float64 parameter's gradient.</summary>
    public static void SetGrad(Parameter p, double[]? grad)
    {
        p.ZeroGrad();
        if (grad != null) p.Variable.Grad = Tensor.FromArray(grad, p.Shape);
    }

    /// <summary>|a − e| ≤ atol + rtol·|e| for every element, with a readable failure.</summary>
    public static void Close(double[] expected, double[] actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}");
        var sb = new StringBuilder();
        int bad = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (err <= atol + rtol * Math.Abs(expected[i])) continue;
            if (bad++ < 5) sb.Append(CultureInfo.InvariantCulture, $"\n  [{i}] expected {expected[i]:R}, got {actual[i]:R} (|diff| {err:G3})");
        }
        if (bad > 0) Assert.Fail($"{what}: {bad} of {expected.Length} values differ (atol {atol:G3}, rtol {rtol:G3}):{sb}");
    }

    public static void Close(float[] expected, float[] actual, double atol, double rtol, string what) =>
        Close(Array.ConvertAll(expected, v => (double)v), Array.ConvertAll(actual, v => (double)v), atol, rtol, what);

    public static double[] D(Tensor t) => t.DType switch
    {
        DType.Float32 => Array.ConvertAll(t.ToArray<float>(), v => (double)v),
        DType.Float64 => t.ToArray<double>(),
        _ => Array.ConvertAll(t.ToArray<int>(), v => (double)v),
    };

    /// <summary>The raw bits of a tensor's elements (for bit-for-bit comparisons).</summary>
    public static long[] Bits(Tensor t) => t.DType switch
    {
        DType.Float32 => Array.ConvertAll(t.ToArray<float>(), v => (long)BitConverter.SingleToInt32Bits(v)),
        DType.Float64 => Array.ConvertAll(t.ToArray<double>(), BitConverter.DoubleToInt64Bits),
        _ => Array.ConvertAll(t.ToArray<int>(), v => (long)v),
    };

    /// <summary>A fresh empty folder under the temp directory.</summary>
    public static string TempDir(string tag)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"vecq-{tag}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>The PyTorch reference written by tools/fixtures/make_optim_fixture.py (Fixtures/optim.json).</summary>
internal static class OptimFixture
{
    private static readonly Lazy<JsonElement> RootLazy = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "optim.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"optimizer fixture not found at {path}; regenerate with '/usr/bin/python3 tools/fixtures/make_optim_fixture.py'", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    });

    public static JsonElement Root => RootLazy.Value;

    public static JsonElement Case(string name)
    {
        foreach (var c in Root.GetProperty("optimizers").EnumerateArray())
            if (c.GetProperty("name").GetString() == name) return c;
        throw new KeyNotFoundException($"optim.json has no optimizer case '{name}'");
    }

    public static JsonElement Schedule(string name)
    {
        foreach (var c in Root.GetProperty("schedules").EnumerateArray())
            if (c.GetProperty("name").GetString() == name) return c;
        throw new KeyNotFoundException($"optim.json has no schedule '{name}'");
    }

    public static (int[] Shape, float[] Data) Tensor(JsonElement t) =>
        (t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray(),
         t.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray());

    public static double Number(JsonElement obj, string key, double fallback) =>
        obj.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;
}
