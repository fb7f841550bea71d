namespace VecQ.Datasets;

/// <summary>
/// THUCNews (Tsinghua's news corpus: 836 075 articles in 14 categories, UTF-8, one article per file in
/// <c>THUCNews/&lt;类别&gt;/&lt;id&gt;.txt</c>), read as class-per-folder text with the character tokenizer. Its folder has no
/// train/test division, so the split is <see cref="TextFolderCorpus"/>'s fixed hash split (or the tree's own train/ and
/// test/ folders). Without a class list the ten categories of the usual subset (<see cref="TenClasses"/>) are read when
/// all ten are present, otherwise every category folder.
/// </summary>
/// <example><code>
/// var data = TextDatasetCatalog.Load("thucnews", new DataLocator { ExplicitDirectory = "/data/THUCNews" });
/// </code></example>
public static class ThucNews
{
    /// <summary>The dataset name ("thucnews").</summary>
    public const string DatasetName = "thucnews";

    /// <summary>The ten categories of the common 10-class subset (cnews): sports, finance, real estate, home, education, technology, fashion, politics, games, entertainment.</summary>
    public static IReadOnlyList<string> TenClasses { get; } = ["体育", "财经", "房产", "家居", "教育", "科技", "时尚", "时政", "游戏", "娱乐"];

    /// <summary>The defaults: characters (Latin letters lowercased), 5000 ids, 600 per article, pre-padding and pre-truncation, no start id.</summary>
    public static TextDatasetDefaults Defaults { get; } = new(new TextTokenizer(TokenizerMode.Chars), 5000, new SequenceOptions { MaxLength = 600 });

    /// <summary>Where THUCNews is looked for: a folder of category folders (or train/ and test/), possibly inside THUCNews/. No download address is known.</summary>
    public static DatasetSpec Spec { get; } = new(DatasetName, [], [])
    {
        Subfolders = ["THUCNews"],
        AcceptFolder = TextDatasetCatalog.LooksLikeTextFolder,
    };

    /// <summary>The class list used when the options give none: <see cref="TenClasses"/> when the class root holds all ten, else null (every folder).</summary>
    public static IReadOnlyList<string>? DefaultClasses(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        string classRoot = Directory.Exists(Path.Combine(root, "train")) ? Path.Combine(root, "train") : root;
        return TenClasses.All(c => Directory.Exists(Path.Combine(classRoot, c))) ? TenClasses : null;
    }
}

/// <summary>
/// Every text dataset by name, for a command line: "imdb" (aclImdb folder or index arrays, <see cref="ImdbDataset"/>),
/// "thucnews" (<see cref="ThucNews"/>) and "textfolder" (any class-per-folder UTF-8 text at <c>--data DIR</c>,
/// <see cref="TextFolderCorpus"/>; e.g. the WordNet corpus of tools/datasets/wordnet_corpus.py). Image datasets are
/// in <see cref="DatasetCatalog"/>; <see cref="DatasetCatalog.IsText"/> tells which catalog a name belongs to.
/// </summary>
/// <example><code>
/// // train
/// var data = TextDatasetCatalog.Load("imdb", new DataLocator { ExplicitDirectory = dataDir }, new TextDataOptions { MaxLength = 100 });
/// data.Vocabulary?.Save(Path.Combine(runDir, "vocabulary.json"));
/// var loader = new TextLoader(data.Train!, new TextLoaderOptions { BatchSize = 30, Seed = 1 });
/// // eval: the saved vocabulary, test split only
/// var vocab = Vocabulary.Load(Path.Combine(runDir, "vocabulary.json"));
/// var test = TextDatasetCatalog.Load("imdb", locator, vocabulary: vocab, train: false).Test;
/// // predict
/// int[] row = vocab.Encode("What a wonderful film.");   // [1, T] after Tensor.FromArray(row, [1, row.Length])
/// </code></example>
public static class TextDatasetCatalog
{
    /// <summary>The names <see cref="Load"/> accepts (canonical spellings).</summary>
    public static IReadOnlyList<string> Names { get; } = [ImdbDataset.DatasetName, ThucNews.DatasetName, TextFolderCorpus.DatasetName];

    /// <summary>The canonical name, or an <see cref="ArgumentException"/> listing the known ones.</summary>
    public static string Canonical(string name) =>
        TryCanonical(name) ?? throw new ArgumentException($"unknown text dataset '{name}' (known: {string.Join(", ", Names)})", nameof(name));

