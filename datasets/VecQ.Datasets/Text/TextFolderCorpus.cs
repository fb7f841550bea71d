using System.Text;

namespace VecQ.Datasets;

/// <summary>
/// One split of a labelled text dataset before tokenization: the raw texts, read on demand, and their labels.
/// Implemented by <see cref="TextFolderCorpus"/> (class-per-folder text: <c>textfolder</c>, THUCNews, aclImdb).
/// <see cref="EncodedTextDataset.Encode"/> turns one into token-id rows with a <see cref="Vocabulary"/>.
/// </summary>
public interface ITextCorpus
{
    /// <summary>The dataset's name ("imdb", "thucnews", "textfolder").</summary>
    string Name { get; }
    /// <summary>The split.</summary>
    DatasetSplit Split { get; }
    /// <summary>Number of texts.</summary>
    int Count { get; }
    /// <summary>Class names; labels index into this list.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>The label of text <paramref name="index"/>.</summary>
    int Label(int index);
    /// <summary>The text of example <paramref name="index"/> (read from its file, decoded, cleaned as the dataset says).</summary>
    string Text(int index);
    /// <summary>Where text <paramref name="index"/> comes from (its file path), for messages.</summary>
    string SourceOf(int index);
}

/// <summary>How <see cref="TextFolderCorpus"/> reads a class-per-folder text tree.</summary>
/// <example><code>
/// var thuc = new TextFolderOptions { Classes = ThucNews.TenClasses, TestFraction = 0.1 };
/// var any = new TextFolderOptions { Extensions = [] };     // every (non-hidden) file, whatever its name
/// </code></example>
public sealed record TextFolderOptions
{
    /// <summary>File extensions read (case-insensitive; default ".txt"); an empty list reads every file whose name does not start with '.'.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [".txt"];
    /// <summary>
    /// The classes to read, in label order (null: every subfolder, sorted ordinally). A listed class without a folder is
    /// an error; folders not listed are ignored.
    /// </summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>
    /// For a tree without <c>train/</c> and <c>test/</c> folders: the fraction of each class's files that form the test
    /// split (default 0.2), chosen by a hash of the file's path below its class folder (see <see cref="TextFolderCorpus.IsTestFile"/>).
    /// </summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Keep only the first N files of each class (in dataset order; null: all).</summary>
    public int? MaxPerClass { get; init; }
    /// <summary>File size and count limits.</summary>
    public TextLimits Limits { get; init; } = new();
    /// <summary>Replace HTML line breaks by spaces when reading (<see cref="TextTokenizer.StripHtmlBreaks"/>; aclImdb's reviews).</summary>
    public bool RemoveHtmlBreaks { get; init; }

    internal void Check()
    {
        ArgumentNullException.ThrowIfNull(Extensions);
        ArgumentNullException.ThrowIfNull(Limits);
        Limits.Check();
        if (!(TestFraction > 0 && TestFraction < 1)) throw new ArgumentException($"textfolder: test fraction {TestFraction} must be between 0 and 1 (exclusive)");
        if (MaxPerClass is < 1) throw new ArgumentException($"textfolder: MaxPerClass {MaxPerClass} must be at least 1");
        if (Classes is { Count: 0 }) throw new ArgumentException("textfolder: the class list is empty");
        if (Classes is not null && Classes.Distinct(StringComparer.Ordinal).Count() != Classes.Count) throw new ArgumentException("textfolder: the class list has duplicates");
    }
}

