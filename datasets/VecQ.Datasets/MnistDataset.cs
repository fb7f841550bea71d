namespace VecQ.Datasets;

/// <summary>
/// MNIST or Fashion-MNIST, one split, in memory: images as bytes [N, 28, 28] and labels [N] in 0..9.
/// Reads the official IDX files (gzip or raw) from the folder <see cref="DataLocator"/> finds. When
/// Fashion-MNIST is found nowhere, it falls back, with a notice through <see cref="DataLocator.Report"/>,
/// to a sample embedded in this assembly: the first <see cref="SampleTrainCount"/> training and
/// first <see cref="SampleTestCount"/> test examples of the real dataset.
/// </summary>
/// <example><code>
/// var train = MnistDataset.Load("fashion-mnist", DatasetSplit.Train);          // 60000 images when installed
/// var test = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, new DataLocator { ExplicitDirectory = "/data" });
/// Console.WriteLine($"{train.Count} images from {train.Origin}; class 0 = {train.ClassNames[0]}");
/// </code></example>
public sealed class MnistDataset : IImageDataset
{
    /// <summary>The name of MNIST (handwritten digits).</summary>
    public const string Mnist = "mnist";
    /// <summary>The name of Fashion-MNIST (Zalando article images).</summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>Training examples in the embedded Fashion-MNIST sample (the first ones of the official training set).</summary>
    public const int SampleTrainCount = 4000;
    /// <summary>Test examples in the embedded Fashion-MNIST sample (the first ones of the official test set).</summary>
    public const int SampleTestCount = 500;

