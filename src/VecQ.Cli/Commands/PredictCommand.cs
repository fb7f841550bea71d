using System.CommandLine;
using System.Text.Json;
using VecQ.Autograd;
using VecQ.Cli.Training;
using VecQ.Datasets;
using VecQ.Nn;
using VecQ.Quant.Integer;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq predict --checkpoint F IMAGE...`: classifies PNG/JPEG files (or every image in a folder) with the model a
/// checkpoint (or a packed export) records, prepared with the evaluation preprocessing recorded in it; prints the
/// top-k classes, and with --json the logits per image.
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"];

    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a checkpoint written by vecq train (or a packed .vecq export)", Required = true };
        var images = new Argument<string[]>("images") { Description = "image files (PNG, JPEG, …) or folders of them (image models)", Arity = ArgumentArity.ZeroOrMore };
        var text = new Option<string[]>("--text") { Description = "text models: a text to classify (repeatable)", AllowMultipleArgumentsPerToken = false };
        var textFile = new Option<string[]>("--file") { Description = "text models: a UTF-8 text file to classify (repeatable)" };
        var top = new Option<int>("--top") { Description = "classes to print per image", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object: the top classes and the logits per image" };
        var device = DeviceOption.Create();
        var fakeQuant = new Option<bool>("--fake-quant") { Description = "a packed file: run the float simulation (dequantized weights) instead of the integer path" };
        var cmd = new Command("predict", "classify image files or texts with a trained model") { checkpoint, images, text, textFile, top, json, device, fakeQuant };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!;
            if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");
            int k = p.GetValue(top);
            if (k < 1) throw new OptionException($"--top {k}: expected an integer >= 1");
            var dev = DeviceOption.Parse(p.GetValue(device)!);
            var (model, config, meta, _, packedBytes) = CheckpointModel.LoadForEval(path);
            using (model)
            {
                model.To(dev).Eval();
                var names = ClassNames(meta);
                string[] texts = p.GetValue(text) ?? [], textFiles = p.GetValue(textFile) ?? [], imageArgs = p.GetValue(images) ?? [];
                List<(string File, float[] Logits)> results;
                if (ModelFactory.IsText(config.Model))
                {
                    if (imageArgs.Length > 0) throw new OptionException($"predict: {path} holds the text model {config.Model}; give --text \"...\" or --file F.txt, not image files");
                    if (texts.Length + textFiles.Length == 0) throw new OptionException($"predict: {path} holds the text model {config.Model}; give --text \"...\" or --file F.txt");
                    var vocab = TextTraining.LoadFor(path, config, meta, required: true)!;
                    results = ClassifyTexts(model, vocab, texts, textFiles);
                }
                else
                {
                    if (texts.Length + textFiles.Length > 0) throw new OptionException($"predict: {path} holds the image model {config.Model}; --text and --file are for text models");
                    if (imageArgs.Length == 0) throw new OptionException("predict: name at least one image file or folder");
                    using var integer = packedBytes is null || p.GetValue(fakeQuant) || dev != Device.Cpu ? null : IntegerEval.TryLoad(path, output);
                    results = integer is null ? Classify(model, Preprocess(meta, config, path), Files(imageArgs))
                        : Classify(integer, Preprocess(meta, config, path), Files(imageArgs));
                }
                var rows = new List<Dictionary<string, object?>>();
                foreach (var (file, logits) in results)
                {
                    var probs = Softmax(logits);
                    var best = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).ThenBy(i => i).Take(k).ToList();
                    string Name(int i) => i < names.Count ? names[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    output.Out.WriteLine($"{file}: {string.Join(", ", best.Select(i => $"{Name(i)} {100 * probs[i]:F1}%"))}");
                    rows.Add(new Dictionary<string, object?>
                    {
                        ["path"] = file,
                        ["top"] = best.Select(i => new Dictionary<string, object?> { ["index"] = i, ["class"] = Name(i), ["probability"] = probs[i] }).ToList(),
                        ["logits"] = logits,
                    });
                }
                if (p.GetValue(json))
                    JsonLine.Write(output.Out, new Dictionary<string, object?>
                    {
                        ["checkpoint"] = path, ["model"] = config.Model, ["device"] = dev.ToString(), ["predictions"] = rows,
                    });
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>The image files named: files as given, folders' images sorted by path; errors name what is wrong.</summary>
    private static List<string> Files(string[] args)
    {
        var files = new List<string>();
        foreach (var a in args)
        {
            if (File.Exists(a)) files.Add(a);
            else if (Directory.Exists(a))
            {
                var inside = Directory.EnumerateFiles(a, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
                if (inside.Count == 0) throw new OptionException($"predict: folder {a} holds no image ({string.Join(", ", Extensions)})");
                files.AddRange(inside);
            }
            else throw new OptionException($"predict: {a}: no such file or folder");
        }
        return files;
    }

    /// <summary>The evaluation preprocessing recorded in the checkpoint (LeNet5 checkpoints from before it was recorded: 28×28 grey).</summary>
    private static EvalPreprocess Preprocess(CheckpointMetadata meta, ModelFactory.ModelConfig config, string path)
    {
        if (meta.Extra.TryGetValue("eval_preprocess", out var json))
        {
            try { return EvalPreprocess.FromJson(json); }
            catch (Exception e) when (e is ArgumentException or JsonException or FormatException or InvalidDataException)
            {
                throw new InvalidDataException($"{path}: invalid eval_preprocess in checkpoint metadata: {e.Message}");
            }
        }
        if (config.Model != "lenet5") throw new InvalidDataException($"{path}: the checkpoint records no evaluation preprocessing (eval_preprocess); retrain or re-export it with this version");
        bool fashion = !meta.Extra.TryGetValue("dataset", out var ds) || ds == "fashion-mnist";
        return new EvalPreprocess { ResizeShorter = 28, CropSize = 28, Mean = [fashion ? 0.2860f : 0.1307f], Std = [fashion ? 0.3530f : 0.3081f], Channels = PixelOrder.Grey };
    }

    private static IReadOnlyList<string> ClassNames(CheckpointMetadata meta) =>
        meta.Extra.TryGetValue("class_names", out var json) && JsonSerializer.Deserialize<string[]>(json) is { } names ? names : [];

    /// <summary>Logits per file on the integer path of a packed file, in batches of 32.</summary>
    private static List<(string File, float[] Logits)> Classify(QuantizedModel model, EvalPreprocess pre, IReadOnlyList<string> files)
    {
        var results = new List<(string, float[])>();
        int per = pre.OutputShape.Aggregate(1, (a, b) => a * b);
        if (!pre.OutputShape.SequenceEqual(model.InputShape))
            throw new InvalidDataException($"predict: the recorded preprocessing makes {Shape.Format(pre.OutputShape)} inputs; the model takes {Shape.Format(model.InputShape)}");
        for (int start = 0; start < files.Count; start += 32)
        {
            int n = Math.Min(32, files.Count - start);
            var batch = new float[n * per];
            for (int i = 0; i < n; i++) pre.PreprocessFile(files[start + i]).CopyTo(batch, i * per);
            var logits = model.Logits(batch, n);                                          // [N, classes]
            int k = model.NumClasses;
            for (int i = 0; i < n; i++) results.Add((files[start + i], logits[(i * k)..((i + 1) * k)]));
        }
        return results;
    }

    /// <summary>Logits per file, in batches of 32, without a graph, on the model's device.</summary>
    public static List<(string File, float[] Logits)> Classify(Module model, EvalPreprocess pre, IReadOnlyList<string> files)
    {
        var results = new List<(string, float[])>();
        int[] shape = pre.OutputShape;                                             // [C, S, S]
        int per = shape[0] * shape[1] * shape[2];
        using var _ = VecQ.Autograd.Autograd.NoGrad();
        for (int start = 0; start < files.Count; start += 32)
        {
            int n = Math.Min(32, files.Count - start);
            var batch = new float[n * per];
            for (int i = 0; i < n; i++) pre.PreprocessFile(files[start + i]).CopyTo(batch, i * per);
            using var scope = TensorScope.Begin();
            var x = new Variable(Tensor.FromArray(batch, [n, .. shape], model.Device));   // [N, C, S, S]
            var logits = model.Forward(x).Value.ToArray();                               // [N, classes]
            int k = logits.Length / n;
            for (int i = 0; i < n; i++) results.Add((files[start + i], logits[(i * k)..((i + 1) * k)]));
        }
        return results;
    }

    /// <summary>
    /// Logits per text, encoded with the training vocabulary (its tokenizer, ids and padding); a file is read as strict
    /// UTF-8 (a file that is not fails, naming it). Texts are labelled by their first 40 characters, files by path.
    /// </summary>
    public static List<(string File, float[] Logits)> ClassifyTexts(Module model, Vocabulary vocab, IReadOnlyList<string> texts, IReadOnlyList<string> files)
    {
        var items = new List<(string Label, string Text)>();
        foreach (var t in texts) items.Add((t.Length > 40 ? $"\"{t[..40]}…\"" : $"\"{t}\"", t));
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new OptionException($"--file {f}: no such file");
            items.Add((f, TextFiles.ReadUtf8(f)));
        }
        var results = new List<(string, float[])>();
        int len = vocab.Sequence.MaxLength;
        using var _ = VecQ.Autograd.Autograd.NoGrad();
        for (int start = 0; start < items.Count; start += 32)
        {
            int n = Math.Min(32, items.Count - start);
            var ids = new int[n * len];
            for (int i = 0; i < n; i++) vocab.Encode(items[start + i].Text, ids.AsSpan(i * len, len));
            using var scope = TensorScope.Begin();
            var x = new Variable(Tensor.FromArray(ids, [n, len], model.Device));   // [N, T] int32
            var logits = model.Forward(x).Value.ToArray();                       // [N, classes]
            int k = logits.Length / n;
            for (int i = 0; i < n; i++) results.Add((items[start + i].Label, logits[(i * k)..((i + 1) * k)]));
        }
        return results;
    }

    private static double[] Softmax(float[] z)
    {
        double m = z.Max();
        var e = z.Select(v => Math.Exp(v - m)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }
}
