using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>How <see cref="ImageFolderDataset"/> turns files into fixed-size images.</summary>
/// <example><code>
/// var imagenet = new ImageFolderOptions();                                   // 224×224 RGB, eval resize 256
/// var small = new ImageFolderOptions { ImageSize = 32, ResizeShorter = 32 };  // a 32×32 tree as is
/// </code></example>
public sealed record ImageFolderOptions
{
    /// <summary>Side of the square images produced (default 224).</summary>
    public int ImageSize { get; init; } = 224;
    /// <summary>Evaluation: the shorter side is resized to this before the centre crop (null: round(ImageSize / 0.875), 256 for 224).</summary>
    public int? ResizeShorter { get; init; }
    /// <summary>Random-resized crop + flip (training) instead of resize + centre crop (null: true for the train split only).</summary>
    public bool? Augment { get; init; }
    /// <summary>Smallest area fraction of the random-resized crop (default 0.08).</summary>
    public double MinScale { get; init; } = 0.08;
    /// <summary>Largest area fraction of the random-resized crop (default 1).</summary>
    public double MaxScale { get; init; } = 1.0;
    /// <summary>Smallest aspect ratio w/h of the random-resized crop (default 3/4).</summary>
    public double MinRatio { get; init; } = 3.0 / 4.0;
    /// <summary>Largest aspect ratio w/h of the random-resized crop (default 4/3).</summary>
    public double MaxRatio { get; init; } = 4.0 / 3.0;
    /// <summary>With <see cref="Augment"/>: flip horizontally with probability ½ (default true).</summary>
    public bool Flip { get; init; } = true;
    /// <summary>RGB (default) or one grey channel.</summary>
    public PixelOrder Channels { get; init; } = PixelOrder.Rgb;
    /// <summary>Per-channel mean of x/255 for normalisation (null: ImageNet's; grey: their average 0.449).</summary>
    public float[]? Mean { get; init; }
    /// <summary>Per-channel standard deviation of x/255 (null: ImageNet's; grey: 0.226).</summary>
    public float[]? Std { get; init; }
    /// <summary>File-size and pixel limits checked before decoding.</summary>
    public ImageLimits Limits { get; init; } = new();
    /// <summary>Keep only the first N files of each class (in dataset order; null: all): a balanced subset for quick runs,
    /// unlike <see cref="DataLoaderOptions.Limit"/>, which takes the first N examples and so the first classes only.</summary>
    public int? MaxPerClass { get; init; }
    /// <summary>File extensions read (case-insensitive), torchvision's list by default; other files are ignored.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

    /// <summary>The evaluation resize in effect: <see cref="ResizeShorter"/>, or round(ImageSize / 0.875).</summary>
    public int EffectiveResizeShorter => ResizeShorter ?? (int)Math.Round(ImageSize / 0.875);
}

/// <summary>
/// A class-per-folder image dataset, as torchvision's <c>ImageFolder</c>: the classes are the subfolders of a folder,
/// sorted by name (ordinal), labelled 0, 1, …; the examples are the image files under each class folder (recursively,
/// following links), sorted by folder then file name. <see cref="Load(string, DatasetSplit, ImageFolderOptions?)"/>
/// reads ImageNet's layout <c>ROOT/train/&lt;class&gt;/*.JPEG</c> and <c>ROOT/val/&lt;class&gt;/…</c>.
/// Only the listing is read up front; each image is decoded (ImageSharp) when <see cref="ReadImage"/> asks for it,
/// on the <see cref="DataLoader"/>'s workers: file size and header pixel count are checked first
/// (<see cref="ImageLimits"/>), then, for training, a random-resized crop (torchvision's scale (0.08, 1), ratio
/// (3/4, 4/3), 10 tries then a centred fallback) resized to ImageSize² and a random horizontal flip; for evaluation,
/// the shorter side resized to <see cref="ImageFolderOptions.EffectiveResizeShorter"/> and a centred crop. Both use
/// the per-example generator the loader passes, so a seed fixes every crop.
/// An empty class folder, a folder without classes, a corrupt image or one over the limits is a
/// <see cref="DatasetException"/> naming the folder or file.
/// </summary>
/// <example><code>
/// var train = ImageFolderDataset.Load("/data/imagenet", DatasetSplit.Train);    // ROOT/train: random crops 224²
/// var val = ImageFolderDataset.Load("/data/imagenet", DatasetSplit.Test);       // ROOT/val: resize 256, crop 224
/// using var loader = new DataLoader(train, new DataLoaderOptions { BatchSize = 64, Seed = 1, Workers = 2, Prefetch = 4 });
/// string pre = val.EvalPreprocess.ToJson();   // store with the checkpoint for eval / predict
/// </code></example>
public sealed class ImageFolderDataset : IImageSource
{
    /// <summary>The dataset name ("imagefolder").</summary>
    public const string DatasetName = "imagefolder";

    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly ImageFileReader _reader;

