using VecQ.Quant;
using System.Diagnostics;
using VecQ.Autograd;
using VecQ.Datasets;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>Result of a training run (the keys of `vecq train --json`).</summary>
internal sealed record TrainResult(
    string Model, string Dataset, int Epochs, double Seconds, double ImagesPerSecond,
    double TestAccuracy, double TestLoss, double BestAccuracy, string Checkpoint, string BestCheckpoint,
    long ModelBytesFloat, long ModelBytesQuantized, QuantSpec Quant, double PeakMemoryMb, IReadOnlyList<double> EpochAccuracies, bool UsedSample,
    string Device, StepTraffic Traffic);

/// <summary>
/// Host↔device traffic of the training steps of a run (batch upload, the step, the loss and accuracy read
/// back; checkpoints and evaluation are not steps), and the device's memory at the end.
/// </summary>
internal sealed record StepTraffic(double TransfersPerStep, double BytesPerStep, long MaxTransfers, long LiveBytesEnd, long PeakBytes);

/// <summary>
/// A non-finite loss (Keras's TerminateOnNaN): the run stops at once, keeps its last good checkpoint and
/// saves nothing of the diverged weights.
/// </summary>
internal sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>Thrown by --stop-after-steps: the run stops as if killed, leaving only its periodic checkpoints.</summary>
internal sealed class TrainingInterruptedException(int step) : Exception($"stopped after step {step} (--stop-after-steps)");

/// <summary>
/// The supervised training loop behind `vecq train`: seeded data order per epoch, SGD/Adam with an
/// LR schedule, progress on stderr (one line redrawn in place on a terminal), a resumable checkpoint ("last")
/// every few hundred steps and at each epoch's end, the best one by test accuracy, the newest
/// --keep-checkpoints epoch checkpoints, metrics.csv (one row per epoch) and, with --plot, curves.png.
/// A non-finite loss stops the run (<see cref="TrainingDivergedException"/>).
/// </summary>
internal sealed class Trainer
{
    private readonly TrainOptions _o;
    private readonly TextWriter _log;
    private EvalPreprocess? _preprocess;
    private IReadOnlyList<string> _classNames = [];
    private readonly List<IDisposable> _loaders = new();   // the image loaders' workers, stopped when Run returns

    public Trainer(TrainOptions options, TextWriter log)
    {
        _o = options;
        _log = log;
    }

    /// <summary>Path of the resumable checkpoint.</summary>
    public string LastPath => Path.Combine(_o.Out, "last.safetensors");
    /// <summary>Path of epoch <paramref name="epoch"/>'s checkpoint (kept with --keep-checkpoints).</summary>
    private string EpochPath(int epoch) => Path.Combine(_o.Out, $"epoch-{epoch}.safetensors");
    /// <summary>Path of the best checkpoint.</summary>
    public string BestPath => Path.Combine(_o.Out, "best.safetensors");

    public TrainResult Run()
    {
        try { return RunCore(); }
        finally { foreach (var l in _loaders) l.Dispose(); _loaders.Clear(); }
    }

