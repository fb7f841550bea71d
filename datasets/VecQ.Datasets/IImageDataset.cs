namespace VecQ.Datasets;

/// <summary>Which part of a dataset: the training or the test split.</summary>
public enum DatasetSplit
{
    /// <summary>The training split (MNIST: 60000 examples).</summary>
    Train,
    /// <summary>The test split (MNIST: 10000 examples; file prefix "t10k").</summary>
    Test,
}

/// <summary>
/// An in-memory image-classification dataset of 8-bit images in CHW layout with integer labels:
/// what <see cref="DataLoader"/> batches. Implemented by <see cref="MnistDataset"/>.
/// </summary>
public interface IImageDataset
{
    /// <summary>The dataset's name, e.g. "fashion-mnist".</summary>
    string Name { get; }
    /// <summary>Number of examples.</summary>
    int Count { get; }
    /// <summary>Channels per image (1 for MNIST).</summary>
    int Channels { get; }
    /// <summary>Image height in pixels.</summary>
    int Height { get; }
    /// <summary>Image width in pixels.</summary>
    int Width { get; }
    /// <summary>Class names; labels index into this list.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>Per-channel mean of x/255 over the training split (the usual normalisation constant).</summary>
    float[] DefaultMean { get; }
    /// <summary>Per-channel standard deviation of x/255 over the training split.</summary>
    float[] DefaultStd { get; }
    /// <summary>The pixels of example <paramref name="index"/>, Channels×Height×Width bytes in CHW order.</summary>
    ReadOnlySpan<byte> Image(int index);
    /// <summary>The label of example <paramref name="index"/>, in 0 .. ClassNames.Count-1.</summary>
    int Label(int index);
}