    private ImageFolderDataset(string folder, DatasetSplit split, ImageFolderOptions options, IReadOnlyList<string> classes, string[] files, int[] labels)
    {
        Folder = folder;
        Split = split;
        Options = options;
        ClassNames = classes;
        _files = files;
        _labels = labels;
        _reader = new ImageFileReader(options.Limits);
        IsAugmented = options.Augment ?? split == DatasetSplit.Train;
        bool grey = options.Channels == PixelOrder.Grey;
        DefaultMean = options.Mean ?? (grey ? [0.449f] : [.. EvalPreprocess.ImageNetMean]);
        DefaultStd = options.Std ?? (grey ? [0.226f] : [.. EvalPreprocess.ImageNetStd]);
    }

    /// <summary>"imagefolder".</summary>
    public string Name => DatasetName;
    /// <summary>The class-per-folder folder read (e.g. ROOT/train).</summary>
    public string Folder { get; }
    /// <summary>The split.</summary>
    public DatasetSplit Split { get; }
    /// <summary>The options.</summary>
    public ImageFolderOptions Options { get; }
    /// <summary>Whether examples are random-resized crops with flips (training) rather than centre crops.</summary>
    public bool IsAugmented { get; }
    /// <summary>Number of image files.</summary>
    public int Count => _files.Length;
    /// <summary>3 for RGB, 1 for grey.</summary>
    public int Channels => Options.Channels == PixelOrder.Rgb ? 3 : 1;
    /// <summary><see cref="ImageFolderOptions.ImageSize"/>.</summary>
    public int Height => Options.ImageSize;
    /// <summary><see cref="ImageFolderOptions.ImageSize"/>.</summary>
    public int Width => Options.ImageSize;
    /// <summary>The class folder names, sorted (ordinal); label i is ClassNames[i].</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>The normalisation mean (options, else ImageNet's).</summary>
    public float[] DefaultMean { get; }
    /// <summary>The normalisation standard deviation (options, else ImageNet's).</summary>
    public float[] DefaultStd { get; }
    /// <summary>The image files in dataset order (full paths).</summary>
    public IReadOnlyList<string> Files => _files;
    /// <summary>The label of each file.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>What evaluation applies (resize, centre crop, channels, mean, std): store it with a checkpoint; <see cref="EvalPreprocess.PreprocessFile"/> reproduces it.</summary>
    public EvalPreprocess EvalPreprocess => new()
    {
        ResizeShorter = Options.EffectiveResizeShorter, CropSize = Options.ImageSize, Mean = DefaultMean, Std = DefaultStd, Channels = Options.Channels,
    };

    /// <summary>The label of example <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>Decodes file <paramref name="index"/> and writes its Channels×ImageSize×ImageSize pixels (random crop and flip from <paramref name="rng"/> when augmented).</summary>
    public void ReadImage(int index, Rng rng, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        ArgumentNullException.ThrowIfNull(rng);
        if (IsAugmented) _reader.Train(_files[index], Options.ImageSize, rng, Options, destination);
        else _reader.Eval(_files[index], Options.EffectiveResizeShorter, Options.ImageSize, Options.Channels, destination);
    }

