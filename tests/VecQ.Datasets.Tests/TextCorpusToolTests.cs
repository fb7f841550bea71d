using System.Text.Json;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>A fact reported as skipped (never silently passed) when a Debian package's file is absent.</summary>
public sealed class DebianPackageFactAttribute : FactAttribute
{
    public DebianPackageFactAttribute(string file, string package)
    {
        if (!File.Exists(file)) Skip = $"{file} is missing: install Debian's package {package} (apt-get install {package}; .ci/run installs it)";
    }
}

/// <summary>tools/datasets/wordnet_corpus.py and fortunes_zh_corpus.py on the installed packages, read back through the text readers.</summary>
public class TextCorpusToolTests
{
    private const string WordNetNouns = "/usr/share/wordnet/data.noun";
    private const string Fortunes = "/usr/share/games/fortunes";

    private static string Tool(string name) => Path.Combine(ImdbNpzTests.RepoRoot(), "tools", "datasets", name);

    [DebianPackageFact(WordNetNouns, "wordnet-base")]
    public void WordNet_TenLargestNounClasses_FixedSplit_ReadsBack()
    {
        using var tmp = new TempDir();
        string root = Path.Combine(tmp.Path, "wordnet");
        string output = NpyTests.RunScript(Tool("wordnet_corpus.py"), root);
        Assert.Contains("train  50465  test  12780  (63245 texts, 10 classes)", output);
        string[] classes = ["noun.act", "noun.animal", "noun.artifact", "noun.attribute", "noun.communication", "noun.location",
            "noun.person", "noun.plant", "noun.state", "noun.substance"];
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "manifest.json"))))
        {
            Assert.Equal(classes, manifest.RootElement.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("WordNet 3.0", manifest.RootElement.GetProperty("wordnet").GetString());
            Assert.Equal(9120, manifest.RootElement.GetProperty("counts").GetProperty("train").GetProperty("noun.artifact").GetInt32());
        }
        var train = TextFolderCorpus.Load(root, DatasetSplit.Train);
        var test = TextFolderCorpus.Load(root, DatasetSplit.Test);
        Assert.Equal(classes, train.ClassNames);
        Assert.Equal(50465, train.Count);
        Assert.Equal(12780, test.Count);
        // The script's split is TextFolderCorpus.IsTestFile of the file name.
        Assert.All(test.Files, f => Assert.True(TextFolderCorpus.IsTestFile(Path.GetFileName(f), 0.2), f));
        Assert.All(train.Files, f => Assert.False(TextFolderCorpus.IsTestFile(Path.GetFileName(f), 0.2), f));
        // Synset 02084071 (dog, lex file 05 = noun.animal): its gloss, in its class, in the split the rule says.
        string line = File.ReadLines(WordNetNouns).Single(l => l.StartsWith("02084071 ", StringComparison.Ordinal));
        string gloss = line[(line.IndexOf(" | ", StringComparison.Ordinal) + 3)..].Trim();
        Assert.StartsWith("a member of the genus Canis", gloss);
        var dog = TextFolderCorpus.IsTestFile("02084071.txt", 0.2) ? test : train;
        int i = dog.Files.ToList().FindIndex(f => f.EndsWith($"{Path.DirectorySeparatorChar}noun.animal{Path.DirectorySeparatorChar}02084071.txt", StringComparison.Ordinal));
        Assert.True(i >= 0);
        Assert.Equal(gloss + "\n", dog.Text(i));
        Assert.Equal(Array.IndexOf(classes, "noun.animal"), dog.Label(i));
        // Through the catalog and into batches.
        var data = TextDatasetCatalog.Load("textfolder", new DataLocator { ExplicitDirectory = root, Report = null },
            new TextDataOptions { MaxLength = 40, VocabularySize = 10000 });
        Assert.Equal(10000, data.Vocabulary!.Count);
        Assert.Equal(["a", "of", "the", ";"], data.Vocabulary.Tokens.Take(4));   // the most frequent tokens of the glosses
        var batch = new TextLoader(data.Train!, new TextLoaderOptions { BatchSize = 30, Seed = 1 }).GetHostBatch(0, 0);
        Assert.Equal(30 * 40, batch.Tokens.Length);
        Assert.All(batch.Tokens, id => Assert.InRange(id, 0, 9999));
    }

    [DebianPackageFact(Fortunes + "/tang300", "fortunes-zh")]
    public void FortunesZh_ChineseCorpus_CharacterTokens()
    {
        using var tmp = new TempDir();
        string root = Path.Combine(tmp.Path, "zh");
        string output = NpyTests.RunScript(Tool("fortunes_zh_corpus.py"), root);
        Assert.Contains("total      train  4495  test  1175", output);
        var data = TextDatasetCatalog.Load("textfolder", new DataLocator { ExplicitDirectory = root, Report = null },
            new TextDataOptions { Tokenizer = TokenizerMode.Chars, MaxLength = 64, VocabularySize = 3000 });
        Assert.Equal(["chinese", "song100", "tang300"], data.ClassNames);
        Assert.Equal(4495, data.Train!.Count);
        Assert.Equal([4169, 75, 251], data.Train.ClassCounts());
        var v = data.Vocabulary!;
        Assert.Equal(TokenizerMode.Chars, v.Tokenizer.Mode);
        Assert.Contains("月", v.Tokens);
        Assert.All(v.Tokens, t => Assert.DoesNotContain(t, new[] { " ", "\n", "\u001b" }));
        // The first Tang poem, title and author dropped, one id per character.
        string poem = File.ReadAllText(Path.Combine(root, "train", "tang300", "tang300-00000.txt"));
        Assert.Equal("兰叶春葳蕤，桂华秋皎洁。\n欣欣此生意，自尔为佳节。\n谁知林栖者，闻风坐相悦。\n草木有本心，何求美人折？\n", poem);
        Assert.Equal(48, v.Ids(poem).Length);
    }
}
