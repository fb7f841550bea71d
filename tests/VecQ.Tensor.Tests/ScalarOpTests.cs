namespace VecQ.Tensors.Tests;

/// <summary>
/// "tensor op scalar" runs as a unary op (<see cref="ScalarRight{TOp}"/> / <see cref="ScalarLeft{TOp}"/>)
/// without a 0-d tensor, and gives bit for bit what the binary op with a 0-d tensor of the dtype gave
/// (the scalar rounded to the dtype the same way), on both backends, both float dtypes, contiguous and
/// strided inputs.
/// </summary>
public class ScalarOpTests
{
    /// <summary>Scalars: inexact in float32, negative, zeros of both signs, subnormal and overflowing in float32.</summary>
    private static readonly double[] Scalars = [0.1, -2.5, 1.0 / 3, 0, -0.0, 1e-40, 1e39, double.NaN];

    private static IEnumerable<(string Name, IBackend Backend)> Backends() => [("cpu", Backend.Cpu), ("reference", Backend.Reference)];

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void AddScalarEqualsTheZeroDimForm(DType dtype)
    {
        foreach (var (name, backend) in Backends())
        {
            using var scope = Backend.Use(backend);
            using var x = Random(dtype, 7, 1000);
            using var y = x.Add(0.1);
            using var s = Tensor.Full([], 0.1, dtype);
            using var old = Tensor.Zip(new Add(), x, s);
            AssertBits(old, y, $"{name} {dtype} x.Add(0.1)");
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void EveryScalarFormEqualsTheZeroDimForm(DType dtype)
    {
        foreach (var (name, backend) in Backends())
        {
            using var scope = Backend.Use(backend);
            using var m = Random(dtype, 11, 37, 53);
            using var mt = m.T(); // strided: [53, 37] with strides (1, 53)
            foreach (var x in new[] { m, mt })
                foreach (double s in Scalars)
                {
                    string what = $"{name} {dtype} {x.ShapeText} s = {s}";
                    using var st = Tensor.Full([], s, dtype);
                    Check(what + " x + s", () => x + s, () => Tensor.Zip(new Add(), x, st));
                    Check(what + " x - s", () => x - s, () => Tensor.Zip(new Sub(), x, st));
                    Check(what + " x * s", () => x * s, () => Tensor.Zip(new Mul(), x, st));
                    Check(what + " x / s", () => x / s, () => Tensor.Zip(new Div(), x, st));
                    Check(what + " s + x", () => s + x, () => Tensor.Zip(new Add(), st, x));
                    Check(what + " s - x", () => s - x, () => Tensor.Zip(new Sub(), st, x));
                    Check(what + " s * x", () => s * x, () => Tensor.Zip(new Mul(), st, x));
                    Check(what + " s / x", () => s / x, () => Tensor.Zip(new Div(), st, x));
                    Check(what + " eq", () => x.Eq(s), () => Tensor.Zip(new Compare(CompareKind.Eq), x, st));
                    Check(what + " gt", () => x.Gt(s), () => Tensor.Zip(new Compare(CompareKind.Gt), x, st));
                    Check(what + " ge", () => x.Ge(s), () => Tensor.Zip(new Compare(CompareKind.Ge), x, st));
                    Check(what + " lt", () => x.Lt(s), () => Tensor.Zip(new Compare(CompareKind.Lt), x, st));
                    Check(what + " le", () => x.Le(s), () => Tensor.Zip(new Compare(CompareKind.Le), x, st));
                    Check(what + " maximum", () => x.Map(new ScalarRight<Maximum>(new Maximum(), s)), () => Tensor.Zip(new Maximum(), x, st));
                    Check(what + " pow left", () => x.Map(new ScalarLeft<Pow>(new Pow(), s)), () => Tensor.Zip(new Pow(), st, x));
                    Check(what + " relu_grad left", () => x.Map(new ScalarLeft<ReluGrad>(new ReluGrad(), s)), () => Tensor.Zip(new ReluGrad(), st, x));
                }
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void MulInPlaceEqualsTheZeroDimForm(DType dtype)
    {
        foreach (var (name, backend) in Backends())
        {
            using var scope = Backend.Use(backend);
            foreach (double s in Scalars)
            {
                using var x = Random(dtype, 3, 8, 129);
                using var st = Tensor.Full([], s, dtype);
                using var old = Tensor.Zip(new Mul(), x, st);
                x.Mul_(s);
                AssertBits(old, x, $"{name} {dtype} mul_({s})");
            }
        }
    }

    [Fact]
    public void ScalarOpsRunOnTheSimDevice()
    {
        using var cpu = Random(DType.Float32, 5, 300);
        using var x = cpu.To(Device.Sim());
        using var y = 1.5 - x;
        using var st = Tensor.Full([], 1.5);
        using var old = Tensor.Zip(new Sub(), st, cpu);
        using var back = y.To(Device.Cpu);
        AssertBits(old, back, "sim 1.5 - x");
    }

    private static void Check(string what, Func<Tensor> scalarForm, Func<Tensor> zeroDimForm)
    {
        using var y = scalarForm();
        using var old = zeroDimForm();
        AssertBits(old, y, what);
    }

    /// <summary>Random values with NaN, ±∞ and ±0 mixed in.</summary>
    private static Tensor Random(DType dtype, int seed, params int[] shape)
    {
        var r = new Random(seed);
        double[] special = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, -0.0, 0.1, -2.5];
        var v = new double[Shape.Numel(shape)];
        for (int i = 0; i < v.Length; i++) v[i] = i % 17 == 0 ? special[i / 17 % special.Length] : (r.NextDouble() - 0.5) * 8;
        return dtype == DType.Float64 ? Tensor.FromArray(v, shape) : Tensor.FromArray(Array.ConvertAll(v, d => (float)d), shape);
    }

    private static void AssertBits(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.Dims.SequenceEqual(actual.Dims), $"{what}: shapes {expected.ShapeText} vs {actual.ShapeText}");
        Assert.Equal(expected.DType, actual.DType);
        long[] e = Bits(expected), a = Bits(actual);
        for (int i = 0; i < e.Length; i++)
            if (e[i] != a[i]) Assert.Fail($"{what}: element {i} differs: bits {e[i]:X} (0-d tensor form) vs {a[i]:X}");
    }

    private static long[] Bits(Tensor t) => t.DType == DType.Float64
        ? Array.ConvertAll(t.ToArray<double>(), BitConverter.DoubleToInt64Bits)
        : Array.ConvertAll(t.ToArray<float>(), v => (long)BitConverter.SingleToInt32Bits(v));
}