    /// <summary>Fashion-MNIST's class names, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>MNIST's class names, by label ("0" … "9").</summary>
    public static IReadOnlyList<string> MnistClasses { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private const string SampleResourcePrefix = "VecQ.Datasets.fashion-mnist-sample.";

    private readonly byte[] _images;
    private readonly byte[] _labels;

    /// <summary>
    /// A dataset over in-memory arrays (not copied): <paramref name="images"/> holds count×rows×cols bytes,
    /// <paramref name="labels"/> count labels in 0..9. <paramref name="origin"/> says where the data came from.
    /// </summary>
    public MnistDataset(string name, DatasetSplit split, byte[] images, byte[] labels, int rows = 28, int cols = 28, string origin = "memory")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        Name = Canonical(name);
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"{Name}: image size {rows}×{cols} must be positive");
        if (images.Length != (long)labels.Length * rows * cols)
            throw new ArgumentException($"{Name}: {images.Length} image bytes do not hold {labels.Length} images of {rows}×{cols}");
        CheckLabels(labels, origin);
        Split = split;
        Rows = rows;
        Cols = cols;
        _images = images;
        _labels = labels;
        Origin = origin;
    }

    /// <summary>"mnist" or "fashion-mnist".</summary>
    public string Name { get; }
    /// <summary>The split.</summary>
    public DatasetSplit Split { get; }
    /// <summary>Number of examples.</summary>
    public int Count => _labels.Length;
    /// <summary>Image height (28).</summary>
    public int Rows { get; }
    /// <summary>Image width (28).</summary>
    public int Cols { get; }
    /// <summary>The image shape [N, rows, cols] of <see cref="Images"/>.</summary>
    public int[] ImageShape => [Count, Rows, Cols];
    /// <summary>All pixels, row-major [N, rows, cols] (not a copy; do not modify).</summary>
    public byte[] Images => _images;
    /// <summary>All labels [N], each in 0..9 (not a copy; do not modify).</summary>
    public byte[] Labels => _labels;
    /// <summary>Where the data came from (a folder, "embedded sample", or "memory").</summary>
    public string Origin { get; private init; }
    /// <summary>Which step of the search found it (null for in-memory data).</summary>
    public DatasetSource? Source { get; private init; }
    /// <summary>True when this is the embedded Fashion-MNIST sample, not the full dataset.</summary>
    public bool IsSample => Source == DatasetSource.EmbeddedSample;
    /// <summary>The class names by label (Fashion-MNIST: T-shirt/top … Ankle boot; MNIST: "0" … "9").</summary>
    public IReadOnlyList<string> ClassNames => Name == FashionMnist ? FashionMnistClasses : MnistClasses;

    int IImageSource.Channels => 1;
    int IImageSource.Height => Rows;
    int IImageSource.Width => Cols;

    /// <summary>Mean of x/255 over the training split: Fashion-MNIST 0.2860, MNIST 0.1307.</summary>
    public float[] DefaultMean => [Name == FashionMnist ? 0.2860f : 0.1307f];
    /// <summary>Standard deviation of x/255 over the training split: Fashion-MNIST 0.3530, MNIST 0.3081.</summary>
    public float[] DefaultStd => [Name == FashionMnist ? 0.3530f : 0.3081f];

    /// <summary>The rows×cols pixels of example <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int n = Rows * Cols;
        return _images.AsSpan(index * n, n);
    }

    /// <summary>The label of example <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>A short description, e.g. "fashion-mnist train: 60000 images 28×28 from /usr/share/datasets/fashion-mnist".</summary>
    public override string ToString() => $"{Name} {Split.ToString().ToLowerInvariant()}: {Count} images {Rows}×{Cols} from {Origin}";

    /// <summary>The official file names of a split: (images, labels), e.g. ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz").</summary>
    public static (string Images, string Labels) FileNames(DatasetSplit split)
    {
        string prefix = split == DatasetSplit.Train ? "train" : "t10k";
        return ($"{prefix}-images-idx3-ubyte.gz", $"{prefix}-labels-idx1-ubyte.gz");
    }

    /// <summary>
    /// What <see cref="DataLocator"/> needs to find or download one split: the two file names, the official
    /// addresses and the MD5 of each official file.
    /// </summary>
    public static DatasetSpec Spec(string name, DatasetSplit split)
    {
        name = Canonical(name);
        var (images, labels) = FileNames(split);
        // MD5s of the official .gz files, known with certainty:
        //  - Fashion-MNIST: the table in the dataset's own README (shipped by Debian's dataset-fashion-mnist as
        //    /usr/share/doc/dataset-fashion-mnist/README.md.gz). Debian recompressed its copies, so its .gz files have
        //    other MD5s (same content); checksums are only checked on downloads.
        //  - MNIST: the values torchvision (datasets.MNIST.resources) and other loaders publish for these files.
        // Every download is also parsed completely as IDX (Verify) before it is renamed into place.
        var md5 = (name, split) switch
        {
            (FashionMnist, DatasetSplit.Train) => ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe"),
            (FashionMnist, DatasetSplit.Test) => ("bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
            (_, DatasetSplit.Train) => ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432"),
            _ => ("9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        };
        Uri[] urls = name == FashionMnist
            ? [new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")]
            : [new Uri("https://ossci-datasets.s3.amazonaws.com/mnist/")];
        return new DatasetSpec(name, [new DatasetFile(images, md5.Item1), new DatasetFile(labels, md5.Item2)], urls, VerifyFile);
    }

    /// <summary>
    /// Loads one split: searches with <paramref name="locator"/> (default: a new <see cref="DataLocator"/>, reporting
    /// to standard error). For Fashion-MNIST, when nothing is found and <paramref name="allowEmbeddedSample"/> is
    /// true, the embedded sample is used and a notice saying so goes through the locator's report callback (never when
    /// an explicit folder, <c>--data</c>, was given: then its missing files are the error).
    /// Corrupt files are never skipped: they throw <see cref="DatasetException"/>.
    /// </summary>
    public static MnistDataset Load(string name, DatasetSplit split, DataLocator? locator = null, bool allowEmbeddedSample = true)
    {
        name = Canonical(name);
        locator ??= new DataLocator();
        var spec = Spec(name, split);
        if (locator.TryLocate(spec, out var location, out var steps))
        {
            var (images, labels) = FileNames(split);
            var ds = FromFiles(name, split, location.PathOf(images), location.PathOf(labels));
            return new MnistDataset(ds, location.Directory, location.Source);
        }
        if (name == FashionMnist && allowEmbeddedSample && string.IsNullOrWhiteSpace(locator.ExplicitDirectory))
        {
            var sample = LoadEmbeddedSample(split);
            string prefix = name + ": ";
            var where = steps.Select(s => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s);
            locator.Notify($"{name} not found in any of ({string.Join("; ", where)}); using the embedded sample of " +
                           $"{SampleTrainCount}/{SampleTestCount} images (train/test; {sample.Count} for this {split.ToString().ToLowerInvariant()} split). " +
                           "Results on the sample are not comparable with the full 60000/10000 dataset: install Debian's " +
                           "dataset-fashion-mnist or pass --data DIR.");
            return sample;
        }
        throw new DatasetNotFoundException(name, steps);
    }

    /// <summary>Reads a split from an images file and a labels file (IDX, gzip or raw), checking that they agree.</summary>
    public static MnistDataset FromFiles(string name, DatasetSplit split, string imagesPath, string labelsPath)
    {
        var images = IdxReader.Read(imagesPath);
        var labels = IdxReader.Read(labelsPath);
        return FromIdx(name, split, images, imagesPath, labels, labelsPath, Path.GetDirectoryName(Path.GetFullPath(imagesPath)) ?? imagesPath);
    }

    /// <summary>The embedded Fashion-MNIST sample (first <see cref="SampleTrainCount"/> train / <see cref="SampleTestCount"/> test examples).</summary>
    public static MnistDataset LoadEmbeddedSample(DatasetSplit split)
    {
        var (imagesFile, labelsFile) = FileNames(split);
        var images = ReadResource(imagesFile, out string imagesName);
        var labels = ReadResource(labelsFile, out string labelsName);
        var ds = FromIdx(FashionMnist, split, images, imagesName, labels, labelsName, "embedded sample");
        return new MnistDataset(ds, "embedded sample (VecQ.Datasets resource fashion-mnist-sample)", DatasetSource.EmbeddedSample);
    }

    private MnistDataset(MnistDataset other, string origin, DatasetSource source)
        : this(other.Name, other.Split, other._images, other._labels, other.Rows, other.Cols, origin)
    {
        Source = source;
    }

    private static IdxArray ReadResource(string fileName, out string displayName)
    {
        displayName = $"embedded:{SampleResourcePrefix}{fileName}";
        var asm = typeof(MnistDataset).Assembly;
        using var stream = asm.GetManifestResourceStream(SampleResourcePrefix + fileName)
            ?? throw new DatasetException(displayName, "embedded resource missing from VecQ.Datasets.dll (was it built without Resources/fashion-mnist-sample?)");
        return IdxReader.Read(stream, displayName);
    }

    private static MnistDataset FromIdx(string name, DatasetSplit split, IdxArray images, string imagesPath, IdxArray labels, string labelsPath, string origin)
    {
        CheckImages(images, imagesPath);
        CheckLabelsFile(labels, labelsPath);
        if (images.Dim(0) != labels.Dim(0))
            throw new DatasetException(labelsPath, $"count mismatch: {labels.Dim(0)} labels, but {imagesPath} has {images.Dim(0)} images");
        var lab = labels.As<byte>();
        CheckLabels(lab, labelsPath);
        return new MnistDataset(name, split, images.As<byte>(), lab, images.Dim(1), images.Dim(2), origin);
    }

    private static void CheckImages(IdxArray a, string path)
    {
        if (a.Type != IdxType.UInt8)
            throw new DatasetException(path, $"element type {a.Type.Name()} (0x{(byte)a.Type:X2}); MNIST images are unsigned bytes (0x08)");
        if (a.Rank != 3)
            throw new DatasetException(path, $"{a.Rank} dimension(s) ({IdxReader.FormatDims(a.Dims)}); MNIST images are [N, rows, cols] (idx3)");
    }

    private static void CheckLabelsFile(IdxArray a, string path)
    {
        if (a.Type != IdxType.UInt8)
            throw new DatasetException(path, $"element type {a.Type.Name()} (0x{(byte)a.Type:X2}); MNIST labels are unsigned bytes (0x08)");
        if (a.Rank != 1)
            throw new DatasetException(path, $"{a.Rank} dimensions ({IdxReader.FormatDims(a.Dims)}); MNIST labels are [N] (idx1)");
    }

    private static void CheckLabels(byte[] labels, string source)
    {
        int bad = 0, first = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] <= 9) continue;
            if (bad++ == 0) first = i;
        }
        if (bad > 0)
            throw new DatasetException(source, $"label {labels[first]} at index {first} is outside 0..9 ({bad} of {labels.Length} labels out of range)");
    }

    /// <summary>Full check of a downloaded file: it must parse as IDX, unsigned bytes, idx3 for images and idx1 for labels.</summary>
    private static void VerifyFile(string path)
    {
        var a = IdxReader.Read(path);
        if (Path.GetFileName(path).Contains("-images-", StringComparison.Ordinal)) CheckImages(a, path);
        else
        {
            CheckLabelsFile(a, path);
            CheckLabels(a.As<byte>(), path);
        }
    }

    /// <summary>"mnist" or "fashion-mnist" from a user's spelling (case-insensitive; fashion_mnist and fashionmnist accepted).</summary>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "mnist" => Mnist,
            "fashion-mnist" or "fashion_mnist" or "fashionmnist" => FashionMnist,
            _ => throw new ArgumentException($"unknown dataset '{name}': MnistDataset reads \"{Mnist}\" and \"{FashionMnist}\"", nameof(name)),
        };
    }
}
