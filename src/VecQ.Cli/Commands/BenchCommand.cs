using System.CommandLine;
using System.Diagnostics;
using VecQ.Autograd;
using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq bench`: times the train step (forward + backward + SGD update) and inference of a model on
/// synthetic data, median (and best) over steps, with the FMA peak measured in the same run; with
/// `--profile`, also where the train step's and the inference's time goes, backend operation by operation.
/// </summary>
internal static class BenchCommand
{
    public static Command Build(Output output)
    {
        var model = new Option<string>("--model") { Description = $"model: {string.Join(", ", ModelFactory.Names)}, or lstm (bench-ref's embedding(20000, 128) + LSTM(128) + linear classifier)", DefaultValueFactory = _ => "lenet5" };
        var seqLen = new Option<int?>("--seq-len") { Description = "text models: token ids per example (default imdb 100, lstm 200, thucnews 200)" };
        var size = new Option<int?>("--image-size") { Description = "input height and width (default: the model's reference input)" };
        var classes = new Option<int?>("--classes") { Description = "classes (default 10 for lenet5 and vgg-like, 1000 otherwise)" };
        var batch = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 100 };
        var steps = new Option<int>("--steps") { Description = "timed steps (after 3 warm-up steps)", DefaultValueFactory = _ => 20 };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var wbits = new Option<int>("--wbits") { Description = "weight bits 1..16 (quantized train step), or 32 for float", DefaultValueFactory = _ => 32 };
        var abits = new Option<int>("--abits") { Description = "activation bits 1..16, or 32 for float", DefaultValueFactory = _ => 32 };
        var quantizer = new Option<string>("--quantizer") { Description = "weight quantizer: vecq, ul2q, twn, l2, uniform or binary", DefaultValueFactory = _ => "vecq" };
        var profile = new Option<bool>("--profile") { Description = "also time the train step's backend operations (extra profiled steps, before the timed ones)" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var actQuant = LayerOptions.ActQuant();
        var device = DeviceOption.Create();
        var cmd = new Command("bench", "time a model's train step and inference") { model, batch, steps, threads, wbits, abits, quantizer, actQuant, profile, json, device, size, classes, seqLen };
        cmd.SetAction(p =>
        {
            string name = p.GetValue(model)!;
            int b = p.GetValue(batch), n = p.GetValue(steps);
            if (b < 1) throw new OptionException($"--batch-size {b}: expected an integer >= 1");
            if (n < 1) throw new OptionException($"--steps {n}: expected an integer >= 1");
            if (p.GetValue(threads) is int t) { if (t < 1) throw new OptionException($"--threads {t}: expected >= 1"); Parallelism.Threads = t; }
            var quant = QuantSpec.Parse(p.GetValue(wbits), p.GetValue(abits), p.GetValue(quantizer)!, "gaussian", "tensor")
                .WithOptions(null, null, false, p.GetValue(actQuant));
            if (!ModelFactory.Names.Contains(name) && name != "lstm") throw new OptionException($"--model '{name}': expected one of {string.Join(", ", ModelFactory.Names)}, lstm");
            if (p.GetValue(seqLen) is int sl && (sl < 1 || !(ModelFactory.IsText(name) || name == "lstm")))
                throw new OptionException($"--seq-len {sl}: a positive length, for the text models (imdb, thucnews, lstm) only");
            var dev = DeviceOption.Parse(p.GetValue(device)!);
            var r = Run(name, b, n, quant, p.GetValue(profile), dev, p.GetValue(size), p.GetValue(classes), p.GetValue(seqLen));
            void PrintProfile(string what, IReadOnlyList<ProfilingBackend.OpTotal> ops)
            {
                double total = ops.Sum(o => o.Milliseconds);
                output.Out.WriteLine($"{what} by backend operation ({n} profiled steps; ms and calls per step):");
                foreach (var o in ops)
                    output.Out.WriteLine($"  {o.Op,-28} {o.Milliseconds / n,8:F2} ms {100 * o.Milliseconds / total,5:F1}% {(double)o.Calls / n,6:F0} calls");
                output.Out.WriteLine($"  {"total inside the backend",-28} {total / n,8:F2} ms");
            }
            if (r.Profile is { } trainOps) PrintProfile("train step", trainOps);
            if (r.InferProfile is { } inferOps) PrintProfile("inference", inferOps);
            output.Out.WriteLine($"{name} W{quant.WBits}/A{quant.ABits} batch {b} ({Parallelism.Threads} threads): train step {r.TrainMs:F1} ms (best {r.TrainBestMs:F1}; {b / r.TrainMs * 1000:F0} img/s), inference {r.InferMs:F1} ms (best {r.InferBestMs:F1}; {b / r.InferMs * 1000:F0} img/s); FMA peak {r.PeakGflops:F0} GFLOP/s");
            if (r.CostVsFloat is double cost)
                output.Out.WriteLine($"float train step, timed alternately: {r.FloatTrainMs:F1} ms; the W{quant.WBits}/A{quant.ABits} step costs {cost:F3}x the float step (median over {n} step pairs)");
            if (p.GetValue(json))
            {
                var fields = new Dictionary<string, object?>
                {
                    ["model"] = name, ["batch_size"] = b, ["wbits"] = quant.WBits, ["abits"] = quant.ABits, ["quantizer"] = quant.QuantizerName, ["threads"] = Parallelism.Threads,
                    ["act_quant"] = quant.ABits < 32 ? quant.ActQuantName : null,
                    ["train_ms_per_step"] = r.TrainMs, ["infer_ms_per_step"] = r.InferMs,
                    ["train_ms_per_step_best"] = r.TrainBestMs, ["infer_ms_per_step_best"] = r.InferBestMs,
                    ["live_bytes_before"] = r.LiveBytesBefore, ["live_bytes_after"] = r.LiveBytesAfter,
                    ["train_images_per_second"] = b / r.TrainMs * 1000, ["infer_images_per_second"] = b / r.InferMs * 1000,
                    ["fma_peak_gflops"] = r.PeakGflops, ["device"] = dev.ToString(),
                    ["cpu"] = CpuInfo.Current.ToString(), ["sgemm_kernel"] = CpuBackend.SgemmChoice,
                };
                if (r.CostVsFloat is double c)
                {
                    fields["float_train_ms_per_step"] = r.FloatTrainMs;
                    fields["train_cost_vs_float"] = c;
                }
                static List<Dictionary<string, object?>> Rows(IReadOnlyList<ProfilingBackend.OpTotal> ops, int n) =>
                    ops.Select(o => new Dictionary<string, object?>
                    {
                        ["op"] = o.Op, ["ms_per_step"] = o.Milliseconds / n, ["calls_per_step"] = (double)o.Calls / n,
                    }).ToList();
                if (r.Profile is { } prof) fields["profile"] = Rows(prof, n);
                if (r.InferProfile is { } iprof) fields["inference_profile"] = Rows(iprof, n);
                JsonLine.Write(output.Out, fields);
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>What <see cref="Run"/> measured.</summary>
    /// <param name="TrainMs">Median train-step milliseconds.</param>
    /// <param name="InferMs">Median inference milliseconds.</param>
    /// <param name="TrainBestMs">Fastest train step.</param>
    /// <param name="InferBestMs">Fastest inference.</param>
    /// <param name="PeakGflops">FMA peak measured before and after (mean).</param>
    /// <param name="Profile">Per-operation totals over the profiled train steps, or null.</param>
    /// <param name="InferProfile">Per-operation totals over as many profiled inferences, or null.</param>
    /// <param name="FloatTrainMs">For a quantized model: the median step of the float model, timed alternately with it; else null.</param>
    /// <param name="CostVsFloat">For a quantized model: the median over step pairs of quantized / float step time; else null.</param>
    /// <param name="LiveBytesBefore">The device's live bytes after the warm-up steps.</param>
    /// <param name="LiveBytesAfter">The device's live bytes after the timed train steps (flat when nothing leaks).</param>
    public readonly record struct Result(double TrainMs, double InferMs, double TrainBestMs, double InferBestMs, double PeakGflops,
        IReadOnlyList<ProfilingBackend.OpTotal>? Profile, IReadOnlyList<ProfilingBackend.OpTotal>? InferProfile = null,
        double? FloatTrainMs = null, double? CostVsFloat = null, long LiveBytesBefore = 0, long LiveBytesAfter = 0);

    /// <summary>
    /// Times <paramref name="steps"/> train steps and inferences after 3 warm-up steps on <paramref name="device"/>
    /// (default the CPU; the synthetic batch is placed there first); with
    /// <paramref name="profile"/>, first runs <paramref name="steps"/> more train steps on a <see cref="ProfilingBackend"/>.
    /// A quantized model's steps alternate with those of the same model in float (built from the same seed), so
    /// the cost ratio comes from step pairs a few milliseconds apart: this machine's speed drifts too much
    /// between two separate runs to compare them within 10%.
    /// </summary>
    public static Result Run(string name, int batch, int steps, QuantSpec? quant = null, bool profile = false, Device? device = null,
        int? imageSize = null, int? classes = null, int? seqLen = null)
    {
        var dev = device ?? Device.Cpu;
        int k = classes ?? (name == "lstm" ? 2 : ModelFactory.DefaultClasses(name));
        var config = BenchConfig(name, k, imageSize, seqLen);
        var rng = new Rng(7);
        var net = (quant ?? QuantSpec.Float).Build(config, rng).To(dev);
        using var optimizer = BenchOptimizer(name, net);
        using var images = BenchInput(config, batch, rng, dev);   // [B, C, H, W], or token ids [B, T]
        var labelValues = new int[batch];
        for (int i = 0; i < batch; i++) labelValues[i] = rng.NextInt(k);
        using var labels = Tensor.FromArray(labelValues, device: dev);
        double peakBefore = FmaPeak.Measure(Parallelism.Threads, 0.2);
        IReadOnlyList<ProfilingBackend.OpTotal>? ops = null;
        if (profile)
        {
            for (int i = 0; i < 3; i++) Trainer.TrainStep(net, optimizer, images, labels, 0);
            var profiler = new ProfilingBackend(Backend.Cpu);
            using (Backend.Use(profiler))
                for (int i = 0; i < steps; i++) Trainer.TrainStep(net, optimizer, images, labels, 0);
            ops = profiler.Totals();
        }
        bool quantized = quant is { } qs && qs != QuantSpec.Float;
        var floatNet = quantized ? QuantSpec.Float.Build(config, new Rng(7)).To(dev) : null;
        using var floatOptimizer = floatNet == null ? null : BenchOptimizer(name, floatNet);
        double TimeStep(Module model, Optimizer opt)
        {
            var sw = Stopwatch.StartNew();
            Trainer.TrainStep(model, opt, images, labels, 0);
            Backend.Synchronize(dev);
            return sw.Elapsed.TotalMilliseconds;
        }
        var train = new List<double>();
        var floatTrain = new List<double>();
        var ratios = new List<double>();
        long liveBefore = 0;
        for (int i = 0; i < steps + 3; i++)
        {
            if (i == 3) liveBefore = Backend.MemoryStats(dev).LiveBytes;
            // a pair: the float step first on even i, second on odd i
            double f = floatNet != null && i % 2 == 0 ? TimeStep(floatNet, floatOptimizer!) : 0;
            double t = TimeStep(net, optimizer);
            if (floatNet != null && i % 2 == 1) f = TimeStep(floatNet, floatOptimizer!);
            if (i < 3) continue;
            train.Add(t);
            if (floatNet == null) continue;
            floatTrain.Add(f);
            ratios.Add(t / f);
        }
        long liveAfter = Backend.MemoryStats(dev).LiveBytes;
        net.Eval();
        IReadOnlyList<ProfilingBackend.OpTotal>? inferOps = null;
        if (profile)
        {
            var profiler = new ProfilingBackend(Backend.Cpu);
            using (Autograd.Autograd.NoGrad())
            using (Backend.Use(profiler))
                for (int i = 0; i < steps; i++)
                {
                    using var scope = TensorScope.Begin();
                    net.Forward(new Variable(images.Contiguous()));
                }
            inferOps = profiler.Totals();
        }
        var infer = new List<double>();
        using (Autograd.Autograd.NoGrad())
            for (int i = 0; i < steps + 3; i++)
            {
                var sw = Stopwatch.StartNew();
                using var scope = TensorScope.Begin();
                net.Forward(new Variable(images.Contiguous()));
                Backend.Synchronize(dev);   // an accelerator's kernels have only been queued (a no-op on the CPU)
                if (i >= 3) infer.Add(sw.Elapsed.TotalMilliseconds);
            }
        double peakAfter = FmaPeak.Measure(Parallelism.Threads, 0.2);
        return new Result(Median(train), Median(infer), train.Min(), infer.Min(), 0.5 * (peakBefore + peakAfter), ops, inferOps,
            floatNet == null ? null : Median(floatTrain), floatNet == null ? null : Median(ratios), liveBefore, liveAfter);
    }

    // The model a bench name stands for: the CLI's models, and lstm, bench-ref's LSTM classifier (embedding(20000, 128)
    // + LSTM(128 → 128) + linear, over 200 steps by default): the thucnews model's structure at those sizes.
    private static ModelFactory.ModelConfig BenchConfig(string name, int classes, int? imageSize, int? seqLen)
    {
        if (name == "lstm")
            return new ModelFactory.ModelConfig("thucnews", new() { ["vocab"] = 20000, ["seq_len"] = seqLen ?? 200, ["classes"] = classes, ["embed"] = 128, ["hidden"] = 128 });
        if (ModelFactory.IsText(name))
        {
            if (imageSize != null) throw new OptionException($"--image-size does not apply to the text model {name}");
            return ModelFactory.TextConfig(name, classes, sequenceLength: seqLen);
        }
        return ModelFactory.DefaultConfig(name, classes, imageSize);
    }

    // The optimizer bench-ref times with the same model: Adam 1e-3 for the IMDB model, SGD momentum 0.9 for the LSTM
    // classifier, SGD momentum 0.9 with weight decay 1e-4 for the image models.
    private static Optimizer BenchOptimizer(string name, Module net) => name switch
    {
        "imdb" => new Adam(net, 1e-3, weightDecay: 0),
        "lstm" or "thucnews" => new Sgd(net, 0.01, momentum: 0.9, weightDecay: 0),
        _ => new Sgd(net, 0.01, momentum: 0.9, weightDecay: 1e-4),
    };

    // A synthetic batch: Gaussian images, or token ids uniform over the vocabulary.
    private static Tensor BenchInput(ModelFactory.ModelConfig config, int batch, Rng rng, Device dev)
    {
        if (!ModelFactory.IsText(config.Model)) return Tensor.RandN([batch, .. ModelFactory.InputShape(config)], rng, device: dev);
        int t = config.Sizes["seq_len"], v = config.Sizes["vocab"];
        var ids = new int[batch * t];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(v);
        return Tensor.FromArray(ids, [batch, t], dev);
    }

    private static double Median(List<double> v)
    {
        v.Sort();
        return v.Count % 2 == 1 ? v[v.Count / 2] : 0.5 * (v[v.Count / 2 - 1] + v[v.Count / 2]);
    }
}
