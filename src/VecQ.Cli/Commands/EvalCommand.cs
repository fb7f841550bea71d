using System.CommandLine;
using VecQ.Cli.Training;
using VecQ.Datasets;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq eval --checkpoint F`: rebuilds the model recorded in a checkpoint, or in a packed export
/// (`vecq export`, PACKED_FORMAT.md), and measures it on the test split. A packed file evaluates like the
/// checkpoint it came from: its dequantized weights are bit for bit what that checkpoint's quantizers compute.
/// </summary>
internal static class EvalCommand
{
    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a .safetensors checkpoint written by vecq train/quantize, or a packed file written by vecq export", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "dataset (default: the one recorded in the checkpoint)" };
        var data = new Option<string?>("--data") { Description = "folder holding the dataset's IDX files" };
        var limit = new Option<int?>("--limit-test") { Description = "use only the first N test images" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var device = DeviceOption.Create();
        var fakeQuant = new Option<bool>("--fake-quant") { Description = "a packed file: evaluate the float simulation (dequantized weights) instead of the integer path" };
        var compare = new Option<bool>("--compare") { Description = "a packed file: run the integer path and the float simulation and count where their predictions differ" };
        var cmd = new Command("eval", "evaluate a checkpoint on a test set") { checkpoint, dataset, data, limit, threads, json, device, fakeQuant, compare };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!;
            if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
            if (p.GetValue(limit) is < 1) throw new OptionException($"--limit-test {p.GetValue(limit)}: expected an integer >= 1");
            if (p.GetValue(threads) is int t) { if (t < 1) throw new OptionException($"--threads {t}: expected >= 1"); Parallelism.Threads = t; }
            var dev = DeviceOption.Parse(p.GetValue(device)!);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (model, config, meta, quant, packedBytes) = CheckpointModel.LoadForEval(path);
            model.To(dev);
            string name = p.GetValue(dataset) ?? (meta.Extra.TryGetValue("dataset", out var ds) ? ds : "fashion-mnist");
            TrainingData.Check(name, p.GetValue(data));
            var locator = new DataLocator { ExplicitDirectory = p.GetValue(data), Report = l => output.Err.WriteLine(l) };
            if (DatasetCatalog.IsText(name) != ModelFactory.IsText(config.Model))
                throw new OptionException($"--dataset {name}: {path} holds the {(ModelFactory.IsText(config.Model) ? "text" : "image")} model {config.Model}");
            double acc, loss;
            Dictionary<string, object?>? integerFields = null;
            int n;
            string what, sample = "";
            if (ModelFactory.IsText(config.Model))
            {
                // the vocabulary saved beside the checkpoint fixes the tokenizer, the ids and the sequence length
                var vocab = TextTraining.LoadFor(path, config, meta, required: false);
                var text = TextTraining.Load(config.Model, name, locator, config.Sizes["vocab"], config.Sizes["seq_len"], null, vocab, train: false);
                var loader = new TextLoader(text.Test, new TextLoaderOptions { BatchSize = 100, Shuffle = false, Limit = p.GetValue(limit) });
                (acc, loss) = Trainer.Evaluate(model, new TextBatches(loader));
                (n, what) = (loader.Count, "texts");
            }
            else
            {
                int? size = config.Sizes.TryGetValue("image_size", out int sz) ? sz : null;
                var test = TrainingData.Load(name, DatasetSplit.Test, locator, size);
                using var loader = new DataLoader(test.Source, new DataLoaderOptions { BatchSize = 100, Shuffle = false, Limit = p.GetValue(limit) });
                using var integer = packedBytes is null || p.GetValue(fakeQuant) || dev != Device.Cpu ? null : IntegerEval.TryLoad(path, output);
                if (integer is null) (acc, loss) = Trainer.Evaluate(model, loader);
                else
                {
                    var r = IntegerEval.Evaluate(integer, loader, p.GetValue(compare) ? model : null);
                    (acc, loss) = (r.Accuracy, r.Loss);
                    output.Out.WriteLine($"integer path ({integer.Isa}): {string.Join("; ", integer.Layers)}");
                    if (r.Compared is var (fakeAcc, differ)) output.Out.WriteLine($"float simulation: accuracy {100 * fakeAcc:F2}%; predictions differing from the integer path: {differ}");
                    integerFields = new() { ["integer"] = true, ["isa"] = integer.Isa.ToString(), ["weight_bytes_held"] = integer.WeightBytes, ["weight_bytes_float"] = integer.FloatWeightBytes, ["integer_layers"] = integer.Layers };
                    if (r.Compared is var (fa, d)) { integerFields["fake_quant_accuracy"] = fa; integerFields["predictions_differing"] = d; }
                }
                (n, what) = (Math.Min(test.Source.Count, p.GetValue(limit) ?? int.MaxValue), "images");
                if (test.IsSample) sample = ", embedded sample";
            }
            double seconds = clock.Elapsed.TotalSeconds;
            output.Out.WriteLine($"{config.Model} ({path}{(packedBytes is null ? "" : integerFields is null ? ", packed, float simulation" : ", packed, integer path")}) on {name} test ({n} {what}{sample}): accuracy {100 * acc:F2}%, loss {loss:F4}");
            if (p.GetValue(json))
            {
                var fields = new Dictionary<string, object?>
                {
                    ["model"] = config.Model, ["dataset"] = name, ["wbits"] = quant.WBits, ["abits"] = quant.ABits, ["quantizer"] = quant.QuantizerName,
                    ["epochs"] = meta.Epoch, ["seconds"] = seconds, ["images_per_second"] = n / Math.Max(seconds, 1e-9),
                    ["test_accuracy"] = acc, ["test_loss"] = loss, ["checkpoint"] = path, ["images"] = n, ["packed"] = packedBytes is not null,
                    ["device"] = dev.ToString(),
                    ["model_bytes_float"] = model.Parameters().Sum(q => (long)q.Data.Numel * 4),
                    ["model_bytes_quantized"] = packedBytes ?? QuantSpec.QuantizedBytes(model),
                };
                quant.WriteJson(fields);
                foreach (var (k, v) in integerFields ?? []) fields[k] = v;
                JsonLine.Write(output.Out, fields);
            }
            return 0;
        });
        return cmd;
    }
}
