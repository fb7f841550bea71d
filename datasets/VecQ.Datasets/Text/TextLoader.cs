using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>Settings of a <see cref="TextLoader"/>.</summary>
/// <example><code>var imdb = new TextLoaderOptions { BatchSize = 30, Seed = 1 };   // the IMDB model's batch</code></example>
public sealed class TextLoaderOptions
{
    /// <summary>Examples per batch (default 64).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Shuffle each epoch (default true): the order is a pure function of (<see cref="Seed"/>, epoch), the same permutation <see cref="DataLoader.Order"/> gives.</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>Seed of the per-epoch shuffle.</summary>
    public ulong Seed { get; init; }
    /// <summary>Drop the last, smaller batch of an epoch (default false: keep it).</summary>
    public bool DropLast { get; init; }
    /// <summary>Use only the first N examples (before shuffling); null: all.</summary>
    public int? Limit { get; init; }
    /// <summary>Device of the batch tensors (default: CPU).</summary>
    public Device? Device { get; init; }
}

/// <summary>One text batch on the host: token ids [Size, T] row-major and labels [Size].</summary>
public sealed class HostTextBatch
{
    internal HostTextBatch(int epoch, int step, int[] indices, int[] tokens, int[] labels, int sequenceLength)
    {
        Epoch = epoch;
        Step = step;
        Indices = indices;
        Tokens = tokens;
        Labels = labels;
        SequenceLength = sequenceLength;
    }

    /// <summary>The epoch.</summary>
    public int Epoch { get; }
    /// <summary>The step within the epoch.</summary>
    public int Step { get; }
    /// <summary>Examples in the batch.</summary>
    public int Size => Labels.Length;
    /// <summary>The dataset index of each example.</summary>
    public int[] Indices { get; }
    /// <summary>Token ids, [Size, SequenceLength] row-major.</summary>
    public int[] Tokens { get; }
    /// <summary>Labels [Size].</summary>
    public int[] Labels { get; }
    /// <summary>Ids per example (T).</summary>
    public int SequenceLength { get; }
}

/// <summary>One text batch as tensors: token ids int32 [B, T] and labels int32 [B]. Deconstructs to (tokens, labels); dispose when done.</summary>
public sealed class TextBatch : IDisposable
{
    internal TextBatch(Tensor tokens, Tensor labels, int epoch, int step)
    {
        Tokens = tokens;
        Labels = labels;
        Epoch = epoch;
        Step = step;
    }

    /// <summary>Token ids, int32 [B, T].</summary>
    public Tensor Tokens { get; }
    /// <summary>Labels, int32 [B].</summary>
    public Tensor Labels { get; }
    /// <summary>The epoch.</summary>
    public int Epoch { get; }
    /// <summary>The step within the epoch (resume with <c>loader.Epoch(epoch, Step + 1)</c>).</summary>
    public int Step { get; }
    /// <summary>Examples in this batch.</summary>
    public int Size => Labels.Numel;