    /// <summary>The canonical name, or null when <paramref name="name"/> is not a text dataset.</summary>
    public static string? TryCanonical(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "imdb" or "aclimdb" => ImdbDataset.DatasetName,
            "thucnews" or "thuc-news" or "thuc_news" => ThucNews.DatasetName,
            "textfolder" or "text-folder" or "text_folder" => TextFolderCorpus.DatasetName,
            _ => null,
        };
    }

    /// <summary>The tokenizer, vocabulary size and sequence settings dataset <paramref name="name"/> uses unless told otherwise.</summary>
    public static TextDatasetDefaults Defaults(string name) => Canonical(name) switch
    {
        ImdbDataset.DatasetName => ImdbDataset.Defaults,
        ThucNews.DatasetName => ThucNews.Defaults,
        _ => new TextDatasetDefaults(new TextTokenizer(TokenizerMode.Words), 20000, new SequenceOptions { MaxLength = 100 }),
    };

    /// <summary>
    /// Finds dataset <paramref name="name"/> and reads it encoded: both splits, or only the test split when
    /// <paramref name="train"/> is false. The vocabulary is <paramref name="vocabulary"/> when given (eval and predict:
    /// the one saved with the checkpoint; it fixes the tokenizer and the sequence settings), else built on the training
    /// split from <paramref name="options"/> and the dataset's <see cref="Defaults"/>.
    /// </summary>
    public static TextData Load(string name, DataLocator? locator = null, TextDataOptions? options = null, Vocabulary? vocabulary = null, bool train = true)
    {
        locator ??= new DataLocator();
        options ??= new TextDataOptions();
        string canonical = Canonical(name);
        if (canonical == ImdbDataset.DatasetName) return ImdbDataset.Load(locator, options, vocabulary, train);
        string root;
        if (canonical == ThucNews.DatasetName)
            root = locator.Locate(ThucNews.Spec).Directory;
        else
        {
            string? dir = !string.IsNullOrWhiteSpace(locator.ExplicitDirectory) ? locator.ExplicitDirectory
                : System.Environment.GetEnvironmentVariable(DataLocator.DataEnvironmentVariable);
            if (string.IsNullOrWhiteSpace(dir))
                throw new DatasetNotFoundException(canonical, [$"{canonical}: needs --data DIR (or {DataLocator.DataEnvironmentVariable}) naming a folder with train/<class>/*.txt and test/<class>/*.txt, or <class>/*.txt"]);
            root = dir;
        }
        var (tokenizer, size, sequence) = Resolve(Defaults(canonical), options, vocabulary);
        var folder = new TextFolderOptions
        {
            Classes = options.Classes ?? (canonical == ThucNews.DatasetName ? ThucNews.DefaultClasses(root) : null),
            TestFraction = options.TestFraction,
            MaxPerClass = options.MaxPerClass,
            Limits = options.Limits,
            Extensions = options.Extensions ?? [".txt"],
        };
        var trainCorpus = train || vocabulary is null ? TextFolderCorpus.Load(root, DatasetSplit.Train, folder, canonical) : null;
        var testCorpus = TextFolderCorpus.Load(root, DatasetSplit.Test, folder, canonical);
        var vocab = vocabulary ?? Vocabulary.Build(trainCorpus!.Texts(), tokenizer, size, sequence, canonical);
        var trainSet = train ? EncodedTextDataset.Encode(trainCorpus!, vocab) : null;
        var testSet = EncodedTextDataset.Encode(testCorpus, vocab);
        locator.Notify($"{canonical}: using {root} ({(trainSet is null ? "" : $"{trainSet.Count} training, ")}{testSet.Count} test texts, {testSet.ClassNames.Count} classes, vocabulary {vocab.Count})");
        return new TextData(canonical, "textfolder", root, trainSet, testSet, vocab);
    }

    /// <summary>The settings in effect: the vocabulary's when given, else the options over the defaults.</summary>
    internal static (TextTokenizer Tokenizer, int VocabularySize, SequenceOptions Sequence) Resolve(TextDatasetDefaults d, TextDataOptions o, Vocabulary? vocabulary)
    {
        if (vocabulary is not null) return (vocabulary.Tokenizer, vocabulary.MaxSize, vocabulary.Sequence);
        var tokenizer = d.Tokenizer with
        {
            Mode = o.Tokenizer ?? d.Tokenizer.Mode,
            Lowercase = o.Lowercase ?? d.Tokenizer.Lowercase,
        };
        var sequence = d.Sequence with
        {
            MaxLength = o.MaxLength ?? d.Sequence.MaxLength,
            Padding = o.Padding ?? d.Sequence.Padding,
            Truncating = o.Truncating ?? d.Sequence.Truncating,
            AddStart = o.AddStart ?? d.Sequence.AddStart,
        };
        sequence.Check();
        int size = o.VocabularySize ?? d.VocabularySize;
        if (size <= Vocabulary.FirstTokenId) throw new ArgumentException($"vocabulary size {size} must exceed the {Vocabulary.FirstTokenId} reserved ids");
        return (tokenizer, size, sequence);
    }

    /// <summary>A folder check for class-per-folder text: a train/ folder, or at least two subfolders holding .txt files.</summary>
    internal static string? LooksLikeTextFolder(string dir)
    {
        if (Directory.Exists(Path.Combine(dir, "train"))) return null;
        int classes = Directory.EnumerateDirectories(dir).Count(d => Directory.EnumerateFiles(d, "*.txt").Any());
        return classes >= 2 ? null : $"no train/ folder and {classes} subfolders with .txt files (a text folder holds one subfolder per class)";
    }
}
