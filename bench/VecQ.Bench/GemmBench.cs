using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Bench;

/// <summary>The <c>gemm</c> subcommand: SGEMM GFLOP/s and fraction of the FMA peak for fixed shapes.</summary>
internal static unsafe class GemmBench
{
    /// <summary>
    /// The shapes: squares; LeNet5 conv2 as im2col (64 filters × 19600 = 100·14·14 positions × 800 = 32·5·5);
    /// LeNet5 fc1 at batch 100 (3136 → 512) as its three products: y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x.
    /// </summary>
    private static readonly (string Name, int M, int N, int K, bool TransA, bool TransB)[] Cases =
    [
        ("sgemm_256", 256, 256, 256, false, false),
        ("sgemm_512", 512, 512, 512, false, false),
        ("sgemm_1024", 1024, 1024, 1024, false, false),
        ("sgemm_2048", 2048, 2048, 2048, false, false),
        ("sgemm_lenet_conv2", 64, 19600, 800, false, false),
        ("sgemm_lenet_fc1_fwd", 100, 512, 3136, false, true),
        ("sgemm_lenet_fc1_dx", 100, 3136, 512, false, false),
        ("sgemm_lenet_fc1_dw", 512, 3136, 100, true, false),
    ];

    /// <summary>
    /// Runs every case (or only the <c>--shape MxNxK</c> ones given, each optionally suffixed <c>:tA</c>, <c>:tB</c>
    /// or <c>:tAB</c>) and prints the table (and, with --json, the JSON line last).
    /// </summary>
    public static int Run(BenchOptions o)
    {
        var cases = new List<(string Name, int M, int N, int K, bool TransA, bool TransB)>();
        for (int i = 0; i < o.Extra.Count; i++)
        {
            if (o.Extra[i] != "--shape") throw new ArgumentException($"gemm: unknown option '{o.Extra[i]}'");
            if (++i >= o.Extra.Count) throw new ArgumentException("gemm: --shape needs MxNxK (e.g. 1024x1024x1024 or 100x512x3136:tB)");
            cases.Add(ParseShape(o.Extra[i]));
        }
        if (cases.Count == 0) cases.AddRange(Cases);
        var inv = CultureInfo.InvariantCulture;
        Measure.PrintMachine();
        Console.WriteLine($"SGEMM, {o.Threads} thread(s), {o.Repeats} repeats, medians (best repeat); fraction = GFLOP/s over the FMA peak timed around each repeat");
        Console.WriteLine($"{"name",-20} {"m",6} {"n",6} {"k",6} {"GFLOP/s",9} {"peak",8} {"fraction",8} {"best",6} {"ms/call",9}");
        var rows = new List<(string Name, int M, int N, int K, Measured R)>();
        foreach (var (name, m, n, k, ta, tb) in cases)
        {
            Measured r = MeasureCase(m, n, k, ta, tb, o.Threads, o.Repeats);
            rows.Add((name, m, n, k, r));
            Console.WriteLine(string.Format(inv, "{0,-20} {1,6} {2,6} {3,6} {4,9:F1} {5,8:F1} {6,8:F3} {7,6:F3} {8,9:F3}",
                name, m, n, k, r.Gflops, r.PeakGflops, r.FractionOfPeak, r.BestFraction, r.SecondsPerCall * 1e3));
        }
        double peak = Measure.Median(rows.Select(x => x.R.PeakGflops).ToList());
        if (o.Json)
        {
            var sb = new StringBuilder();
            sb.Append(inv, $"{{{Measure.MachineJson()}\"fma_peak_gflops\":{peak:F2},\"threads\":{o.Threads},\"results\":[");
            for (int i = 0; i < rows.Count; i++)
            {
                var x = rows[i];
                if (i > 0) sb.Append(',');
                sb.Append(inv, $"{{\"name\":\"{x.Name}\",\"m\":{x.M},\"n\":{x.N},\"k\":{x.K},\"gflops\":{x.R.Gflops:F2},\"fraction_of_peak\":{x.R.FractionOfPeak:F4},\"gflops_best\":{x.R.BestGflops:F2},\"fraction_of_peak_best\":{x.R.BestFraction:F4}}}");
            }
            sb.Append("]}");
            Console.WriteLine(sb.ToString());
        }
        return 0;
    }

    /// <summary>"MxNxK" with an optional ":tA", ":tB" or ":tAB" → a case named sgemm_MxNxK.</summary>
    private static (string, int, int, int, bool, bool) ParseShape(string spec)
    {
        string[] parts = spec.Split(':', 2);
        string[] dims = parts[0].Split('x');
        string trans = parts.Length > 1 ? parts[1] : "";
        if (dims.Length != 3 || !dims.All(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0)
            || trans is not ("" or "tA" or "tB" or "tAB"))
            throw new ArgumentException($"gemm: --shape '{spec}' is not MxNxK[:tA|:tB|:tAB] with positive sizes");
        int m = int.Parse(dims[0], CultureInfo.InvariantCulture), n = int.Parse(dims[1], CultureInfo.InvariantCulture), k = int.Parse(dims[2], CultureInfo.InvariantCulture);
        return ($"sgemm_{parts[0]}{(trans.Length > 0 ? "_" + trans : "")}", m, n, k, trans.Contains('A'), trans.Contains('B'));
    }

    /// <summary>Times C = op(A)·op(B) (row-major; a transposed operand is stored as its transpose) for one shape with random operands.</summary>
    private static Measured MeasureCase(int m, int n, int k, bool transA, bool transB, int threads, int repeats)
    {
        float* a = Alloc((long)m * k, 1);
        float* b = Alloc((long)k * n, 2);
        float* c = Alloc((long)m * n, 3);
        try
        {
            return Measure.Interleaved(
                () => Sgemm.Run(m, n, k, a, transA ? m : k, transA, b, transB ? k : n, transB, c, n, 1f, 0f, threads),
                2.0 * m * n * k, threads, repeats);
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }

    /// <summary>64-byte-aligned native buffer of uniform(−1, 1) floats.</summary>
    private static float* Alloc(long count, int seed)
    {
        float* p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < count; i++) p[i] = (float)(rng.NextDouble() * 2 - 1);
        return p;
    }
}
