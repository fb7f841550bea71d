using System.Text;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

public class TextTokenizerTests
{
    private static readonly TextTokenizer Words = new(TokenizerMode.Words);
    private static readonly TextTokenizer Chars = new(TokenizerMode.Chars);

    [Fact]
    public void Words_LowercaseAndSplitOffEveryPunctuationMark()
    {
        Assert.Equal(["don", "'", "t", "stop", "—", "it", "'", "s", "10", "/", "10", "!"], Words.Tokenize("Don't stop—it's 10/10!"));
        Assert.Equal(["hello", ",", "world", ".", "(", "a", ")", "b", "?", "c", ";", "d", ":", "\"", "e", "\""],
            Words.Tokenize("Hello,   World.\t(a) b? c;d:\"E\""));
        Assert.Equal(["café", "naïve", "über", "x²"], Words.Tokenize("Café NAÏVE Über x²"));   // letters, marks, numbers stay in a word
        Assert.Equal(["e\u0301t\u00e9"], Words.Tokenize("E\u0301T\u00C9"));                     // combining mark inside the word
        Assert.Empty(Words.Tokenize("  \n\t "));
        Assert.Equal(["a", "b"], Words.Tokenize("a\u200Bb"));       // zero-width space (Cf) separates, and is dropped
        Assert.Equal(["😀", "ok"], Words.Tokenize("😀ok"));        // a surrogate pair is one symbol token
        Assert.Equal(["Mixed", "Case"], new TextTokenizer(TokenizerMode.Words, Lowercase: false).Tokenize("Mixed Case"));
    }

    [Fact]
    public void Words_UnderscoreIsPunctuation()
    {
        Assert.Equal(["snake", "_", "case"], Words.Tokenize("snake_case"));
    }

    [Fact]
    public void HtmlBreaks_RemovedOnlyWhenAsked_AndOnlyRealBreaks()
    {
        var imdb = new TextTokenizer(TokenizerMode.Words, RemoveHtmlBreaks: true);
        Assert.Equal(["great", "movie", ".", "loved", "it"], imdb.Tokenize("Great movie.<br /><br />Loved it"));
        Assert.Equal(["a", "b", "c", "<", "brother", ">"], imdb.Tokenize("a<BR>b<br/>c<brother>"));
        Assert.Equal(["a", "<", "br", "/", ">", "b"], Words.Tokenize("a<br />b"));
        Assert.Equal("x  y <br", TextTokenizer.StripHtmlBreaks("x<br /> y <br"));
    }

    [Fact]
    public void Chars_EveryTextElement_WhitespaceDropped()
    {
        Assert.Equal(["床", "前", "明", "月", "光", "，", "疑", "是", "地", "上", "霜", "。"], Chars.Tokenize("床前明月光，\n疑是地上霜。"));
        Assert.Equal(["中", "文", "o", "k", "1"], Chars.Tokenize("中文 OK\u30001"));   // ideographic space dropped, Latin lowercased
        Assert.Equal(["e\u0301", "𠀀", "👍🏽"], Chars.Tokenize("E\u0301 𠀀 👍🏽"));   // grapheme clusters: mark, astral char, emoji + modifier
        Assert.Empty(Chars.Tokenize(""));
    }

    [Fact]
    public void Modes_ParseAndName()
    {
        Assert.Equal(TokenizerMode.Chars, TextTokenizer.ParseMode(" Chars "));
        Assert.Equal(TokenizerMode.Words, TextTokenizer.ParseMode("word"));
        Assert.Equal("chars", TextTokenizer.ModeName(TokenizerMode.Chars));
        Assert.Contains("known: words, chars", Assert.Throws<ArgumentException>(() => TextTokenizer.ParseMode("bpe")).Message);
    }
}

public class SequenceOptionsTests
{
    [Fact]
    public void KerasDefaults_PrePaddingAndPreTruncation()
    {
        var o = new SequenceOptions { MaxLength = 5 };
        Assert.Equal([0, 0, 7, 8, 9], o.Fit([7, 8, 9]));
        Assert.Equal([3, 4, 5, 6, 7], o.Fit([1, 2, 3, 4, 5, 6, 7]));   // keeps the last maxlen ids
        Assert.Equal([1, 2, 3, 4, 5], o.Fit([1, 2, 3, 4, 5]));
        Assert.Equal([0, 0, 0, 0, 0], o.Fit([]));
    }

    [Fact]
    public void PostPaddingAndPostTruncation()
    {
        var post = new SequenceOptions { MaxLength = 4, Padding = SequenceSide.Post, Truncating = SequenceSide.Post };
        Assert.Equal([7, 8, 0, 0], post.Fit([7, 8]));
        Assert.Equal([1, 2, 3, 4], post.Fit([1, 2, 3, 4, 5, 6]));
        var mixed = new SequenceOptions { MaxLength = 4, Padding = SequenceSide.Post };   // pre-truncation, post-padding
        Assert.Equal([3, 4, 5, 6], mixed.Fit([1, 2, 3, 4, 5, 6]));
        Assert.Equal([9, 0, 0, 0], mixed.Fit([9]));
    }

