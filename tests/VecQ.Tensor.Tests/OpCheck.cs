using System.Globalization;

namespace VecQ.Tensors.Tests;

/// <summary>
/// The op suite's comparisons: an op is built by a function of the <see cref="BackendCase"/> (which makes its
/// inputs on the column's device), run once on the reference column (CPU tensors, reference backend: the
/// expected values) and once on the column under test, and the results are read back with ToArray and compared.
/// Every result must live on the column's device (an op that silently fell back to the host fails). Int32
/// results must be equal; float results within |a − e| ≤ atol + rtol·|e|, or bit for bit with <see cref="SameBits"/>.
/// </summary>
public static class OpCheck
{
    /// <summary>Default float32 tolerance for ops that reorder at most a few roundings.</summary>
    public const double A = 1e-5, R = 1e-4;

    /// <summary>A result read back to the host: shape, dtype and values as double (exact for every dtype).</summary>
    public sealed record Result(int[] Shape, DType DType, double[] Values);

    /// <summary>Reads a tensor back (a download on an accelerator).</summary>
    public static Result Read(Tensor t) => new(t.Dims.ToArray(), t.DType, t.DType switch
    {
        DType.Float32 => Array.ConvertAll(t.ToArray<float>(), v => (double)v),
        DType.Float64 => t.ToArray<double>(),
        _ => Array.ConvertAll(t.ToArray<int>(), v => (double)v),
    });

    /// <summary>Runs <paramref name="make"/> on column <paramref name="b"/> and reads its results back (then disposes them).</summary>
    public static Result[] Run(BackendCase b, Func<BackendCase, Tensor[]> make, string what = "op")
    {
        using (b.Enter())
        {
            var ys = make(b);
            try
            {
                for (int i = 0; i < ys.Length; i++)
                    Assert.True(ys[i].Device == b.Device, $"{what}[{i}] on {b.Name}: the result lives on {ys[i].Device}, expected {b.Device}");
                return ys.Select(Read).ToArray();
            }
            finally
            {
                foreach (var y in ys) y.Dispose();
            }
        }
    }

    /// <summary>The op's single result on column <paramref name="b"/> against the reference column's.</summary>
    public static void Same(BackendCase b, string what, Func<BackendCase, Tensor> make, double atol = A, double rtol = R) =>
        SameAll(b, what, d => [make(d)], atol, rtol);

    /// <summary>Every result of the op on column <paramref name="b"/> against the reference column's.</summary>
    public static void SameAll(BackendCase b, string what, Func<BackendCase, Tensor[]> make, double atol = A, double rtol = R) =>
        Compare(b, what, make, atol, rtol, bits: false);

    /// <summary>Every result of the op on column <paramref name="b"/> equal to the reference column's bit for bit (−0 ≠ +0; any NaN matches any NaN).</summary>
    public static void SameBits(BackendCase b, string what, Func<BackendCase, Tensor[]> make) => Compare(b, what, make, 0, 0, bits: true);

    private static void Compare(BackendCase b, string what, Func<BackendCase, Tensor[]> make, double atol, double rtol, bool bits)
    {
        var expected = Run(BackendCase.Reference, make, what);
        if (b.IsReference) return; // the reference column: the op ran on the reference backend; its results are the expected ones
        var actual = Run(b, make, what);
        Assert.True(expected.Length == actual.Length, $"{what}: reference gave {expected.Length} results, {b.Name} {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            string name = expected.Length == 1 ? $"{what} on {b.Name}" : $"{what}[{i}] on {b.Name}";
            Assert.True(e.Shape.SequenceEqual(a.Shape), $"{name}: shapes differ: reference {Shape.Format(e.Shape)}, {b.Name} {Shape.Format(a.Shape)}");
            Assert.True(e.DType == a.DType, $"{name}: dtypes differ: reference {e.DType.Name()}, {b.Name} {a.DType.Name()}");
            if (bits) SameBitsOf(e, a, name);
            else if (e.DType == DType.Int32) SameInts(e.Values, a.Values, name);
            else TestUtil.AssertClose(e.Values, a.Values, atol, rtol, name);
        }
    }

    private static void SameInts(double[] e, double[] a, string what)
    {
        for (int i = 0; i < e.Length; i++)
            if (e[i] != a[i]) Assert.Fail($"{what}: int32 element {i} of {e.Length} differs: reference {e[i]}, got {a[i]}");
    }

    private static void SameBitsOf(Result e, Result a, string what)
    {
        for (int i = 0; i < e.Values.Length; i++)
        {
            if (double.IsNaN(e.Values[i]) && double.IsNaN(a.Values[i])) continue; // a NaN is a NaN, whatever its payload
            long be = Bits(e.DType, e.Values[i]), ba = Bits(a.DType, a.Values[i]);
            if (be != ba)
                Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                    $"{what}: element {i} of {e.Values.Length} differs in its bits: reference {e.Values[i]:R}, got {a.Values[i]:R}"));
        }
    }

    private static long Bits(DType dtype, double v) => dtype == DType.Float32 ? BitConverter.SingleToInt32Bits((float)v) : BitConverter.DoubleToInt64Bits(v);

    /// <summary>
    /// Runs <paramref name="act"/> on column <paramref name="b"/> and expects <typeparamref name="TException"/>,
    /// synchronising the device inside (an accelerator may report a kernel's error only at the next synchronisation).
    /// </summary>
    public static TException Fails<TException>(BackendCase b, Action act) where TException : Exception
    {
        using (b.Enter())
            return Assert.Throws<TException>(() =>
            {
                act();
                VecQ.Tensors.Backend.Synchronize(b.Device);
            });
    }

    /// <summary>
    /// Ways to build a float32 tensor of <paramref name="shape"/> with deterministic values on a column: contiguous,
    /// transposed (last two dims), stepped along dim 0, offset inside a wider last dim, and expanded from size 1
    /// along dim 0. Each returns a view; the base tensor is already released.
    /// </summary>
    public static IEnumerable<(string Name, Func<BackendCase, Tensor> Make)> Layouts(int seed, int[] shape)
    {
        yield return ("contiguous", d => d.Rand(seed, shape));
        int r = shape.Length;
        if (r >= 2)
            yield return ("transposed", d =>
            {
                var s = (int[])shape.Clone();
                (s[r - 1], s[r - 2]) = (s[r - 2], s[r - 1]);
                using var b = d.Rand(seed, s);
                return b.Transpose(r - 1, r - 2);
            });
        if (r >= 1)
        {
            yield return ("stepped", d =>
            {
                var s = (int[])shape.Clone();
                s[0] = 2 * shape[0] + 1;
                using var b = d.Rand(seed, s);
                return b.Slice(0, 1, s[0], 2);
            });
            yield return ("offset", d =>
            {
                var s = (int[])shape.Clone();
                s[r - 1] += 3;
                using var b = d.Rand(seed, s);
                return b.Narrow(r - 1, 2, shape[r - 1]);
            });
            yield return ("expanded", d =>
            {
                var s = (int[])shape.Clone();
                s[0] = 1;
                using var b = d.Rand(seed, s);
                return b.Expand(shape);
            });
        }
    }

    /// <summary>Shapes with odd, prime and size-1 dimensions, a 0-d one, and one big enough to run multi-threaded.</summary>
    public static readonly int[][] Shapes =
    [
        [],
        [1],
        [7],
        [3, 5],
        [1, 13],
        [2, 3, 4],
        [4, 1, 6, 5],
        [3, 2, 1, 7, 2],
        [211, 173],
    ];
}
