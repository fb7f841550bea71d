using System.Globalization;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Model checkpoints in the safetensors format, plus an optional training-state sidecar for exact resume.
/// </summary>
/// <remarks>
/// <para>The model file (<c>name.safetensors</c>) holds the module's <see cref="Module.StateDict"/>
/// under PyTorch's names and shapes, so PyTorch's safetensors and TorchSharp read it, and string
/// metadata: "format", "model", "config" (JSON), "epoch", "step", "checkpoint_id" and the caller's
/// extra keys.</para>
/// <para>The sidecar (<c>name.train.safetensors</c>, see <see cref="TrainingStatePath"/>) holds the
/// optimizer's state tensors as "optim.&lt;parameter&gt;.&lt;slot&gt;" (e.g. "optim.fc.weight.exp_avg")
/// and in its metadata the optimizer's kind and scalars ("optim.lr", "optim.step_count",
/// "optim.&lt;parameter&gt;.step", …), each named generator's "rng.&lt;name&gt;.seed" and
/// "rng.&lt;name&gt;.counter", and "epoch", "step_in_epoch", "best_accuracy". Both files carry the
/// same random "checkpoint_id", so a model file and a sidecar from different saves are never mixed.</para>
/// <para>Both files are written atomically (temp file + rename), the sidecar first. Loads validate
/// everything (safetensors structure, names, shapes, metadata) before changing the model, optimizer
/// or generators, and every error names the file and the key.</para>
/// </remarks>
/// <example><code>
/// var rngs = new Dictionary&lt;string, Rng&gt; { ["data"] = dataRng, ["dropout"] = dropRng };
/// Checkpoint.Save("runs/lenet.safetensors", model, new CheckpointMetadata { Model = "lenet5", Epoch = 3, Step = 1407 },
///                 new TrainingState(opt, rngs, Epoch: 3, StepInEpoch: 0, BestAccuracy: 0.991));
/// // later, in a fresh process with freshly built objects:
/// ResumePoint at = Checkpoint.LoadTraining("runs/lenet.safetensors", model, opt, rngs);
/// </code></example>
public static class Checkpoint
{
    /// <summary>Value of the "format" metadata key of model files.</summary>
    public const string ModelFormat = "vecq.checkpoint/1";

    /// <summary>Value of the "format" metadata key of training-state sidecars.</summary>
    public const string TrainingFormat = "vecq.training/1";

    private const string OptimPrefix = "optim.";
    private const string RngPrefix = "rng.";
    private static readonly string[] ReservedKeys = ["format", "model", "config", "epoch", "step", "checkpoint_id"];

