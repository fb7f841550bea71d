using System.CommandLine;
using VecQ.Cli.Training;

namespace VecQ.Cli.Commands;

/// <summary>`vecq train`: trains a model and prints per-epoch progress; --json ends with a result object.</summary>
internal static class TrainCommand
{
    public static Command Build(Output output)
    {
        var d = new TrainOptions();
        var model = new Option<string>("--model") { Description = $"model to train: {string.Join(", ", ModelFactory.Names)}", DefaultValueFactory = _ => d.Model };
        var dataset = new Option<string>("--dataset") { Description = $"dataset: {string.Join(", ", TrainingData.Names)}", DefaultValueFactory = _ => d.Dataset };
        var data = new Option<string?>("--data") { Description = "folder holding the dataset's IDX files (else VECQ_DATA, the cache, /usr/share/datasets, download, embedded sample)" };
        var epochs = new Option<int>("--epochs") { Description = "training epochs", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => d.BatchSize };
        var lr = new Option<double>("--lr") { Description = "base learning rate", DefaultValueFactory = _ => d.Lr };
        var opt = new Option<string>("--optimizer") { Description = "sgd, adam or adamw", DefaultValueFactory = _ => d.Optimizer };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => d.Momentum };
        var wd = new Option<double>("--weight-decay") { Description = "L2 weight decay (decoupled for adamw)", DefaultValueFactory = _ => d.WeightDecay };
        var schedule = new Option<string>("--schedule") { Description = "constant, step, multistep or cosine", DefaultValueFactory = _ => d.Schedule };
        var milestones = new Option<string?>("--milestones") { Description = "epochs at which step/multistep multiply the lr by --gamma, e.g. 15,25" };
        var gamma = new Option<double>("--gamma") { Description = "lr factor at each milestone", DefaultValueFactory = _ => d.Gamma };
        var warmup = new Option<int>("--warmup-steps") { Description = "linear lr warm-up steps", DefaultValueFactory = _ => 0 };
        var smoothing = new Option<double>("--label-smoothing") { Description = "cross-entropy label smoothing", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "seed of initialisation and data order", DefaultValueFactory = _ => d.Seed };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var outDir = new Option<string>("--out") { Description = "output folder for checkpoints", DefaultValueFactory = _ => d.Out };
        var resume = new Option<bool>("--resume") { Description = "continue from <out>/last.safetensors exactly where it stopped" };
        var limitTrain = new Option<int?>("--limit-train") { Description = "use only the first N training images" };
        var limitTest = new Option<int?>("--limit-test") { Description = "use only the first N test images" };
        var every = new Option<int>("--checkpoint-every") { Description = "steps between resumable checkpoints", DefaultValueFactory = _ => d.CheckpointEverySteps };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var wbits = new Option<int>("--wbits") { Description = "weight bits 1..16, or 32 for float weights", DefaultValueFactory = _ => 32 };
        var abits = new Option<int>("--abits") { Description = "activation bits 1..16, or 32 for float activations", DefaultValueFactory = _ => 32 };
        var quantizer = new Option<string>("--quantizer") { Description = "weight quantizer: vecq, ul2q, twn, l2, uniform or binary", DefaultValueFactory = _ => "vecq" };
        var lambda = new Option<string>("--lambda") { Description = "VecQ step: gaussian (λ_k) or exact (searched on the weights)", DefaultValueFactory = _ => "gaussian" };
        var granularity = new Option<string>("--granularity") { Description = "one scale per tensor or per output channel: tensor or channel", DefaultValueFactory = _ => "tensor" };
        var firstBits = LayerOptions.FirstLayerBits();
        var lastBits = LayerOptions.LastLayerBits();
        var biases = LayerOptions.QuantizeBiases();
        var actQuant = LayerOptions.ActQuant();
        var device = DeviceOption.Create();
        var imageSize = new Option<int?>("--image-size") { Description = "image side for --dataset imagefolder (default 224)" };
        var keep = new Option<int>("--keep-checkpoints") { Description = "epoch checkpoints to keep besides best and last (default 0)", DefaultValueFactory = _ => 0 };
        var plot = new Option<bool>("--plot") { Description = "draw the training curves into <out>/curves.png at the end" };
        var vocab = TextOptions.VocabSize();
        var seqLen = TextOptions.SeqLen();
        var tokenizer = TextOptions.Tokenizer();
        var stopAfter = new Option<int?>("--stop-after-steps") { Description = "stop abruptly after N steps, as if killed (for testing --resume)", Hidden = true };

