using System.Globalization;
using System.Text;

namespace VecQ.Datasets;

/// <summary>How <see cref="TextTokenizer"/> cuts text into tokens.</summary>
public enum TokenizerMode
{
    /// <summary>
    /// Words with punctuation split off (English): a token is a maximal run of letters, combining marks and digits
    /// (Unicode categories L*, M*, N*), or any other single non-space character (punctuation, symbols).
    /// </summary>
    Words,
    /// <summary>Characters (Chinese): every Unicode text element (grapheme cluster) that is not white space is a token.</summary>
    Chars,
}

/// <summary>
/// Turns a text into tokens, the same way for building a <see cref="Vocabulary"/>, encoding a dataset and encoding the
/// text given to <c>vecq predict</c>. The steps, in order:
/// <list type="number">
/// <item>with <see cref="RemoveHtmlBreaks"/>: every <c>&lt;br /&gt;</c>, <c>&lt;br/&gt;</c> and <c>&lt;br&gt;</c> (ASCII case ignored)
/// becomes a space (the aclImdb reviews carry them; <see cref="StripHtmlBreaks"/>);</item>
/// <item>with <see cref="Lowercase"/>: <see cref="string.ToLowerInvariant"/>;</item>
/// <item><see cref="TokenizerMode.Words"/>: white space (<see cref="Rune.IsWhiteSpace"/>) separates tokens; a token is a
/// maximal run of letters, combining marks and digits (Unicode general categories L*, M*, N*), and every other
/// character (punctuation, symbols) is a token of its own. So "Don't stop—it's 10/10!" gives
/// <c>don ' t stop — it ' s 10 / 10 !</c>, close to torchtext's <c>basic_english</c> (which also splits off
/// <c>' . , ( ) ! ?</c>) but with every punctuation mark kept as a token rather than some dropped;</item>
/// <item><see cref="TokenizerMode.Chars"/>: each Unicode text element (<see cref="StringInfo"/>'s grapheme clusters: a
/// character with its combining marks, a surrogate pair) is a token, white space dropped: "中文 ok" gives 中 文 o k;</item>
/// <item>in both modes control and format characters (Unicode Cc, Cf: zero-width joiners, byte-order marks) and unpaired
/// surrogates are dropped like white space.</item>
/// </list>
/// </summary>
/// <example><code>
/// var words = new TextTokenizer(TokenizerMode.Words);               // lowercase by default
/// IReadOnlyList&lt;string&gt; t = words.Tokenize("A gem!&lt;br /&gt;Really.");  // a gem ! really .
/// var chars = new TextTokenizer(TokenizerMode.Chars);
/// chars.Tokenize("床前明月光");                                          // 床 前 明 月 光
/// </code></example>
public sealed record TextTokenizer(TokenizerMode Mode, bool Lowercase = true, bool RemoveHtmlBreaks = false)
{
    /// <summary>The option spellings: "words" or "chars" (case-insensitive; "word", "char", "characters" accepted).</summary>
    public static TokenizerMode ParseMode(string mode)
    {
        ArgumentNullException.ThrowIfNull(mode);
        return mode.Trim().ToLowerInvariant() switch
        {
            "words" or "word" => TokenizerMode.Words,
            "chars" or "char" or "characters" => TokenizerMode.Chars,
            _ => throw new ArgumentException($"unknown tokenizer mode '{mode}' (known: words, chars)", nameof(mode)),
        };
    }

    /// <summary>"words" or "chars": the spelling used in options and in vocabulary files.</summary>
    public static string ModeName(TokenizerMode mode) => mode switch
    {
        TokenizerMode.Words => "words",
        TokenizerMode.Chars => "chars",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown tokenizer mode"),
    };

    /// <summary>The tokens of <paramref name="text"/>, in order.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var prepared = Prepare(text);
        var ranges = new List<(int Start, int Length)>();
        Split(prepared, ranges);
        var tokens = new string[ranges.Count];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = prepared.Substring(ranges[i].Start, ranges[i].Length);
        return tokens;
    }

    /// <summary>Steps 1 and 2: the HTML breaks removed (when asked) and lowercased (when asked).</summary>
    internal string Prepare(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (RemoveHtmlBreaks) text = StripHtmlBreaks(text);
        return Lowercase ? text.ToLowerInvariant() : text;
    }

    /// <summary>Appends the (start, length) of every token of <paramref name="prepared"/> (the output of <see cref="Prepare"/>).</summary>
    internal void Split(string prepared, List<(int Start, int Length)> into)
    {
        var s = prepared.AsSpan();
        if (Mode == TokenizerMode.Chars)
        {
            int i = 0;
            while (i < s.Length)
            {
                int n = StringInfo.GetNextTextElementLength(s[i..]);
                if (n <= 0) n = 1;
                Rune.DecodeFromUtf16(s[i..], out var first, out int used);
                if (used > 0 && Kind(first, s[i]) != CharKind.Skip) into.Add((i, n));
                i += n;
            }
            return;
        }
        int wordStart = -1;
        for (int i = 0; i < s.Length;)
        {
            Rune.DecodeFromUtf16(s[i..], out var r, out int used);
            if (used <= 0) used = 1;
            var kind = Kind(r, s[i]);
            if (kind == CharKind.Word)
            {
                if (wordStart < 0) wordStart = i;
            }
            else
            {
                if (wordStart >= 0)
                {
                    into.Add((wordStart, i - wordStart));
                    wordStart = -1;
                }
                if (kind == CharKind.Symbol) into.Add((i, used));
            }
            i += used;
        }
        if (wordStart >= 0) into.Add((wordStart, s.Length - wordStart));
    }

    private enum CharKind { Skip, Word, Symbol }

    private static CharKind Kind(Rune r, char first)
    {
        if (r == Rune.ReplacementChar && first != '\uFFFD') return CharKind.Skip; // an unpaired surrogate
        if (Rune.IsWhiteSpace(r)) return CharKind.Skip;
        var cat = Rune.GetUnicodeCategory(r);
        return cat switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate => CharKind.Skip,
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharKind.Word,
            _ => CharKind.Symbol,
        };
    }

    /// <summary>
    /// <paramref name="text"/> with every HTML line break (<c>&lt;br /&gt;</c>, <c>&lt;br/&gt;</c>, <c>&lt;br&gt;</c>, ASCII case
    /// ignored) replaced by one space: how the aclImdb reviews are cleaned (Keras and torchtext do the same).
    /// </summary>
    public static string StripHtmlBreaks(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int at = text.IndexOf("<br", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return text;
        var sb = new StringBuilder(text.Length);
        int from = 0;
        while (at >= 0)
        {
            int end = -1;
            if (at + 3 < text.Length)
            {
                int j = at + 3;
                if (text[j] == ' ' && j + 1 < text.Length && text[j + 1] == '/') j += 2;
                else if (text[j] == '/') j += 1;
                if (j < text.Length && text[j] == '>') end = j + 1;
            }
            if (end < 0)
            {
                at = text.IndexOf("<br", at + 3, StringComparison.OrdinalIgnoreCase);
                continue;
            }
            sb.Append(text, from, at - from).Append(' ');
            from = end;
            at = text.IndexOf("<br", end, StringComparison.OrdinalIgnoreCase);
        }
        sb.Append(text, from, text.Length - from);
        return sb.ToString();
    }
}