    [Fact]
    public void BadLength_Refused()
    {
        Assert.Throws<ArgumentException>(() => new SequenceOptions { MaxLength = 0 }.Check());
        Assert.Throws<ArgumentException>(() => new SequenceOptions { MaxLength = 3 }.Fit([1], new int[2]));
        Assert.Equal(SequenceSide.Post, SequenceOptions.ParseSide("POST"));
        Assert.Throws<ArgumentException>(() => SequenceOptions.ParseSide("middle"));
    }
}

public class VocabularyTests
{
    private static readonly TextTokenizer Words = new(TokenizerMode.Words);

    [Fact]
    public void Build_TopN_ByCount_TiesByFirstOccurrence_ReservedIdsFirst()
    {
        // counts: the 4, cat 2, sat 2, on 1, mat 1, dog 3, "." 2 ; first occurrence: the cat sat on mat . dog
        string[] train = ["The cat sat on the mat.", "Dog dog dog.", "the cat sat", "THE"];
        var v = Vocabulary.Build(train, Words, maxSize: 3 + 5);
        Assert.Equal(["the", "dog", "cat", "sat", "."], v.Tokens);
        Assert.Equal(8, v.Count);
        Assert.Equal(3, v.IdOf("the"));
        Assert.Equal(Vocabulary.OovId, v.IdOf("mat"));   // count 1: not among the top 5
        Assert.Equal("<pad>", v.TokenOf(0));
        Assert.Equal("<start>", v.TokenOf(1));
        Assert.Equal("<oov>", v.TokenOf(2));
        Assert.Equal(".", v.TokenOf(7));
        // Larger than the distinct tokens: all of them, fewer ids than the max size.
        var all = Vocabulary.Build(train, Words, maxSize: 100);
        Assert.Equal(["the", "dog", "cat", "sat", ".", "on", "mat"], all.Tokens);
        Assert.Equal(10, all.Count);
        Assert.Equal(100, all.MaxSize);
    }

    [Fact]
    public void Build_OnTrainOnly_TestWordsAreOutOfVocabulary()
    {
        using var tmp = new TempDir();
        var root = tmp.Path;
        TextTrees.Write(root, "train", "a", ("1.txt", "alpha beta alpha"));
        TextTrees.Write(root, "train", "b", ("2.txt", "gamma gamma gamma"));
        TextTrees.Write(root, "test", "a", ("3.txt", "zeta zeta zeta zeta zeta alpha"));
        TextTrees.Write(root, "test", "b", ("4.txt", "gamma"));
        var data = TextDatasetCatalog.Load("textfolder", new DataLocator { ExplicitDirectory = root, Report = null },
            new TextDataOptions { MaxLength = 6 });
        Assert.Equal(["gamma", "alpha", "beta"], data.Vocabulary!.Tokens);   // zeta (5 in test) is not in it
        Assert.Equal([2, 2, 2, 2, 2, 4], data.Test.Tokens(0).ToArray());
        Assert.Equal([0, 0, 0, 4, 5, 4], data.Train!.Tokens(0).ToArray());
    }

    [Fact]
    public void Encode_StartId_Oov_PrePadTruncate()
    {
        var v = new Vocabulary(["good", "film"], Words, 10, new SequenceOptions { MaxLength = 4, AddStart = true });
        Assert.Equal([1, 3, 2, 4], v.Ids("Good awful film"));
        Assert.Equal([0, 1, 3, 4], v.Encode("good film"));
        Assert.Equal([3, 2, 2, 4], v.Encode("good good, bad film"));   // start truncated away first (pre)
        var noStart = new Vocabulary(["good", "film"], Words, 10, new SequenceOptions { MaxLength = 3 });
        Assert.Equal([0, 3, 4], noStart.Encode("good film"));
    }

    [Fact]
    public void Json_RoundTrip_AllSettingsAndTokens()
    {
        using var tmp = new TempDir();
        var tokenizer = new TextTokenizer(TokenizerMode.Chars, Lowercase: false, RemoveHtmlBreaks: true);
        var seq = new SequenceOptions { MaxLength = 37, Padding = SequenceSide.Post, Truncating = SequenceSide.Post, AddStart = true };
        var v = Vocabulary.Build(["床前明月光", "疑是地上霜，举头望明月", "Ab"], tokenizer, 12, seq, "thucnews");
        string path = Path.Combine(tmp.Path, "sub", "vocabulary.json");
        v.Save(path);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        string text = File.ReadAllText(path, Encoding.UTF8);
        Assert.Contains("\"明\"", text);   // readable, not \uXXXX
        Assert.Contains("\"format\": \"vecq-vocabulary\"", text);
        var back = Vocabulary.Load(path, TokenizerMode.Chars);
        Assert.Equal(v.Tokens, back.Tokens);
        Assert.Equal(tokenizer, back.Tokenizer);
        Assert.Equal(seq, back.Sequence);
        Assert.Equal(12, back.MaxSize);
        Assert.Equal("thucnews", back.Dataset);
        Assert.Equal(v.Encode("明月照大江A"), back.Encode("明月照大江A"));
        Assert.Equal(text, back.ToJson());
        // Saving again replaces the file in place.
        back.Save(path);
        Assert.Equal(text, File.ReadAllText(path, Encoding.UTF8));
    }