    /// <summary>
    /// The training-state sidecar of a checkpoint: <c>x.safetensors</c> → <c>x.train.safetensors</c>
    /// (other names get ".train.safetensors" appended).
    /// </summary>
    /// <example><code>string side = Checkpoint.TrainingStatePath("ckpt/epoch3.safetensors"); // ckpt/epoch3.train.safetensors</code></example>
    public static string TrainingStatePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        const string ext = ".safetensors";
        return path.EndsWith(ext, StringComparison.OrdinalIgnoreCase)
            ? path[..^ext.Length] + ".train" + ext
            : path + ".train" + ext;
    }

    /// <summary>
    /// Writes <paramref name="model"/>'s state dict and <paramref name="metadata"/> to
    /// <paramref name="path"/>, and with <paramref name="training"/> also the training-state
    /// sidecar (written first). Each file is replaced atomically.
    /// </summary>
    /// <param name="path">The model file (conventionally ending in ".safetensors").</param>
    /// <param name="model">The model whose parameters and buffers are saved.</param>
    /// <param name="metadata">Model name, config JSON, epoch, step and extra string metadata.</param>
    /// <param name="training">Optimizer, generators and progress to save for resuming, or null.</param>
    /// <exception cref="ArgumentException">An extra metadata key is reserved, or a name is invalid.</exception>
    /// <example><code>Checkpoint.Save("lenet.safetensors", model, new CheckpointMetadata { Model = "lenet5", Config = configJson });</code></example>
    public static void Save(string path, Module model, CheckpointMetadata metadata, TrainingState? training = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var key in metadata.Extra.Keys)
            if (ReservedKeys.Contains(key))
                throw new ArgumentException($"checkpoint {path}: extra metadata key '{key}' is reserved ({string.Join(", ", ReservedKeys)})", nameof(metadata));

        string id = Guid.NewGuid().ToString("N");
        if (training != null) SaveTraining(TrainingStatePath(path), Path.GetFileName(path), id, training);

        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = ModelFormat,
            ["model"] = metadata.Model,
            ["config"] = metadata.Config,
            ["epoch"] = Format(metadata.Epoch),
            ["step"] = Format(metadata.Step),
            ["checkpoint_id"] = id,
        };
        foreach (var (k, v) in metadata.Extra) meta[k] = v;
        Safetensors.Save(path, model.StateDict(), meta);
    }

    private static void SaveTraining(string sidecar, string modelFile, string id, TrainingState training)
    {
        ArgumentNullException.ThrowIfNull(training.Optimizer, nameof(training));
        ArgumentNullException.ThrowIfNull(training.Rngs, nameof(training));
        if (training.Epoch < 0) throw new ArgumentOutOfRangeException(nameof(training), training.Epoch, "checkpoint: training epoch must be >= 0");
        if (training.StepInEpoch < 0) throw new ArgumentOutOfRangeException(nameof(training), training.StepInEpoch, "checkpoint: step in epoch must be >= 0");
        var state = training.Optimizer.StateDict();
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = TrainingFormat,
            ["checkpoint_id"] = id,
            ["model_file"] = modelFile,
            ["epoch"] = Format(training.Epoch),
            ["step_in_epoch"] = Format(training.StepInEpoch),
            ["best_accuracy"] = Format(training.BestAccuracy),
            ["optim.kind"] = state.Kind,
        };
        foreach (var (k, v) in state.Scalars) meta[OptimPrefix + k] = Format(v);
        foreach (var (name, rng) in training.Rngs)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("checkpoint: a generator has an empty name", nameof(training));
            ArgumentNullException.ThrowIfNull(rng, nameof(training));
            meta[RngPrefix + name + ".seed"] = rng.Seed.ToString(CultureInfo.InvariantCulture);
            meta[RngPrefix + name + ".counter"] = rng.Counter.ToString(CultureInfo.InvariantCulture);
        }
        Safetensors.Save(sidecar, state.Tensors.Select(kv => new KeyValuePair<string, Tensor>(OptimPrefix + kv.Key, kv.Value)), meta);
    }

    /// <summary>
    /// Reads a checkpoint's tensors and metadata (any safetensors file: missing VecQ metadata reads
    /// as empty strings and zeros). The caller owns the returned tensors: dispose the result.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors or its metadata is malformed (the message names the file and key).</exception>
    /// <example><code>
    /// using var ckpt = Checkpoint.Load("lenet.safetensors");
    /// Console.WriteLine($"{ckpt.Metadata.Model} epoch {ckpt.Metadata.Epoch}: {ckpt.Tensors.Count} tensors");
    /// </code></example>
    public static LoadedCheckpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Safetensors.Load(path);
        try
        {
            return new LoadedCheckpoint(file.Tensors, file.Order, ParseMetadata(path, file.Metadata));
        }
        catch
        {
            DisposeAll(file);
            throw;
        }
    }

    /// <summary>
    /// Loads a checkpoint's tensors into <paramref name="model"/> (by name; dtypes are converted)
    /// and returns its metadata. Names and shapes are checked first; on a mismatch nothing is changed.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="model">The model to fill.</param>
    /// <param name="strict">When true, tensors missing from the file or unknown to the model are errors; shapes must always match.</param>
    /// <exception cref="InvalidDataException">The file does not fit the model (the message names the file and every bad key).</exception>
    /// <example><code>CheckpointMetadata meta = Checkpoint.LoadInto("lenet.safetensors", model);</code></example>
    public static CheckpointMetadata LoadInto(string path, Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var ckpt = Load(path);
        ApplyModelState(path, ckpt.Tensors, model, strict);
        return ckpt.Metadata;
    }

    /// <summary>
    /// Restores a run saved with a <see cref="TrainingState"/>: the model's tensors, the optimizer's
    /// state (moments, buffers, step counts, learning rate) and the counters of the named
    /// generators, and returns where to resume. Every name, shape, seed and metadata value is
    /// validated before anything is changed.
    /// </summary>
    /// <param name="path">The model file; its sidecar is <see cref="TrainingStatePath"/>.</param>
    /// <param name="model">A model of the same architecture (any initialisation).</param>
    /// <param name="optimizer">An optimizer of the same kind over <paramref name="model"/>'s parameters, with the same names.</param>
    /// <param name="rngs">The run's generators by name, created with the same seeds as the saved run; their counters are restored.</param>
    /// <exception cref="FileNotFoundException">The model file or the sidecar does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or does not fit the objects (the message names the file and key).</exception>
    /// <example><code>
    /// ResumePoint at = Checkpoint.LoadTraining("lenet.safetensors", model, opt, rngs);
    /// for (int epoch = at.Epoch; epoch &lt; epochs; epoch++) { /* skip at.StepInEpoch steps of the first epoch */ }
    /// </code></example>
    public static ResumePoint LoadTraining(string path, Module model, Optimizer optimizer, IReadOnlyDictionary<string, Rng> rngs)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(rngs);
        string sidecar = TrainingStatePath(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint: cannot resume: model file not found: {path}", path);
        if (!File.Exists(sidecar))
            throw new FileNotFoundException(
                $"{path}: cannot resume: the training state file {sidecar} does not exist (the checkpoint was saved without a TrainingState, or the file was moved)", sidecar);

        using var ckpt = Load(path);
        var train = Safetensors.Load(sidecar);
        try
        {
            var tm = train.Metadata;
            string format = tm.GetValueOrDefault("format", "");
            if (format != TrainingFormat)
                throw Bad(sidecar, $"metadata 'format' is '{format}'; expected '{TrainingFormat}' (not a VecQ training-state file)");
            string modelId = ckpt.Metadata.CheckpointId;
            string trainId = tm.GetValueOrDefault("checkpoint_id", "");
            if (trainId.Length == 0 || trainId != modelId)
                throw Bad(sidecar, $"training state belongs to a different save than {path} (checkpoint_id '{trainId}' vs '{modelId}'); the two files must come from the same Checkpoint.Save");

            int epoch = ParseInt(sidecar, tm, "epoch", required: true);
            int stepInEpoch = ParseInt(sidecar, tm, "step_in_epoch", required: true);
            double best = ParseDouble(sidecar, tm, "best_accuracy");

            // optimizer state
            string kind = tm.GetValueOrDefault("optim.kind") ?? throw Bad(sidecar, "metadata key 'optim.kind' is missing");
            var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (k, _) in tm)
                if (k.StartsWith(OptimPrefix, StringComparison.Ordinal) && k != "optim.kind")
                    scalars[k[OptimPrefix.Length..]] = ParseDouble(sidecar, tm, k);
            var tensors = new List<KeyValuePair<string, Tensor>>();
            foreach (var name in train.Order)
            {
                if (!name.StartsWith(OptimPrefix, StringComparison.Ordinal))
                    throw Bad(sidecar, $"unexpected tensor '{name}' (training-state tensors are named 'optim.<parameter>.<slot>')");
                tensors.Add(new(name[OptimPrefix.Length..], train.Tensors[name]));
            }

            // generators
            var counters = new List<(Rng Rng, ulong Counter)>();
            foreach (var (name, rng) in rngs)
            {
                ArgumentNullException.ThrowIfNull(rng, nameof(rngs));
                ulong seed = ParseULong(sidecar, tm, RngPrefix + name + ".seed");
                ulong counter = ParseULong(sidecar, tm, RngPrefix + name + ".counter");
                if (seed != rng.Seed)
                    throw Bad(sidecar, $"generator '{name}' was saved with seed {seed} but the one passed in has seed {rng.Seed}; resume with the same seed");
                counters.Add((rng, counter));
            }

            CheckModelState(path, ckpt.Tensors, model, strict: true);
            try
            {
                optimizer.LoadStateDict(new OptimizerState(kind, tensors, scalars));
            }
            catch (ArgumentException e)
            {
                throw Bad(sidecar, $"optimizer state (keys are stored with the prefix 'optim.') does not fit: {e.Message}", e);
            }
            ApplyModelState(path, ckpt.Tensors, model, strict: true);
            foreach (var (rng, counter) in counters) rng.Counter = counter;
            return new ResumePoint(epoch, stepInEpoch, best, ckpt.Metadata);
        }
        finally
        {
            DisposeAll(train);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void CheckModelState(string path, IReadOnlyDictionary<string, Tensor> tensors, Module model, bool strict)
    {
        var problems = new List<string>();
        var expected = model.StateDict();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in expected)
        {
            known.Add(name);
            if (!tensors.TryGetValue(name, out var f))
            {
                if (strict) problems.Add($"tensor '{name}' is missing");
                continue;
            }
            if (!Shape.Equal(f.Dims, t.Dims)) problems.Add($"tensor '{name}' has shape {f.ShapeText} in the file, the model expects {t.ShapeText}");
        }
        if (strict)
            foreach (var name in tensors.Keys)
                if (!known.Contains(name)) problems.Add($"unexpected tensor '{name}'");
        if (problems.Count > 0)
            throw Bad(path, $"checkpoint does not fit {model.GetType().Name}: {string.Join("; ", problems)}");
    }

    private static void ApplyModelState(string path, IReadOnlyDictionary<string, Tensor> tensors, Module model, bool strict)
    {
        CheckModelState(path, tensors, model, strict);
        try
        {
            model.LoadStateDict(tensors, strict: false);
        }
        catch (ArgumentException e)
        {
            throw Bad(path, e.Message, e);
        }
    }

    private static CheckpointMetadata ParseMetadata(string path, IReadOnlyDictionary<string, string> m)
    {
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in m) if (!ReservedKeys.Contains(k)) extra[k] = v;
        return new CheckpointMetadata
        {
            Model = m.GetValueOrDefault("model", ""),
            Config = m.GetValueOrDefault("config", ""),
            Epoch = ParseInt(path, m, "epoch", required: false),
            Step = ParseLong(path, m, "step"),
            CheckpointId = m.GetValueOrDefault("checkpoint_id", ""),
            Extra = extra,
        };
    }

    private static int ParseInt(string file, IReadOnlyDictionary<string, string> m, string key, bool required)
    {
        if (!m.TryGetValue(key, out var s))
        {
            if (required) throw Bad(file, $"metadata key '{key}' is missing");
            return 0;
        }
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 0)
            throw Bad(file, $"metadata '{key}' is '{s}'; expected a whole number >= 0");
        return v;
    }

    private static long ParseLong(string file, IReadOnlyDictionary<string, string> m, string key)
    {
        if (!m.TryGetValue(key, out var s)) return 0;
        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < 0)
            throw Bad(file, $"metadata '{key}' is '{s}'; expected a whole number >= 0");
        return v;
    }

    private static ulong ParseULong(string file, IReadOnlyDictionary<string, string> m, string key)
    {
        if (!m.TryGetValue(key, out var s)) throw Bad(file, $"metadata key '{key}' is missing (the generator was not saved)");
        if (!ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong v))
            throw Bad(file, $"metadata '{key}' is '{s}'; expected an unsigned 64-bit integer");
        return v;
    }

    private static double ParseDouble(string file, IReadOnlyDictionary<string, string> m, string key)
    {
        if (!m.TryGetValue(key, out var s)) throw Bad(file, $"metadata key '{key}' is missing");
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw Bad(file, $"metadata '{key}' is '{s}'; expected a number");
        return v;
    }

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static void DisposeAll(SafetensorsFile file)
    {
        foreach (var t in file.Tensors.Values) t.Dispose();
    }

    private static InvalidDataException Bad(string file, string what, Exception? inner = null) => new($"{file}: {what}", inner);
}

