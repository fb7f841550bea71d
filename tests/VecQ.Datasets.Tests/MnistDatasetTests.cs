using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

public class MnistDatasetTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FromFiles_ReadsImagesAndLabels(bool gzip)
    {
        using var dir = new TempDir();
        var (img, lbl) = FakeMnist.Write(dir.Path, DatasetSplit.Test, 7, gzip);
        var ds = MnistDataset.FromFiles("mnist", DatasetSplit.Test, img, lbl);
        Assert.Equal(7, ds.Count);
        Assert.Equal([7, 28, 28], ds.ImageShape);
        Assert.Equal(FakeMnist.Images(7), ds.Images);
        Assert.Equal(FakeMnist.Labels(7), ds.Labels);
        Assert.Equal(FakeMnist.Pixel(3, 5), ds.Image(3)[5]);
        Assert.Equal(FakeMnist.LabelOf(6), ds.Label(6));
        Assert.Equal("9", ds.ClassNames[9]);
        Assert.Equal(0.1307f, ds.DefaultMean[0]);
        Assert.Equal(0.3081f, ds.DefaultStd[0]);
    }

    [Fact]
    public void CountMismatch_NamesBothFiles()
    {
        using var dir = new TempDir();
        var (img, lbl) = FakeMnist.Write(dir.Path, DatasetSplit.Train, 6, labelCount: 5);
        var e = Assert.Throws<DatasetException>(() => MnistDataset.FromFiles("mnist", DatasetSplit.Train, img, lbl));
        Assert.Equal(lbl, e.FilePath);
        Assert.Contains($"{lbl}: count mismatch: 5 labels, but {img} has 6 images", e.Message);
    }

    [Fact]
    public void LabelOutOfRange_NamesFileIndexAndValue()
    {
        using var dir = new TempDir();
        var (img, lbl) = FakeMnist.Write(dir.Path, DatasetSplit.Train, 6);
        var labels = FakeMnist.Labels(6);
        labels[4] = 12;
        labels[5] = 255;
        IdxWriter.Write(lbl, IdxArray.Create(labels), gzip: true);
        var e = Assert.Throws<DatasetException>(() => MnistDataset.FromFiles("fashion-mnist", DatasetSplit.Train, img, lbl));
        Assert.StartsWith(lbl + ": ", e.Message);
        Assert.Contains("label 12 at index 4 is outside 0..9 (2 of 6 labels out of range)", e.Message);
    }

    [Fact]
    public void WrongElementTypeOrRank_IsAnError()
    {
        using var dir = new TempDir();
        var (img, lbl) = FakeMnist.Write(dir.Path, DatasetSplit.Train, 2);
        IdxWriter.Write(img, IdxArray.Create(new float[2 * 28 * 28], 2, 28, 28));
        var e = Assert.Throws<DatasetException>(() => MnistDataset.FromFiles("mnist", DatasetSplit.Train, img, lbl));
        Assert.Contains($"{img}: element type float (0x0D); MNIST images are unsigned bytes (0x08)", e.Message);

        IdxWriter.Write(img, IdxArray.Create(new byte[2 * 28 * 28], 2, 784));
        e = Assert.Throws<DatasetException>(() => MnistDataset.FromFiles("mnist", DatasetSplit.Train, img, lbl));
        Assert.Contains("2 dimension(s) (2×784)", e.Message);
    }

    [Fact]
    public void Names_AreCanonicalised()
    {
        Assert.Equal("fashion-mnist", MnistDataset.Canonical("Fashion_MNIST"));
        Assert.Equal("mnist", MnistDataset.Canonical("MNIST"));
        var e = Assert.Throws<ArgumentException>(() => MnistDataset.Canonical("cifar10"));
        Assert.Contains("cifar10", e.Message);
    }

    [Fact]
    public void FashionClassNames()
    {
        Assert.Equal(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            MnistDataset.FashionMnistClasses);
        var ds = SmallDataset.Make(3);
        Assert.Equal("Ankle boot", ds.ClassNames[9]);
        Assert.Equal(0.2860f, ds.DefaultMean[0]);
        Assert.Equal(0.3530f, ds.DefaultStd[0]);
    }

    [Theory]
    [InlineData(DatasetSplit.Train, MnistDataset.SampleTrainCount)]
    [InlineData(DatasetSplit.Test, MnistDataset.SampleTestCount)]
    public void EmbeddedSample_HasTheDocumentedCounts_AndAllTenClasses(DatasetSplit split, int count)
    {
        var ds = MnistDataset.LoadEmbeddedSample(split);
        Assert.Equal(count, ds.Count);
        Assert.Equal([count, 28, 28], ds.ImageShape);
        Assert.True(ds.IsSample);
        Assert.Equal(DatasetSource.EmbeddedSample, ds.Source);
        Assert.Equal("fashion-mnist", ds.Name);
        Assert.All(ds.Labels, l => Assert.InRange(l, 0, 9));
        Assert.Equal(10, ds.Labels.Distinct().Count());
        // Real images: mostly black background, some bright pixels, mean near Fashion-MNIST's 0.286.
        double mean = ds.Images.Average(b => b / 255.0);
        Assert.InRange(mean, 0.25, 0.32);
        Assert.Equal(255, ds.Images.Max());
    }

    [SystemDataFact]
    public void EmbeddedSample_IsTheStartOfTheRealDataset()
    {
        var dir = SystemDataFactAttribute.Folder;
        Assert.True(Directory.Exists(dir), SystemDataFactAttribute.MissingMessage);
        var sample = MnistDataset.LoadEmbeddedSample(DatasetSplit.Test);
        var full = MnistDataset.FromFiles("fashion-mnist", DatasetSplit.Test,
            Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
        Assert.Equal(full.Images.AsSpan(0, sample.Images.Length).ToArray(), sample.Images);
        Assert.Equal(full.Labels.AsSpan(0, sample.Count).ToArray(), sample.Labels);
    }

    [Fact]
    public void EmbeddedSample_StaysUnderTwoMegabytes()
    {
        var asm = typeof(MnistDataset).Assembly;
        long total = 0;
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.Contains("fashion-mnist-sample")))
        {
            using var s = asm.GetManifestResourceStream(name)!;
            total += s.Length;
        }
        Assert.InRange(total, 1, 2_000_000);
    }

    [Fact]
    public void Spec_HasOfficialAddressesAndChecksums()
    {
        var f = MnistDataset.Spec("fashion-mnist", DatasetSplit.Train);
        Assert.Equal("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", f.BaseUrls[0].ToString());
        Assert.Equal(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"], f.Files.Select(x => x.FileName));
        Assert.Equal("8d4fb7e6c68d591d4c3dfef9ec88bf0d", f.Files[0].Md5);
        var m = MnistDataset.Spec("mnist", DatasetSplit.Test);
        Assert.Equal("https://ossci-datasets.s3.amazonaws.com/mnist/", m.BaseUrls[0].ToString());
        Assert.Equal(["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"], m.Files.Select(x => x.FileName));
        Assert.All(m.Files, x => Assert.Matches("^[0-9a-f]{32}$", x.Md5));
    }
}