/// <summary>
/// A class-per-folder text dataset (any language, UTF-8): the classes are the subfolders of a folder, sorted by name
/// (ordinal) and labelled 0, 1, … (or as <see cref="TextFolderOptions.Classes"/> lists them); the examples are the text
/// files below each class folder (recursively), sorted as <see cref="ImageFolderDataset"/> sorts images.
/// <see cref="Load"/> takes either layout of ROOT:
/// <list type="bullet">
/// <item><c>ROOT/train/&lt;class&gt;/…</c> and <c>ROOT/test/&lt;class&gt;/…</c> (or <c>val/</c>): the splits as given, the classes
/// those of <c>train/</c> for both;</item>
/// <item><c>ROOT/&lt;class&gt;/…</c> (THUCNews as distributed): a fixed split, each file in the test split when
/// <see cref="IsTestFile"/> says so, a function of its path below the class folder only, so the split does not change
/// when files are added or the tree is moved.</item>
/// </list>
/// Only the listing is read up front; <see cref="Text"/> reads a file as strict UTF-8 (<see cref="TextFiles.ReadUtf8"/>).
/// A non-UTF-8 file (with its byte offset), a file over the size limit, an empty class folder or a folder without
/// class folders is a <see cref="DatasetException"/> naming the file or folder.
/// </summary>
/// <example><code>
/// var train = TextFolderCorpus.Load("/data/wordnet-nouns", DatasetSplit.Train);
/// var vocab = Vocabulary.Build(train.Texts(), new TextTokenizer(TokenizerMode.Words), 20000);
/// </code></example>
public sealed class TextFolderCorpus : ITextCorpus
{
    /// <summary>The generic dataset name ("textfolder").</summary>
    public const string DatasetName = "textfolder";

    private readonly string[] _files;
    private readonly int[] _labels;

    private TextFolderCorpus(string name, string folder, DatasetSplit split, TextFolderOptions options, IReadOnlyList<string> classes, string[] files, int[] labels)
    {
        Name = name;
        Folder = folder;
        Split = split;
        Options = options;
        ClassNames = classes;
        _files = files;
        _labels = labels;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>The class-per-folder folder read (ROOT/train, ROOT/test, or ROOT itself for a hashed split).</summary>
    public string Folder { get; }
    /// <inheritdoc/>
    public DatasetSplit Split { get; }
    /// <summary>The options.</summary>
    public TextFolderOptions Options { get; }
    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }
    /// <inheritdoc/>
    public int Count => _files.Length;
    /// <summary>The files in dataset order (full paths).</summary>
    public IReadOnlyList<string> Files => _files;
    /// <summary>The label of each file.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];
    /// <inheritdoc/>
    public string SourceOf(int index) => _files[index];

    /// <inheritdoc/>
    public string Text(int index)
    {
        string text = TextFiles.ReadUtf8(_files[index], Options.Limits.MaxFileBytes);
        return Options.RemoveHtmlBreaks ? TextTokenizer.StripHtmlBreaks(text) : text;
    }

    /// <summary>Every text in order, read one at a time (for <see cref="Vocabulary.Build"/>).</summary>
    public IEnumerable<string> Texts()
    {
        for (int i = 0; i < Count; i++) yield return Text(i);
    }

    /// <summary>E.g. "textfolder train: 52197 texts in 10 classes from /data/wn/train".</summary>
    public override string ToString() => $"{Name} {Split.ToString().ToLowerInvariant()}: {Count} texts in {ClassNames.Count} classes from {Folder}";

