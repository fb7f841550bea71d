using System.Text;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>Writes small text trees for the tests.</summary>
public static class TextTrees
{
    /// <summary>Writes ROOT/split/cls/name for each file (UTF-8, no BOM); split may be "" for ROOT/cls/name.</summary>
    public static string Write(string root, string split, string cls, params (string Name, string Text)[] files)
    {
        string dir = Path.Combine(root, split, cls);
        Directory.CreateDirectory(dir);
        foreach (var (name, text) in files)
        {
            string path = Path.Combine(dir, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text, new UTF8Encoding(false));
        }
        return dir;
    }

    /// <summary>An aclImdb tree: train|test/neg|pos/&lt;id&gt;_&lt;rating&gt;.txt, plus the folders and files the reader ignores.</summary>
    public static string AclImdb(string parent)
    {
        string root = Path.Combine(parent, "aclImdb");
        Write(root, "train", "neg", ("0_3.txt", "Dull.<br /><br />A waste of time."), ("1_1.txt", "Awful, awful film"), ("10_2.txt", "Bad plot"));
        Write(root, "train", "pos", ("0_9.txt", "A gem!<br />Loved it."), ("1_10.txt", "Great great film"));
        Write(root, "train", "unsup", ("0_0.txt", "unlabelled words everywhere"));
        Write(root, "test", "neg", ("0_2.txt", "Awful.<br/>Bad"));
        Write(root, "test", "pos", ("0_8.txt", "Great gem"), ("1_7.txt", "Loved the plot"));
        File.WriteAllText(Path.Combine(root, "imdb.vocab"), "the\nand\n");
        File.WriteAllText(Path.Combine(root, "train", "labeledBow.feat"), "0:1\n");
        return root;
    }
}

public class TextFolderTests
{
    private static DataLocator At(string dir) => new() { ExplicitDirectory = dir, Report = null, AllowDownload = false };

