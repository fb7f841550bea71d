using System.Globalization;
using System.Text;
using VecQ.Tensors;

namespace VecQ.Bench;

/// <summary>
/// The <c>conv</c> subcommand: conv2d forward, backward-data and backward-weight of the LeNet5 and
/// VGG-like layers at batch 100 through the public op layer (<see cref="ConvOps"/> on the CPU backend),
/// in GFLOP/s and as a fraction of the FMA peak timed around each repeat.
/// </summary>
internal static class ConvBench
{
    /// <summary>A conv layer: input [N, C, H, W], O filters of K×K, "same" padding, stride 1.</summary>
    private sealed record Layer(string Name, int N, int C, int H, int W, int O, int K);

    private static readonly Layer[] Layers =
    [
        new("lenet5_conv1", 100, 1, 28, 28, 32, 5),
        new("lenet5_conv2", 100, 32, 14, 14, 64, 5),
        new("vgg_conv1_2", 100, 64, 32, 32, 64, 3),
        new("vgg_conv2_2", 100, 128, 16, 16, 128, 3),
        new("vgg_conv3_2", 100, 256, 8, 8, 256, 3),
    ];

    /// <summary>Runs every layer and direction; prints a table and, with --json, one JSON line last.</summary>
    public static int Run(BenchOptions o)
    {
        bool quick = o.Extra.Remove("--lenet-only");
        bool direct = o.Extra.Remove("--direct");
        CpuBackend.UseWinograd = !direct;
        if (o.Extra.Count > 0) throw new ArgumentException($"conv: unknown option '{o.Extra[0]}'");
        Parallelism.Threads = o.Threads;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"conv2d at batch 100, {o.Threads} thread(s), {o.Repeats} repeats, {(direct ? "direct only" : "Winograd where it applies")}, medians (best repeat); fraction = direct-convolution GFLOP/s over the FMA peak timed around each repeat");
        Console.WriteLine($"{"name",-28} {"input",-18} {"filters",-10} {"GFLOP/s",9} {"peak",8} {"fraction",8} {"best",6} {"ms/call",9}");
        var rows = new List<(string Name, Layer L, Measured R)>();
        var rng = new Rng(11);
        foreach (var l in quick ? Layers.Take(2) : Layers)
        {
            using var x = Tensor.RandN([l.N, l.C, l.H, l.W], rng);
            using var w = Tensor.RandN([l.O, l.C, l.K, l.K], rng, 0, 0.1);
            using var b = Tensor.Zeros([l.O]);
            using var dy = Tensor.RandN([l.N, l.O, l.H, l.W], rng);
            int p = l.K / 2;
            double flops = 2.0 * l.N * l.O * l.H * l.W * l.C * l.K * l.K;
            var cases = new (string Dir, Action Run)[]
            {
                ("forward", () => ConvOps.Conv2d(x, w, b, (1, 1), (p, p)).Dispose()),
                ("backward_data", () => ConvOps.Conv2dBackwardData(dy, w, x.Dims, (1, 1), (p, p)).Dispose()),
                ("backward_weight", () => ConvOps.Conv2dBackwardWeight(x, dy, w.Dims, (1, 1), (p, p)).Dispose()),
            };
            foreach (var (dir, run) in cases)
            {
                var r = Measure.Interleaved(run, flops, o.Threads, o.Repeats);
                string name = $"{l.Name}_{dir}";
                rows.Add((name, l, r));
                Console.WriteLine(string.Format(inv, "{0,-28} {1,-18} {2,-10} {3,9:F1} {4,8:F1} {5,8:F3} {6,6:F3} {7,9:F2}",
                    name, $"{l.N}x{l.C}x{l.H}x{l.W}", $"{l.O}x{l.K}x{l.K}", r.Gflops, r.PeakGflops, r.FractionOfPeak, r.BestFraction, r.SecondsPerCall * 1e3));
            }
        }
        if (o.Json)
        {
            double peak = Measure.Median(rows.Select(x => x.R.PeakGflops).ToList());
            var sb = new StringBuilder();
            sb.Append(inv, $"{{\"fma_peak_gflops\":{peak:F2},\"threads\":{o.Threads},\"results\":[");
            for (int i = 0; i < rows.Count; i++)
            {
                var (name, l, r) = rows[i];
                if (i > 0) sb.Append(',');
                sb.Append(inv, $"{{\"name\":\"{name}\",\"n\":{l.N},\"c\":{l.C},\"h\":{l.H},\"w\":{l.W},\"o\":{l.O},\"k\":{l.K},\"gflops\":{r.Gflops:F2},\"fraction_of_peak\":{r.FractionOfPeak:F4},\"fraction_of_peak_best\":{r.BestFraction:F4},\"ms\":{r.SecondsPerCall * 1e3:F3}}}");
            }
            sb.Append("]}");
            Console.WriteLine(sb.ToString());
        }
        return 0;
    }
}
