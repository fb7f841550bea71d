using System.Diagnostics;
using VecQ.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Bench;

/// <summary>One benchmarked case: medians over the repeats.</summary>
/// <param name="Gflops">Median kernel GFLOP/s.</param>
/// <param name="FractionOfPeak">Median of the per-repeat kernel / peak ratios.</param>
/// <param name="PeakGflops">Median FMA peak (mean of the bursts around each repeat).</param>
/// <param name="SecondsPerCall">Median seconds per kernel call.</param>
/// <param name="BestGflops">Highest kernel GFLOP/s of any repeat.</param>
/// <param name="BestFraction">Highest per-repeat kernel / peak ratio (the repeat least disturbed by other load).</param>
internal readonly record struct Measured(double Gflops, double FractionOfPeak, double PeakGflops, double SecondsPerCall,
    double BestGflops, double BestFraction);

/// <summary>
/// Interleaved timing against the FMA peak (DESIGN §9): the machine's speed swings 2–3× within a run,
/// so each repeat is timed as peak burst → kernel → peak burst, the kernel's GFLOP/s is divided by the
/// mean of the two bursts, and the median over repeats is reported, with the best repeat beside it.
/// </summary>
internal static class Measure
{
    /// <summary>Wall time of one FMA-peak burst.</summary>
    public const double BurstSeconds = 0.1;
    /// <summary>Least wall time of the kernel calls in one repeat (at least one call is always made).</summary>
    public const double KernelSeconds = 0.25;

    /// <summary>
    /// Times <paramref name="kernel"/> (doing <paramref name="flopsPerCall"/> FLOPs per call) against the
    /// <paramref name="threads"/>-thread FMA peak, <paramref name="repeats"/> times, and returns medians.
    /// </summary>
    public static Measured Interleaved(Action kernel, double flopsPerCall, int threads, int repeats)
    {
        // Warm-up: JIT, page faults, packing buffers, worker threads.
        FmaPeak.Measure(threads, 0.02);
        var warm = Stopwatch.StartNew();
        do kernel(); while (warm.Elapsed.TotalSeconds < 0.05);

        var gflops = new List<double>(repeats);
        var fraction = new List<double>(repeats);
        var peaks = new List<double>(repeats);
        var perCall = new List<double>(repeats);
        for (int r = 0; r < repeats; r++)
        {
            double before = FmaPeak.Measure(threads, BurstSeconds);
            (double seconds, int calls) = TimeCalls(kernel, KernelSeconds);
            double after = FmaPeak.Measure(threads, BurstSeconds);
            double gf = calls * flopsPerCall / seconds / 1e9;
            double peak = 0.5 * (before + after);
            gflops.Add(gf);
            peaks.Add(peak);
            fraction.Add(gf / peak);
            perCall.Add(seconds / calls);
        }
        return new Measured(Median(gflops), Median(fraction), Median(peaks), Median(perCall), gflops.Max(), fraction.Max());
    }

    /// <summary>Calls <paramref name="kernel"/> until at least <paramref name="minSeconds"/> have passed.</summary>
    public static (double Seconds, int Calls) TimeCalls(Action kernel, double minSeconds)
    {
        int calls = 0;
        long t0 = Stopwatch.GetTimestamp();
        long t1;
        do
        {
            kernel();
            calls++;
            t1 = Stopwatch.GetTimestamp();
        } while ((double)(t1 - t0) / Stopwatch.Frequency < minSeconds);
        return ((double)(t1 - t0) / Stopwatch.Frequency, calls);
    }

    /// <summary>Median of <paramref name="values"/> (mean of the middle two for even counts).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        int h = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
    }

    /// <summary>
    /// Prints the machine lines every bench starts with: the CPU (so figures from different machines are never
    /// compared) and the SGEMM kernel and blocking chosen for it.
    /// </summary>
    public static void PrintMachine()
    {
        Console.WriteLine($"cpu: {CpuInfo.Current}");
        Console.WriteLine($"sgemm kernel: {CpuBackend.SgemmChoice}");
    }

    /// <summary>The same as JSON members, with a trailing comma: <c>"cpu":"…","sgemm_kernel":"…",</c>.</summary>
    public static string MachineJson()
        => $"\"cpu\":\"{JsonEscape(CpuInfo.Current.ToString())}\",\"sgemm_kernel\":\"{JsonEscape(CpuBackend.SgemmChoice)}\",";

    private static string JsonEscape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