    [Fact]
    public void TrainTestLayout_ClassesSortedOrdinally_FilesInTreeOrder()
    {
        using var tmp = new TempDir();
        TextTrees.Write(tmp.Path, "train", "sports", ("b.txt", "goal"), ("a.txt", "match"), ("sub/c.txt", "deep"));
        TextTrees.Write(tmp.Path, "train", "Finance", ("1.txt", "money"), ("notes.md", "ignored"), (".hidden.txt", "ignored"));
        TextTrees.Write(tmp.Path, "test", "sports", ("x.txt", "cup"));
        var train = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Train);
        Assert.Equal(["Finance", "sports"], train.ClassNames);      // ordinal: upper case first
        Assert.Equal(["1.txt", "a.txt", "b.txt", "c.txt"], train.Files.Select(Path.GetFileName));
        Assert.Equal([0, 1, 1, 1], train.Labels);
        Assert.Equal("deep", train.Text(3));
        var test = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Test);
        Assert.Equal(["Finance", "sports"], test.ClassNames);       // the training classes; test may lack one
        Assert.Equal([1], test.Labels);
        var any = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Train, new TextFolderOptions { Extensions = [] });
        Assert.Equal(["1.txt", "notes.md", "a.txt", "b.txt", "c.txt"], any.Files.Select(Path.GetFileName));
    }

    [Fact]
    public void FlatLayout_FixedHashSplit_DisjointAndComplete()
    {
        using var tmp = new TempDir();
        var names = Enumerable.Range(0, 200).Select(i => ($"{i:D5}.txt", $"text {i}")).ToArray();
        TextTrees.Write(tmp.Path, "", "a", names);
        TextTrees.Write(tmp.Path, "", "b", names[..50]);
        var train = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Train);
        var test = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Test);
        Assert.Equal(250, train.Count + test.Count);
        Assert.Empty(train.Files.Intersect(test.Files));
        Assert.InRange(test.Count, 30, 70);                          // about 20%
        Assert.All(test.Files, f => Assert.True(TextFolderCorpus.IsTestFile(Path.GetFileName(f), 0.2)));
        Assert.All(train.Files, f => Assert.False(TextFolderCorpus.IsTestFile(Path.GetFileName(f), 0.2)));
        // The split is a function of the name: the same names in class b fall the same way.
        Assert.Equal(test.Files.Where(f => f.Contains($"{Path.DirectorySeparatorChar}b{Path.DirectorySeparatorChar}")).Select(Path.GetFileName),
            test.Files.Where(f => f.Contains($"{Path.DirectorySeparatorChar}a{Path.DirectorySeparatorChar}")).Select(f => Path.GetFileName(f)).Where(n => int.Parse(n[..5]) < 50));
        // FNV-1a 64 of "00000.txt", by hand: the rule is fixed, not an implementation detail.
        ulong h = 14695981039346656037UL;
        foreach (byte b in "00000.txt"u8) { h ^= b; h *= 1099511628211UL; }
        Assert.Equal(h % 1_000_000 < 200_000, TextFolderCorpus.IsTestFile("00000.txt", 0.2));
    }

    [Fact]
    public void NonUtf8File_ErrorNamesFileAndByteOffset()
    {
        using var tmp = new TempDir();
        string dir = TextTrees.Write(tmp.Path, "train", "a", ("ok.txt", "fine"));
        TextTrees.Write(tmp.Path, "test", "a", ("ok.txt", "fine"));
        string bad = Path.Combine(dir, "gbk.txt");
        File.WriteAllBytes(bad, [.. "abc"u8, 0xD6, 0xD0, 0xCE, 0xC4]);     // "中文" in GBK
        var corpus = TextFolderCorpus.Load(tmp.Path, DatasetSplit.Train);
        var e = Assert.Throws<DatasetException>(() => corpus.Text(corpus.Files.ToList().IndexOf(bad)));
        Assert.Equal(bad, e.FilePath);
        Assert.Contains("not valid UTF-8 at byte offset 3 (bytes 0xD6 0xD0 0xCE 0xC4)", e.Message);
        // Through the catalog: the vocabulary pass hits it and names it.
        var e2 = Assert.Throws<DatasetException>(() => TextDatasetCatalog.Load("textfolder", At(tmp.Path)));
        Assert.Equal(bad, e2.FilePath);
        // A sequence cut at the end of the file, an encoded surrogate and an overlong form are refused too; a BOM is skipped.
        File.WriteAllBytes(bad, [.. "ab"u8, 0xE4, 0xB8]);
        Assert.Contains("byte offset 2", Assert.Throws<DatasetException>(() => TextFiles.ReadUtf8(bad)).Message);
        File.WriteAllBytes(bad, [0xED, 0xA0, 0x80]);
        Assert.Contains("byte offset 0", Assert.Throws<DatasetException>(() => TextFiles.ReadUtf8(bad)).Message);
        File.WriteAllBytes(bad, [0x41, 0xC0, 0xAF]);
        Assert.Contains("byte offset 1", Assert.Throws<DatasetException>(() => TextFiles.ReadUtf8(bad)).Message);
        File.WriteAllBytes(bad, [0xEF, 0xBB, 0xBF, .. "中文"u8, 0xFF]);
        Assert.Contains("byte offset 9", Assert.Throws<DatasetException>(() => TextFiles.ReadUtf8(bad)).Message);
        File.WriteAllBytes(bad, [0xEF, 0xBB, 0xBF, .. "中文"u8]);
        Assert.Equal("中文", TextFiles.ReadUtf8(bad));
    }

    [Fact]
    public void EmptyClassFolder_ErrorNamesTheFolder()
    {
        using var tmp = new TempDir();
        TextTrees.Write(tmp.Path, "train", "a", ("1.txt", "x"));
        string empty = TextTrees.Write(tmp.Path, "train", "b", ("readme.md", "no texts here"));
        TextTrees.Write(tmp.Path, "test", "a", ("1.txt", "x"));
        var e = Assert.Throws<DatasetException>(() => TextFolderCorpus.Load(tmp.Path, DatasetSplit.Train));
        Assert.Equal(empty, e.FilePath);
        Assert.Contains("class folder 'b' has no text files (*.txt)", e.Message);
        var e2 = Assert.Throws<DatasetException>(() => TextDatasetCatalog.Load("textfolder", At(tmp.Path)));
        Assert.Equal(empty, e2.FilePath);
    }

    [Fact]
    public void OtherBadTrees_ClearErrors()
    {
        using var tmp = new TempDir();
        string noClasses = tmp.Sub("flat");
        File.WriteAllText(Path.Combine(noClasses, "1.txt"), "x");
        Assert.Contains("no class folders", Assert.Throws<DatasetException>(() => TextFolderCorpus.Load(noClasses, DatasetSplit.Train)).Message);
        string onlyTrain = tmp.Sub("only-train");
        TextTrees.Write(onlyTrain, "train", "a", ("1.txt", "x"));
        Assert.Contains("no test/ (or val/) folder", Assert.Throws<DatasetException>(() => TextFolderCorpus.Load(onlyTrain, DatasetSplit.Test)).Message);
        string extra = tmp.Sub("extra");
        TextTrees.Write(extra, "train", "a", ("1.txt", "x"));
        TextTrees.Write(extra, "test", "zebra", ("1.txt", "x"));
        Assert.Contains("'zebra' are not among the 1 training classes", Assert.Throws<DatasetException>(() => TextFolderCorpus.Load(extra, DatasetSplit.Test)).Message);
        string big = tmp.Sub("big");
        string f = TextTrees.Write(big, "train", "a", ("1.txt", new string('x', 2000)));
        TextTrees.Write(big, "test", "a", ("1.txt", "x"));
        var c = TextFolderCorpus.Load(big, DatasetSplit.Train, new TextFolderOptions { Limits = new TextLimits { MaxFileBytes = 1000 } });
        var e = Assert.Throws<DatasetException>(() => c.Text(0));
        Assert.Contains("text file is 2000 bytes, over the limit of 1000", e.Message);
        Assert.Equal(Path.Combine(f, "1.txt"), e.FilePath);
        string many = tmp.Sub("many");
        TextTrees.Write(many, "train", "a", ("1.txt", "x"), ("2.txt", "y"));
        Assert.Contains("more than 1 files (TextLimits.MaxFiles)", Assert.Throws<DatasetException>(() =>
            TextFolderCorpus.Load(many, DatasetSplit.Train, new TextFolderOptions { Limits = new TextLimits { MaxFiles = 1 } })).Message);
    }

    [Fact]
    public void Catalog_NamesAndImageCatalogPointsHere()
    {
        Assert.Equal(["imdb", "thucnews", "textfolder"], TextDatasetCatalog.Names);
        Assert.Equal("thucnews", TextDatasetCatalog.Canonical("THUC_News"));
        Assert.Equal("imdb", TextDatasetCatalog.Canonical("aclImdb"));
        Assert.True(DatasetCatalog.IsText("imdb"));
        Assert.False(DatasetCatalog.IsText("mnist"));
        Assert.Contains("is a text dataset", Assert.Throws<ArgumentException>(() => DatasetCatalog.Canonical("imdb")).Message);
        Assert.Contains("text: imdb, thucnews, textfolder", Assert.Throws<ArgumentException>(() => DatasetCatalog.Canonical("svhn")).Message);
        Assert.Throws<ArgumentException>(() => TextDatasetCatalog.Canonical("mnist"));
        Assert.Equal(TokenizerMode.Chars, TextDatasetCatalog.Defaults("thucnews").Tokenizer.Mode);
        Assert.Equal(600, TextDatasetCatalog.Defaults("thucnews").Sequence.MaxLength);
        Assert.Equal(20000, TextDatasetCatalog.Defaults("imdb").VocabularySize);
        Assert.True(TextDatasetCatalog.Defaults("imdb").Sequence.AddStart);
    }

    [Fact]
    public void ThucNews_ChineseCharacters_TenClassesByDefault_ParentFolderAccepted()
    {
        using var tmp = new TempDir();
        string root = Path.Combine(tmp.Path, "THUCNews");
        var classes = ThucNews.TenClasses.Concat(["星座", "彩票"]).ToArray();
        foreach (var (c, i) in classes.Select((c, i) => (c, i)))
            TextTrees.Write(root, "", c, Enumerable.Range(0, 10).Select(k => ($"{i * 100 + k}.txt", $"{c}新闻第{k}篇。")).ToArray());
        var data = TextDatasetCatalog.Load("thucnews", At(tmp.Path), new TextDataOptions { MaxLength = 8, VocabularySize = 50 });
        Assert.Equal(ThucNews.TenClasses, data.ClassNames);          // the usual 10, not all 12
        Assert.Equal(root, data.Location);
        Assert.Equal(100, data.Train!.Count + data.Test.Count);
        Assert.Equal(TokenizerMode.Chars, data.Vocabulary!.Tokenizer.Mode);
        Assert.Contains("新", data.Vocabulary.Tokens);
        Assert.Contains("闻", data.Vocabulary.Tokens);
        Assert.DoesNotContain("星", data.Vocabulary.Tokens);         // the unused classes' words are not read
        var v = data.Vocabulary;
        var first = data.Train.Tokens(0).ToArray();                     // "体育新闻第K篇。", 8 characters: no padding
        Assert.Equal(new[] { "体", "育", "新", "闻", "第" }.Select(v.IdOf), first[..5]);
        Assert.Equal(new[] { "篇", "。" }.Select(v.IdOf), first[6..]);
        Assert.All(first, id => Assert.True(id >= Vocabulary.FirstTokenId));
        var all = TextDatasetCatalog.Load("thucnews", At(root), new TextDataOptions { Classes = classes.Order(StringComparer.Ordinal).ToArray(), MaxLength = 8 });
        Assert.Equal(12, all.ClassNames.Count);
    }

    [Fact]
    public void Eval_WithSavedVocabulary_ReadsOnlyTheTestSplit()
    {
        using var tmp = new TempDir();
        TextTrees.Write(tmp.Path, "train", "a", ("1.txt", "alpha beta"));
        TextTrees.Write(tmp.Path, "train", "b", ("2.txt", "gamma"));
        TextTrees.Write(tmp.Path, "test", "a", ("3.txt", "beta alpha"));
        TextTrees.Write(tmp.Path, "test", "b", ("4.txt", "gamma delta"));
        var trained = TextDatasetCatalog.Load("textfolder", At(tmp.Path), new TextDataOptions { MaxLength = 3 });
        string vpath = Path.Combine(tmp.Path, "vocab.json");
        trained.Vocabulary!.Save(vpath);
        // Make the training split unreadable: eval must not need it.
        File.WriteAllBytes(Path.Combine(tmp.Path, "train", "a", "1.txt"), [0xFF]);
        var eval = TextDatasetCatalog.Load("textfolder", At(tmp.Path), new TextDataOptions { MaxLength = 50 }, Vocabulary.Load(vpath), train: false);
        Assert.Null(eval.Train);
        Assert.Equal(3, eval.SequenceLength);                         // the vocabulary's settings, not the options'
        Assert.Equal(trained.Test.TokenArray.ToArray(), eval.Test.TokenArray.ToArray());
        Assert.Equal([0, 5, 2], eval.Test.Tokens(1).ToArray());
    }
}

