using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>Which part of a dataset: the training or the test split.</summary>
public enum DatasetSplit
{
    /// <summary>The training split (MNIST: 60000 examples).</summary>
    Train,
    /// <summary>The test split (MNIST: 10000 examples; file prefix "t10k"; an image folder's "val").</summary>
    Test,
}

/// <summary>
/// Any image-classification dataset that <see cref="DataLoader"/> batches: a fixed number of examples, each an 8-bit
/// image of one fixed shape Channels×Height×Width in CHW order, with an integer label. The pixels of an example may be
/// produced on demand (decoded from a file, cropped at random): <see cref="ReadImage"/> is called from the loader's
/// background workers, concurrently for different examples, with a generator seeded per example, so that what it
/// produces depends only on (index, generator) and never on the thread or the order of calls.
/// Implemented by the in-memory <see cref="IImageDataset"/>s (<see cref="MnistDataset"/>, <see cref="CifarDataset"/>)
/// and by <see cref="ImageFolderDataset"/>.
/// </summary>
/// <example><code>
/// IImageSource source = ImageFolderDataset.Load("/data/imagenet", DatasetSplit.Test);
/// var pixels = new byte[source.Channels * source.Height * source.Width];   // [3, 224, 224]
/// source.ReadImage(0, new Rng(1), pixels);
/// </code></example>
public interface IImageSource
{
    /// <summary>The dataset's name, e.g. "fashion-mnist", "cifar10", "imagefolder".</summary>
    string Name { get; }
    /// <summary>Number of examples.</summary>
    int Count { get; }
    /// <summary>Channels per produced image (1 for MNIST, 3 for CIFAR and RGB image folders).</summary>
    int Channels { get; }
    /// <summary>Height of every produced image in pixels.</summary>
    int Height { get; }
    /// <summary>Width of every produced image in pixels.</summary>
    int Width { get; }
    /// <summary>Class names; labels index into this list.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>Per-channel mean of x/255 (the usual normalisation constant, e.g. over the training split).</summary>
    float[] DefaultMean { get; }
    /// <summary>Per-channel standard deviation of x/255.</summary>
    float[] DefaultStd { get; }
    /// <summary>The label of example <paramref name="index"/>, in 0 .. ClassNames.Count-1.</summary>
    int Label(int index);

    /// <summary>
    /// Writes example <paramref name="index"/>'s pixels, Channels×Height×Width bytes in CHW order, into
    /// <paramref name="destination"/>. A source with random preprocessing (a random-resized crop) draws from
    /// <paramref name="rng"/>, a generator the loader seeds from (seed, epoch, index); others ignore it.
    /// Must be safe to call from several threads at once for different examples.
    /// </summary>
    void ReadImage(int index, Rng rng, Span<byte> destination);
}

/// <summary>
/// An in-memory image-classification dataset of 8-bit images in CHW layout with integer labels:
/// what <see cref="DataLoader"/> batches. Implemented by <see cref="MnistDataset"/> and <see cref="CifarDataset"/>.
/// </summary>
/// <example><code>
/// IImageDataset ds = MnistDataset.Load("fashion-mnist", DatasetSplit.Test);
/// ReadOnlySpan&lt;byte&gt; first = ds.Image(0);     // [1, 28, 28] bytes
/// </code></example>
public interface IImageDataset : IImageSource
{
    /// <summary>The pixels of example <paramref name="index"/>, Channels×Height×Width bytes in CHW order.</summary>
    ReadOnlySpan<byte> Image(int index);

    /// <summary>Copies <see cref="Image"/> (an in-memory dataset has no random preprocessing of its own).</summary>
    void IImageSource.ReadImage(int index, Rng rng, Span<byte> destination) => Image(index).CopyTo(destination);
}
