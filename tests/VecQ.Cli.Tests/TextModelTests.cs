using System.Text;

namespace VecQ.Cli.Tests;

/// <summary>
/// The sequence models through the CLI: summary counts, train → eval → predict → export on a small class-per-folder
/// corpus the test writes, the vocabulary beside the checkpoint, and the errors for bad or mismatched input.
/// </summary>
[Collection("cli")]
public sealed class TextModelTests
{
    [Fact]
    public void ImdbSummary_HasThePapersCountInKerasFormAndPyTorchsInOurs()
    {
        var r = CliRunner.Run("summary", "--model", "imdb", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        Assert.Equal(2_639_175, j.GetProperty("parameters").GetInt64());        // b_ih and b_hh: PyTorch's LSTM
        Assert.Equal(2_638_895, j.GetProperty("keras_parameters").GetInt64());  // VECQ.md §6, one bias per LSTM
        Assert.Equal(2_639_175, j.GetProperty("weights").GetInt64());
        var layers = j.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(["embedding", "dropout", "conv", "pool", "lstm", "fc"], layers.Select(l => l.GetProperty("name").GetString()));
        Assert.Equal([1, 64, 24], layers[3].GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 24, 70], layers[4].GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(38_080, layers[4].GetProperty("parameters").GetInt64());

        var t = CliRunner.Run("summary", "--model", "thucnews", "--json");
        Assert.True(t.ExitCode == 0, t.Err);
        Assert.Equal(792_610, t.Json().GetProperty("parameters").GetInt64());
        Assert.Equal(792_050, t.Json().GetProperty("keras_parameters").GetInt64());
    }

    // Two classes of short English sentences over disjoint content words (animals, tools) with shared function words:
    // a real, if easy, text task for the whole path, written as class-per-folder UTF-8 files.
    private static string WriteCorpus(string dir)
    {
        string[][] content = [["cat", "dog", "horse", "bird", "fish", "lion", "mouse", "wolf"], ["hammer", "saw", "drill", "wrench", "chisel", "knife", "spade", "axe"]];
        string[] function = ["the", "a", "small", "old", "quick", "is", "near", "with", "and", "very"];
        string[] classes = ["animals", "tools"];
        var rng = new Random(5);
        foreach (var split in new[] { "train", "test" })
            for (int c = 0; c < 2; c++)
            {
                string folder = Path.Combine(dir, split, classes[c]);
                Directory.CreateDirectory(folder);
                for (int i = 0; i < (split == "train" ? 60 : 20); i++)
                {
                    var words = Enumerable.Range(0, 8).Select(k => k % 3 == 1 ? content[c][rng.Next(8)] : function[rng.Next(function.Length)]);
                    File.WriteAllText(Path.Combine(folder, $"{i:D3}.txt"), string.Join(' ', words) + ".\n", new UTF8Encoding(false));
                }
            }
        return dir;
    }

    [Fact]
    public void ImdbModel_TrainsOnATextFolder_ThenEvalPredictAndExportUseTheSavedVocabulary()
    {
        string root = CliRunner.TempDir();
        string data = WriteCorpus(Path.Combine(root, "corpus")), run = Path.Combine(root, "run");
        var r = CliRunner.Run("train", "--model", "imdb", "--dataset", "textfolder", "--data", data, "--seq-len", "12", "--vocab-size", "64",
            "--epochs", "4", "--batch-size", "10", "--optimizer", "adam", "--lr", "0.01", "--weight-decay", "0", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        double acc = r.Json().GetProperty("test_accuracy").GetDouble();
        Assert.True(acc >= 0.9, $"test accuracy {acc} on the two-class corpus");
        string vocab = Path.Combine(run, "vocabulary.json");
        Assert.True(File.Exists(vocab));
        string best = Path.Combine(run, "best.safetensors");

        var e = CliRunner.Run("eval", "--checkpoint", best, "--data", data, "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(r.Json().GetProperty("best_accuracy").GetDouble(), e.Json().GetProperty("test_accuracy").GetDouble(), 6);
        Assert.Contains("40 texts", e.Out);

        string file = Path.Combine(root, "review.txt");
        File.WriteAllText(file, "the old dog and a quick horse near the lion.");
        var p = CliRunner.Run("predict", "--checkpoint", best, "--text", "a small hammer with a very old saw and the drill", "--file", file, "--json");
        Assert.True(p.ExitCode == 0, p.Err);
        var preds = p.Json().GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal("tools", preds[0].GetProperty("top")[0].GetProperty("class").GetString());
        Assert.Equal("animals", preds[1].GetProperty("top")[0].GetProperty("class").GetString());
        Assert.Contains("%", p.Out);

        // the packed export evaluates like its checkpoint; the vocabulary is copied beside it
        var q = CliRunner.Run("train", "--model", "imdb", "--dataset", "textfolder", "--data", data, "--seq-len", "12", "--vocab-size", "64",
            "--epochs", "2", "--batch-size", "10", "--optimizer", "adam", "--lr", "0.01", "--wbits", "4", "--abits", "8", "--out", Path.Combine(root, "q4"));
        Assert.True(q.ExitCode == 0, q.Err);
        string packed = Path.Combine(root, "export", "imdb-w4.vecq");
        Directory.CreateDirectory(Path.GetDirectoryName(packed)!);
        var x = CliRunner.Run("export", "--checkpoint", Path.Combine(root, "q4", "last.safetensors"), "--out", packed);
        Assert.True(x.ExitCode == 0, x.Err);
        Assert.True(File.Exists(Path.Combine(root, "export", "vocabulary.json")));
        var pe = CliRunner.Run("eval", "--checkpoint", packed, "--data", data, "--json");
        var ce = CliRunner.Run("eval", "--checkpoint", Path.Combine(root, "q4", "last.safetensors"), "--data", data, "--json");
        Assert.True(pe.ExitCode == 0, pe.Err);
        Assert.Equal(ce.Json().GetProperty("test_accuracy").GetDouble(), pe.Json().GetProperty("test_accuracy").GetDouble(), 9);

        // a corrupt vocabulary and one of another run are refused, naming the file
        File.WriteAllText(vocab, "{ not json");
        var bad = CliRunner.Run("eval", "--checkpoint", best, "--data", data);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("vocabulary.json", bad.Err);
        var other = CliRunner.Run("train", "--model", "imdb", "--dataset", "textfolder", "--data", data, "--seq-len", "10", "--vocab-size", "64",
            "--epochs", "1", "--batch-size", "20", "--out", Path.Combine(root, "other"));
        Assert.True(other.ExitCode == 0, other.Err);
        File.Copy(Path.Combine(root, "other", "vocabulary.json"), vocab, overwrite: true);
        var mismatch = CliRunner.Run("predict", "--checkpoint", best, "--text", "a dog");
        Assert.NotEqual(0, mismatch.ExitCode);
        Assert.Contains("vocabulary.json", mismatch.Err);
        Assert.Contains("does not match", mismatch.Err);
    }

    [Fact]
    public void ThucNewsModel_TrainsOnCharacters_OnTheSimulatedDevice()
    {
        string root = CliRunner.TempDir();
        string data = Path.Combine(root, "zh");
        string[][] chars = [["山", "水", "花", "月", "云", "风"], ["钱", "银", "市", "股", "价", "税"]];
        var rng = new Random(9);
        foreach (var split in new[] { "train", "test" })
            for (int c = 0; c < 2; c++)
            {
                string folder = Path.Combine(data, split, c == 0 ? "诗" : "财经");
                Directory.CreateDirectory(folder);
                for (int i = 0; i < (split == "train" ? 40 : 10); i++)
                    File.WriteAllText(Path.Combine(folder, $"{i}.txt"), string.Concat(Enumerable.Range(0, 10).Select(_ => chars[c][rng.Next(6)])) + "。");
            }
        var r = CliRunner.Run("train", "--model", "thucnews", "--dataset", "textfolder", "--data", data, "--seq-len", "10", "--vocab-size", "40",
            "--epochs", "3", "--batch-size", "8", "--optimizer", "adam", "--lr", "0.01", "--device", "sim", "--out", Path.Combine(root, "run"), "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("sim:0", r.Json().GetProperty("device").GetString());
        Assert.True(r.Json().GetProperty("test_accuracy").GetDouble() >= 0.9, r.Out);
        Assert.Contains("\"chars\"", File.ReadAllText(Path.Combine(root, "run", "vocabulary.json")));
    }

    [Fact]
    public void TextAndImageModelsAndDatasetsDoNotMix_AndTextOptionsAreChecked()
    {
        var a = CliRunner.Run("train", "--model", "imdb", "--dataset", "fashion-mnist");
        Assert.NotEqual(0, a.ExitCode);
        Assert.Contains("--model imdb reads text", a.Err);
        var b = CliRunner.Run("train", "--model", "lenet5", "--dataset", "textfolder", "--data", CliRunner.TempDir());
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("is text", b.Err);
        var c = CliRunner.Run("train", "--model", "imdb", "--dataset", "textfolder", "--data", CliRunner.TempDir(), "--tokenizer", "bytes");
        Assert.NotEqual(0, c.ExitCode);
        Assert.Contains("--tokenizer 'bytes'", c.Err);
        var d = CliRunner.Run("summary", "--model", "imdb", "--seq-len", "6");
        Assert.NotEqual(0, d.ExitCode);
        Assert.Contains("--seq-len 6", d.Err);
    }
}