[Collection(EnvironmentCollection.Name)]
public class TextFolderEnvironmentTests
{
    [Fact]
    public void TextFolder_WithoutData_NeedsDataDir_VecqDataUsed()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var e = Assert.Throws<DatasetNotFoundException>(() => TextDatasetCatalog.Load("textfolder", new DataLocator { Report = null }));
        Assert.Contains("needs --data DIR", e.Message);
        string root = tmp.Sub("tree");
        TextTrees.Write(root, "train", "a", ("1.txt", "x"));
        TextTrees.Write(root, "test", "a", ("1.txt", "x y"));
        env.Set(DataLocator.DataEnvironmentVariable, root);
        Assert.Equal(root, TextDatasetCatalog.Load("textfolder", new DataLocator { Report = null }).Location);
    }
}

public class ImdbFolderTests
{
    private static DataLocator At(string dir) => new() { ExplicitDirectory = dir, Report = null, AllowDownload = false };

    [Fact]
    public void AclImdb_BreaksRemoved_NegZeroPosOne_ParentOrFolder()
    {
        using var tmp = new TempDir();
        string root = TextTrees.AclImdb(tmp.Path);
        var train = ImdbDataset.OpenFolder(root, DatasetSplit.Train);
        Assert.Equal(["neg", "pos"], train.ClassNames);
        Assert.Equal(["0_3.txt", "10_2.txt", "1_1.txt", "0_9.txt", "1_10.txt"], train.Files.Select(Path.GetFileName));  // unsup ignored
        Assert.Equal([0, 0, 0, 1, 1], train.Labels);
        Assert.Equal("Dull.  A waste of time.", train.Text(0));
        Assert.DoesNotContain("<br", string.Concat(Enumerable.Range(0, train.Count).Select(train.Text)));
        foreach (var dir in new[] { tmp.Path, root })
        {
            var data = TextDatasetCatalog.Load("imdb", At(dir), new TextDataOptions { MaxLength = 6, VocabularySize = 3 + 4 });
            Assert.Equal("aclImdb", data.Format);
            Assert.Equal(root, data.Location);
            var v = data.Vocabulary!;
            // train counts: . a awful film great 2 each, in order of first occurrence (neg files first), the rest 1
            Assert.Equal([".", "a", "awful", "film"], v.Tokens);
            Assert.True(v.Tokenizer.RemoveHtmlBreaks);
            Assert.Equal(7, data.VocabularySize);
            Assert.Equal(5, data.Train!.Count);
            Assert.Equal(3, data.Test.Count);
            // test 0: "Awful.<br/>Bad" → start awful . bad, pre-padded
            Assert.Equal([0, 0, 1, 5, 3, 2], data.Test.Tokens(0).ToArray());
            Assert.Equal([0, 1, 1], data.Test.Labels);
            Assert.Equal(v.Encode("Awful.<br />Bad"), data.Test.Tokens(0).ToArray());   // predict cleans the same way
        }
    }

