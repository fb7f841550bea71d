namespace VecQ.Datasets;

/// <summary>
/// Options of <see cref="TextDatasetCatalog.Load"/>; every null means the dataset's default
/// (<see cref="TextDatasetCatalog.Defaults"/>). A vocabulary passed to Load (eval, predict) fixes the tokenizer and the
/// sequence settings: the ones here are then ignored.
/// </summary>
/// <example><code>
/// var quick = new TextDataOptions { VocabularySize = 5000, MaxLength = 40, MaxPerClass = 500 };
/// var chinese = new TextDataOptions { Tokenizer = TokenizerMode.Chars, MaxLength = 200 };
/// </code></example>
public sealed record TextDataOptions
{
    /// <summary>Words or characters (null: words, characters for thucnews).</summary>
    public TokenizerMode? Tokenizer { get; init; }
    /// <summary>Lowercase before tokenizing (null: true).</summary>
    public bool? Lowercase { get; init; }
    /// <summary>Most ids, the 3 reserved ones included (Keras's num_words; null: 20000, 5000 for thucnews).</summary>
    public int? VocabularySize { get; init; }
    /// <summary>Ids per example (null: 100, 600 for thucnews).</summary>
    public int? MaxLength { get; init; }
    /// <summary>Padding side (null: pre, Keras's).</summary>
    public SequenceSide? Padding { get; init; }
    /// <summary>Truncation side (null: pre, Keras's).</summary>
    public SequenceSide? Truncating { get; init; }
    /// <summary>Start id 1 before each sequence (null: true for imdb, as Keras's imdb.load_data; false otherwise).</summary>
    public bool? AddStart { get; init; }
    /// <summary>IMDB index arrays: ids below this (after the offsets) become out-of-vocabulary, as Keras's skip_top (default 0).</summary>
    public int SkipTop { get; init; }
    /// <summary>Classes to read, in label order (null: all class folders, sorted; thucnews: see <see cref="ThucNews.TenClasses"/>).</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>Test fraction of a tree without train/ and test/ folders (default 0.2).</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Keep the first N examples of each class per split (a balanced subset for quick runs; null: all).</summary>
    public int? MaxPerClass { get; init; }
    /// <summary>File extensions of text files (null: ".txt"; empty: every file).</summary>
    public IReadOnlyList<string>? Extensions { get; init; }
    /// <summary>File size and count limits.</summary>
    public TextLimits Limits { get; init; } = new();
}

/// <summary>The settings a text dataset is read with when the options leave them open.</summary>
/// <param name="Tokenizer">The tokenizer.</param>
/// <param name="VocabularySize">Most ids, reserved ones included.</param>
/// <param name="Sequence">Fixed-length encoding.</param>
public sealed record TextDatasetDefaults(TextTokenizer Tokenizer, int VocabularySize, SequenceOptions Sequence);

/// <summary>
/// A text dataset ready to batch: the encoded splits, the vocabulary that encoded them (save it beside the checkpoint),
/// and where the data came from.
/// </summary>
public sealed class TextData
{
    internal TextData(string name, string format, string location, EncodedTextDataset? train, EncodedTextDataset test, Vocabulary? vocabulary)
    {
        Name = name;
        Format = format;
        Location = location;
        Train = train;
        Test = test;
        Vocabulary = vocabulary;
    }

    /// <summary>The canonical dataset name ("imdb", "thucnews", "textfolder").</summary>
    public string Name { get; }
    /// <summary>"aclImdb" (review folders), "npz" (Keras's index arrays) or "textfolder" (class-per-folder text).</summary>
    public string Format { get; }
    /// <summary>The folder or file read.</summary>
    public string Location { get; }
    /// <summary>The training split (null when only the test split was asked for).</summary>
    public EncodedTextDataset? Train { get; }
    /// <summary>The test split.</summary>
    public EncodedTextDataset Test { get; }
    /// <summary>The vocabulary (built on the training split, or the one passed in); null for Keras's index arrays, which come encoded.</summary>
    public Vocabulary? Vocabulary { get; }
    /// <summary>Class names; labels index into this list.</summary>
    public IReadOnlyList<string> ClassNames => Test.ClassNames;
    /// <summary>Every id is below this: the embedding's input size.</summary>
    public int VocabularySize => Test.VocabularySize;
    /// <summary>Ids per example.</summary>
    public int SequenceLength => Test.SequenceLength;

    /// <summary>E.g. "imdb (aclImdb, /data/aclImdb): train 25000, test 25000 sequences of 100 ids, vocabulary 20000, 2 classes".</summary>
    public override string ToString() =>
        $"{Name} ({Format}, {Location}): {(Train is null ? "" : $"train {Train.Count}, ")}test {Test.Count} sequences of {SequenceLength} ids, vocabulary {VocabularySize}, {ClassNames.Count} classes";
}
