using System.CommandLine;
using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq quantize --checkpoint F --wbits K --out G`: turns a (float) checkpoint into a quantized one
/// (weights quantized with VecQ or a baseline; optionally activations), recorded so that `vecq eval`
/// rebuilds the quantized model; with --finetune-epochs N it first trains N epochs with the quantizers attached.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a .safetensors checkpoint written by vecq train", Required = true };
        var wbits = new Option<int>("--wbits") { Description = "weight bits 1..16", Required = true };
        var abits = new Option<int?>("--abits") { Description = "activation bits 1..16, or 32 for float (default: the checkpoint's)" };
        var method = new Option<string>("--quantizer") { Description = "vecq, ul2q, twn, l2, uniform or binary", DefaultValueFactory = _ => "vecq" };
        method.Aliases.Add("--method");
        var lambda = new Option<string>("--lambda") { Description = "VecQ step: gaussian or exact", DefaultValueFactory = _ => "gaussian" };
        var granularity = new Option<string>("--granularity") { Description = "tensor or channel", DefaultValueFactory = _ => "tensor" };
        var finetune = new Option<int>("--finetune-epochs") { Description = "epochs of quantization-aware fine-tuning (0: quantize only)", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "fine-tuning learning rate", DefaultValueFactory = _ => 0.005 };
        var dataset = new Option<string?>("--dataset") { Description = "fine-tuning dataset (default: the checkpoint's)" };
        var data = new Option<string?>("--data") { Description = "folder holding the dataset's IDX files" };
        var limitTrain = new Option<int?>("--limit-train") { Description = "fine-tune on only the first N training images" };
        var limitTest = new Option<int?>("--limit-test") { Description = "test on only the first N test images" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var outPath = new Option<string>("--out") { Description = "the quantized checkpoint to write", Required = true };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var firstBits = LayerOptions.FirstLayerBits();
        var lastBits = LayerOptions.LastLayerBits();
        var biases = LayerOptions.QuantizeBiases();
        var actQuant = LayerOptions.ActQuant();
        actQuant.Description += " (default: the checkpoint's)";
        var cmd = new Command("quantize", "quantize a checkpoint's weights (optionally fine-tuning with the quantizers attached)")
        {
            checkpoint, wbits, abits, method, lambda, granularity, finetune, lr, dataset, data, limitTrain, limitTest, threads, outPath, json,
            firstBits, lastBits, biases, actQuant,
        };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!, dest = p.GetValue(outPath)!;
            int wb = p.GetValue(wbits), epochs = p.GetValue(finetune);
            if (wb < 1 || wb > 16) throw new OptionException($"--wbits {wb}: expected 1..16");
            var check = QuantSpec.Parse(wb, p.GetValue(abits) ?? 32, p.GetValue(method)!, p.GetValue(lambda)!, p.GetValue(granularity)!);
            string? act = p.GetValue(actQuant);
            if (act is not null) QuantSpec.ParseActQuant(act);
            // validated now against --abits when given (else once the checkpoint's activation bits are known)
            check = check.WithOptions(p.GetValue(firstBits), p.GetValue(lastBits), p.GetValue(biases), p.GetValue(abits) is not null ? act : null);
            if (epochs < 0) throw new OptionException($"--finetune-epochs {epochs}: expected an integer >= 0");
            if (string.IsNullOrWhiteSpace(dest) || Directory.Exists(dest)) throw new OptionException($"--out '{dest}': expected a file path");
            if (Path.GetFullPath(dest) == Path.GetFullPath(path)) throw new OptionException($"--out {dest}: refusing to overwrite the source checkpoint");
            if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");

            var (model, config, meta, saved) = CheckpointModel.Load(path, attachWeights: false);
            int aBits = p.GetValue(abits) ?? saved.ABits;
            var spec = (check with { ABits = aBits }).WithOptions(check.FirstLayerBits, check.LastLayerBits, check.QuantizeBiases,
                act ?? (aBits < 32 ? (aBits == saved.ABits ? saved.ActQuantName : "searched") : null));
            if (epochs == 0)
            {
                if (p.GetValue(threads) is int t) { if (t < 1) throw new OptionException($"--threads {t}: expected >= 1"); Parallelism.Threads = t; }
                if (spec.ABits != saved.ABits || (spec.ABits < 32 && spec.ActQuant != saved.ActQuant))
                {
                    // other activation quantizers: the rest of the state is taken over, theirs starts fresh
                    var rebuilt = ModelFactory.Build(config, new Rng(0), spec.ABits, spec.ActQuant);
                    rebuilt.LoadStateDict(model.StateDict().Where(e => !ModelFactory.IsActivationState(e.Key)).ToDictionary(e => e.Key, e => e.Value), strict: false);
                    model = rebuilt;
                    if (spec.ABits < 32) output.Err.WriteLine($"note: the {spec.ABits}-bit activation quantizers start uncalibrated (running step λ_k); fine-tune (--finetune-epochs 1) to calibrate them");
                }
                spec.AttachWeights(model);
                var extra = new Dictionary<string, string>(meta.Extra) { ["source"] = path };
                spec.WriteTo(extra);
                Checkpoint.Save(dest, model, new CheckpointMetadata { Model = config.Model, Config = config.ToJson(), Epoch = meta.Epoch, Step = meta.Step, Extra = extra });
                long floatBytes = model.Parameters().Sum(q => (long)q.Data.Numel * 4), quantBytes = QuantSpec.QuantizedBytes(model);
                output.Out.WriteLine($"{dest}: {config.Model} with {spec.Method.Name()} {spec.WBits}-bit weights{(spec.ABits < 32 ? $", {spec.ABits}-bit activations" : "")}; {floatBytes:N0} bytes float, {quantBytes:N0} bytes packed");
                if (p.GetValue(json))
                {
                    var fields = new Dictionary<string, object?>
                    {
                        ["model"] = config.Model, ["wbits"] = spec.WBits, ["abits"] = spec.ABits, ["quantizer"] = spec.QuantizerName,
                        ["epochs"] = 0, ["checkpoint"] = dest, ["model_bytes_float"] = floatBytes, ["model_bytes_quantized"] = quantBytes,
                    };
                    spec.WriteJson(fields);
                    JsonLine.Write(output.Out, fields);
                }
                return 0;
            }

            string name = p.GetValue(dataset) ?? (meta.Extra.TryGetValue("dataset", out var ds) ? ds : "fashion-mnist");
            var runDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dest))!, Path.GetFileNameWithoutExtension(dest) + ".finetune");
            var o = new TrainOptions
            {
                Model = config.Model, Dataset = name, DataDir = p.GetValue(data), Epochs = epochs, Lr = p.GetValue(lr),
                Threads = p.GetValue(threads), Out = runDir, LimitTrain = p.GetValue(limitTrain), LimitTest = p.GetValue(limitTest),
                WBits = spec.WBits, ABits = spec.ABits, Quantizer = spec.Method.Name(),
                Lambda = spec.Lambda == LambdaMode.Exact ? "exact" : "gaussian",
                Granularity = spec.Granularity == Granularity.PerChannel ? "channel" : "tensor",
                FirstLayerBits = spec.FirstLayerBits, LastLayerBits = spec.LastLayerBits, QuantizeBiases = spec.QuantizeBiases,
                ActQuant = spec.ABits < 32 ? spec.ActQuantName : null,
                InitFrom = path, Json = p.GetValue(json),
            };
            o.Validate();
            var r = new Trainer(o, output.Err).Run();
            string final = r.Checkpoint;   // last.safetensors: the weights after the final epoch
            AtomicFile.Write(dest, s => { using var src = File.OpenRead(final); src.CopyTo(s); });
            output.Out.WriteLine($"{dest}: {config.Model} with {spec.Method.Name()} {spec.WBits}-bit weights after {epochs} fine-tuning epoch(s): test accuracy {100 * r.TestAccuracy:F2}%, loss {r.TestLoss:F4} (run folder {runDir})");
            if (o.Json)
            {
                var fields = new Dictionary<string, object?>
                {
                    ["model"] = config.Model, ["dataset"] = name, ["wbits"] = spec.WBits, ["abits"] = spec.ABits, ["quantizer"] = spec.QuantizerName,
                    ["epochs"] = epochs, ["seconds"] = r.Seconds, ["images_per_second"] = r.ImagesPerSecond,
                    ["test_accuracy"] = r.TestAccuracy, ["test_loss"] = r.TestLoss, ["checkpoint"] = dest, ["run_dir"] = runDir,
                    ["model_bytes_float"] = r.ModelBytesFloat, ["model_bytes_quantized"] = r.ModelBytesQuantized,
                };
                spec.WriteJson(fields);
                JsonLine.Write(output.Out, fields);
            }
            return 0;
        });
        return cmd;
    }
}