    private TrainResult RunCore()
    {
        if (_o.Threads is int t) Parallelism.Threads = t;
        var locator = new DataLocator { ExplicitDirectory = _o.DataDir, Report = line => _log.WriteLine(line) };
        var (trainBatches, testBatches, config, usedSample) = LoadData(locator);
        var initRng = new Rng(_o.Seed);
        var quant = _o.Quant;
        Module model;
        if (_o.InitFrom is string init)
        {
            using var loaded = VecQ.Nn.Checkpoint.Load(init);
            if (string.IsNullOrEmpty(loaded.Metadata.Config)) throw new InvalidDataException($"{init}: checkpoint has no model config (was it written by vecq train?)");
            config = ModelFactory.ModelConfig.FromJson(loaded.Metadata.Config, init);
            model = ModelFactory.Build(config, initRng, quant.ABits, quant.ActQuant);
            // activation-quantizer state is taken over only from a source with the same kind of quantizers
            var source = QuantSpec.FromExtra(loaded.Metadata.Extra, init);
            bool sameActivations = source.ABits == quant.ABits && source.ActQuant == quant.ActQuant;
            var state = loaded.Tensors.Where(e => sameActivations || !ModelFactory.IsActivationState(e.Key)).ToDictionary(e => e.Key, e => e.Value);
            model.LoadStateDict(state, strict: false);
            var missing = model.NamedParameters().Select(e => e.Name).Concat(model.NamedBuffers().Select(e => e.Name))
                .Where(n => !loaded.Tensors.ContainsKey(n) && !ModelFactory.IsActivationState(n)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"{init}: checkpoint lacks {string.Join(", ", missing)} for model {config.Model}");
            quant.AttachWeights(model);
            _log.WriteLine($"starting from the weights of {init}");
        }
        else model = quant.Build(config, initRng);
        var device = _o.ComputeDevice;
        model.To(device);
        using var optimizer = MakeOptimizer(model);
        var rngs = new Dictionary<string, Rng> { ["init"] = initRng };
        int stepsPerEpoch = trainBatches.StepsPerEpoch;
        var schedule = MakeSchedule(stepsPerEpoch);

        int startEpoch = 0, startStep = 0;
        double best = 0;
        if (_o.Resume)
        {
            if (!File.Exists(LastPath)) throw new OptionException($"--resume: no checkpoint to resume at {LastPath}");
            var at = VecQ.Nn.Checkpoint.LoadTraining(LastPath, model, optimizer, rngs);
            (startEpoch, startStep, best) = (at.Epoch, at.StepInEpoch, at.BestAccuracy);
            if (startStep >= stepsPerEpoch) { startEpoch++; startStep = 0; }
            _log.WriteLine($"resuming {LastPath} at epoch {startEpoch + 1}, step {startStep}");
        }
        Directory.CreateDirectory(_o.Out);
        _log.WriteLine($"model {config.Model}: {model.ParameterCount():N0} parameters, weights {(quant.WBits < 32 ? $"{quant.Method.Name()} {quant.WBits}-bit{LayerNote(quant)}" : "float")}, activations {(quant.ABits < 32 ? $"{quant.ABits}-bit ({quant.ActQuantName})" : "float")}; {_o.Optimizer} lr {_o.Lr} ({_o.Schedule}), batch {_o.BatchSize}, {_o.Epochs} epochs, {Parallelism.Threads} threads");

        var metrics = RunMetrics.Open(_o.Out, startEpoch);
        var progress = new ProgressLine(_log, _o.ProgressInPlace);
        var epochAcc = new List<double>();
        var clock = Stopwatch.StartNew();
        long images = 0;
        int stepsThisRun = 0;
        long steps = 0, transfers = 0, bytes = 0, maxTransfers = 0;
        (double Acc, double Loss) last = (0, 0);
        for (int epoch = startEpoch; epoch < _o.Epochs; epoch++)
        {
            model.Train();
            double lossSum = 0; long correct = 0, seen = 0;
            var epochClock = Stopwatch.StartNew();
            var lastReport = Stopwatch.StartNew();
            int step = epoch == startEpoch ? startStep : 0;
            foreach (var batch in trainBatches.Epoch(epoch, step))
            {
                using (batch)
                {
                    optimizer.Lr = schedule.LrAt(epoch, step, stepsPerEpoch);
                    var before = Backend.Transfers(device);
                    var (loss, hits) = TrainStep(model, optimizer, batch.Inputs, batch.Labels, _o.LabelSmoothing);
                    var moved = Backend.Transfers(device) - before;
                    steps++; transfers += moved.Calls; bytes += moved.Bytes; maxTransfers = Math.Max(maxTransfers, moved.Calls);
                    if (!double.IsFinite(loss))
                    {
                        progress.End();
                        throw new TrainingDivergedException($"epoch {epoch + 1} step {step + 1}: the training loss is {loss}; stopped. " +
                            $"The last good checkpoint is {(File.Exists(LastPath) ? LastPath : "none (no checkpoint was written before the divergence)")}; try a smaller --lr");
                    }
                    lossSum += loss * batch.Size; correct += hits; seen += batch.Size; images += batch.Size;
                }
                step++;
                if (++stepsThisRun == _o.StopAfterSteps) throw new TrainingInterruptedException(step);
                if (step % _o.CheckpointEverySteps == 0 && step < stepsPerEpoch) SaveLast(model, optimizer, rngs, config, epoch, step, best);
                if (lastReport.Elapsed.TotalSeconds >= (_o.ProgressInPlace ? 0.25 : 5) || step == stepsPerEpoch)
                {
                    double ips = seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9);
                    long left = (long)(stepsPerEpoch - step) * _o.BatchSize + (long)(_o.Epochs - epoch - 1) * stepsPerEpoch * _o.BatchSize;
                    progress.Show($"epoch {epoch + 1}/{_o.Epochs} step {step}/{stepsPerEpoch} loss {lossSum / Math.Max(seen, 1):F4} acc {100.0 * correct / Math.Max(seen, 1):F2}% {ips:F0} {(DatasetCatalog.IsText(_o.Dataset) ? "texts" : "img")}/s ETA {Eta(left / Math.Max(ips, 1e-9))}");
                    lastReport.Restart();
                }
            }
            progress.End();
            last = Evaluate(model, testBatches);
            if (!double.IsFinite(last.Loss))
                throw new TrainingDivergedException($"epoch {epoch + 1}: the test loss is {last.Loss}; stopped without saving this epoch. " +
                    $"The last good checkpoint is {(File.Exists(LastPath) ? LastPath : "none")}");
            epochAcc.Add(last.Acc);
            bool isBest = last.Acc > best;
            if (isBest) best = last.Acc;
            _log.WriteLine($"epoch {epoch + 1}/{_o.Epochs}: train loss {lossSum / Math.Max(seen, 1):F4} acc {100.0 * correct / Math.Max(seen, 1):F2}% | test loss {last.Loss:F4} acc {100 * last.Acc:F2}%{(isBest ? " (best)" : "")} | {epochClock.Elapsed.TotalSeconds:F1}s");
            var meta = Metadata(config, epoch + 1, (long)(epoch + 1) * stepsPerEpoch, last.Acc);
            if (_o.KeepCheckpoints > 0)
            {
                VecQ.Nn.Checkpoint.Save(EpochPath(epoch + 1), model, meta);
                string old = EpochPath(epoch + 1 - _o.KeepCheckpoints);
                if (File.Exists(old)) File.Delete(old);
            }
            if (isBest) VecQ.Nn.Checkpoint.Save(BestPath, model, meta);
            SaveLast(model, optimizer, rngs, config, epoch + 1, 0, best);
            metrics.Add(new EpochMetrics(epoch + 1, lossSum / Math.Max(seen, 1), correct / (double)Math.Max(seen, 1), last.Loss, last.Acc,
                optimizer.Lr, epochClock.Elapsed.TotalSeconds));
        }
        if (_o.Plot && metrics.Rows.Count > 0) CurvePlot.Write(metrics.Rows, Path.Combine(_o.Out, "curves.png"), $"{config.Model} on {_o.Dataset}");
        if (epochAcc.Count == 0) last = Evaluate(model, testBatches); // resumed a finished run
        double seconds = clock.Elapsed.TotalSeconds;
        long floatBytes = model.Parameters().Sum(p => (long)p.Data.Numel * 4);
        return new TrainResult(_o.Model, _o.Dataset, _o.Epochs, seconds, images / Math.Max(seconds, 1e-9),
            last.Acc, last.Loss, best, LastPath, BestPath, floatBytes, QuantSpec.QuantizedBytes(model), quant,
            Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0), epochAcc, usedSample, device.ToString(),
            new StepTraffic(transfers / (double)Math.Max(steps, 1), bytes / (double)Math.Max(steps, 1), maxTransfers,
                Backend.MemoryStats(device).LiveBytes, Backend.MemoryStats(device).PeakBytes));
    }

    // The two splits as batches and the model configuration they call for: images through the DataLoader, text
    // through the TextLoader with a vocabulary built on the training split and saved beside the checkpoints.
    private (IStepBatches Train, IStepBatches Test, ModelFactory.ModelConfig Config, bool UsedSample) LoadData(DataLocator locator)
    {
        if (DatasetCatalog.IsText(_o.Dataset))
        {
            var data = TextTraining.Load(_o.Model, _o.Dataset, locator, _o.VocabSize, _o.SeqLen, _o.Tokenizer, vocabulary: null, train: true);
            _log.WriteLine($"data: {data}");
            _classNames = data.ClassNames;
            _preprocess = null;
            if (data.Vocabulary is { } vocab)
            {
                Directory.CreateDirectory(_o.Out);
                vocab.Save(Path.Combine(_o.Out, TextTraining.VocabularyFile));
            }
            var textConfig = ModelFactory.TextConfig(_o.Model, data.ClassNames.Count, data.VocabularySize, data.SequenceLength);
            var trainText = new TextLoader(data.Train!, new TextLoaderOptions { BatchSize = _o.BatchSize, Shuffle = true, Seed = _o.Seed, Limit = _o.LimitTrain });
            var testText = new TextLoader(data.Test, new TextLoaderOptions { BatchSize = _o.BatchSize, Shuffle = false, Limit = _o.LimitTest });
            return (new TextBatches(trainText), new TextBatches(testText), textConfig, false);
        }
        var train = TrainingData.Load(_o.Dataset, DatasetSplit.Train, locator, _o.ImageSize);
        var test = TrainingData.Load(_o.Dataset, DatasetSplit.Test, locator, _o.ImageSize);
        _log.WriteLine($"data: {train}; {test}");
        _preprocess = test.Preprocess;
        _classNames = train.ClassNames;
        var config = ModelFactory.DefaultConfig(_o.Model, numClasses: train.ClassNames.Count, imageSize: train.Input.Size, channels: train.Input.Channels);
        int workers = _o.Dataset == "imagefolder" ? Math.Max(1, Parallelism.Threads) : 1;   // decoding JPEGs wants every core
        var trainLoader = new DataLoader(train.Source, new DataLoaderOptions
        {
            BatchSize = _o.BatchSize, Shuffle = true, Seed = _o.Seed, Limit = _o.LimitTrain, Augment = train.Augment, Workers = workers,
        });
        _loaders.Add(trainLoader);
        // evaluation runs at the training batch size: its buffers have the sizes training already pooled,
        // so evaluating adds no memory to a run's peak (batch 500 added ~170 MB)
        var testLoader = new DataLoader(test.Source, new DataLoaderOptions { BatchSize = _o.BatchSize, Shuffle = false, Limit = _o.LimitTest, Workers = workers });
        _loaders.Add(testLoader);
        return (new ImageBatches(trainLoader), new ImageBatches(testLoader), config, train.IsSample || test.IsSample);
    }

    /// <summary>
    /// One optimisation step on the model's device; returns the batch's mean loss and number of correct
    /// predictions. Host traffic: the batch's two uploads and two downloads (the loss and the predicted classes).
    /// </summary>
    public static (double Loss, long Correct) TrainStep(Module model, Optimizer optimizer, Tensor images, Tensor labels, double labelSmoothing)
    {
        // images: [B, C, H, W] (or token ids [B, T] int32), labels: [B] int32, on the host or the model's device
        var device = model.Device;
        using var scope = TensorScope.Begin();                        // owns every variable of the step
        using var ys = labels.To(device);
        var logits = model.Forward(new Variable(images.To(device)));   // [B, classes]
        var loss = Functions.SoftmaxCrossEntropy(logits, ys, labelSmoothing);
        optimizer.ZeroGrad();
        loss.Backward();
        optimizer.Step();
        return (loss.Value.Item(), CountCorrect(logits.Value, labels));
    }

    /// <summary>Accuracy (fraction) and mean cross-entropy on an image loader, in eval mode without a graph, on the model's device.</summary>
    public static (double Acc, double Loss) Evaluate(Module model, DataLoader loader) => Evaluate(model, new ImageBatches(loader));

    /// <summary>Accuracy (fraction) and mean cross-entropy over the batches of epoch 0, in eval mode without a graph.</summary>
    public static (double Acc, double Loss) Evaluate(Module model, IStepBatches loader)
    {
        model.Eval();
        var device = model.Device;
        double lossSum = 0; long correct = 0, seen = 0;
        using (Autograd.Autograd.NoGrad())
        {
            foreach (var batch in loader.Epoch(0))
                using (batch)
                {
                    using var scope = TensorScope.Begin();
                    using var ys = batch.Labels.To(device);
                    var logits = model.Forward(new Variable(batch.Inputs.To(device)));
                    var loss = Functions.SoftmaxCrossEntropy(logits, ys, 0, Reduction.Sum);
                    lossSum += loss.Value.Item();
                    correct += CountCorrect(logits.Value, batch.Labels);
                    seen += batch.Size;
                }
        }
        model.Train();
        return (correct / (double)Math.Max(seen, 1), lossSum / Math.Max(seen, 1));
    }

    // logits on the device (one download of the predicted classes); labels where the loader made them (the host)
    private static long CountCorrect(Tensor logits, Tensor labels)
    {
        using var pred = logits.ArgMax(1);
        var p = pred.ToArray<int>();
        var y = labels.ToArray<int>();
        long c = 0;
        for (int i = 0; i < p.Length; i++) if (p[i] == y[i]) c++;
        return c;
    }

    private Optimizer MakeOptimizer(Module model) => _o.Optimizer switch
    {
        "sgd" => new Sgd(model, _o.Lr, momentum: _o.Momentum, weightDecay: _o.WeightDecay),
        "adam" => new Adam(model, _o.Lr, weightDecay: _o.WeightDecay),
        _ => new AdamW(model, _o.Lr, weightDecay: _o.WeightDecay),
    };

    private LrSchedule MakeSchedule(int stepsPerEpoch)
    {
        LrSchedule s = _o.Schedule switch
        {
            "constant" => new ConstantLR(_o.Lr),
            "step" => new StepLR(_o.Lr, _o.Milestones[0], _o.Gamma),
            "multistep" => new MultiStepLR(_o.Lr, _o.Milestones, _o.Gamma),
            _ => new CosineAnnealingLR(_o.Lr, _o.Epochs, perStep: true),
        };
        return _o.WarmupSteps > 0 ? new LinearWarmup(s, _o.WarmupSteps) : s;
    }

    private void SaveLast(Module model, Optimizer optimizer, Dictionary<string, Rng> rngs, ModelFactory.ModelConfig config, int epoch, int stepInEpoch, double best)
    {
        var meta = Metadata(config, epoch, 0, best);
        VecQ.Nn.Checkpoint.Save(LastPath, model, meta, new TrainingState(optimizer, rngs, epoch, stepInEpoch, best));
    }

    private CheckpointMetadata Metadata(ModelFactory.ModelConfig config, int epoch, long step, double accuracy)
    {
        var extra = new Dictionary<string, string>
        {
            ["dataset"] = _o.Dataset,
            ["test_accuracy"] = accuracy.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["seed"] = _o.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (_preprocess is { } pre) extra["eval_preprocess"] = pre.ToJson();
        if (DatasetCatalog.IsText(_o.Dataset) && File.Exists(Path.Combine(_o.Out, TextTraining.VocabularyFile))) extra["vocabulary"] = TextTraining.VocabularyFile;
        extra["class_names"] = System.Text.Json.JsonSerializer.Serialize(_classNames);
        _o.Quant.WriteTo(extra);
        return new()
        {
            Model = config.Model,
            Config = config.ToJson(),
            Epoch = epoch,
            Step = step,
            Extra = extra,
        };
    }

    private static string LayerNote(QuantSpec q)
    {
        var parts = new List<string>();
        if (q.FirstLayerBits is int f) parts.Add(f == 32 ? "first layer float" : $"first layer {f}-bit");
        if (q.LastLayerBits is int l) parts.Add(l == 32 ? "last layer float" : $"last layer {l}-bit");
        if (q.QuantizeBiases) parts.Add("biases quantized");
        return parts.Count > 0 ? $" ({string.Join(", ", parts)})" : "";
    }

    private static string Eta(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Min(seconds, 3.6e6));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
    }
}
