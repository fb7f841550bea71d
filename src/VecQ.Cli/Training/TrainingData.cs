using VecQ.Datasets;

namespace VecQ.Cli.Training;

/// <summary>
/// The datasets `vecq train` and `vecq eval` read, by name: one split as a source for the data loader, with
/// its training augmentation and the evaluation preprocessing that is recorded in checkpoints (so eval and
/// predict prepare images exactly as training's evaluation did).
/// </summary>
internal sealed record TrainingData(IImageSource Source, IImageAugment? Augment, EvalPreprocess Preprocess, IReadOnlyList<string> ClassNames, bool IsSample)
{
    /// <summary>The dataset names the CLI reads: the image datasets, then the text ones.</summary>
    public static IReadOnlyList<string> Names => [.. DatasetCatalog.Names, .. TextDatasetCatalog.Names];

    /// <summary>Throws <see cref="OptionException"/> unless <paramref name="name"/> is known (and imagefolder has --data).</summary>
    public static void Check(string name, string? dataDir)
    {
        if (!Names.Contains(name)) throw new OptionException($"--dataset '{name}': expected one of {string.Join(", ", Names)}");
        if (name == "imagefolder" && string.IsNullOrWhiteSpace(dataDir))
            throw new OptionException("--dataset imagefolder needs --data DIR (a folder with train/<class>/… and val/<class>/…)");
        if (name == "textfolder" && string.IsNullOrWhiteSpace(dataDir) && string.IsNullOrWhiteSpace(System.Environment.GetEnvironmentVariable(DataLocator.DataEnvironmentVariable)))
            throw new OptionException("--dataset textfolder needs --data DIR (a folder with train/<class>/*.txt and test/<class>/*.txt, or <class>/*.txt)");
    }

    /// <summary>
    /// Loads one split of <paramref name="name"/>. CIFAR trains with pad-4 random crops and flips; an image folder
    /// trains with random-resized crops and flips at <paramref name="imageSize"/> (default 224) and evaluates on the
    /// resized, centre-cropped image; MNIST-style data has no augmentation.
    /// </summary>
    public static TrainingData Load(string name, DatasetSplit split, DataLocator locator, int? imageSize)
    {
        var source = DatasetCatalog.Load(name, split, locator, new ImageFolderOptions { ImageSize = imageSize ?? 224 });
        return new TrainingData(source, split == DatasetSplit.Train ? DatasetCatalog.TrainAugment(source) : null, DatasetCatalog.EvalPreprocess(source),
            source.ClassNames, source is MnistDataset { IsSample: true });
    }

    /// <summary>Image side and channels of the examples.</summary>
    public (int Size, int Channels) Input => (Source.Height, Source.Channels);

    /// <inheritdoc/>
    public override string ToString() => Source.ToString() ?? Source.Name;
}