    [Fact]
    public void AclImdb_MissingFolder_ListsWhatWasTried()
    {
        using var tmp = new TempDir();
        TextTrees.Write(tmp.Path, "aclImdb/train", "neg", ("1.txt", "x"));
        var e = Assert.Throws<DatasetNotFoundException>(() => TextDatasetCatalog.Load("imdb", At(tmp.Path)));
        Assert.Contains("train/pos", e.Message);
        Assert.Contains("imdb_int32.npz", e.Message);
        Assert.Contains("imdb.npz", e.Message);
    }

    [Fact]
    public void AclImdb_MaxPerClass_BalancedSubset()
    {
        using var tmp = new TempDir();
        string root = TextTrees.AclImdb(tmp.Path);
        var data = TextDatasetCatalog.Load("imdb", At(root), new TextDataOptions { MaxPerClass = 1 });
        Assert.Equal([0, 1], data.Train!.Labels);
        Assert.Equal([0, 1], data.Test.Labels);
        Assert.Equal(100, data.SequenceLength);
    }
}

public class TextLoaderTests
{
    private static EncodedTextDataset Make(int n, int t = 3)
    {
        var tokens = new int[n * t];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 50;
        var labels = Enumerable.Range(0, n).Select(i => i % 3).ToArray();
        return new EncodedTextDataset("toy", DatasetSplit.Train, tokens, t, labels, ["a", "b", "c"], 50);
    }

