using System.Runtime.ExceptionServices;
using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>Settings of a <see cref="DataLoader"/>.</summary>
/// <example><code>
/// var cifar = new DataLoaderOptions { BatchSize = 128, Seed = 1, Augment = ImageAugment.Cifar };      // pad-4 crop + flip
/// var imagenet = new DataLoaderOptions { BatchSize = 64, Seed = 1, Workers = 2, Prefetch = 4 };     // decoding on 2 workers
/// </code></example>
public sealed class DataLoaderOptions
{
    /// <summary>Examples per batch (default 64).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Shuffle each epoch (default true). The order is a pure function of (<see cref="Seed"/>, epoch).</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>Seed of the per-epoch shuffle.</summary>
    public ulong Seed { get; init; }
    /// <summary>Drop the last, smaller batch of an epoch (default false: keep it).</summary>
    public bool DropLast { get; init; }
    /// <summary>Use only the first N examples of the dataset (before shuffling); null: all.</summary>
    public int? Limit { get; init; }
    /// <summary>Per-channel mean subtracted from x/255 (one value, or one per channel); null: the dataset's default.</summary>
    public float[]? Mean { get; init; }
    /// <summary>Per-channel standard deviation dividing x/255 − mean; null: the dataset's default.</summary>
    public float[]? Std { get; init; }
    /// <summary>
    /// Batches prepared ahead by background workers while the consumer computes (default 2; 0: none, every batch is
    /// prepared on the consuming thread). At most max(<see cref="Prefetch"/>, <see cref="Workers"/>) batches are held
    /// ahead of the consumer (finished or in preparation), which bounds the loader's memory.
    /// </summary>
    public int Prefetch { get; init; } = 2;
    /// <summary>
    /// Background workers preparing batches when <see cref="Prefetch"/> &gt; 0 (default 1). Each worker prepares whole
    /// batches (gathering, decoding, augmenting, normalising); batches reach the consumer in step order, and their
    /// contents do not depend on the worker count. More than one pays off for decoding sources (<see cref="ImageFolderDataset"/>).
    /// </summary>
    public int Workers { get; init; } = 1;
    /// <summary>
    /// A random augmentation applied to each example's 8-bit pixels before normalisation (null: none), e.g.
    /// <see cref="ImageAugment.Cifar"/>. Its generator is seeded per example from (<see cref="Seed"/>, epoch, index):
    /// see <see cref="DataLoader.ExampleSeed"/>.
    /// </summary>
    public IImageAugment? Augment { get; init; }
    /// <summary>Device of the batch tensors (default: CPU).</summary>
    public Device? Device { get; init; }
}

/// <summary>One batch on the host, before it becomes tensors: normalised images and int labels.</summary>
public sealed class HostBatch
{
    internal HostBatch(int epoch, int step, int[] indices, float[] images, int[] labels, int[] imageShape)
    {
        Epoch = epoch;
        Step = step;
        Indices = indices;
        Images = images;
        Labels = labels;
        ImageShape = imageShape;
    }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }
    /// <summary>The step (batch index) within the epoch.</summary>
    public int Step { get; }
    /// <summary>Number of examples.</summary>
    public int Size => Labels.Length;
    /// <summary>The dataset index of each example.</summary>
    public int[] Indices { get; }
    /// <summary>Normalised pixels, [Size, C, H, W] row-major: (x/255 − mean[c]) / std[c].</summary>
    public float[] Images { get; }
    /// <summary>Labels [Size].</summary>
    public int[] Labels { get; }
    /// <summary>The shape of <see cref="Images"/>: [Size, C, H, W].</summary>
    public int[] ImageShape { get; }
}

/// <summary>
/// One batch as tensors: images float32 [B, C, H, W] and labels int32 [B]. Dispose it (or both tensors) when done.
/// Deconstructs to (images, labels).
/// </summary>
/// <example><code>
/// foreach (var batch in loader.Epoch(epoch))
/// using (batch)
/// {
///     var (x, y) = batch;    // x: [64, 1, 28, 28] float32, y: [64] int32
/// }
/// </code></example>
public sealed class Batch : IDisposable
{
    internal Batch(Tensor images, Tensor labels, int epoch, int step)
    {
        Images = images;
        Labels = labels;
        Epoch = epoch;
        Step = step;
    }

    /// <summary>Images, float32 [B, C, H, W], normalised.</summary>
    public Tensor Images { get; }
    /// <summary>Labels, int32 [B].</summary>
    public Tensor Labels { get; }
    /// <summary>The epoch.</summary>
    public int Epoch { get; }
    /// <summary>The step within the epoch (resume with <c>loader.Epoch(epoch, Step + 1)</c>).</summary>
    public int Step { get; }
    /// <summary>Examples in this batch.</summary>
    public int Size => Labels.Numel;

