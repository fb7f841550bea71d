using System.Text;

namespace VecQ.Datasets;

/// <summary>How <see cref="CifarDataset"/> reads the binary batches.</summary>
/// <example><code>
/// var subset = CifarDataset.Load("cifar10", DatasetSplit.Train, locator, new CifarOptions { AnyRecordCount = true });
/// var coarse = CifarDataset.Load("cifar100", DatasetSplit.Test, locator, new CifarOptions { CoarseLabels = true });
/// </code></example>
public sealed record CifarOptions
{
    /// <summary>
    /// False (default): every file must have exactly the official number of records (CIFAR-10: 10000 per batch file;
    /// CIFAR-100: 50000 in train.bin, 10000 in test.bin), so a truncated or resized file is an error.
    /// True: any non-zero whole number of records is accepted (subsets, other data laid out in the CIFAR format).
    /// </summary>
    public bool AnyRecordCount { get; init; }

    /// <summary>CIFAR-100 only: label by the 20 superclasses (coarse labels) instead of the 100 classes (fine labels).</summary>
    public bool CoarseLabels { get; init; }
}

/// <summary>
/// CIFAR-10 or CIFAR-100, one split, in memory, from the official binary version, byte-exactly:
/// <list type="bullet">
/// <item>CIFAR-10 (<c>cifar-10-batches-bin/</c>): <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c> (train) and
/// <c>test_batch.bin</c>, each 10000 records of 1 label byte (0..9) + 3072 pixel bytes (the 1024 red, then green, then
/// blue values of a 32×32 image, rows top to bottom); class names in <c>batches.meta.txt</c>, one per line.</item>
/// <item>CIFAR-100 (<c>cifar-100-binary/</c>): <c>train.bin</c> (50000 records) and <c>test.bin</c> (10000), each
/// record 1 coarse label byte (0..19) + 1 fine label byte (0..99) + 3072 pixel bytes; names in
/// <c>coarse_label_names.txt</c> and <c>fine_label_names.txt</c>.</item>
/// </list>
/// The pixel bytes are already CHW (channel planes), so images are kept exactly as stored: [N, 3, 32, 32].
/// Every file's size is checked before anything is allocated for it, and every label against its class count; a
/// problem is a <see cref="DatasetException"/> naming the file and what was expected.
/// Found with <see cref="DataLocator"/> under the names "cifar10" / "cifar100"; <c>--data DIR</c> may name the folder
/// holding the files, its parent, or a folder holding <c>cifar10/</c>.
/// </summary>
/// <example><code>
/// var locator = new DataLocator { ExplicitDirectory = "/data" };          // /data/cifar-10-batches-bin/… or /data itself
/// var train = CifarDataset.Load("cifar10", DatasetSplit.Train, locator);  // 50000 images 3×32×32
/// using var loader = new DataLoader(train, new DataLoaderOptions { Seed = 1, Augment = ImageAugment.Cifar });
/// </code></example>
public sealed class CifarDataset : IImageDataset
{
    /// <summary>The name of CIFAR-10.</summary>
    public const string Cifar10 = "cifar10";
    /// <summary>The name of CIFAR-100.</summary>
    public const string Cifar100 = "cifar100";
    /// <summary>The folder the official CIFAR-10 archive (cifar-10-binary.tar.gz) unpacks to.</summary>
    public const string Cifar10Folder = "cifar-10-batches-bin";
    /// <summary>The folder the official CIFAR-100 archive (cifar-100-binary.tar.gz) unpacks to.</summary>
    public const string Cifar100Folder = "cifar-100-binary";
    /// <summary>The side of every image (32: images are 3×32×32).</summary>
    public const int Side = 32;
    /// <summary>Pixel bytes per record (3×32×32).</summary>
    public const int PixelBytes = 3 * Side * Side;
    /// <summary>Records per official CIFAR-10 batch file, and in CIFAR-100's test.bin.</summary>
    public const int OfficialBatchRecords = 10000;
    /// <summary>Records in CIFAR-100's official train.bin.</summary>
    public const int OfficialCifar100TrainRecords = 50000;

    private const int ReadChunkRecords = 1024;

    private readonly byte[] _images;
    private readonly byte[] _labels;
    private readonly byte[]? _coarse;
    private readonly byte[]? _fine;

    private CifarDataset(string name, DatasetSplit split, byte[] images, byte[] labels, byte[]? coarse, byte[]? fine,
        IReadOnlyList<string> classNames, IReadOnlyList<string>? coarseNames, IReadOnlyList<string>? fineNames, string origin, DatasetSource? source)
    {
        Name = name;
        Split = split;
        _images = images;
        _labels = labels;
        _coarse = coarse;
        _fine = fine;
        ClassNames = classNames;
        CoarseClassNames = coarseNames;
        FineClassNames = fineNames;
        Origin = origin;
        Source = source;
    }

