using System.Text.Encodings.Web;
using System.Text.Json;

namespace VecQ.Datasets;

/// <summary>
/// The token ↔ id table of a text model, with the tokenizer and the fixed-length encoding it was built for, so that
/// eval and predict turn text into exactly the ids training saw.
/// <para>Ids follow Keras's IMDB data (<c>imdb.load_data(start_char=1, oov_char=2, index_from=3)</c>):
/// 0 = padding (<see cref="PadId"/>), 1 = start of a sequence (<see cref="StartId"/>, only with
/// <see cref="SequenceOptions.AddStart"/>), 2 = out of vocabulary (<see cref="OovId"/>), and the tokens from
/// <see cref="FirstTokenId"/> = 3 on, most frequent first. <see cref="MaxSize"/> counts the three reserved ids, as Keras's
/// <c>num_words</c> does: a vocabulary of max size 20000 holds at most 19997 tokens and every id is below 20000, so
/// <c>Embedding(<see cref="Count"/>, d)</c> covers it. (Unlike Keras, id 3 is a real token: Keras's word ranks start at 1,
/// which leaves its id 3 unused.)</para>
/// <para>Built on the training split only (<see cref="Build"/>): the tokens are counted over every text, sorted by count,
/// descending, ties by first occurrence (the order Keras's <c>Tokenizer</c> gives), and the first
/// <see cref="MaxSize"/> − 3 kept.</para>
/// <para>Saved as JSON (<see cref="Save"/>, written to a temporary file then renamed) beside the checkpoint:</para>
/// <code>
/// { "format": "vecq-vocabulary", "version": 1, "dataset": "imdb",
///   "tokenizer": { "mode": "words", "lowercase": true, "remove_html_breaks": true },
///   "sequence": { "max_length": 100, "padding": "pre", "truncating": "pre", "add_start": false },
///   "max_size": 20000, "reserved": { "pad": 0, "start": 1, "oov": 2, "index_from": 3 },
///   "tokens": [ "the", ",", ".", "and", … ] }      // tokens[i] has id 3 + i
/// </code>
/// <para><see cref="Load"/> checks all of it: a file that is not JSON, another format or version, a missing or mistyped
/// field, a duplicate token, a token the tokenizer would not produce as one token, more tokens than the max size, or a
/// tokenizer mode other than the one expected is a <see cref="DatasetException"/> naming the file and the problem.</para>
/// </summary>
/// <example><code>
/// var vocab = Vocabulary.Build(trainTexts, new TextTokenizer(TokenizerMode.Words), maxSize: 20000, new SequenceOptions { MaxLength = 100 });
/// vocab.Save(Path.Combine(runDir, "vocabulary.json"));
/// var again = Vocabulary.Load(Path.Combine(runDir, "vocabulary.json"), TokenizerMode.Words);
/// int[] row = again.Encode("A gem of a film.");          // 100 ids, pre-padded
/// </code></example>
public sealed class Vocabulary
{
    /// <summary>The padding id (Keras's pad_sequences value).</summary>
    public const int PadId = 0;
    /// <summary>The start-of-sequence id (Keras's start_char).</summary>
    public const int StartId = 1;
    /// <summary>The id of a token outside the vocabulary (Keras's oov_char).</summary>
    public const int OovId = 2;
    /// <summary>The id of the most frequent token (Keras's index_from).</summary>
    public const int FirstTokenId = 3;
    /// <summary>The "format" value of a vocabulary file.</summary>
    public const string FormatName = "vecq-vocabulary";
    /// <summary>The file version this build writes and reads.</summary>
    public const int FormatVersion = 1;
    /// <summary>Largest vocabulary file <see cref="Load"/> reads.</summary>
    public const long MaxFileBytes = 512L << 20;

    private static readonly string[] Reserved = ["<pad>", "<start>", "<oov>"];

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>
    /// A vocabulary with <paramref name="tokens"/> at ids 3, 4, … (no duplicates; each one token under
    /// <paramref name="tokenizer"/>). Most code calls <see cref="Build"/> or <see cref="Load"/> instead.
    /// </summary>
    public Vocabulary(IEnumerable<string> tokens, TextTokenizer tokenizer, int maxSize, SequenceOptions? sequence = null, string? dataset = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(tokenizer);
        sequence ??= new SequenceOptions();
        sequence.Check();
        _tokens = tokens.ToArray();
        string? problem = Validate(_tokens, tokenizer, maxSize, out _ids);
        if (problem is not null) throw new ArgumentException($"vocabulary: {problem}");
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        Tokenizer = tokenizer;
        MaxSize = maxSize;
        Sequence = sequence;
        Dataset = dataset;
    }

