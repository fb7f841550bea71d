namespace VecQ.Tensors;

/// <summary>
/// A seeded, counter-based random generator. Element i of a fill is a pure function of
/// (seed, counter + i), so results are the same across runs, thread counts and backends.
/// Each fill advances the counter by the number of elements drawn.
/// </summary>
/// <example><code>
/// var rng = new Rng(42);
/// using var w = Tensor.RandN([3, 4], rng);       // same numbers for seed 42 every run
/// </code></example>
public sealed class Rng
{
    /// <summary>Creates a generator at position 0 of <paramref name="seed"/>'s stream.</summary>
    public Rng(ulong seed) { Seed = seed; }

    /// <summary>The seed.</summary>
    public ulong Seed { get; }

    /// <summary>Stream position: how many values were drawn so far (save it to resume exactly).</summary>
    public ulong Counter { get; set; }

    /// <summary>Reserves <paramref name="n"/> positions and returns the first.</summary>
    public ulong Advance(long n)
    {
        ulong start = Counter;
        Counter += (ulong)n;
        return start;
    }

    /// <summary>One uniform double in [0, 1) (advances the counter by one).</summary>
    public double NextDouble() => Uniform01(Seed, Advance(1));

    /// <summary>A uniform integer in [0, n) (advances the counter by one).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "upper bound must be > 0");
        return (int)(Hash(Seed, Advance(1)) % (ulong)n);
    }

    /// <summary>The 64-bit hash behind every draw (a SplitMix64 finaliser over seed and position).</summary>
    public static ulong Hash(ulong seed, ulong position)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + position * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform double in [0, 1) from 53 bits of the hash.</summary>
    public static double Uniform01(ulong seed, ulong position) => (Hash(seed, position) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal value for a position (Box–Muller over two hashes of the position).</summary>
    public static double StandardNormal(ulong seed, ulong position)
    {
        double u1 = (Hash(seed, position) >> 11) * (1.0 / (1UL << 53));
        double u2 = (Hash(seed ^ 0x5DEECE66DUL, position) >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2.0 * Math.Log(1.0 - u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>The value of element at <paramref name="position"/> for a distribution (shared by all backends).</summary>
    public static double Sample(RandomKind kind, ulong seed, ulong position, double a, double b) => kind switch
    {
        RandomKind.Uniform => a + (b - a) * Uniform01(seed, position),
        RandomKind.Normal => a + b * StandardNormal(seed, position),
        RandomKind.Bernoulli => Uniform01(seed, position) < a ? 1.0 : 0.0,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown distribution"),
    };
}
