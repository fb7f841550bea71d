namespace VecQ.Datasets;

/// <summary>
/// A text-classification dataset as <see cref="TextLoader"/> batches it: every example a row of
/// <see cref="SequenceLength"/> token ids (int32, each in 0 .. <see cref="VocabularySize"/>−1, 0 = padding) and an integer label.
/// Implemented by <see cref="EncodedTextDataset"/>.
/// </summary>
public interface ITextDataset
{
    /// <summary>The dataset's name ("imdb", "thucnews", "textfolder").</summary>
    string Name { get; }
    /// <summary>The split.</summary>
    DatasetSplit Split { get; }
    /// <summary>Number of examples.</summary>
    int Count { get; }
    /// <summary>Ids per example (the T of a [B, T] batch).</summary>
    int SequenceLength { get; }
    /// <summary>Every id is below this: the input size of the model's embedding.</summary>
    int VocabularySize { get; }
    /// <summary>Class names; labels index into this list.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>The label of example <paramref name="index"/>.</summary>
    int Label(int index);
    /// <summary>The <see cref="SequenceLength"/> ids of example <paramref name="index"/>.</summary>
    ReadOnlySpan<int> Tokens(int index);
}

/// <summary>
/// Token-id rows in memory ([N, T] int32, row-major) with labels: a text corpus encoded with a <see cref="Vocabulary"/>
/// (<see cref="Encode"/>), or Keras's IMDB index arrays (<see cref="ImdbDataset"/>).
/// </summary>
/// <example><code>
/// var train = EncodedTextDataset.Encode(corpus, vocab);   // [N, vocab.Sequence.MaxLength]
/// ReadOnlySpan&lt;int&gt; first = train.Tokens(0);
/// </code></example>
public sealed class EncodedTextDataset : ITextDataset
{
    private readonly int[] _tokens;
    private readonly int[] _labels;

    /// <summary>
    /// Wraps <paramref name="tokens"/> ([labels.Length × <paramref name="sequenceLength"/>], row-major) and
    /// <paramref name="labels"/> (not copied). Every id must be in 0 .. <paramref name="vocabularySize"/>−1 and every label a class index.
    /// </summary>
    public EncodedTextDataset(string name, DatasetSplit split, int[] tokens, int sequenceLength, int[] labels, IReadOnlyList<string> classNames, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (sequenceLength < 1) throw new ArgumentException($"{name}: sequence length {sequenceLength} must be at least 1");
        if ((long)labels.Length * sequenceLength != tokens.Length)
            throw new ArgumentException($"{name}: {tokens.Length} token ids do not make {labels.Length} rows of {sequenceLength}");
        if (classNames.Count < 1) throw new ArgumentException($"{name}: no classes");
        if (vocabularySize < 1) throw new ArgumentException($"{name}: vocabulary size {vocabularySize} must be at least 1");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"{name}: label {labels[i]} of example {i} is outside 0..{classNames.Count - 1}");
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabularySize)
                throw new ArgumentException($"{name}: id {tokens[i]} of example {i / sequenceLength} is outside 0..{vocabularySize - 1}");
        Name = name;
        Split = split;
        _tokens = tokens;
        _labels = labels;
        SequenceLength = sequenceLength;
        ClassNames = classNames;
        VocabularySize = vocabularySize;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <inheritdoc/>
    public DatasetSplit Split { get; }
    /// <inheritdoc/>
    public int Count => _labels.Length;
    /// <inheritdoc/>
    public int SequenceLength { get; }
    /// <inheritdoc/>
    public int VocabularySize { get; }
    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>All rows, [Count, SequenceLength] row-major.</summary>
    public ReadOnlySpan<int> TokenArray => _tokens;
    /// <summary>All labels.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <inheritdoc/>
    public int Label(int index) => _labels[index];

    /// <inheritdoc/>
    public ReadOnlySpan<int> Tokens(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _tokens.AsSpan(index * SequenceLength, SequenceLength);
    }

    /// <summary>Examples per class.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassNames.Count];
        foreach (int l in _labels) counts[l]++;
        return counts;
    }

    /// <summary>E.g. "imdb train: 25000 sequences of 100 ids (vocabulary 20000) in 2 classes".</summary>
    public override string ToString() =>
        $"{Name} {Split.ToString().ToLowerInvariant()}: {Count} sequences of {SequenceLength} ids (vocabulary {VocabularySize}) in {ClassNames.Count} classes";

    /// <summary>
    /// Reads every text of <paramref name="corpus"/> (the first <paramref name="limit"/> when given) and encodes it with
    /// <paramref name="vocabulary"/> (<see cref="Vocabulary.Encode(string, Span{int})"/>): rows of
    /// <see cref="SequenceOptions.MaxLength"/> ids, vocabulary size <see cref="Vocabulary.Count"/>.
    /// </summary>
    public static EncodedTextDataset Encode(ITextCorpus corpus, Vocabulary vocabulary, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (limit is < 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit must be ≥ 0");
        int n = Math.Min(corpus.Count, limit ?? int.MaxValue);
        int t = vocabulary.Sequence.MaxLength;
        if ((long)n * t > Array.MaxLength) throw new ArgumentException($"{corpus.Name}: {n} texts × {t} ids do not fit in one array; lower the sequence length or use a limit");
        var tokens = new int[n * t];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            vocabulary.Encode(corpus.Text(i), tokens.AsSpan(i * t, t));
            labels[i] = corpus.Label(i);
        }
        return new EncodedTextDataset(corpus.Name, corpus.Split, tokens, t, labels, corpus.ClassNames, vocabulary.Count);
    }
}