    [Fact]
    public void Batches_Int32Tensors_ShuffledBySeed_SameOrderAsDataLoader()
    {
        var ds = Make(10);
        var loader = new TextLoader(ds, new TextLoaderOptions { BatchSize = 4, Seed = 7 });
        Assert.Equal(3, loader.StepsPerEpoch);
        var order = loader.Order(2);
        Assert.Equal(Enumerable.Range(0, 10), order.Order());
        Assert.NotEqual(loader.Order(1), order);
        using (var images = new DataLoader(SmallDataset.Make(10), new DataLoaderOptions { Seed = 7, Prefetch = 0 }))
            Assert.Equal(images.Order(2), order);
        Assert.Equal(order, new TextLoader(ds, new TextLoaderOptions { BatchSize = 3, Seed = 7 }).Order(2));
        var seen = new List<int>();
        foreach (var batch in loader.Epoch(2))
            using (batch)
            {
                var (x, y) = batch;
                Assert.Equal(VecQ.Tensors.DType.Int32, x.DType);
                Assert.Equal(VecQ.Tensors.DType.Int32, y.DType);
                int b = batch.Size;
                Assert.Equal([b, 3], x.Dims);
                Assert.Equal([b], y.Dims);
                var xs = x.ToArray<int>();
                var ys = y.ToArray<int>();
                for (int i = 0; i < b; i++)
                {
                    int idx = order[batch.Step * 4 + i];
                    seen.Add(idx);
                    Assert.Equal(ds.Tokens(idx).ToArray(), xs.AsSpan(i * 3, 3).ToArray());
                    Assert.Equal(ds.Label(idx), ys[i]);
                }
            }
        Assert.Equal(order, seen);
        // Resuming at step 2 gives the original step 2.
        var resumed = loader.HostBatches(2, 2).Single();
        Assert.Equal(loader.GetHostBatch(2, 2).Tokens, resumed.Tokens);
        Assert.Equal(2, resumed.Size);
    }

