namespace VecQ.Datasets;

/// <summary>
/// The IMDB movie-review sentiment dataset (Maas et al. 2011; 25 000 training and 25 000 test reviews), classes
/// neg = 0 and pos = 1 as Keras labels them, in either form:
/// <list type="bullet">
/// <item>the <c>aclImdb</c> folder of the official archive: <c>aclImdb/train|test/pos|neg/*.txt</c>, one UTF-8 review per
/// file, its HTML <c>&lt;br /&gt;</c> breaks replaced by spaces; tokenized and encoded with a <see cref="Vocabulary"/> built on
/// the training reviews (<c>unsup/</c> and the other files are ignored). <c>--data</c> may name <c>aclImdb</c> or its parent;</item>
/// <item>Keras's word-index arrays as an <c>.npz</c> (<see cref="ReadNpz"/>): <c>x_train</c>, <c>y_train</c>, <c>x_test</c>,
/// <c>y_test</c>, with Keras's offsets. Keras's own imdb.npz stores the sequences as pickled Python lists, which are not
/// read (unpickling runs code): tools/datasets/imdb_npz_convert.py rewrites it as <c>imdb_int32.npz</c>.</item>
/// </list>
/// <see cref="Load"/> looks (<see cref="DataLocator"/>: --data, VECQ_DATA, the cache, /usr/share/datasets/imdb) for the
/// folder first, then imdb_int32.npz, then imdb.npz, and finally downloads the official aclImdb archive where a network allows.
/// </summary>
/// <example><code>
/// var data = ImdbDataset.Load(new DataLocator { ExplicitDirectory = "/data" }, new TextDataOptions());
/// // data.Train: 25000 × 100 ids below 20000; data.Vocabulary → save beside the checkpoint
/// </code></example>
public static class ImdbDataset
{
    /// <summary>The dataset name ("imdb").</summary>
    public const string DatasetName = "imdb";
    /// <summary>The converted index arrays' file name (tools/datasets/imdb_npz_convert.py's output).</summary>
    public const string ConvertedNpzFile = "imdb_int32.npz";
    /// <summary>Keras's file name.</summary>
    public const string KerasNpzFile = "imdb.npz";
    /// <summary>The official archive (Stanford AI Lab).</summary>
    public static readonly Uri ArchiveBase = new("https://ai.stanford.edu/~amaas/data/sentiment/");

    /// <summary>neg = 0, pos = 1 (Keras's labels; the folder names of aclImdb).</summary>
    public static IReadOnlyList<string> ClassNames { get; } = ["neg", "pos"];

    /// <summary>The defaults: lowercased words with HTML breaks removed, 20000 ids, 100 per review, pre-padding and pre-truncation, start id on (Keras's imdb_cnn_lstm).</summary>
    public static TextDatasetDefaults Defaults { get; } = new(
        new TextTokenizer(TokenizerMode.Words, Lowercase: true, RemoveHtmlBreaks: true), 20000, new SequenceOptions { MaxLength = 100, AddStart = true });

    /// <summary>What the aclImdb folder must hold for the splits asked for (the split/neg and split/pos folders), and where the archive is.</summary>
    public static DatasetSpec FolderSpec(bool train = true, bool test = true) => new(DatasetName, [], [ArchiveBase])
    {
        Subfolders = ["aclImdb"],
        Archive = new DatasetFile("aclImdb_v1.tar.gz"),
        AcceptFolder = dir =>
        {
            var need = (train ? new[] { "train/neg", "train/pos" } : []).Concat(test ? new[] { "test/neg", "test/pos" } : []);
            var missing = need.Where(n => !Directory.Exists(Path.Combine(dir, n))).ToList();
            return missing.Count == 0 ? null : $"no {string.Join(", ", missing)} folder (not an aclImdb folder)";
        },
    };

    /// <summary>One split of the aclImdb folder <paramref name="aclImdb"/> (the folder holding train/ and test/) as raw reviews.</summary>
    public static TextFolderCorpus OpenFolder(string aclImdb, DatasetSplit split, TextDataOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(aclImdb);
        options ??= new TextDataOptions();
        string dir = Path.Combine(aclImdb, split == DatasetSplit.Train ? "train" : "test");
        foreach (var c in ClassNames)
            if (!Directory.Exists(Path.Combine(dir, c))) throw new DatasetException(aclImdb, $"no {Path.GetFileName(dir)}/{c} folder (aclImdb holds train/neg, train/pos, test/neg, test/pos)");
        var folder = new TextFolderOptions
        {
            Classes = ClassNames, RemoveHtmlBreaks = true, MaxPerClass = options.MaxPerClass, Limits = options.Limits,
            Extensions = options.Extensions ?? [".txt"],
        };
        return TextFolderCorpus.FromFolder(dir, split, folder, ClassNames, DatasetName);
    }

