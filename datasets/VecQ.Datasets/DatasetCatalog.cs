namespace VecQ.Datasets;

/// <summary>
/// Every image dataset by name, for a command line: "mnist", "fashion-mnist", "cifar10", "cifar100", "imagefolder"
/// (with <c>--data DIR</c>), with the standard training augmentation and the evaluation preprocessing of each.
/// The text datasets ("imdb", "thucnews", "textfolder") are in <see cref="TextDatasetCatalog"/>; <see cref="IsText"/> tells them apart.
/// </summary>
/// <example><code>
/// var locator = new DataLocator { ExplicitDirectory = dataDir };
/// IImageSource train = DatasetCatalog.Load("cifar10", DatasetSplit.Train, locator);
/// using var loader = new DataLoader(train, new DataLoaderOptions { Seed = 1, Augment = DatasetCatalog.TrainAugment(train) });
/// string meta = DatasetCatalog.EvalPreprocess(train).ToJson();   // into the checkpoint's metadata
/// </code></example>
public static class DatasetCatalog
{
    /// <summary>The names <see cref="Load"/> accepts (canonical spellings).</summary>
    public static IReadOnlyList<string> Names { get; } =
        [MnistDataset.Mnist, MnistDataset.FashionMnist, CifarDataset.Cifar10, CifarDataset.Cifar100, ImageFolderDataset.DatasetName];

    /// <summary>
    /// Loads one split of dataset <paramref name="name"/> (case-insensitive; "cifar-10", "fashion_mnist" … accepted).
    /// <paramref name="imageFolder"/> sets the image size and preprocessing of "imagefolder" (whose root is
    /// <c>--data DIR</c>); <paramref name="cifar"/> the CIFAR reading options.
    /// </summary>
    public static IImageSource Load(string name, DatasetSplit split, DataLocator? locator = null,
        ImageFolderOptions? imageFolder = null, CifarOptions? cifar = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        locator ??= new DataLocator();
        return Canonical(name) switch
        {
            MnistDataset.Mnist or MnistDataset.FashionMnist => MnistDataset.Load(name, split, locator),
            CifarDataset.Cifar10 or CifarDataset.Cifar100 => CifarDataset.Load(name, split, locator, cifar),
            _ => ImageFolderDataset.Load(locator, split, imageFolder),
        };
    }

    /// <summary>The canonical name, or an <see cref="ArgumentException"/> listing the known ones.</summary>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim().ToLowerInvariant();
        if (n is "imagefolder" or "image-folder" or "image_folder") return ImageFolderDataset.DatasetName;
        try { return MnistDataset.Canonical(n); } catch (ArgumentException) { }
        try { return CifarDataset.Canonical(n); } catch (ArgumentException) { }
        if (TextDatasetCatalog.TryCanonical(n) is { } text)
            throw new ArgumentException($"'{name}' is a text dataset ({text}): load it with TextDatasetCatalog.Load", nameof(name));
        throw new ArgumentException($"unknown dataset '{name}' (known: {string.Join(", ", Names)}; text: {string.Join(", ", TextDatasetCatalog.Names)})", nameof(name));
    }

    /// <summary>Whether <paramref name="name"/> is a text dataset (<see cref="TextDatasetCatalog"/>) rather than an image dataset of this catalog.</summary>
    public static bool IsText(string name) => TextDatasetCatalog.TryCanonical(name) is not null;

    /// <summary>
    /// The standard training augmentation to put in <see cref="DataLoaderOptions.Augment"/>: CIFAR's pad-4 crop and flip
    /// (<see cref="ImageAugment.Cifar"/>); none for MNIST; none for an image folder (its random-resized crop and flip
    /// happen while decoding, set by <see cref="ImageFolderOptions.Augment"/>).
    /// </summary>
    public static IImageAugment? TrainAugment(IImageSource dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset is CifarDataset ? ImageAugment.Cifar : null;
    }

    /// <summary>What evaluation of a model trained on <paramref name="dataset"/> applies to one image file (for <c>vecq predict</c>).</summary>
    public static EvalPreprocess EvalPreprocess(IImageSource dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset switch
        {
            ImageFolderDataset f => f.EvalPreprocess,
            CifarDataset c => c.EvalPreprocess,
            _ when dataset.Height == dataset.Width => new EvalPreprocess
            {
                ResizeShorter = dataset.Height, CropSize = dataset.Height, Mean = dataset.DefaultMean, Std = dataset.DefaultStd,
                Channels = dataset.Channels == 1 ? PixelOrder.Grey : dataset.Channels == 3 ? PixelOrder.Rgb
                    : throw new ArgumentException($"{dataset.Name}: {dataset.Channels} channels have no image-file preprocessing (1 grey or 3 RGB)"),
            },
            _ => throw new ArgumentException($"{dataset.Name}: {dataset.Height}×{dataset.Width} images are not square; no centre-crop preprocessing describes them"),
        };
    }
}
