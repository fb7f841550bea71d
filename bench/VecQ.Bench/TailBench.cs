using System.Globalization;
using System.Text;
using VecQ.Tensors;

namespace VecQ.Bench;

/// <summary>
/// The <c>tail</c> subcommand: the conv-block tail ReLU → batch norm (training) → max pool 2 at the LeNet5
/// shapes, fused (<see cref="ConvOps.ReluBatchNormMaxPool2d"/> and its backward, with the ReLU statistics)
/// against the unfused chain of ops it replaces, forward and backward. Memory-bound work, so the figures
/// are milliseconds per call; each repeat times fused then unfused, and the ratio is the median per repeat.
/// </summary>
internal static class TailBench
{
    private sealed record Shape4(string Name, int N, int C, int H, int W);

    private static readonly Shape4[] Shapes = [new("lenet5_tail1", 100, 32, 28, 28), new("lenet5_tail2", 100, 64, 14, 14)];

    /// <summary>Runs both shapes and directions; prints a table and, with --json, one JSON line last.</summary>
    public static int Run(BenchOptions o)
    {
        if (o.Extra.Count > 0) throw new ArgumentException($"tail: unknown option '{o.Extra[0]}'");
        Parallelism.Threads = o.Threads;
        var inv = CultureInfo.InvariantCulture;
        Measure.PrintMachine();
        Console.WriteLine($"ReLU → batch norm → max pool 2 at batch 100, {o.Threads} thread(s), {o.Repeats} repeats: ms per call, medians (best)");
        Console.WriteLine($"{"name",-24} {"input",-16} {"fused ms",9} {"best",7} {"unfused ms",11} {"best",7} {"unfused/fused",14}");
        var json = new List<string>();
        var rng = new Rng(5);
        foreach (var s in Shapes)
        {
            using var x = Tensor.RandN([s.N, s.C, s.H, s.W], rng);                 // x: [N, C, H, W] (a conv output)
            using var gamma = Tensor.RandN([s.C], rng, 1, 0.1);                    // [C]
            using var beta = Tensor.RandN([s.C], rng, 0, 0.1);                     // [C]
            using var dy = Tensor.RandN([s.N, s.C, s.H / 2, s.W / 2], rng);        // dy: [N, C, H/2, W/2]
            var (mean, var) = NnOps.BatchNormStats(x, relu: true);
            using (mean) using (var)
            using (var invStd = 1.0 / Sqrt(var))
            {
                var (y0, idx, picked) = ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (2, 2));
                using (y0) using (idx) using (picked)
                using (var u = x.Map(new Relu()))
                {
                    var cases = new (string Dir, Action Fused, Action Unfused)[]
                    {
                        ("forward", () => Forward(x, gamma, beta, fused: true), () => Forward(x, gamma, beta, fused: false)),
                        ("backward", () => ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx, picked, x, mean, invStd, gamma, (2, 2), gammaGrad: true, betaGrad: true).Dispose3(),
                            () => UnfusedBackward(dy, idx, u, x, mean, invStd, gamma)),
                    };
                    foreach (var (dir, fused, unfused) in cases)
                    {
                        var (f, fb, un, ub, ratio) = Alternate(fused, unfused, o.Repeats);
                        string name = $"{s.Name}_{dir}";
                        Console.WriteLine(string.Format(inv, "{0,-24} {1,-16} {2,9:F3} {3,7:F3} {4,11:F3} {5,7:F3} {6,14:F2}",
                            name, $"{s.N}x{s.C}x{s.H}x{s.W}", f, fb, un, ub, ratio));
                        json.Add(string.Format(inv, "{{\"name\":\"{0}\",\"fused_ms\":{1:F4},\"fused_ms_best\":{2:F4},\"unfused_ms\":{3:F4},\"unfused_ms_best\":{4:F4},\"unfused_over_fused\":{5:F3}}}",
                            name, f, fb, un, ub, ratio));
                    }
                }
            }
        }
        if (o.Json) Console.WriteLine(new StringBuilder().Append('{').Append(Measure.MachineJson()).Append("\"threads\":").Append(o.Threads).Append(",\"results\":[").AppendJoin(',', json).Append("]}"));
        return 0;
    }

    private static Tensor Sqrt(Tensor var)
    {
        using var v = var.Add(1e-5);
        return v.Sqrt();
    }

    // Statistics, normalisation and pooling: the fused op, or ReLU → BatchNormForward → MaxPool2d.
    private static void Forward(Tensor x, Tensor gamma, Tensor beta, bool fused)
    {
        var (mean, var) = NnOps.BatchNormStats(x, relu: fused);
        using (mean) using (var)
        using (var invStd = 1.0 / Sqrt(var))
        {
            if (fused)
            {
                ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (2, 2)).Dispose3();
                return;
            }
            using var u = x.Map(new Relu());
            using var t = NnOps.BatchNormForward(u, mean, invStd, gamma, beta);
            ConvOps.MaxPool2d(t, (2, 2)).Dispose2();
        }
    }

    // MaxPool2dBackward → BatchNormBackward (on the ReLU's output) → the ReLU gradient.
    private static void UnfusedBackward(Tensor dy, Tensor idx, Tensor u, Tensor x, Tensor mean, Tensor invStd, Tensor gamma)
    {
        using var d = ConvOps.MaxPool2dBackward(dy, idx, x.Dims, (2, 2));
        var (du, dg, db) = NnOps.BatchNormBackward(d, u, mean, invStd, gamma, gammaGrad: true, betaGrad: true);
        using (du) using (dg) using (db)
        using (Tensor.Zip(new ReluGrad(), du, x)) { }
    }

    // Per repeat: fused calls for KernelSeconds, then unfused; medians and best of both, median of the per-repeat ratios.
    private static (double Fused, double FusedBest, double Unfused, double UnfusedBest, double Ratio) Alternate(Action fused, Action unfused, int repeats)
    {
        for (int i = 0; i < 3; i++) { fused(); unfused(); }
        var f = new List<double>();
        var u = new List<double>();
        var r = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var (fs, fc) = Measure.TimeCalls(fused, Measure.KernelSeconds);
            var (us, uc) = Measure.TimeCalls(unfused, Measure.KernelSeconds);
            f.Add(fs / fc * 1e3);
            u.Add(us / uc * 1e3);
            r.Add(u[^1] / f[^1]);
        }
        return (Measure.Median(f), f.Min(), Measure.Median(u), u.Min(), Measure.Median(r));
    }

    private static void Dispose2(this (Tensor A, Tensor B) t) { t.A.Dispose(); t.B.Dispose(); }
    private static void Dispose3(this (Tensor A, Tensor? B, Tensor? C) t) { t.A.Dispose(); t.B?.Dispose(); t.C?.Dispose(); }
}