    /// <summary>(Images, Labels).</summary>
    public void Deconstruct(out Tensor images, out Tensor labels)
    {
        images = Images;
        labels = Labels;
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Batches an image dataset (in memory, or decoded on demand): normalised float32 images [B, C, H, W] and int32 labels [B].
/// The example order of epoch e is a pure function of (seed, e) — a run resumed at epoch e, step s
/// (<see cref="Epoch(int, int)"/> with startStep s) sees exactly the batches the original run would have.
/// Each example goes through: the source's pixels (<see cref="IImageDataset.Image"/>, or <see cref="IImageSource.ReadImage"/>
/// with a generator seeded by <see cref="ExampleSeed"/>), then <see cref="DataLoaderOptions.Augment"/> with the same
/// generator, then (x/255 − mean[c]) / std[c]. So an example's floats depend only on (seed, epoch, index): not on the
/// batch size, the prefetch depth or the number of workers.
/// With <see cref="DataLoaderOptions.Prefetch"/> &gt; 0, <see cref="DataLoaderOptions.Workers"/> background workers prepare
/// the next batches while the consumer computes, at most max(Prefetch, Workers) batches ahead; the batches are
/// identical to those without prefetch. Leaving a foreach early or disposing the loader stops the workers.
/// </summary>
/// <example><code>
/// using var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 64, Seed = 1 });
/// for (int epoch = 0; epoch &lt; 10; epoch++)
///     foreach (var batch in loader.Epoch(epoch))
///         using (batch) { /* forward, backward, step on batch.Images / batch.Labels */ }
/// </code></example>
public sealed class DataLoader : IDisposable
{
    /// <summary>Mixed into the seed of the per-example generators, so they differ from the shuffle's stream.</summary>
    private const ulong ExampleSalt = 0xA0761D6478BD642FUL;

    private readonly float[][] _lut; // per channel: byte value → normalised float
    private readonly CancellationTokenSource _disposed = new();
    private readonly HashSet<Task> _producers = [];
    private readonly int[] _imageDims; // C, H, W of the batches (after the augmentation)
    private readonly ImageDims _sourceDims; // C, H, W of the source's images
    private readonly IImageDataset? _memory; // the source when its pixels are in memory

    /// <summary>A loader over <paramref name="dataset"/> with <paramref name="options"/> (default: batch 64, shuffle, seed 0, prefetch 2, one worker).</summary>
    public DataLoader(IImageSource dataset, DataLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new DataLoaderOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "data loader: batch size must be at least 1");
        if (options.Limit is < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Limit, "data loader: limit must be ≥ 0");
        if (options.Prefetch < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Prefetch, "data loader: prefetch must be ≥ 0");
        if (options.Workers < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Workers, "data loader: workers must be at least 1");
        Dataset = dataset;
        Options = options;
        _memory = dataset as IImageDataset;
        Count = Math.Min(dataset.Count, options.Limit ?? int.MaxValue);
        _sourceDims = new ImageDims(dataset.Channels, dataset.Height, dataset.Width);
        if (_sourceDims.Channels < 1 || _sourceDims.Height < 1 || _sourceDims.Width < 1)
            throw new ArgumentException($"data loader: {dataset.Name} has image shape {_sourceDims}; every dimension must be positive");
        var outDims = options.Augment?.OutputDims(_sourceDims) ?? _sourceDims;
        int c = outDims.Channels;
        _imageDims = [c, outDims.Height, outDims.Width];
        Mean = PerChannel(options.Mean ?? dataset.DefaultMean, c, "mean");
        Std = PerChannel(options.Std ?? dataset.DefaultStd, c, "std");
        _lut = new float[c][];
        for (int ch = 0; ch < c; ch++)
        {
            if (!(Std[ch] > 0) || !float.IsFinite(Std[ch]) || !float.IsFinite(Mean[ch]))
                throw new ArgumentException($"data loader: channel {ch} has mean {Mean[ch]} and std {Std[ch]}; std must be positive and both finite");
            _lut[ch] = new float[256];
            for (int v = 0; v < 256; v++) _lut[ch][v] = (float)((v / 255.0 - Mean[ch]) / Std[ch]);
        }
    }

    /// <summary>The dataset.</summary>
    public IImageSource Dataset { get; }
    /// <summary>The options.</summary>
    public DataLoaderOptions Options { get; }
    /// <summary>Examples used per epoch (the dataset's count, or <see cref="DataLoaderOptions.Limit"/> when smaller).</summary>
    public int Count { get; }
    /// <summary>Examples per batch.</summary>
    public int BatchSize => Options.BatchSize;
    /// <summary>The per-channel mean in use.</summary>
    public float[] Mean { get; }
    /// <summary>The per-channel standard deviation in use.</summary>
    public float[] Std { get; }
    /// <summary>Batches per epoch: Count / BatchSize, rounded up unless <see cref="DataLoaderOptions.DropLast"/>.</summary>
    public int StepsPerEpoch => Options.DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;
    /// <summary>The shape of one example in the batches, [C, H, W] (the source's, or the augmentation's output).</summary>
    public ImageDims ExampleDims => new(_imageDims[0], _imageDims[1], _imageDims[2]);

    /// <summary>
    /// The seed of the generator that example <paramref name="index"/> uses in <paramref name="epoch"/>, for the source's
    /// random preprocessing and then the augmentation: <c>Rng.Hash(Rng.Hash(Seed ^ salt, epoch), index)</c>.
    /// A pure function of (seed, epoch, index).
    /// </summary>
    public ulong ExampleSeed(int epoch, int index) => Rng.Hash(Rng.Hash(Options.Seed ^ ExampleSalt, (ulong)epoch), (ulong)index);

    /// <summary>
    /// The example order of <paramref name="epoch"/>: a permutation of 0..Count-1 (identity without shuffle).
    /// Fisher–Yates driven by <c>new Rng(Rng.Hash(seed, epoch))</c>, so it depends only on (seed, epoch).
    /// </summary>
    public int[] Order(int epoch) => EpochOrder(Count, Options.Shuffle, Options.Seed, epoch);

    /// <summary>The order of <see cref="Order"/> for <paramref name="count"/> examples (shared with <see cref="TextLoader"/>).</summary>
    internal static int[] EpochOrder(int count, bool shuffle, ulong seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!shuffle) return order;
        var rng = new Rng(Rng.Hash(seed, (ulong)epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Batch <paramref name="step"/> of <paramref name="epoch"/> on the host (no tensors).</summary>
    public HostBatch GetHostBatch(int epoch, int step)
    {
        CheckRange(epoch, step, nameof(step), allowEnd: false);
        return Prepare(Order(epoch), epoch, step);
    }

    /// <summary>The host batches of <paramref name="epoch"/> from <paramref name="startStep"/> on (prefetched when enabled).</summary>
    public IEnumerable<HostBatch> HostBatches(int epoch, int startStep = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        CheckRange(epoch, startStep, nameof(startStep), allowEnd: true);
        return Options.Prefetch > 0 ? Prefetched(epoch, startStep) : Sequential(epoch, startStep);
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/> as tensors, starting at <paramref name="startStep"/> (to resume mid-epoch).
    /// Tensors are created on the consuming thread (on <see cref="DataLoaderOptions.Device"/>); the caller disposes each batch.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int startStep = 0)
    {
        var host = HostBatches(epoch, startStep); // validates arguments now, not at the first MoveNext
        return ToTensors(host);
    }

    /// <summary>Turns a host batch into tensors on <see cref="DataLoaderOptions.Device"/>.</summary>
    public Batch ToBatch(HostBatch host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var images = Tensor.FromArray(host.Images, host.ImageShape, Options.Device);
        try
        {
            var labels = Tensor.FromArray(host.Labels, [host.Size], Options.Device);
            return new Batch(images, labels, host.Epoch, host.Step);
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    private IEnumerable<Batch> ToTensors(IEnumerable<HostBatch> host)
    {
        foreach (var h in host) yield return ToBatch(h);
    }

    private IEnumerable<HostBatch> Sequential(int epoch, int startStep)
    {
        var order = Order(epoch);
        int steps = StepsPerEpoch;
        for (int s = startStep; s < steps; s++)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            yield return Prepare(order, epoch, s);
        }
    }

    private IEnumerable<HostBatch> Prefetched(int epoch, int startStep)
    {
        // Workers claim steps in increasing order, each waiting for a slot first: a slot is held from the claim until the
        // consumer takes the batch, so at most `capacity` batches exist ahead of the consumer. Finished batches (or the
        // error a step hit) wait in `ready` until the consumer reaches their step.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        int capacity = Math.Max(Options.Prefetch, Options.Workers);
        using var slots = new SemaphoreSlim(capacity, capacity);
        var ready = new Dictionary<int, (HostBatch? Batch, ExceptionDispatchInfo? Error)>();
        var gate = new object();
        int steps = StepsPerEpoch;
        int nextClaim = startStep;
        var token = stop.Token;
        var order = Order(epoch);

        void Work()
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    slots.Wait(token);
                }
                catch (OperationCanceledException)
                {
                    return; // the consumer left early or the loader was disposed
                }
                int s = Interlocked.Increment(ref nextClaim) - 1;
                if (s >= steps)
                {
                    slots.Release();
                    return;
                }
                HostBatch? batch = null;
                ExceptionDispatchInfo? error = null;
                try
                {
                    batch = Prepare(order, epoch, s);
                }
                catch (Exception e)
                {
                    error = ExceptionDispatchInfo.Capture(e);
                }
                lock (gate)
                {
                    ready[s] = (batch, error);
                    Monitor.PulseAll(gate);
                }
                if (error is not null) return; // the consumer rethrows it at step s and stops the others
            }
        }

        var workers = new Task[Options.Workers];
        for (int w = 0; w < workers.Length; w++)
            workers[w] = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (_producers)
            foreach (var t in workers) _producers.Add(t);
        using var wake = _disposed.Token.Register(() => { lock (gate) Monitor.PulseAll(gate); });
        try
        {
            for (int s = startStep; s < steps; s++)
            {
                (HostBatch? Batch, ExceptionDispatchInfo? Error) item;
                lock (gate)
                {
                    while (!ready.Remove(s, out item))
                    {
                        if (_disposed.IsCancellationRequested)
                            throw new ObjectDisposedException(nameof(DataLoader), "the data loader was disposed during the epoch");
                        Monitor.Wait(gate);
                    }
                }
                slots.Release();
                item.Error?.Throw(); // the error the worker hit preparing this step, with its own stack trace
                yield return item.Batch!;
            }
        }
        finally
        {
            stop.Cancel();
            try { Task.WaitAll(workers); }
            catch (AggregateException) { /* workers catch their own errors; nothing should reach here */ }
            lock (_producers)
                foreach (var t in workers) _producers.Remove(t);
        }
    }

    private HostBatch Prepare(int[] order, int epoch, int step)
    {
        int start = step * BatchSize;
        int size = Math.Min(BatchSize, Count - start);
        int c = _imageDims[0], hw = _imageDims[1] * _imageDims[2], chw = c * hw;
        var indices = order.AsSpan(start, size).ToArray();
        var images = new float[size * chw];
        var labels = new int[size];
        var augment = Options.Augment;
        // Scratch for a decoded source image and for the augmented one (not needed for plain in-memory data).
        var decoded = _memory is null ? new byte[_sourceDims.Size] : null;
        var augmented = augment is null ? null : new byte[chw];
        for (int b = 0; b < size; b++)
        {
            int idx = indices[b];
            ReadOnlySpan<byte> src;
            Rng? rng = null;
            if (_memory is not null)
            {
                src = _memory.Image(idx);
                if (src.Length != _sourceDims.Size)
                    throw new InvalidDataException($"{Dataset.Name}: image {idx} has {src.Length} bytes, expected {_sourceDims} = {_sourceDims.Size}");
            }
            else
            {
                rng = new Rng(ExampleSeed(epoch, idx));
                Dataset.ReadImage(idx, rng, decoded!);
                src = decoded;
            }
            if (augment is not null)
            {
                augment.Apply(src, _sourceDims, rng ?? new Rng(ExampleSeed(epoch, idx)), augmented!);
                src = augmented!;
            }
            var dst = images.AsSpan(b * chw, chw);
            for (int ch = 0; ch < c; ch++)
            {
                var lut = _lut[ch];
                var s = src.Slice(ch * hw, hw);
                var d = dst.Slice(ch * hw, hw);
                for (int i = 0; i < hw; i++) d[i] = lut[s[i]];
            }
            labels[b] = Dataset.Label(idx);
        }
        return new HostBatch(epoch, step, indices, images, labels, [size, c, _imageDims[1], _imageDims[2]]);
    }

    private void CheckRange(int epoch, int step, string name, bool allowEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        int steps = StepsPerEpoch;
        if (step < 0 || step > steps || (!allowEnd && step == steps))
            throw new ArgumentOutOfRangeException(name, step, $"data loader: step {step} is outside 0..{(allowEnd ? steps : steps - 1)} ({steps} batches per epoch)");
    }

    private static float[] PerChannel(float[] values, int channels, string what)
    {
        if (values.Length == channels) return (float[])values.Clone();
        if (values.Length == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        throw new ArgumentException($"data loader: {values.Length} {what} values for {channels} channels (give 1 or {channels})");
    }

    /// <summary>Stops every background worker and waits for it to finish; enumerations in progress then throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed.IsCancellationRequested) return;
        _disposed.Cancel();
        Task[] running;
        lock (_producers) running = [.. _producers];
        try { Task.WaitAll(running); }
        catch (AggregateException) { /* producer errors belong to their consumers */ }
    }
}
