using System.Globalization;

namespace VecQ.Bench;

/// <summary>Options shared by every subcommand, parsed by hand (no packages).</summary>
internal sealed class BenchOptions
{
    /// <summary>Print one JSON object as the last stdout line.</summary>
    public bool Json { get; private set; }
    /// <summary>Threads for kernels and the FMA peak.</summary>
    public int Threads { get; private set; } = Environment.ProcessorCount;
    /// <summary>Interleaved peak→kernel→peak repeats per case.</summary>
    public int Repeats { get; private set; } = 7;
    /// <summary>Arguments no shared option claimed, left for the subcommand.</summary>
    public List<string> Extra { get; } = [];

    /// <summary>Parses <c>--json</c>, <c>--threads T</c>, <c>--repeats R</c>; anything else goes to <see cref="Extra"/>.</summary>
    /// <exception cref="ArgumentException">A value is missing or not a positive integer.</exception>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json": o.Json = true; break;
                case "--threads": o.Threads = PositiveInt(args, ++i, "--threads"); break;
                case "--repeats": o.Repeats = PositiveInt(args, ++i, "--repeats"); break;
                default: o.Extra.Add(args[i]); break;
            }
        }
        return o;
    }

    private static int PositiveInt(IReadOnlyList<string> args, int i, string name)
    {
        if (i >= args.Count || !int.TryParse(args[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
            throw new ArgumentException($"{name} needs a positive integer");
        return v;
    }
}