    /// <summary>Reads every file's header (no decoding) and checks it against the limits: fails fast, naming the first bad file.</summary>
    public void CheckHeaders()
    {
        foreach (var f in _files) _reader.Identify(f);
    }

    /// <summary>E.g. "imagefolder train: 1281167 images in 1000 classes from /data/imagenet/train (random-resized crops 224²)".</summary>
    public override string ToString() =>
        $"{Name} {Split.ToString().ToLowerInvariant()}: {Count} images in {ClassNames.Count} classes from {Folder} " +
        (IsAugmented ? $"(random-resized crops {Options.ImageSize}², flips)" : $"(resize {Options.EffectiveResizeShorter}, centre crop {Options.ImageSize}²)");

    /// <summary>
    /// One split of ImageNet's layout under <paramref name="root"/>: Train reads ROOT/train; Test reads ROOT/val (or
    /// ROOT/test). When ROOT/train exists, the classes are its subfolders for both splits, so labels agree; the
    /// evaluation folder may then lack a class but not have one of its own.
    /// </summary>
    public static ImageFolderDataset Load(string root, DatasetSplit split, ImageFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new ImageFolderOptions();
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: no such folder (imagefolder expects ROOT/train/<class>/… and ROOT/val/<class>/…)");
        string train = Path.Combine(root, "train");
        string? folder = split == DatasetSplit.Train
            ? (Directory.Exists(train) ? train : null)
            : new[] { "val", "test" }.Select(n => Path.Combine(root, n)).FirstOrDefault(Directory.Exists);
        if (folder is null)
        {
            string wanted = split == DatasetSplit.Train ? "train/" : "val/ (or test/)";
            throw new DatasetException(root, $"no {wanted} folder: imagefolder expects ImageNet's layout ROOT/train/<class>/… and ROOT/val/<class>/… " +
                "(use ImageFolderDataset.FromFolder for a single class-per-folder tree)");
        }
        IReadOnlyList<string>? classes = split == DatasetSplit.Train || !Directory.Exists(train) ? null : ClassFolders(train);
        return FromFolder(folder, split, options, classes);
    }

    /// <summary>Like <see cref="Load(string, DatasetSplit, ImageFolderOptions?)"/> with ROOT from <c>--data DIR</c> (<see cref="DataLocator.ExplicitDirectory"/>), else <c>VECQ_DATA</c>.</summary>
    public static ImageFolderDataset Load(DataLocator locator, DatasetSplit split, ImageFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(locator);
        string? root = !string.IsNullOrWhiteSpace(locator.ExplicitDirectory)
            ? locator.ExplicitDirectory
            : System.Environment.GetEnvironmentVariable(DataLocator.DataEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(root))
            throw new DatasetNotFoundException(DatasetName, [$"{DatasetName}: needs --data DIR (or {DataLocator.DataEnvironmentVariable}) naming a folder with train/<class>/… and val/<class>/…"]);
        var ds = Load(root, split, options);
        locator.Notify($"{DatasetName}: using {ds.Folder} ({ds.Count} images, {ds.ClassNames.Count} classes)");
        return ds;
    }

