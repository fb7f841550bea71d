using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>
/// The SIMD <see cref="CpuBackend"/> against the scalar <see cref="ReferenceBackend"/>: every op is run
/// once under each backend (<c>Backend.Use</c>) on the same inputs and the results are compared, over
/// random shapes with odd, prime and size-1 dimensions and non-contiguous views (transposed, stepped,
/// offset, expanded). The class is split by op family over CpuBackendTests.*.cs; this file holds the
/// shared helpers. Tests that change <see cref="Parallelism.Threads"/> live in <see cref="CpuBackendThreadTests"/>.
/// </summary>
public partial class CpuBackendTests
{
    /// <summary>Default float32 tolerance for ops that reorder at most a few roundings.</summary>
    private const double A = 1e-5, R = 1e-4;

    /// <summary>A float32 tensor of deterministic values in [−1, 1).</summary>
    internal static Tensor Rand(int seed, params int[] shape) => Tensor.FromArray(Values(Shape.Numel(shape), seed), shape);

    /// <summary>An int32 tensor of deterministic values in [0, n).</summary>
    internal static Tensor RandInt(int seed, int n, params int[] shape)
    {
        var r = new Random(seed);
        var v = new int[Shape.Numel(shape)];
        for (int i = 0; i < v.Length; i++) v[i] = r.Next(n);
        return Tensor.FromArray(v, shape);
    }

    /// <summary>Runs <paramref name="make"/> on <paramref name="backend"/> and returns the result's shape and values.</summary>
    internal static (int[] Shape, float[] Values) RunOn(IBackend backend, Func<Tensor> make)
    {
        using (Backend.Use(backend))
        {
            using var y = make();
            return (y.Dims.ToArray(), y.ToArray());
        }
    }

    /// <summary>Runs <paramref name="make"/> under the reference and the CPU backend and compares the float32 results.</summary>
    internal static void Same(string what, Func<Tensor> make, double atol = A, double rtol = R)
    {
        var (es, e) = RunOn(Backend.Reference, make);
        var (cs, c) = RunOn(Backend.Cpu, make);
        Assert.True(es.SequenceEqual(cs), $"{what}: shapes differ: reference {Shape.Format(es)}, cpu {Shape.Format(cs)}");
        AssertClose(e, c, atol, rtol, what);
    }

    /// <summary>Like <see cref="Same"/> for ops with several float32 results.</summary>
    internal static void SameAll(string what, Func<Tensor[]> make, double atol = A, double rtol = R)
    {
        var e = RunAll(Backend.Reference, make);
        var c = RunAll(Backend.Cpu, make);
        Assert.Equal(e.Length, c.Length);
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(e[i].Shape.SequenceEqual(c[i].Shape), $"{what}[{i}]: shapes differ");
            AssertClose(e[i].Values, c[i].Values, atol, rtol, $"{what}[{i}]");
        }
    }

    private static (int[] Shape, float[] Values)[] RunAll(IBackend backend, Func<Tensor[]> make)
    {
        using (Backend.Use(backend))
        {
            var ys = make();
            try { return ys.Select(y => (y.Dims.ToArray(), y.DType == DType.Int32 ? Array.ConvertAll(y.ToArray<int>(), v => (float)v) : y.ToArray())).ToArray(); }
            finally { foreach (var y in ys) y.Dispose(); }
        }
    }

    /// <summary>Runs an int32-valued op under both backends and requires identical results.</summary>
    internal static void SameInts(string what, Func<Tensor> make)
    {
        int[] Run(IBackend b)
        {
            using (Backend.Use(b))
            {
                using var y = make();
                return y.ToArray<int>();
            }
        }
        Assert.True(Run(Backend.Reference).SequenceEqual(Run(Backend.Cpu)), $"{what}: int32 results differ");
    }

    /// <summary>
    /// Ways to build a float32 tensor of <paramref name="shape"/> with deterministic values: contiguous,
    /// transposed (last two dims), stepped along dim 0, offset inside a wider last dim, and expanded
    /// from size 1 along dim 0. Each returns a view; the base tensor is already released.
    /// </summary>
    internal static IEnumerable<(string Name, Func<Tensor> Make)> Layouts(int seed, int[] shape)
    {
        yield return ("contiguous", () => Rand(seed, shape));
        int r = shape.Length;
        if (r >= 2)
            yield return ("transposed", () =>
            {
                var s = (int[])shape.Clone();
                (s[r - 1], s[r - 2]) = (s[r - 2], s[r - 1]);
                using var b = Rand(seed, s);
                return b.Transpose(r - 1, r - 2);
            });
        if (r >= 1)
        {
            yield return ("stepped", () =>
            {
                var s = (int[])shape.Clone();
                s[0] = 2 * shape[0] + 1;
                using var b = Rand(seed, s);
                return b.Slice(0, 1, s[0], 2);
            });
            yield return ("offset", () =>
            {
                var s = (int[])shape.Clone();
                s[r - 1] += 3;
                using var b = Rand(seed, s);
                return b.Narrow(r - 1, 2, shape[r - 1]);
            });
            yield return ("expanded", () =>
            {
                var s = (int[])shape.Clone();
                s[0] = 1;
                using var b = Rand(seed, s);
                return b.Expand(shape);
            });
        }
    }

    /// <summary>Shapes with odd, prime and size-1 dimensions, a 0-d one, and one big enough to run multi-threaded.</summary>
    internal static readonly int[][] Shapes =
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

/// <summary>Every hand-checked case of <see cref="ReferenceOpsTests"/>, run on the CPU backend.</summary>
public sealed class CpuBackendHandCheckedTests : ReferenceOpsTests
{
    /// <inheritdoc/>
    protected override IBackend Under => Backend.Cpu;
}

/// <summary>Every PyTorch fixture of <see cref="FixtureTests"/>, run on the CPU backend.</summary>
public sealed class CpuBackendFixtureTests : FixtureTests
{
    /// <inheritdoc/>
    protected override IBackend Under => Backend.Cpu;
}