    /// <summary>"cifar10" or "cifar100".</summary>
    public string Name { get; }
    /// <summary>The split.</summary>
    public DatasetSplit Split { get; }
    /// <summary>Number of examples.</summary>
    public int Count => _labels.Length;
    /// <summary>All pixels, [N, 3, 32, 32] as stored in the files (not a copy; do not modify).</summary>
    public byte[] Images => _images;
    /// <summary>The labels in use, [N] (CIFAR-100: the fine labels, or the coarse ones with <see cref="CifarOptions.CoarseLabels"/>; not a copy).</summary>
    public byte[] Labels => _labels;
    /// <summary>CIFAR-100: the coarse (superclass) label of every record, 0..19; null for CIFAR-10.</summary>
    public byte[]? CoarseLabels => _coarse;
    /// <summary>CIFAR-100: the fine (class) label of every record, 0..99; null for CIFAR-10.</summary>
    public byte[]? FineLabels => _fine;
    /// <summary>The class names by label (CIFAR-10 from batches.meta.txt; CIFAR-100 fine or coarse names).</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>CIFAR-100: the 20 superclass names (coarse_label_names.txt); null for CIFAR-10.</summary>
    public IReadOnlyList<string>? CoarseClassNames { get; }
    /// <summary>CIFAR-100: the 100 class names (fine_label_names.txt); null for CIFAR-10.</summary>
    public IReadOnlyList<string>? FineClassNames { get; }
    /// <summary>The folder the files were read from.</summary>
    public string Origin { get; }
    /// <summary>Which step of the search found it (null when read with <see cref="FromDirectory"/>).</summary>
    public DatasetSource? Source { get; }

    /// <summary>3 (R, G, B planes).</summary>
    public int Channels => 3;
    /// <summary>32.</summary>
    public int Height => Side;
    /// <summary>32.</summary>
    public int Width => Side;

    /// <summary>Per-channel (R, G, B) mean of x/255 over the training split: CIFAR-10 (0.4914, 0.4822, 0.4465), CIFAR-100 (0.5071, 0.4865, 0.4409).</summary>
    public float[] DefaultMean => Name == Cifar10 ? [0.4914f, 0.4822f, 0.4465f] : [0.5071f, 0.4865f, 0.4409f];
    /// <summary>Per-channel standard deviation of x/255 over the training split: CIFAR-10 (0.2470, 0.2435, 0.2616), CIFAR-100 (0.2673, 0.2564, 0.2762).</summary>
    public float[] DefaultStd => Name == Cifar10 ? [0.2470f, 0.2435f, 0.2616f] : [0.2673f, 0.2564f, 0.2762f];

    /// <summary>The evaluation preprocessing of a model trained on this dataset: 32×32 RGB (no resize, no crop for 32×32 inputs) and the default normalisation.</summary>
    public EvalPreprocess EvalPreprocess => new() { ResizeShorter = Side, CropSize = Side, Mean = DefaultMean, Std = DefaultStd, Channels = PixelOrder.Rgb };