    /// <summary>(Tokens, Labels).</summary>
    public void Deconstruct(out Tensor tokens, out Tensor labels)
    {
        tokens = Tokens;
        labels = Labels;
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Tokens.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Batches a text dataset as <see cref="DataLoader"/> batches images: token ids int32 [B, T] and labels int32 [B], in an
/// order that is a pure function of (seed, epoch) (the same permutation as <see cref="DataLoader.Order"/>), so a run
/// resumed at epoch e, step s (<see cref="Epoch(int, int)"/>) sees the batches the original run would have. The rows
/// are already in memory, so a batch is a gather: there are no background workers.
/// </summary>
/// <example><code>
/// var loader = new TextLoader(data.Train, new TextLoaderOptions { BatchSize = 30, Seed = 1 });
/// foreach (var batch in loader.Epoch(0))
///     using (batch)
///     {
///         var (x, y) = batch;      // x: [30, 100] int32 token ids, y: [30] int32 labels
///     }
/// </code></example>
public sealed class TextLoader
{
    /// <summary>A loader over <paramref name="dataset"/> (default options: batch 64, shuffle, seed 0).</summary>
    public TextLoader(ITextDataset dataset, TextLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new TextLoaderOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "text loader: batch size must be at least 1");
        if (options.Limit is < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Limit, "text loader: limit must be ≥ 0");
        if (dataset.SequenceLength < 1) throw new ArgumentException($"text loader: {dataset.Name} has sequence length {dataset.SequenceLength}");
        Dataset = dataset;
        Options = options;
        Count = Math.Min(dataset.Count, options.Limit ?? int.MaxValue);
    }

    /// <summary>The dataset.</summary>
    public ITextDataset Dataset { get; }
    /// <summary>The options.</summary>
    public TextLoaderOptions Options { get; }
    /// <summary>Examples used per epoch.</summary>
    public int Count { get; }
    /// <summary>Examples per batch.</summary>
    public int BatchSize => Options.BatchSize;
    /// <summary>Ids per example (T).</summary>
    public int SequenceLength => Dataset.SequenceLength;
    /// <summary>Batches per epoch: Count / BatchSize, rounded up unless <see cref="TextLoaderOptions.DropLast"/>.</summary>
    public int StepsPerEpoch => Options.DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>The example order of <paramref name="epoch"/> (identity without shuffle).</summary>
    public int[] Order(int epoch) => DataLoader.EpochOrder(Count, Options.Shuffle, Options.Seed, epoch);

    /// <summary>Batch <paramref name="step"/> of <paramref name="epoch"/> on the host.</summary>
    public HostTextBatch GetHostBatch(int epoch, int step)
    {
        CheckRange(epoch, step, nameof(step), allowEnd: false);
        return Prepare(Order(epoch), epoch, step);
    }

    /// <summary>The host batches of <paramref name="epoch"/> from <paramref name="startStep"/> on.</summary>
    public IEnumerable<HostTextBatch> HostBatches(int epoch, int startStep = 0)
    {
        CheckRange(epoch, startStep, nameof(startStep), allowEnd: true);
        return Host(epoch, startStep);
    }

    /// <summary>The batches of <paramref name="epoch"/> as tensors on <see cref="TextLoaderOptions.Device"/>, from <paramref name="startStep"/> on; the caller disposes each.</summary>
    public IEnumerable<TextBatch> Epoch(int epoch, int startStep = 0)
    {
        var host = HostBatches(epoch, startStep); // validates now
        return ToTensors(host);
    }

    /// <summary>Turns a host batch into tensors on <see cref="TextLoaderOptions.Device"/>.</summary>
    public TextBatch ToBatch(HostTextBatch host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var tokens = Tensor.FromArray(host.Tokens, [host.Size, host.SequenceLength], Options.Device);
        try
        {
            var labels = Tensor.FromArray(host.Labels, [host.Size], Options.Device);
            return new TextBatch(tokens, labels, host.Epoch, host.Step);
        }
        catch
        {
            tokens.Dispose();
            throw;
        }
    }

    private IEnumerable<TextBatch> ToTensors(IEnumerable<HostTextBatch> host)
    {
        foreach (var h in host) yield return ToBatch(h);
    }

    private IEnumerable<HostTextBatch> Host(int epoch, int startStep)
    {
        var order = Order(epoch);
        for (int s = startStep; s < StepsPerEpoch; s++) yield return Prepare(order, epoch, s);
    }

    private HostTextBatch Prepare(int[] order, int epoch, int step)
    {
        int start = step * BatchSize;
        int size = Math.Min(BatchSize, Count - start);
        int t = SequenceLength;
        var indices = order.AsSpan(start, size).ToArray();
        var tokens = new int[size * t];
        var labels = new int[size];
        for (int b = 0; b < size; b++)
        {
            var row = Dataset.Tokens(indices[b]);
            if (row.Length != t) throw new InvalidDataException($"{Dataset.Name}: example {indices[b]} has {row.Length} ids, expected {t}");
            row.CopyTo(tokens.AsSpan(b * t, t));
            labels[b] = Dataset.Label(indices[b]);
        }
        return new HostTextBatch(epoch, step, indices, tokens, labels, t);
    }

    private void CheckRange(int epoch, int step, string name, bool allowEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        int steps = StepsPerEpoch;
        if (step < 0 || step > steps || (!allowEnd && step == steps))
            throw new ArgumentOutOfRangeException(name, step, $"text loader: step {step} is outside 0..{(allowEnd ? steps : steps - 1)} ({steps} batches per epoch)");
    }
}