/// <summary>A fact that is reported as skipped (never silently passed) when the system data is absent and VECQ_SKIP_SYSTEM_DATA=1.</summary>
public sealed class SystemDataFactAttribute : FactAttribute
{
    public const string Folder = "/usr/share/datasets/fashion-mnist";

    public const string MissingMessage =
        Folder + " is missing: install Debian's package dataset-fashion-mnist " +
        "(apt-get install dataset-fashion-mnist), or set VECQ_SKIP_SYSTEM_DATA=1 to skip the tests that need it";

    public SystemDataFactAttribute()
    {
        if (!Directory.Exists(Folder) && Environment.GetEnvironmentVariable("VECQ_SKIP_SYSTEM_DATA") == "1")
            Skip = $"{Folder} is missing and VECQ_SKIP_SYSTEM_DATA=1";
    }
}

[Collection(EnvironmentCollection.Name)]
public class MnistLoadTests
{
    private static DataLocator Quiet(List<string> log, string systemDir, DatasetDownloader? downloader = null, bool allowDownload = true) => new()
    {
        SystemDirectory = systemDir,
        Report = log.Add,
        AllowDownload = allowDownload,
        Downloader = downloader ?? ((url, _, _) => throw new HttpRequestException($"no network in tests ({url})")),
    };