    /// <summary>The 3×32×32 pixels of example <paramref name="index"/> (R plane, G plane, B plane).</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _images.AsSpan(index * PixelBytes, PixelBytes);
    }

    /// <summary>The label of example <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>E.g. "cifar10 train: 50000 images 3×32×32 from /data/cifar-10-batches-bin".</summary>
    public override string ToString() => $"{Name} {Split.ToString().ToLowerInvariant()}: {Count} images {Channels}×{Height}×{Width} from {Origin}";

    /// <summary>"cifar10" or "cifar100" from a user's spelling (case-insensitive; "cifar-10", "cifar_10" accepted).</summary>
    public static string Canonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "cifar10" or "cifar-10" or "cifar_10" => Cifar10,
            "cifar100" or "cifar-100" or "cifar_100" => Cifar100,
            _ => throw new ArgumentException($"unknown dataset '{name}': CifarDataset reads \"{Cifar10}\" and \"{Cifar100}\"", nameof(name)),
        };
    }

    /// <summary>The data files of a split, in reading order: CIFAR-10 train data_batch_1..5.bin, test test_batch.bin; CIFAR-100 train.bin / test.bin.</summary>
    public static IReadOnlyList<string> DataFileNames(string name, DatasetSplit split) => (Canonical(name), split) switch
    {
        (Cifar10, DatasetSplit.Train) => ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"],
        (Cifar10, _) => ["test_batch.bin"],
        (_, DatasetSplit.Train) => ["train.bin"],
        _ => ["test.bin"],
    };

    /// <summary>The class-name files: CIFAR-10 batches.meta.txt; CIFAR-100 coarse_label_names.txt and fine_label_names.txt.</summary>
    public static IReadOnlyList<string> MetaFileNames(string name) =>
        Canonical(name) == Cifar10 ? ["batches.meta.txt"] : ["coarse_label_names.txt", "fine_label_names.txt"];

    /// <summary>Bytes per record: 1 + 3072 (CIFAR-10) or 2 + 3072 (CIFAR-100).</summary>
    public static int RecordBytes(string name) => (Canonical(name) == Cifar10 ? 1 : 2) + PixelBytes;

    /// <summary>What <see cref="DataLocator"/> needs to find one split: the files, the folder the archive unpacks to, and the official archive (downloaded and unpacked into the cache when the network allows).</summary>
    public static DatasetSpec Spec(string name, DatasetSplit split)
    {
        name = Canonical(name);
        var files = DataFileNames(name, split).Concat(MetaFileNames(name)).Select(f => new DatasetFile(f)).ToList();
        // The official binary archives and their MD5s as published on https://www.cs.toronto.edu/~kriz/cifar.html.
        var archive = name == Cifar10
            ? new DatasetFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
            : new DatasetFile("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8");
        return new DatasetSpec(name, files, [new Uri("https://www.cs.toronto.edu/~kriz/")])
        {
            Subfolders = [name == Cifar10 ? Cifar10Folder : Cifar100Folder],
            Archive = archive,
        };
    }

    /// <summary>
    /// Loads one split, searching with <paramref name="locator"/> (default: a new <see cref="DataLocator"/>, reporting to
    /// standard error). Throws <see cref="DatasetNotFoundException"/> (with where to get the files) when it is nowhere,
    /// and <see cref="DatasetException"/> for a file of the wrong size, a label out of range or a bad names file.
    /// </summary>
    public static CifarDataset Load(string name, DatasetSplit split, DataLocator? locator = null, CifarOptions? options = null)
    {
        name = Canonical(name);
        locator ??= new DataLocator();
        if (!locator.TryLocate(Spec(name, split), out var location, out var steps))
        {
            string archive = name == Cifar10 ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz";
            throw new DatasetNotFoundException(name, [.. steps,
                $"{name}: get {archive} (the binary version) from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass --data with the folder it makes (or its parent)"]);
        }
        return Read(name, split, location.Directory, location.PathOf, options ?? new CifarOptions(), location.Source);
    }

    /// <summary>Reads one split from <paramref name="directory"/>, the folder holding the official files (no search).</summary>
    public static CifarDataset FromDirectory(string name, DatasetSplit split, string directory, CifarOptions? options = null)
    {
        name = Canonical(name);
        ArgumentNullException.ThrowIfNull(directory);
        return Read(name, split, directory, f => Path.Combine(directory, f), options ?? new CifarOptions(), null);
    }

    private static CifarDataset Read(string name, DatasetSplit split, string directory, Func<string, string> pathOf, CifarOptions options, DatasetSource? source)
    {
        bool c10 = name == Cifar10;
        if (c10 && options.CoarseLabels) throw new ArgumentException("cifar10 has no coarse labels (CifarOptions.CoarseLabels is for cifar100)", nameof(options));
        int recordBytes = RecordBytes(name);
        var files = DataFileNames(name, split).Select(pathOf).ToArray();

        // Every size first: a wrong one fails before anything large is allocated.
        var records = new int[files.Length];
        long total = 0;
        for (int f = 0; f < files.Length; f++)
        {
            records[f] = CheckSize(files[f], recordBytes, OfficialRecords(name, split), options.AnyRecordCount, c10);
            total += records[f];
        }
        if (total * PixelBytes > Array.MaxLength)
            throw new DatasetException(files[0], $"{total} records in {files.Length} file(s) hold more than {Array.MaxLength} pixel bytes");

        IReadOnlyList<string> names, coarseNames = [], fineNames = [];
        if (c10) names = ReadNames(pathOf("batches.meta.txt"), 10);
        else
        {
            coarseNames = ReadNames(pathOf("coarse_label_names.txt"), 20);
            fineNames = ReadNames(pathOf("fine_label_names.txt"), 100);
            names = options.CoarseLabels ? coarseNames : fineNames;
        }

        var images = new byte[total * PixelBytes];
        var labels = new byte[total];
        byte[]? coarse = c10 ? null : new byte[total];
        int at = 0;
        for (int f = 0; f < files.Length; f++)
        {
            ReadRecords(files[f], records[f], recordBytes, images, at, c10 ? labels : coarse!, c10 ? null : labels);
            at += records[f];
        }
        // labels now holds the CIFAR-10 labels, or CIFAR-100's fine labels (coarse ones in `coarse`).
        byte[]? fine = null;
        if (!c10)
        {
            fine = labels;
            CheckLabels(coarse!, 20, "coarse label", files, records, recordBytes, 0);
            CheckLabels(fine, 100, "fine label", files, records, recordBytes, 1);
            if (options.CoarseLabels) labels = coarse!;
        }
        else CheckLabels(labels, 10, "label", files, records, recordBytes, 0);

        return new CifarDataset(name, split, images, labels, coarse, fine, names, c10 ? null : coarseNames, c10 ? null : fineNames,
            Path.GetFullPath(directory), source);
    }

    private static int OfficialRecords(string name, DatasetSplit split) =>
        name == Cifar100 && split == DatasetSplit.Train ? OfficialCifar100TrainRecords : OfficialBatchRecords;

    /// <summary>Checks the file's length against whole records (and the official count); returns the record count.</summary>
    private static int CheckSize(string path, int recordBytes, int official, bool anyCount, bool c10)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: file not found", path, e);
        }
        string layout = c10 ? "1 label byte + 3072 pixel bytes" : "1 coarse label byte + 1 fine label byte + 3072 pixel bytes";
        if (!anyCount)
        {
            long expected = (long)official * recordBytes;
            if (length != expected)
                throw new DatasetException(path, $"{length} bytes, expected {expected} ({official} records of {recordBytes} bytes: {layout})"
                    + (length % recordBytes == 0 && length > 0 ? $"; it holds {length / recordBytes} whole records: pass CifarOptions.AnyRecordCount to read a subset" : length < expected ? "; truncated?" : ""));
            return official;
        }
        if (length == 0 || length % recordBytes != 0)
            throw new DatasetException(path, $"{length} bytes is not a whole, non-zero number of {recordBytes}-byte records ({layout})"
                + (length > 0 ? $": {length / recordBytes} records and {length % recordBytes} byte(s) left over; truncated?" : ""));
        if (length / recordBytes > Array.MaxLength / PixelBytes)
            throw new DatasetException(path, $"{length / recordBytes} records are more than this reader holds in memory");
        return (int)(length / recordBytes);
    }

    /// <summary>Reads <paramref name="count"/> records: pixels to images[at…], the first label byte to first[at…], a second one (CIFAR-100's fine label) to second[at…].</summary>
    private static void ReadRecords(string path, int count, int recordBytes, byte[] images, int at, byte[] first, byte[]? second)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (file.Length != (long)count * recordBytes)
            throw new DatasetException(path, $"changed while being read: {file.Length} bytes, expected {(long)count * recordBytes}");
        int labelBytes = recordBytes - PixelBytes;
        var chunk = new byte[Math.Min(count, ReadChunkRecords) * recordBytes];
        for (int r = 0; r < count; r += ReadChunkRecords)
        {
            int n = Math.Min(ReadChunkRecords, count - r);
            var span = chunk.AsSpan(0, n * recordBytes);
            int got = file.ReadAtLeast(span, span.Length, throwOnEndOfStream: false);
            if (got < span.Length)
                throw new DatasetException(path, $"truncated while reading: record {r + got / recordBytes} of {count} is cut off");
            for (int i = 0; i < n; i++)
            {
                var rec = span.Slice(i * recordBytes, recordBytes);
                first[at + r + i] = rec[0];
                if (second is not null) second[at + r + i] = rec[1];
                rec[labelBytes..].CopyTo(images.AsSpan((at + r + i) * PixelBytes, PixelBytes)); // total size checked ≤ Array.MaxLength
            }
        }
    }

    private static void CheckLabels(byte[] labels, int classes, string what, string[] files, int[] records, int recordBytes, int byteInRecord)
    {
        for (int i = 0, f = 0, start = 0; i < labels.Length; i++)
        {
            while (i >= start + records[f]) start += records[f++];
            if (labels[i] >= classes)
                throw new DatasetException(files[f], $"record {i - start}: {what} {labels[i]} is outside 0..{classes - 1} (byte offset {(long)(i - start) * recordBytes + byteInRecord}); not a CIFAR file?");
        }
    }

    /// <summary>Reads a names file: one name per line (UTF-8, "\n" or "\r\n"), trailing blank lines ignored; exactly <paramref name="expected"/> names.</summary>
    private static IReadOnlyList<string> ReadNames(string path, int expected)
    {
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: file not found", path, e);
        }
        if (length > 1 << 20) throw new DatasetException(path, $"{length} bytes; a class-name file of {expected} names is far smaller");
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
        }
        catch (DecoderFallbackException e)
        {
            throw new DatasetException(path, "not UTF-8 text", e);
        }
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r').Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int blank = lines.FindIndex(l => l.Length == 0);
        if (blank >= 0) throw new DatasetException(path, $"line {blank + 1} is blank; expected {expected} class names, one per line");
        if (lines.Count != expected) throw new DatasetException(path, $"{lines.Count} class names, expected {expected} (one per line)");
        return lines.AsReadOnly();
    }
}