/// <summary>What a checkpoint says about itself (the model file's metadata).</summary>
/// <example><code>
/// var meta = new CheckpointMetadata { Model = "lenet5", Config = "{\"lr\":0.01}", Epoch = 5, Step = 2345,
///                                     Extra = new Dictionary&lt;string, string&gt; { ["dataset"] = "mnist" } };
/// </code></example>
public sealed class CheckpointMetadata
{
    /// <summary>Model name (e.g. "lenet5"); empty when unknown.</summary>
    public string Model { get; init; } = "";

    /// <summary>The run's configuration as a JSON string; empty when unknown.</summary>
    public string Config { get; init; } = "";

    /// <summary>Epoch at which the checkpoint was written (e.g. epochs completed).</summary>
    public int Epoch { get; init; }

    /// <summary>Global optimizer step at which the checkpoint was written.</summary>
    public long Step { get; init; }

    /// <summary>Free-form string metadata (keys other than format, model, config, epoch, step, checkpoint_id).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>The random id shared by a model file and its sidecar (set by <see cref="Checkpoint.Save"/>; ignored when saving).</summary>
    public string CheckpointId { get; init; } = "";
}

/// <summary>The training state saved next to a checkpoint for exact resume.</summary>
/// <param name="Optimizer">The optimizer whose state (moments, buffers, step counts, learning rate) is saved.</param>
/// <param name="Rngs">The run's generators by name (e.g. "data", "dropout", "init"); seeds and counters are saved.</param>
/// <param name="Epoch">Epoch to resume at (0-based).</param>
/// <param name="StepInEpoch">Step within that epoch to resume at (0-based: how many steps of it are done).</param>
/// <param name="BestAccuracy">Best validation accuracy so far (a fraction; NaN when none yet).</param>
/// <example><code>var state = new TrainingState(opt, rngs, Epoch: 2, StepInEpoch: 150, BestAccuracy: 0.97);</code></example>
public sealed record TrainingState(Optimizer Optimizer, IReadOnlyDictionary<string, Rng> Rngs, int Epoch, int StepInEpoch, double BestAccuracy);