    [SystemDataFact]
    public void SystemData_FashionMnist_LoadsFullSplits()
    {
        Assert.True(Directory.Exists(SystemDataFactAttribute.Folder), SystemDataFactAttribute.MissingMessage);
        using var cache = new TempDir();
        using var env = EnvScope.Clean(cache.Path);
        var log = new List<string>();
        var locator = new DataLocator { Report = log.Add, AllowDownload = false };
        var train = MnistDataset.Load("fashion-mnist", DatasetSplit.Train, locator);
        var test = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, locator);
        Assert.Equal(DatasetSource.System, train.Source);
        Assert.Equal(SystemDataFactAttribute.Folder, train.Origin);
        Assert.Contains(log, l => l.Contains($"using {SystemDataFactAttribute.Folder}"));
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal([60000, 28, 28], train.ImageShape);
        // Fashion-MNIST is exactly balanced: 6000 / 1000 per class.
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, train.Labels.Count(l => l == c)));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, test.Labels.Count(l => l == c)));
        double mean = train.Images.Average(b => b / 255.0);
        Assert.Equal(0.2860, mean, 3);
    }

    [Fact]
    public void Load_FromExplicitFolder_ReportsIt()
    {
        using var data = new TempDir();
        using var cache = new TempDir();
        using var env = EnvScope.Clean(cache.Path);
        FakeMnist.WriteAll(data.Path, gzip: false);
        var log = new List<string>();
        var locator = new DataLocator { ExplicitDirectory = data.Path, SystemDirectory = cache.Path, Report = log.Add, AllowDownload = false };
        var ds = MnistDataset.Load("mnist", DatasetSplit.Train, locator);
        Assert.Equal(12, ds.Count);
        Assert.Equal(DatasetSource.Explicit, ds.Source);
        Assert.Equal(data.Path, ds.Origin);
        Assert.False(ds.IsSample);
        Assert.Contains($"mnist: using {data.Path} (--data)", log);
    }

    [Fact]
    public void FashionMnist_NotFound_FallsBackToTheEmbeddedSample_WithANotice()
    {
        using var cache = new TempDir();
        using var env = EnvScope.Clean(cache.Path);
        var log = new List<string>();
        var ds = MnistDataset.Load("fashion-mnist", DatasetSplit.Test, Quiet(log, cache.Sub("empty-system")));
        Assert.True(ds.IsSample);
        Assert.Equal(MnistDataset.SampleTestCount, ds.Count);
        var notice = Assert.Single(log, l => l.Contains("embedded sample"));
        Assert.StartsWith("fashion-mnist not found in any of (", notice);
        Assert.Contains($"using the embedded sample of {MnistDataset.SampleTrainCount}/{MnistDataset.SampleTestCount} images", notice);
        Assert.Contains("no network in tests", notice);     // the download step's outcome is part of it
        Assert.Contains(Path.Combine(cache.Path, "fashion-mnist"), notice);
    }

    [Fact]
    public void FashionMnist_NoFallbackWhenDisallowed_AndMnistNeverFallsBack()
    {
        using var cache = new TempDir();
        using var env = EnvScope.Clean(cache.Path);
        var log = new List<string>();
        var e = Assert.Throws<DatasetNotFoundException>(() =>
            MnistDataset.Load("fashion-mnist", DatasetSplit.Train, Quiet(log, cache.Sub("s")), allowEmbeddedSample: false));
        Assert.Contains("fashion-mnist not found", e.Message);
        e = Assert.Throws<DatasetNotFoundException>(() => MnistDataset.Load("mnist", DatasetSplit.Train, Quiet(log, cache.Sub("s"))));
        Assert.Contains("mnist: download https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz failed", e.Message);
        Assert.Contains(e.Attempts, a => a.Contains("no network in tests"));
    }

    [Fact]
    public void CorruptFiles_AreErrors_NotAFallback()
    {
        using var data = new TempDir();
        using var cache = new TempDir();
        using var env = EnvScope.Clean(cache.Path);
        var (img, _) = FakeMnist.Write(data.Path, DatasetSplit.Test, 4);
        var bytes = File.ReadAllBytes(img);
        File.WriteAllBytes(img, bytes[..(bytes.Length / 2)]);
        var log = new List<string>();
        var locator = new DataLocator { ExplicitDirectory = data.Path, SystemDirectory = cache.Path, Report = log.Add, AllowDownload = false };
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load("fashion-mnist", DatasetSplit.Test, locator));
        Assert.StartsWith(img + ": ", e.Message);
    }
}
