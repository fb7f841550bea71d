namespace VecQ.Datasets;

/// <summary>Which end of a sequence padding or truncation applies to (Keras's <c>'pre'</c> and <c>'post'</c>).</summary>
public enum SequenceSide
{
    /// <summary>At the start: padding goes before the tokens; truncation drops the first tokens (keeps the last ones).</summary>
    Pre,
    /// <summary>At the end: padding goes after the tokens; truncation drops the last tokens (keeps the first ones).</summary>
    Post,
}

/// <summary>
/// How a token-id sequence becomes a fixed-length row, as Keras's <c>pad_sequences(maxlen, padding, truncating, value=0)</c>
/// (defaults: pre-padding and pre-truncation, so a long text keeps its last <see cref="MaxLength"/> tokens and a short
/// one is right-aligned after zeros), with an optional start id in front as Keras's IMDB data has.
/// </summary>
/// <example><code>
/// var keras = new SequenceOptions { MaxLength = 100 };                                   // pre, pre
/// var post = new SequenceOptions { MaxLength = 600, Padding = SequenceSide.Post, Truncating = SequenceSide.Post };
/// int[] row = keras.Fit([5, 6, 7]);                                                      // 97 zeros, then 5 6 7
/// </code></example>
public sealed record SequenceOptions
{
    /// <summary>Tokens per row (default 100, the IMDB model's).</summary>
    public int MaxLength { get; init; } = 100;
    /// <summary>Where the padding id 0 goes when a sequence is shorter (default <see cref="SequenceSide.Pre"/>, Keras's).</summary>
    public SequenceSide Padding { get; init; } = SequenceSide.Pre;
    /// <summary>Which tokens are dropped when a sequence is longer (default <see cref="SequenceSide.Pre"/>: the first ones, Keras's).</summary>
    public SequenceSide Truncating { get; init; } = SequenceSide.Pre;
    /// <summary>Put the start id (<see cref="Vocabulary.StartId"/> = 1) before the tokens, before truncation (Keras's
    /// <c>imdb.load_data(start_char=1)</c>); default false.</summary>
    public bool AddStart { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> when <see cref="MaxLength"/> is not positive.</summary>
    public void Check()
    {
        if (MaxLength < 1) throw new ArgumentException($"sequence: max length {MaxLength} must be at least 1");
        if (!Enum.IsDefined(Padding) || !Enum.IsDefined(Truncating)) throw new ArgumentException($"sequence: padding {Padding} / truncating {Truncating} must be Pre or Post");
    }

    /// <summary>The ids as one row of <see cref="MaxLength"/> ids.</summary>
    public int[] Fit(ReadOnlySpan<int> ids)
    {
        var row = new int[MaxLength];
        Fit(ids, row);
        return row;
    }

    /// <summary>
    /// Writes <paramref name="ids"/> into <paramref name="row"/> (length <see cref="MaxLength"/>): truncated as
    /// <see cref="Truncating"/> says, padded with 0 as <see cref="Padding"/> says. (<see cref="AddStart"/> is applied by
    /// whoever makes the ids: <see cref="Vocabulary.Ids"/>.)
    /// </summary>
    public void Fit(ReadOnlySpan<int> ids, Span<int> row)
    {
        if (row.Length != MaxLength) throw new ArgumentException($"sequence: row has {row.Length} slots, max length is {MaxLength}", nameof(row));
        var kept = ids.Length <= MaxLength ? ids
            : Truncating == SequenceSide.Pre ? ids[^MaxLength..] : ids[..MaxLength];
        row.Clear();
        kept.CopyTo(Padding == SequenceSide.Pre ? row[(MaxLength - kept.Length)..] : row);
    }

    /// <summary>"pre" or "post".</summary>
    public static string SideName(SequenceSide side) => side switch
    {
        SequenceSide.Pre => "pre",
        SequenceSide.Post => "post",
        _ => throw new ArgumentOutOfRangeException(nameof(side), side, "unknown side"),
    };

    /// <summary>"pre" or "post" (case-insensitive).</summary>
    public static SequenceSide ParseSide(string side)
    {
        ArgumentNullException.ThrowIfNull(side);
        return side.Trim().ToLowerInvariant() switch
        {
            "pre" => SequenceSide.Pre,
            "post" => SequenceSide.Post,
            _ => throw new ArgumentException($"unknown padding/truncating side '{side}' (known: pre, post)", nameof(side)),
        };
    }
}