    /// <summary>The tokenizer texts go through.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>How token ids become fixed-length rows.</summary>
    public SequenceOptions Sequence { get; }
    /// <summary>The most ids this vocabulary may hold, the three reserved ones included (Keras's num_words).</summary>
    public int MaxSize { get; }
    /// <summary>The dataset it was built on (informative; null when not known).</summary>
    public string? Dataset { get; }
    /// <summary>The tokens in id order: Tokens[i] has id 3 + i.</summary>
    public IReadOnlyList<string> Tokens => _tokens;
    /// <summary>Number of ids in use, reserved ones included (3 + Tokens.Count ≤ <see cref="MaxSize"/>): the embedding's input size.</summary>
    public int Count => FirstTokenId + _tokens.Length;

    /// <summary>The id of <paramref name="token"/> (as the tokenizer produces it), or <see cref="OovId"/>.</summary>
    public int IdOf(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _ids.TryGetValue(token, out int id) ? id : OovId;
    }

    /// <summary>The token of <paramref name="id"/>; the reserved ids give "&lt;pad&gt;", "&lt;start&gt;", "&lt;oov&gt;".</summary>
    public string TokenOf(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, Count);
        return id < FirstTokenId ? Reserved[id] : _tokens[id - FirstTokenId];
    }

    /// <summary>The ids of <paramref name="text"/>'s tokens (unknown ones <see cref="OovId"/>), after <see cref="StartId"/> when
    /// <see cref="SequenceOptions.AddStart"/>; not padded or truncated.</summary>
    public int[] Ids(string text)
    {
        var prepared = Tokenizer.Prepare(text);
        var ranges = new List<(int Start, int Length)>();
        Tokenizer.Split(prepared, ranges);
        int start = Sequence.AddStart ? 1 : 0;
        var ids = new int[start + ranges.Count];
        if (start == 1) ids[0] = StartId;
        var s = prepared.AsSpan();
        for (int i = 0; i < ranges.Count; i++)
            ids[start + i] = _lookup.TryGetValue(s.Slice(ranges[i].Start, ranges[i].Length), out int id) ? id : OovId;
        return ids;
    }

    /// <summary><paramref name="text"/> as one row of <see cref="SequenceOptions.MaxLength"/> ids (<see cref="Ids"/>, then <see cref="SequenceOptions.Fit(ReadOnlySpan{int}, Span{int})"/>).</summary>
    public int[] Encode(string text) => Sequence.Fit(Ids(text));

    /// <summary>Writes <paramref name="text"/>'s row into <paramref name="row"/> (length <see cref="SequenceOptions.MaxLength"/>).</summary>
    public void Encode(string text, Span<int> row) => Sequence.Fit(Ids(text), row);

    /// <summary>
    /// Counts the tokens of <paramref name="trainingTexts"/> (enumerated once, in order) and keeps the
    /// <paramref name="maxSize"/> − 3 most frequent, ties by first occurrence.
    /// </summary>
    public static Vocabulary Build(IEnumerable<string> trainingTexts, TextTokenizer tokenizer, int maxSize, SequenceOptions? sequence = null, string? dataset = null)
    {
        ArgumentNullException.ThrowIfNull(trainingTexts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxSize <= FirstTokenId) throw new ArgumentException($"vocabulary: max size {maxSize} must exceed the {FirstTokenId} reserved ids");
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = slots.GetAlternateLookup<ReadOnlySpan<char>>();
        var counts = new List<long>();
        var ranges = new List<(int Start, int Length)>();
        foreach (var text in trainingTexts)
        {
            var prepared = tokenizer.Prepare(text);
            ranges.Clear();
            tokenizer.Split(prepared, ranges);
            var s = prepared.AsSpan();
            foreach (var (start, length) in ranges)
            {
                var token = s.Slice(start, length);
                if (lookup.TryGetValue(token, out int slot)) counts[slot]++;
                else
                {
                    lookup[token] = counts.Count; // slot numbers are first-occurrence order
                    counts.Add(1);
                }
            }
        }
        var bySlot = new string[counts.Count];
        foreach (var (token, slot) in slots) bySlot[slot] = token;
        var order = Enumerable.Range(0, counts.Count).ToArray();
        Array.Sort(order, (a, b) => counts[a] != counts[b] ? counts[b].CompareTo(counts[a]) : a.CompareTo(b));
        int keep = Math.Min(order.Length, maxSize - FirstTokenId);
        return new Vocabulary(order.Take(keep).Select(i => bySlot[i]), tokenizer, maxSize, sequence, dataset);
    }

    /// <summary>The JSON text <see cref="Save"/> writes.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        WriteJson(ms);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes the vocabulary to <paramref name="path"/> as JSON: to a temporary file beside it, then renamed over it.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                WriteJson(f);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("format", FormatName);
        w.WriteNumber("version", FormatVersion);
        if (Dataset is null) w.WriteNull("dataset"); else w.WriteString("dataset", Dataset);
        w.WriteStartObject("tokenizer");
        w.WriteString("mode", TextTokenizer.ModeName(Tokenizer.Mode));
        w.WriteBoolean("lowercase", Tokenizer.Lowercase);
        w.WriteBoolean("remove_html_breaks", Tokenizer.RemoveHtmlBreaks);
        w.WriteEndObject();
        w.WriteStartObject("sequence");
        w.WriteNumber("max_length", Sequence.MaxLength);
        w.WriteString("padding", SequenceOptions.SideName(Sequence.Padding));
        w.WriteString("truncating", SequenceOptions.SideName(Sequence.Truncating));
        w.WriteBoolean("add_start", Sequence.AddStart);
        w.WriteEndObject();
        w.WriteNumber("max_size", MaxSize);
        w.WriteStartObject("reserved");
        w.WriteNumber("pad", PadId);
        w.WriteNumber("start", StartId);
        w.WriteNumber("oov", OovId);
        w.WriteNumber("index_from", FirstTokenId);
        w.WriteEndObject();
        w.WriteStartArray("tokens");
        foreach (var t in _tokens) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Reads a vocabulary file written by <see cref="Save"/>, checking everything (see the class remarks). With
    /// <paramref name="expectedMode"/>, a file built for the other tokenizer mode is refused.
    /// </summary>
    public static Vocabulary Load(string path, TokenizerMode? expectedMode = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such vocabulary file", path);
        if (info.Length > MaxFileBytes) throw new DatasetException(path, $"vocabulary file is {info.Length} bytes, over the limit of {MaxFileBytes}");
        return FromJson(File.ReadAllBytes(path), path, expectedMode);
    }

    /// <summary>Parses vocabulary JSON (UTF-8) read from <paramref name="source"/> (named in errors).</summary>
    public static Vocabulary FromJson(ReadOnlySpan<byte> json, string source, TokenizerMode? expectedMode = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new DatasetException(source, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(source, $"a vocabulary file holds one JSON object, found {root.ValueKind}");
            string format = String(root, "format", source);
            if (format != FormatName) throw Bad(source, $"not a VecQ vocabulary file (\"format\" is \"{format}\", expected \"{FormatName}\")");
            int version = Int(root, "version", source);
            if (version != FormatVersion) throw Bad(source, $"vocabulary version {version} is not supported (this build reads version {FormatVersion})");
            string? dataset = root.TryGetProperty("dataset", out var ds) && ds.ValueKind == JsonValueKind.String ? ds.GetString() : null;

            var tok = Object(root, "tokenizer", source);
            string modeName = String(tok, "mode", source, "tokenizer.");
            TokenizerMode mode;
            try { mode = TextTokenizer.ParseMode(modeName); }
            catch (ArgumentException) { throw Bad(source, $"unknown tokenizer mode \"{modeName}\" (known: words, chars)"); }
            if (expectedMode is { } want && want != mode)
                throw Bad(source, $"tokenizer mode is \"{TextTokenizer.ModeName(mode)}\" but \"{TextTokenizer.ModeName(want)}\" is expected: the vocabulary was built for another tokenizer or dataset");
            var tokenizer = new TextTokenizer(mode, Bool(tok, "lowercase", source, "tokenizer."), Bool(tok, "remove_html_breaks", source, "tokenizer."));

            var seq = Object(root, "sequence", source);
            int maxLength = Int(seq, "max_length", source, "sequence.");
            if (maxLength < 1) throw Bad(source, $"\"sequence.max_length\" is {maxLength}; it must be at least 1");
            SequenceSide Side(string name)
            {
                string v = String(seq, name, source, "sequence.");
                try { return SequenceOptions.ParseSide(v); }
                catch (ArgumentException) { throw Bad(source, $"\"sequence.{name}\" is \"{v}\"; expected \"pre\" or \"post\""); }
            }
            var sequence = new SequenceOptions { MaxLength = maxLength, Padding = Side("padding"), Truncating = Side("truncating"), AddStart = Bool(seq, "add_start", source, "sequence.") };

            int maxSize = Int(root, "max_size", source);
            var reserved = Object(root, "reserved", source);
            int pad = Int(reserved, "pad", source, "reserved."), start = Int(reserved, "start", source, "reserved."),
                oov = Int(reserved, "oov", source, "reserved."), from = Int(reserved, "index_from", source, "reserved.");
            if (pad != PadId || start != StartId || oov != OovId || from != FirstTokenId)
                throw Bad(source, $"reserved ids pad {pad}, start {start}, oov {oov}, index_from {from} differ from this build's (pad {PadId}, start {StartId}, oov {OovId}, index_from {FirstTokenId})");

            if (!root.TryGetProperty("tokens", out var arr)) throw Bad(source, "\"tokens\" is missing");
            if (arr.ValueKind != JsonValueKind.Array) throw Bad(source, $"\"tokens\" must be an array of strings, found {arr.ValueKind}");
            var tokens = new string[arr.GetArrayLength()];
            int i = 0;
            foreach (var t in arr.EnumerateArray())
            {
                if (t.ValueKind != JsonValueKind.String) throw Bad(source, $"tokens[{i}] (id {FirstTokenId + i}) is {t.ValueKind}, not a string");
                tokens[i++] = t.GetString()!;
            }
            string? problem = Validate(tokens, tokenizer, maxSize, out _);
            if (problem is not null) throw Bad(source, problem);
            return new Vocabulary(tokens, tokenizer, maxSize, sequence, dataset);
        }
    }

    /// <summary>Null when the tokens make a valid vocabulary, else what is wrong; fills the token → id table.</summary>
    private static string? Validate(string[] tokens, TextTokenizer tokenizer, int maxSize, out Dictionary<string, int> ids)
    {
        ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        if (maxSize <= FirstTokenId) return $"max size {maxSize} must exceed the {FirstTokenId} reserved ids";
        if ((long)FirstTokenId + tokens.Length > maxSize)
            return $"{tokens.Length} tokens and {FirstTokenId} reserved ids exceed the max size {maxSize}";
        var ranges = new List<(int Start, int Length)>(2);
        for (int i = 0; i < tokens.Length; i++)
        {
            string t = tokens[i];
            int id = FirstTokenId + i;
            if (string.IsNullOrEmpty(t)) return $"token at id {id} is empty";
            if (!ids.TryAdd(t, id)) return $"token \"{t}\" appears twice (ids {ids[t]} and {id})";
            ranges.Clear();
            string prepared = tokenizer.Prepare(t);
            tokenizer.Split(prepared, ranges);
            if (ranges.Count != 1 || ranges[0].Length != prepared.Length || prepared != t)
                return $"token \"{t}\" at id {id} is not one token under the {TextTokenizer.ModeName(tokenizer.Mode)} tokenizer" +
                       (tokenizer.Lowercase ? " (lowercase)" : "") + ": the file was not written for this tokenizer";
        }
        return null;
    }

    private static DatasetException Bad(string source, string problem) => new(source, problem);

    private static JsonElement Get(JsonElement obj, string name, string source, string prefix)
    {
        if (!obj.TryGetProperty(name, out var v)) throw Bad(source, $"\"{prefix}{name}\" is missing");
        return v;
    }

    private static JsonElement Object(JsonElement obj, string name, string source)
    {
        var v = Get(obj, name, source, "");
        if (v.ValueKind != JsonValueKind.Object) throw Bad(source, $"\"{name}\" must be an object, found {v.ValueKind}");
        return v;
    }

    private static string String(JsonElement obj, string name, string source, string prefix = "")
    {
        var v = Get(obj, name, source, prefix);
        if (v.ValueKind != JsonValueKind.String) throw Bad(source, $"\"{prefix}{name}\" must be a string, found {v.ValueKind}");
        return v.GetString()!;
    }

    private static int Int(JsonElement obj, string name, string source, string prefix = "")
    {
        var v = Get(obj, name, source, prefix);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n)) throw Bad(source, $"\"{prefix}{name}\" must be an integer, found {v.GetRawText()}");
        return n;
    }

    private static bool Bool(JsonElement obj, string name, string source, string prefix)
    {
        var v = Get(obj, name, source, prefix);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(source, $"\"{prefix}{name}\" must be true or false, found {v.GetRawText()}"),
        };
    }
}