    private static string Valid(string tokens = "[\"the\", \"a\"]", string mode = "words", int version = 1, string maxSize = "20000") => $$"""
        { "format": "vecq-vocabulary", "version": {{version}}, "dataset": null,
          "tokenizer": { "mode": "{{mode}}", "lowercase": true, "remove_html_breaks": false },
          "sequence": { "max_length": 100, "padding": "pre", "truncating": "pre", "add_start": false },
          "max_size": {{maxSize}}, "reserved": { "pad": 0, "start": 1, "oov": 2, "index_from": 3 },
          "tokens": {{tokens}} }
        """;

    private static DatasetException LoadBad(TempDir tmp, string json, TokenizerMode? mode = null)
    {
        string path = Path.Combine(tmp.Path, "vocabulary.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<DatasetException>(() => Vocabulary.Load(path, mode));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void Load_BadFiles_ClearErrorsNamingTheFile()
    {
        using var tmp = new TempDir();
        Assert.Equal(["the", "a"], Vocabulary.FromJson(Encoding.UTF8.GetBytes(Valid()), "mem").Tokens);
        Assert.Contains("not valid JSON", LoadBad(tmp, Valid()[..^20]).Message);
        Assert.Contains("not valid JSON", LoadBad(tmp, "").Message);
        Assert.Contains("one JSON object", LoadBad(tmp, "[1, 2]").Message);
        Assert.Contains("not a VecQ vocabulary file", LoadBad(tmp, Valid().Replace("vecq-vocabulary", "keras-tokenizer")).Message);
        Assert.Contains("version 2 is not supported", LoadBad(tmp, Valid(version: 2)).Message);
        Assert.Contains("token \"the\" appears twice (ids 3 and 5)", LoadBad(tmp, Valid("[\"the\", \"a\", \"the\"]")).Message);
        Assert.Contains("tokenizer mode is \"chars\" but \"words\" is expected", LoadBad(tmp, Valid("[\"t\", \"a\"]", "chars"), TokenizerMode.Words).Message);
        Assert.Contains("unknown tokenizer mode \"bpe\"", LoadBad(tmp, Valid(mode: "bpe")).Message);
        Assert.Contains("\"tokens\" is missing", LoadBad(tmp, Valid().Replace("\"tokens\"", "\"words\"")).Message);
        Assert.Contains("tokens[1] (id 4) is Number", LoadBad(tmp, Valid("[\"the\", 7]")).Message);
        Assert.Contains("is not one token under the words tokenizer", LoadBad(tmp, Valid("[\"the\", \"two words\"]")).Message);
        Assert.Contains("is not one token under the words tokenizer (lowercase)", LoadBad(tmp, Valid("[\"The\"]")).Message);
        Assert.Contains("is not one token under the chars tokenizer", LoadBad(tmp, Valid("[\"the\"]", "chars")).Message);  // a word vocabulary read as chars
        Assert.Contains("token at id 3 is empty", LoadBad(tmp, Valid("[\"\"]")).Message);
        Assert.Contains("2 tokens and 3 reserved ids exceed the max size 4", LoadBad(tmp, Valid(maxSize: "4")).Message);
        Assert.Contains("\"max_size\" must be an integer", LoadBad(tmp, Valid(maxSize: "\"big\"")).Message);
        Assert.Contains("reserved ids pad 0, start 1, oov 1", LoadBad(tmp, Valid().Replace("\"oov\": 2", "\"oov\": 1")).Message);
        Assert.Contains("\"sequence.padding\" is \"left\"", LoadBad(tmp, Valid().Replace("\"padding\": \"pre\"", "\"padding\": \"left\"")).Message);
        Assert.Contains("\"sequence.max_length\" is 0", LoadBad(tmp, Valid().Replace("\"max_length\": 100", "\"max_length\": 0")).Message);
        Assert.Contains("\"tokenizer.lowercase\" must be true or false", LoadBad(tmp, Valid().Replace("\"lowercase\": true", "\"lowercase\": 1")).Message);
        Assert.Throws<FileNotFoundException>(() => Vocabulary.Load(Path.Combine(tmp.Path, "none.json")));
    }

    [Fact]
    public void Constructor_RefusesWhatLoadRefuses()
    {
        Assert.Throws<ArgumentException>(() => new Vocabulary(["a", "a"], Words, 10));
        Assert.Throws<ArgumentException>(() => new Vocabulary(["a b"], Words, 10));
        Assert.Throws<ArgumentException>(() => new Vocabulary(["a", "b"], Words, 4));
        Assert.Throws<ArgumentException>(() => Vocabulary.Build(["a"], Words, 3));
    }
}