/// <summary>Where a resumed run continues, returned by <see cref="Checkpoint.LoadTraining"/>.</summary>
/// <param name="Epoch">Epoch to resume at (0-based).</param>
/// <param name="StepInEpoch">Steps of that epoch already done.</param>
/// <param name="BestAccuracy">Best validation accuracy so far.</param>
/// <param name="Metadata">The model file's metadata.</param>
/// <example><code>var at = Checkpoint.LoadTraining(path, model, opt, rngs); Console.WriteLine($"resuming at epoch {at.Epoch}, step {at.StepInEpoch}");</code></example>
public sealed record ResumePoint(int Epoch, int StepInEpoch, double BestAccuracy, CheckpointMetadata Metadata);

/// <summary>A checkpoint read by <see cref="Checkpoint.Load"/>: tensors (owned by this object) and metadata.</summary>
/// <example><code>
/// using var ckpt = Checkpoint.Load("lenet.safetensors");
/// Tensor w = ckpt.Tensors["conv1.weight"];
/// </code></example>
public sealed class LoadedCheckpoint : IDisposable
{
    internal LoadedCheckpoint(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyList<string> order, CheckpointMetadata metadata)
    {
        Tensors = tensors;
        Order = order;
        Metadata = metadata;
    }

    /// <summary>The tensors by name (host tensors; disposed with this object).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>The metadata.</summary>
    public CheckpointMetadata Metadata { get; }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}