    [Fact]
    public void NoShuffle_DropLast_Limit()
    {
        var ds = Make(10);
        var l = new TextLoader(ds, new TextLoaderOptions { BatchSize = 4, Shuffle = false, DropLast = true, Limit = 9 });
        Assert.Equal(2, l.StepsPerEpoch);
        Assert.Equal([4, 5, 6, 7], l.GetHostBatch(0, 1).Indices);
        Assert.Throws<ArgumentOutOfRangeException>(() => l.GetHostBatch(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextLoader(ds, new TextLoaderOptions { BatchSize = 0 }));
    }

    [Fact]
    public void EncodedDataset_RefusesIdsOrLabelsOutOfRange()
    {
        Assert.Contains("id 9 of example 1", Assert.Throws<ArgumentException>(() =>
            new EncodedTextDataset("x", DatasetSplit.Train, [0, 1, 9, 0], 2, [0, 0], ["a"], 5)).Message);
        Assert.Contains("label 1 of example 0", Assert.Throws<ArgumentException>(() =>
            new EncodedTextDataset("x", DatasetSplit.Train, [0, 1], 2, [1], ["a"], 5)).Message);
        Assert.Throws<ArgumentException>(() => new EncodedTextDataset("x", DatasetSplit.Train, [0, 1, 2], 2, [0], ["a"], 5));
    }
}

[Collection(EnvironmentCollection.Name)]
public class ImdbDownloadTests
{
    /// <summary>A .tar.gz of the tree under <paramref name="parent"/> (paths relative to it), as the official aclImdb_v1.tar.gz.</summary>
    private static byte[] TarGz(string parent)
    {
        var ms = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new System.Formats.Tar.TarWriter(gz, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var f in Directory.GetFiles(parent, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                tar.WriteEntry(f, Path.GetRelativePath(parent, f).Replace('\\', '/'));
        }
        return ms.ToArray();
    }

    [Fact]
    public void NothingFound_DownloadsTheOfficialArchive_AfterLookingForTheNpz()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        TextTrees.AclImdb(tmp.Sub("src"));
        var archive = TarGz(Path.Combine(tmp.Path, "src"));
        var requests = new List<Uri>();
        var lines = new List<string>();
        var locator = new DataLocator
        {
            SystemDirectory = tmp.Sub("no-system"),
            Report = lines.Add,
            Downloader = (url, dest, _) =>
            {
                requests.Add(url);
                dest.Write(archive);
            },
        };
        var data = TextDatasetCatalog.Load("imdb", locator, new TextDataOptions { MaxLength = 6 });
        Assert.Equal([new Uri("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")], requests);
        Assert.Equal(Path.Combine(tmp.Path, "cache", "imdb", "aclImdb"), data.Location);
        Assert.Equal(5, data.Train!.Count);
        Assert.Contains(lines, l => l.Contains("downloaded from the official address"));
        // The next search finds the cache without downloading.
        var again = TextDatasetCatalog.Load("imdb", locator, new TextDataOptions { MaxLength = 6 });
        Assert.Single(requests);
        Assert.Equal(data.Train.TokenArray.ToArray(), again.Train!.TokenArray.ToArray());
        // No network and nothing anywhere: every place tried is in the error, the npz files included.
        Directory.Delete(Path.Combine(tmp.Path, "cache", "imdb"), recursive: true);
        var offline = new DataLocator
        {
            SystemDirectory = tmp.Sub("no-system"), Report = null,
            Downloader = (url, _, _) => throw new HttpRequestException($"no network in tests ({url})"),
        };
        var e = Assert.Throws<DatasetNotFoundException>(() => TextDatasetCatalog.Load("imdb", offline));
        Assert.Contains("imdb: no aclImdb folder (train/neg, train/pos, test/neg, test/pos) in these places; imdb: no imdb_int32.npz in these places; imdb: no imdb.npz in these places", e.Message);
        Assert.Single(e.Attempts, l => l.EndsWith(": VECQ_DATA not set", StringComparison.Ordinal));   // each place once
        Assert.Contains("aclImdb_v1.tar.gz failed: no network in tests", e.Message);
    }
}
