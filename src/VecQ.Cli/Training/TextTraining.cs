using VecQ.Datasets;

namespace VecQ.Cli.Training;

/// <summary>
/// The text side of `vecq train`, `eval` and `predict`: loading a text dataset for a text model (the model's
/// reference sequence length and vocabulary size unless given, characters for thucnews) and the vocabulary file
/// written beside the checkpoints, which eval and predict read back.
/// </summary>
internal static class TextTraining
{
    /// <summary>The vocabulary's file name in the run folder (beside last/best.safetensors).</summary>
    public const string VocabularyFile = "vocabulary.json";

    /// <summary>
    /// Loads <paramref name="dataset"/> for <paramref name="model"/>. A given <paramref name="vocabulary"/> fixes the
    /// tokenizer, size and sequence options (eval, predict); otherwise one is built on the training split.
    /// </summary>
    public static TextData Load(string model, string dataset, DataLocator locator, int? vocabSize, int? seqLen, string? tokenizer, Vocabulary? vocabulary, bool train)
    {
        var (v, t) = ModelFactory.DefaultText(model);
        var options = new TextDataOptions
        {
            VocabularySize = vocabSize ?? v,
            MaxLength = seqLen ?? t,
            Tokenizer = ParseTokenizer(tokenizer) ?? (model == "thucnews" ? TokenizerMode.Chars : null),
        };
        return TextDatasetCatalog.Load(dataset, locator, options, vocabulary, train);
    }

    /// <summary>words or chars (null: the dataset's default).</summary>
    public static TokenizerMode? ParseTokenizer(string? name) => name switch
    {
        null => null,
        "words" => TokenizerMode.Words,
        "chars" => TokenizerMode.Chars,
        _ => throw new OptionException($"--tokenizer '{name}': expected words or chars"),
    };

    /// <summary>
    /// The vocabulary a checkpoint was trained with: <see cref="VocabularyFile"/> beside it, checked against the
    /// model's embedding size (every id must have a row) and sequence length; null when the run had none (data that came encoded, such as
    /// imdb_int32.npz) and <paramref name="required"/> is false.
    /// </summary>
    public static Vocabulary? LoadFor(string checkpoint, ModelFactory.ModelConfig config, VecQ.Nn.CheckpointMetadata meta, bool required)
    {
        if (!required && !meta.Extra.ContainsKey("vocabulary")) return null;
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint)) ?? ".", VocabularyFile);
        if (!File.Exists(path))
            throw new InvalidDataException($"{checkpoint}: text model {config.Model} needs its vocabulary {path} (vecq train writes it beside the checkpoints)");
        var vocab = Vocabulary.Load(path);
        if (vocab.Count > config.Sizes["vocab"] || vocab.Sequence.MaxLength != config.Sizes["seq_len"])
            throw new InvalidDataException($"{path}: vocabulary of {vocab.Count} ids over sequences of {vocab.Sequence.MaxLength} does not match {checkpoint}'s model " +
                $"({config.Sizes["vocab"]} embedding rows, sequences of {config.Sizes["seq_len"]})");
        return vocab;
    }

    /// <summary>
    /// Puts the vocabulary of <paramref name="checkpoint"/> beside <paramref name="dest"/> (a packed export), so eval
    /// and predict find it there; an identical file already there is kept, a different one is an error (never overwritten).
    /// </summary>
    public static void CopyVocabulary(string checkpoint, string dest, VecQ.Nn.CheckpointMetadata meta)
    {
        if (!meta.Extra.ContainsKey("vocabulary")) return;
        string src = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint)) ?? ".", VocabularyFile);
        string dst = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dest)) ?? ".", VocabularyFile);
        if (!File.Exists(src)) throw new InvalidDataException($"{checkpoint}: its vocabulary {src} is missing (vecq train writes it beside the checkpoints)");
        if (Path.GetFullPath(src) == Path.GetFullPath(dst)) return;
        byte[] bytes = File.ReadAllBytes(src);
        if (File.Exists(dst))
        {
            if (File.ReadAllBytes(dst).AsSpan().SequenceEqual(bytes)) return;
            throw new OptionException($"--out {dest}: {dst} already holds a different vocabulary; export text models of different runs to different folders");
        }
        string tmp = dst + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, dst, overwrite: true);
    }
}
