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
    /// <summary>
    /// A conv layer: input [N, C, H, W], O filters of K×K over C/Groups channels, stride S, padding P (K/2 when
    /// null: "same" at stride 1).
    /// </summary>
    private sealed record Layer(string Name, int N, int C, int H, int W, int O, int K, int S = 1, int? P = null, int Groups = 1)
    {
        public int Pad => P ?? K / 2;
        public int OH => (H + 2 * Pad - K) / S + 1;
        public int OW => (W + 2 * Pad - K) / S + 1;
        /// <summary>Multiply-adds ×2 of the direct convolution.</summary>
        public double Flops => 2.0 * N * O * OH * OW * (C / Groups) * K * K;
    }

    private static readonly Layer[] Layers =
    [
        new("lenet5_conv1", 100, 1, 28, 28, 32, 5),
        new("lenet5_conv2", 100, 32, 14, 14, 64, 5),
        new("vgg_conv1_2", 100, 64, 32, 32, 64, 3),
        new("vgg_conv2_2", 100, 128, 16, 16, 128, 3),
        new("vgg_conv3_2", 100, 256, 8, 8, 256, 3),
    ];

    /// <summary>The distinct convolutions of torchvision's ResNet-18 at batch 8, 224².</summary>
    private static readonly Layer[] ResNet18 =
    [
        new("r18_stem7x7s2", 8, 3, 224, 224, 64, 7, 2, 3),
        new("r18_l1_3x3", 8, 64, 56, 56, 64, 3),
        new("r18_l2_3x3s2", 8, 64, 56, 56, 128, 3, 2),
        new("r18_l2_3x3", 8, 128, 28, 28, 128, 3),
        new("r18_l2_down1x1s2", 8, 64, 56, 56, 128, 1, 2, 0),
        new("r18_l3_3x3s2", 8, 128, 28, 28, 256, 3, 2),
        new("r18_l3_3x3", 8, 256, 14, 14, 256, 3),
        new("r18_l3_down1x1s2", 8, 128, 28, 28, 256, 1, 2, 0),
        new("r18_l4_3x3s2", 8, 256, 14, 14, 512, 3, 2),
        new("r18_l4_3x3", 8, 512, 7, 7, 512, 3),
        new("r18_l4_down1x1s2", 8, 256, 14, 14, 512, 1, 2, 0),
    ];

    /// <summary>A sample of torchvision's MobileNetV2 convolutions at batch 8, 224² (stem, depthwise, 1×1).</summary>
    private static readonly Layer[] MobileNetV2 =
    [
        new("mv2_stem3x3s2", 8, 3, 224, 224, 32, 3, 2),
        new("mv2_dw112", 8, 32, 112, 112, 32, 3, 1, 1, 32),
        new("mv2_pw112_32to16", 8, 32, 112, 112, 16, 1, 1, 0),
        new("mv2_pw112_16to96", 8, 16, 112, 112, 96, 1, 1, 0),
        new("mv2_dw112s2", 8, 96, 112, 112, 96, 3, 2, 1, 96),
        new("mv2_pw56_144", 8, 24, 56, 56, 144, 1, 1, 0),
        new("mv2_dw56", 8, 144, 56, 56, 144, 3, 1, 1, 144),
        new("mv2_pw56_144to24", 8, 144, 56, 56, 24, 1, 1, 0),
        new("mv2_pw28_192", 8, 32, 28, 28, 192, 1, 1, 0),
        new("mv2_dw28", 8, 192, 28, 28, 192, 3, 1, 1, 192),
        new("mv2_pw14_384", 8, 64, 14, 14, 384, 1, 1, 0),
        new("mv2_dw14", 8, 384, 14, 14, 384, 3, 1, 1, 384),
        new("mv2_pw7_960", 8, 160, 7, 7, 960, 1, 1, 0),
        new("mv2_pw7_320to1280", 8, 320, 7, 7, 1280, 1, 1, 0),
    ];

    /// <summary>Runs every layer and direction; prints a table and, with --json, one JSON line last.</summary>
    public static int Run(BenchOptions o)
    {
        bool quick = o.Extra.Remove("--lenet-only");
        bool direct = o.Extra.Remove("--direct");
        bool forwardOnly = o.Extra.Remove("--forward-only");
        CpuBackend.UseIm2col = !o.Extra.Remove("--no-im2col");
        Layer[] set = Layers;
        int at = o.Extra.IndexOf("--set");
        if (at >= 0)
        {
            string name = at + 1 < o.Extra.Count ? o.Extra[at + 1] : "";
            set = name switch
            {
                "paper" => Layers,
                "resnet18" => ResNet18,
                "mobilenet-v2" => MobileNetV2,
                _ => throw new ArgumentException($"conv: --set '{name}' is not one of paper, resnet18, mobilenet-v2"),
            };
            o.Extra.RemoveRange(at, Math.Min(2, o.Extra.Count - at));
        }
        CpuBackend.UseWinograd = !direct;
        if (o.Extra.Count > 0) throw new ArgumentException($"conv: unknown option '{o.Extra[0]}'");
        Parallelism.Threads = o.Threads;
        var inv = CultureInfo.InvariantCulture;
        Measure.PrintMachine();
        Console.WriteLine($"conv2d, {o.Threads} thread(s), {o.Repeats} repeats, {(direct ? "direct only" : "Winograd where it applies")}, medians (best repeat); fraction = direct-convolution GFLOP/s over the FMA peak timed around each repeat");
        Console.WriteLine($"{"name",-28} {"input",-18} {"filters",-10} {"GFLOP/s",9} {"peak",8} {"fraction",8} {"best",6} {"ms/call",9}");
        var rows = new List<(string Name, Layer L, Measured R)>();
        var rng = new Rng(11);
        foreach (var l in quick ? set.Take(2) : set)
        {
            using var x = Tensor.RandN([l.N, l.C, l.H, l.W], rng);
            using var w = Tensor.RandN([l.O, l.C / l.Groups, l.K, l.K], rng, 0, 0.1);
            using var b = Tensor.Zeros([l.O]);
            using var dy = Tensor.RandN([l.N, l.O, l.OH, l.OW], rng);
            int p = l.Pad, s = l.S, gr = l.Groups;
            double flops = l.Flops;
            var cases = new (string Dir, Action Run)[]
            {
                ("forward", () => ConvOps.Conv2d(x, w, b, (s, s), (p, p), groups: gr).Dispose()),
                ("backward_data", () => ConvOps.Conv2dBackwardData(dy, w, x.Dims, (s, s), (p, p), groups: gr).Dispose()),
                ("backward_weight", () => ConvOps.Conv2dBackwardWeight(x, dy, w.Dims, (s, s), (p, p), groups: gr).Dispose()),
            };
            foreach (var (dir, run) in forwardOnly ? cases.Take(1) : cases)
            {
                var r = Measure.Interleaved(run, flops, o.Threads, o.Repeats);
                string name = $"{l.Name}_{dir}";
                rows.Add((name, l, r));
                Console.WriteLine(string.Format(inv, "{0,-28} {1,-18} {2,-10} {3,9:F1} {4,8:F1} {5,8:F3} {6,6:F3} {7,9:F2}",
                    name, $"{l.N}x{l.C}x{l.H}x{l.W}", $"{l.O}x{l.K}x{l.K}/{l.S}", r.Gflops, r.PeakGflops, r.FractionOfPeak, r.BestFraction, r.SecondsPerCall * 1e3));
            }
        }
        if (o.Json)
        {
            double peak = Measure.Median(rows.Select(x => x.R.PeakGflops).ToList());
            var sb = new StringBuilder();
            sb.Append(inv, $"{{{Measure.MachineJson()}\"fma_peak_gflops\":{peak:F2},\"threads\":{o.Threads},\"results\":[");
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