    /// <summary>
    /// Finds IMDB (see the class remarks) and reads both splits (only the test split with <paramref name="train"/> false).
    /// From the folder, the vocabulary is <paramref name="vocabulary"/> when given (eval), else built on the training
    /// reviews; from the index arrays, <see cref="TextData.Vocabulary"/> is null.
    /// </summary>
    public static TextData Load(DataLocator? locator = null, TextDataOptions? options = null, Vocabulary? vocabulary = null, bool train = true)
    {
        locator ??= new DataLocator();
        options ??= new TextDataOptions();
        var (tokenizer, size, sequence) = TextDatasetCatalog.Resolve(Defaults, options, vocabulary);
        if (locator.ExplicitDirectory is { } given && File.Exists(given))
            return FromNpz(given, size, sequence, options, train, locator);

        // The same places are searched for each form: each place is reported once, then what was not in any of them.
        var steps = new List<string>();
        void Missed(IReadOnlyList<string> tried, string? what)
        {
            foreach (var line in tried)
                if (!steps.Contains(line) && !line.EndsWith(": download disabled", StringComparison.Ordinal)) steps.Add(line);
            if (what is not null) steps.Add($"{DatasetName}: no {what} in these places");
        }
        var quiet = locator.WithoutDownload();
        var folderSpec = FolderSpec(train || vocabulary is null, true);
        if (quiet.TryLocate(folderSpec, out var found, out var s1))
            return FromFolder(found.Directory, tokenizer, size, sequence, options, vocabulary, train);
        Missed(s1, "aclImdb folder (train/neg, train/pos, test/neg, test/pos)");
        foreach (var file in new[] { ConvertedNpzFile, KerasNpzFile })
        {
            if (quiet.TryLocate(new DatasetSpec(DatasetName, [new DatasetFile(file)], []), out var npz, out var s2))
                return FromNpz(npz.PathOf(file), size, sequence, options, train, locator);
            Missed(s2, file);
        }
        if (!locator.AllowDownload) steps.Add($"{DatasetName}: download disabled");
        else if (string.IsNullOrWhiteSpace(locator.ExplicitDirectory))
        {
            if (locator.TryLocate(folderSpec, out var downloaded, out var s3))
                return FromFolder(downloaded.Directory, tokenizer, size, sequence, options, vocabulary, train);
            Missed(s3, null);
        }
        throw new DatasetNotFoundException(DatasetName, steps);
    }

    private static TextData FromFolder(string dir, TextTokenizer tokenizer, int size, SequenceOptions sequence, TextDataOptions options, Vocabulary? vocabulary, bool train)
    {
        TextFolderCorpus? trainCorpus = train || vocabulary is null ? OpenFolder(dir, DatasetSplit.Train, options) : null;
        var vocab = vocabulary ?? Vocabulary.Build(trainCorpus!.Texts(), tokenizer, size, sequence, DatasetName);
        var trainSet = train ? EncodedTextDataset.Encode(trainCorpus!, vocab) : null;
        var testSet = EncodedTextDataset.Encode(OpenFolder(dir, DatasetSplit.Test, options), vocab);
        return new TextData(DatasetName, "aclImdb", dir, trainSet, testSet, vocab);
    }

    private static TextData FromNpz(string path, int numWords, SequenceOptions sequence, TextDataOptions options, bool train, DataLocator locator)
    {
        var trainSet = train ? ReadNpz(path, DatasetSplit.Train, numWords, sequence, options.SkipTop, options.MaxPerClass) : null;
        var testSet = ReadNpz(path, DatasetSplit.Test, numWords, sequence, options.SkipTop, options.MaxPerClass);
        locator.Notify($"{DatasetName}: using {path} (Keras index arrays)");
        return new TextData(DatasetName, "npz", path, trainSet, testSet, null);
    }

    /// <summary>
    /// The ids Keras's <c>imdb.load_data(num_words, skip_top, start_char=1, oov_char=2, index_from=3)</c> makes of one
    /// sequence of word ranks (1 = most frequent word): [1 when <paramref name="addStart"/>] + [rank + 3 …], then every id
    /// outside skip_top ≤ id &lt; num_words (the start id included, as in Keras) becomes 2.
    /// </summary>
    public static int[] KerasIds(ReadOnlySpan<long> ranks, int numWords, int skipTop = 0, bool addStart = true)
    {
        int start = addStart ? 1 : 0;
        var ids = new int[start + ranks.Length];
        if (addStart) ids[0] = Vocabulary.StartId;
        for (int i = 0; i < ranks.Length; i++)
        {
            long w = ranks[i] + Vocabulary.FirstTokenId;
            ids[start + i] = w < numWords ? (int)w : Vocabulary.OovId;
        }
        for (int i = 0; i < ids.Length; i++)
            if (ids[i] < skipTop) ids[i] = Vocabulary.OovId;
        return ids;
    }