    /// <summary>
    /// A single class-per-folder tree: <paramref name="folder"/>/&lt;class&gt;/…; <paramref name="split"/> chooses the default
    /// preprocessing (Train: augmented). <paramref name="classNames"/> fixes the class list (e.g. the training folder's);
    /// null: the folder's own subfolders.
    /// </summary>
    public static ImageFolderDataset FromFolder(string folder, DatasetSplit split = DatasetSplit.Test, ImageFolderOptions? options = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new ImageFolderOptions();
        CheckOptions(options);
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        var own = ClassFolders(folder);
        var classes = classNames ?? own;
        if (classNames is not null)
        {
            var unknown = own.Where(c => !classNames.Contains(c)).ToList();
            if (unknown.Count > 0)
                throw new DatasetException(folder, $"class folder(s) {string.Join(", ", unknown.Take(5).Select(c => $"'{c}'"))}{(unknown.Count > 5 ? " …" : "")} are not among the {classNames.Count} training classes");
        }
        var extensions = options.Extensions.Select(e => e.StartsWith('.') ? e : "." + e).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var files = new List<string>();
        var labels = new List<int>();
        for (int label = 0; label < classes.Count; label++)
        {
            string dir = Path.Combine(folder, classes[label]);
            if (!Directory.Exists(dir)) continue; // an evaluation folder may lack a training class
            int before = files.Count;
            foreach (var f in ListFiles(dir, p => extensions.Contains(Path.GetExtension(p))).Take(options.MaxPerClass ?? int.MaxValue))
            {
                files.Add(f);
                labels.Add(label);
            }
            if (files.Count == before)
                throw new DatasetException(dir, $"class folder '{classes[label]}' has no image files (looked for {string.Join(" ", extensions.Order(StringComparer.Ordinal))}); remove it or add images");
        }
        if (files.Count == 0) throw new DatasetException(folder, "no image files in any class folder");
        return new ImageFolderDataset(folder, split, options, classes, [.. files], [.. labels]);
    }

    private static void CheckOptions(ImageFolderOptions o)
    {
        if (o.ImageSize < 1) throw new ArgumentException($"imagefolder: image size {o.ImageSize} must be at least 1");
        if (o.EffectiveResizeShorter < o.ImageSize) throw new ArgumentException($"imagefolder: resize {o.EffectiveResizeShorter} is smaller than the image size {o.ImageSize}");
        if (!(o.MinScale > 0 && o.MinScale <= o.MaxScale && o.MaxScale <= 1)) throw new ArgumentException($"imagefolder: scale range ({o.MinScale}, {o.MaxScale}) must satisfy 0 < min ≤ max ≤ 1");
        if (!(o.MinRatio > 0 && o.MinRatio <= o.MaxRatio)) throw new ArgumentException($"imagefolder: ratio range ({o.MinRatio}, {o.MaxRatio}) must satisfy 0 < min ≤ max");
        if (o.MaxPerClass is < 1) throw new ArgumentException($"imagefolder: MaxPerClass {o.MaxPerClass} must be at least 1");
        ArgumentNullException.ThrowIfNull(o.Limits);
        ArgumentNullException.ThrowIfNull(o.Extensions);
    }

    /// <summary>The class folders of <paramref name="folder"/>: its subfolders (links to folders included), sorted ordinally.</summary>
    public static IReadOnlyList<string> ClassFolders(string folder) =>
        ClassFolders(folder, "no class folders: an image folder holds one subfolder per class (e.g. train/cat/1.png, train/dog/2.png)");

    /// <summary><see cref="ClassFolders(string)"/> with the error message for a folder without subfolders.</summary>
    internal static IReadOnlyList<string> ClassFolders(string folder, string noneMessage)
    {
        var classes = Directory.EnumerateDirectories(folder).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0) throw new DatasetException(folder, noneMessage);
        return classes.AsReadOnly();
    }

    /// <summary>The files under <paramref name="dir"/> that <paramref name="keep"/> accepts (by path), recursively, ordered as torchvision does: sorted(os.walk) by folder path, then file name (ordinal).</summary>
    internal static List<string> ListFiles(string dir, Func<string, bool> keep)
    {
        var byFolder = new List<(string Folder, string[] Files)>();
        void Walk(string d, int depth)
        {
            if (depth > 64) throw new DatasetException(d, "folders nested more than 64 deep (a link loop?)");
            var names = Directory.EnumerateFiles(d).Where(keep).Select(Path.GetFileName).OfType<string>()
                .Order(StringComparer.Ordinal).ToArray();
            byFolder.Add((d, names));
            foreach (var sub in Directory.EnumerateDirectories(d)) Walk(sub, depth + 1);
        }
        Walk(dir, 0);
        return byFolder.OrderBy(t => t.Folder, StringComparer.Ordinal).SelectMany(t => t.Files.Select(f => Path.Combine(t.Folder, f))).ToList();
    }
}