        var cmd = new Command("train", "train a model (default: LeNet5 on Fashion-MNIST)")
        {
            model, dataset, data, epochs, batch, lr, opt, momentum, wd, schedule, milestones, gamma, warmup, smoothing,
            seed, threads, outDir, resume, limitTrain, limitTest, every, json, stopAfter,
            wbits, abits, quantizer, lambda, granularity, firstBits, lastBits, biases, actQuant, device, keep, plot, imageSize,
            vocab, seqLen, tokenizer,
        };
        cmd.SetAction(p =>
        {
            var o = new TrainOptions
            {
                Model = p.GetValue(model)!, Dataset = p.GetValue(dataset)!, DataDir = p.GetValue(data),
                Epochs = p.GetValue(epochs), BatchSize = p.GetValue(batch), Lr = p.GetValue(lr), Optimizer = p.GetValue(opt)!,
                Momentum = p.GetValue(momentum), WeightDecay = p.GetValue(wd), Schedule = p.GetValue(schedule)!,
                Milestones = ParseInts("--milestones", p.GetValue(milestones)), Gamma = p.GetValue(gamma),
                WarmupSteps = p.GetValue(warmup), LabelSmoothing = p.GetValue(smoothing), Seed = p.GetValue(seed),
                Threads = p.GetValue(threads), Out = p.GetValue(outDir)!, Resume = p.GetValue(resume),
                LimitTrain = p.GetValue(limitTrain), LimitTest = p.GetValue(limitTest),
                CheckpointEverySteps = p.GetValue(every), Json = p.GetValue(json), StopAfterSteps = p.GetValue(stopAfter),
                WBits = p.GetValue(wbits), ABits = p.GetValue(abits), Quantizer = p.GetValue(quantizer)!,
                Lambda = p.GetValue(lambda)!, Granularity = p.GetValue(granularity)!,
                FirstLayerBits = p.GetValue(firstBits), LastLayerBits = p.GetValue(lastBits), QuantizeBiases = p.GetValue(biases),
                ActQuant = p.GetValue(actQuant), Device = p.GetValue(device)!,
                KeepCheckpoints = p.GetValue(keep), ImageSize = p.GetValue(imageSize), Plot = p.GetValue(plot), ProgressInPlace = output.ErrIsTerminal,
                VocabSize = p.GetValue(vocab), SeqLen = p.GetValue(seqLen), Tokenizer = p.GetValue(tokenizer),
            };
            o.Validate();
            var r = new Trainer(o, output.Err).Run();
            output.Out.WriteLine($"{r.Model} on {r.Dataset}{(r.UsedSample ? " (embedded sample)" : "")}: test accuracy {100 * r.TestAccuracy:F2}% (best {100 * r.BestAccuracy:F2}%), loss {r.TestLoss:F4}, {r.Seconds:F1}s, {r.ImagesPerSecond:F0} {(VecQ.Datasets.DatasetCatalog.IsText(r.Dataset) ? "texts" : "img")}/s, peak memory {r.PeakMemoryMb:F0} MB");
            output.Out.WriteLine($"checkpoints: {r.Checkpoint}, {r.BestCheckpoint}");
            if (o.Json)
            {
                var fields = new Dictionary<string, object?>
                {
                    ["model"] = r.Model, ["dataset"] = r.Dataset, ["wbits"] = r.Quant.WBits, ["abits"] = r.Quant.ABits, ["quantizer"] = r.Quant.QuantizerName,
                    ["epochs"] = r.Epochs, ["seconds"] = r.Seconds, ["images_per_second"] = r.ImagesPerSecond,
                    ["test_accuracy"] = r.TestAccuracy, ["test_loss"] = r.TestLoss, ["best_accuracy"] = r.BestAccuracy,
                    ["checkpoint"] = r.Checkpoint, ["best_checkpoint"] = r.BestCheckpoint,
                    ["model_bytes_float"] = r.ModelBytesFloat, ["model_bytes_quantized"] = r.ModelBytesQuantized,
                    ["peak_memory_mb"] = r.PeakMemoryMb, ["epoch_accuracies"] = r.EpochAccuracies, ["embedded_sample"] = r.UsedSample,
                    ["device"] = r.Device, ["host_transfers_per_step"] = r.Traffic.TransfersPerStep, ["host_bytes_per_step"] = r.Traffic.BytesPerStep,
                    ["host_transfers_max_step"] = r.Traffic.MaxTransfers, ["device_live_bytes_end"] = r.Traffic.LiveBytesEnd,
                    ["device_peak_bytes"] = r.Traffic.PeakBytes,
                };
                r.Quant.WriteJson(fields);
                JsonLine.Write(output.Out, fields);
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>Parses "15,25" into [15, 25]; errors name the option.</summary>
    public static int[] ParseInts(string option, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var r = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out r[i]))
                throw new OptionException($"{option} '{text}': '{parts[i]}' is not an integer (expected a comma-separated list such as 15,25)");
        return r;
    }
}

/// <summary>The options shared by train and quantize: layer bit widths, bias quantization, activation quantizers.</summary>
internal static class LayerOptions
{
    public static Option<int?> FirstLayerBits() => new("--first-layer-bits") { Description = "bits of the first layer's weights: 1..16, or 32 to keep it float (default: --wbits)" };

    public static Option<int?> LastLayerBits() => new("--last-layer-bits") { Description = "bits of the last layer's weights: 1..16, or 32 to keep it float (default: --wbits)" };

    public static Option<bool> QuantizeBiases() => new("--quantize-biases") { Description = "also quantize the biases of quantized layers (per tensor, the layer's method and bits)" };

    public static Option<string?> ActQuant() => new("--act-quant")
    {
        Description = "activation quantizers (with --abits 1..16): searched (λ searched on the batch, one step per channel; default) or paper (Gaussian λ_k, one step per tensor, EMA 0.9)",
    };
}

/// <summary>The text models' data options, shared by train, summary and bench.</summary>
internal static class TextOptions
{
    public static Option<int?> VocabSize() => new("--vocab-size") { Description = "text models: vocabulary size, reserved ids included (default imdb 20000, thucnews 5000)" };

    public static Option<int?> SeqLen() => new("--seq-len") { Description = "text models: token ids per example, pre-padded and pre-truncated (default imdb 100, thucnews 200)" };

    public static Option<string?> Tokenizer() => new("--tokenizer") { Description = "text models: words (lowercased, punctuation split) or chars (default: the dataset's; chars for thucnews)" };
}