    /// <summary>
    /// One split of IMDB index arrays in <paramref name="path"/> (an .npz of integer arrays): <c>y_&lt;split&gt;</c> [N] labels
    /// 0/1; <c>x_&lt;split&gt;</c> [N, L] word ranks, row i holding <c>x_&lt;split&gt;_lengths[i]</c> ranks followed by padding
    /// when that array is present, and otherwise every nonzero entry of the row (0 is never a word rank). Each row goes
    /// through <see cref="KerasIds"/> and then <paramref name="sequence"/>'s padding and truncation. Every array's shape
    /// and dtype is checked, and its data size against the archive, before reading; a Keras file with pickled lists is
    /// refused with how to convert it.
    /// </summary>
    public static EncodedTextDataset ReadNpz(string path, DatasetSplit split, int numWords = 20000, SequenceOptions? sequence = null, int skipTop = 0, int? maxPerClass = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        sequence ??= Defaults.Sequence;
        sequence.Check();
        if (numWords <= Vocabulary.FirstTokenId) throw new ArgumentException($"imdb: num_words {numWords} must exceed {Vocabulary.FirstTokenId}");
        if (skipTop < 0) throw new ArgumentException($"imdb: skip_top {skipTop} must be ≥ 0");
        string s = split == DatasetSplit.Train ? "train" : "test";
        using var npz = NpzArchive.Open(path);
        long[] y;
        using (var yr = npz.OpenArray($"y_{s}"))
        {
            if (yr.Header.Shape.Length != 1) throw new DatasetException(path, $"y_{s} has shape {yr.Header.ShapeText}; expected one label per review, (N,)");
            y = yr.ReadAllInt64();
        }
        for (int i = 0; i < y.Length; i++)
            if (y[i] is not (0 or 1)) throw new DatasetException(path, $"y_{s}[{i}] = {y[i]}; IMDB labels are 0 (neg) and 1 (pos)");
        using var xr = npz.OpenArray($"x_{s}");
        var xh = xr.Header;
        if (xh.Shape.Length != 2)
            throw new DatasetException(path, $"x_{s} has shape {xh.ShapeText}; expected [N, L] word ranks (convert Keras's file with tools/datasets/imdb_npz_convert.py)");
        if (xh.Shape[0] != y.Length) throw new DatasetException(path, $"x_{s} has {xh.Shape[0]} rows but y_{s} has {y.Length} labels");
        if (!xh.IsInteger) throw new DatasetException(path, $"x_{s} has dtype '{xh.Descr}'; expected integer word ranks");
        long width = xh.Shape[1];
        if (width > Array.MaxLength) throw new DatasetException(path, $"x_{s} rows of {width} are too long");
        long[]? lengths = null;
        if (npz.Contains($"x_{s}_lengths"))
        {
            using var lr = npz.OpenArray($"x_{s}_lengths");
            if (lr.Header.Shape.Length != 1 || lr.Header.Shape[0] != y.Length)
                throw new DatasetException(path, $"x_{s}_lengths has shape {lr.Header.ShapeText}; expected ({y.Length},)");
            lengths = lr.ReadAllInt64();
            for (int i = 0; i < lengths.Length; i++)
                if (lengths[i] < 0 || lengths[i] > width) throw new DatasetException(path, $"x_{s}_lengths[{i}] = {lengths[i]} is outside 0..{width}");
        }
        int n = y.Length;
        int t = sequence.MaxLength;
        var perClass = new int[2];
        var keptTokens = new List<int[]>();
        var keptLabels = new List<int>();
        long[]? all = xh.FortranOrder ? xr.ReadAllInt64() : null;
        var row = new long[width];
        var ranks = new List<long>((int)Math.Min(width, 4096));
        for (int i = 0; i < n; i++)
        {
            if (all is not null) all.AsSpan((int)(i * width), (int)width).CopyTo(row);
            else xr.ReadInt64(row);
            int label = (int)y[i];
            if (perClass[label] == (maxPerClass ?? int.MaxValue)) continue;
            perClass[label]++;
            ranks.Clear();
            int len = lengths is null ? (int)width : (int)lengths[i];
            for (int j = 0; j < len; j++)
            {
                long r = row[j];
                if (r == 0 && lengths is null) continue; // padding
                if (r < 1 || r > int.MaxValue - Vocabulary.FirstTokenId)
                    throw new DatasetException(path, $"x_{s}[{i}][{j}] = {r} is not a word rank (ranks start at 1{(lengths is null ? "" : "; 0 is padding and lies past the row's length")})");
                ranks.Add(r);
            }
            var ids = KerasIds(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ranks), numWords, skipTop, sequence.AddStart);
            keptTokens.Add(sequence.Fit(ids));
            keptLabels.Add(label);
        }
        var tokens = new int[keptTokens.Count * t];
        for (int i = 0; i < keptTokens.Count; i++) keptTokens[i].CopyTo(tokens, i * t);
        return new EncodedTextDataset(DatasetName, split, tokens, t, [.. keptLabels], ClassNames, numWords);
    }
}