    /// <summary>
    /// Whether a file whose path below its class folder is <paramref name="relativePath"/> belongs to the test split of a
    /// tree without train/ and test/ folders: the 64-bit FNV-1a hash of the path's UTF-8 bytes ('/' separators),
    /// modulo 1 000 000, is below <paramref name="testFraction"/> × 1 000 000.
    /// </summary>
    public static bool IsTestFile(string relativePath, double testFraction)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        ulong h = VecQ.Tensors.Fnv1a.Of(Encoding.UTF8.GetBytes(relativePath.Replace('\\', '/')));
        return h % 1_000_000UL < (ulong)Math.Round(testFraction * 1_000_000);
    }

    /// <summary>One split of the text tree at <paramref name="root"/> (either layout; see the class remarks).</summary>
    public static TextFolderCorpus Load(string root, DatasetSplit split, TextFolderOptions? options = null, string name = DatasetName)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new TextFolderOptions();
        options.Check();
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: no such folder ({name} expects ROOT/train/<class>/*.txt and ROOT/test/<class>/*.txt, or ROOT/<class>/*.txt)");
        string train = Path.Combine(root, "train");
        if (Directory.Exists(train))
        {
            var classes = options.Classes ?? ClassFolders(train);
            string? folder = split == DatasetSplit.Train ? train
                : new[] { "test", "val" }.Select(n => Path.Combine(root, n)).FirstOrDefault(Directory.Exists);
            if (folder is null) throw new DatasetException(root, $"{name}: there is a train/ folder but no test/ (or val/) folder");
            return Read(name, folder, split, options, classes, null);
        }
        return Read(name, root, split, options, options.Classes ?? ClassFolders(root), split);
    }

    /// <summary>
    /// Every file of one class-per-folder tree <paramref name="folder"/>/&lt;class&gt;/… as split <paramref name="split"/>
    /// (no train/test division): labels follow <paramref name="classNames"/> (null: the options' classes, else the sorted subfolders).
    /// </summary>
    public static TextFolderCorpus FromFolder(string folder, DatasetSplit split, TextFolderOptions? options = null, IReadOnlyList<string>? classNames = null, string name = DatasetName)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new TextFolderOptions();
        options.Check();
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        return Read(name, folder, split, options, classNames ?? options.Classes ?? ClassFolders(folder), null);
    }

    private static IReadOnlyList<string> ClassFolders(string folder) => ImageFolderDataset.ClassFolders(folder,
        "no class folders: a text folder holds one subfolder per class (e.g. train/sports/1.txt, train/finance/2.txt)");

    // hashSplit: null reads every file; Train/Test keeps the files IsTestFile puts in that split.
    private static TextFolderCorpus Read(string name, string folder, DatasetSplit split, TextFolderOptions options, IReadOnlyList<string> classes, DatasetSplit? hashSplit)
    {
        var extensions = options.Extensions.Select(e => e.StartsWith('.') ? e : "." + e).ToHashSet(StringComparer.OrdinalIgnoreCase);
        bool Keep(string path)
        {
            string file = Path.GetFileName(path);
            if (file.StartsWith('.')) return false;
            return extensions.Count == 0 || extensions.Contains(Path.GetExtension(file));
        }
        string what = extensions.Count == 0 ? "files" : $"text files ({string.Join(" ", extensions.Order(StringComparer.Ordinal).Select(e => "*" + e))})";
        var own = Directory.EnumerateDirectories(folder).Select(d => Path.GetFileName(d)).ToHashSet(StringComparer.Ordinal);
        var missing = classes.Where(c => !own.Contains(c)).ToList();
        // A test folder may lack a training class (as an image folder's val/ may); a listed class must exist in the training tree.
        if (missing.Count > 0 && (split == DatasetSplit.Train || hashSplit is not null))
            throw new DatasetException(folder, $"no class folder {string.Join(", ", missing.Take(5).Select(c => $"'{c}'"))}{(missing.Count > 5 ? " …" : "")} (found {own.Count} folders)");
        if (options.Classes is null && split == DatasetSplit.Test && hashSplit is null)
        {
            var extra = own.Where(c => !classes.Contains(c)).Order(StringComparer.Ordinal).ToList();
            if (extra.Count > 0)
                throw new DatasetException(folder, $"class folder(s) {string.Join(", ", extra.Take(5).Select(c => $"'{c}'"))}{(extra.Count > 5 ? " …" : "")} are not among the {classes.Count} training classes");
        }
        var files = new List<string>();
        var labels = new List<int>();
        for (int label = 0; label < classes.Count; label++)
        {
            string dir = Path.Combine(folder, classes[label]);
            if (!Directory.Exists(dir)) continue;
            var all = ImageFolderDataset.ListFiles(dir, Keep);
            if (all.Count == 0)
                throw new DatasetException(dir, $"class folder '{classes[label]}' has no {what}; remove it or add texts");
            int kept = 0;
            foreach (var f in all)
            {
                if (hashSplit is { } want)
                {
                    bool test = IsTestFile(Path.GetRelativePath(dir, f), options.TestFraction);
                    if (test != (want == DatasetSplit.Test)) continue;
                }
                if (kept == (options.MaxPerClass ?? int.MaxValue)) break;
                if (files.Count == options.Limits.MaxFiles)
                    throw new DatasetException(folder, $"more than {options.Limits.MaxFiles} files (TextLimits.MaxFiles)");
                files.Add(f);
                labels.Add(label);
                kept++;
            }
        }
        if (files.Count == 0) throw new DatasetException(folder, $"no {what} in any class folder for the {split.ToString().ToLowerInvariant()} split");
        return new TextFolderCorpus(name, folder, split, options, classes.ToArray(), [.. files], [.. labels]);
    }
}
