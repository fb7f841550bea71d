using System.Diagnostics;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>tools/datasets/fashion_mnist_export.py on real Fashion-MNIST, read back through the real readers.</summary>
public class FashionExportToolTests
{
    private const string Source = "/usr/share/datasets/fashion-mnist";

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "tools", "datasets", "fashion_mnist_export.py"))) return d.FullName;
        throw new InvalidOperationException($"tools/datasets/fashion_mnist_export.py not found above {AppContext.BaseDirectory}");
    }

    private static void RequireSource()
    {
        if (!File.Exists(Path.Combine(Source, "train-images-idx3-ubyte.gz")))
            Assert.Fail($"{Source} not found: install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist; .ci/run installs it)");
    }

    private static void Run(params string[] args)
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(RepoRoot(), "tools", "datasets", "fashion_mnist_export.py"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "the export script did not finish in 2 minutes");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stdout.Result}{stderr.Result}");
    }

    /// <summary>The 28×28 source image padded to 32×32 (2 zero pixels each side).</summary>
    private static byte[] Padded(MnistDataset src, int index)
    {
        var img = src.Image(index);
        var px = new byte[32 * 32];
        for (int y = 0; y < 28; y++) img.Slice(y * 28, 28).CopyTo(px.AsSpan((y + 2) * 32 + 2));
        return px;
    }

    private static List<int> FirstPerClass(MnistDataset src, int n)
    {
        var seen = new int[10];
        var keep = new List<int>();
        for (int i = 0; i < src.Count; i++)
            if (seen[src.Label(i)]++ < n) keep.Add(i);
        return keep;
    }

    [Fact]
    public void ImageFolderTree_ReadsBackAsThePaddedIdxImages()
    {
        RequireSource();
        using var tmp = new TempDir();
        string root = Path.Combine(tmp.Path, "fashion-tree");
        Run("imagefolder", root, "--per-class", "2", "--source", Source);
        var options = new ImageFolderOptions { ImageSize = 32, ResizeShorter = 32, Augment = false }; // the train split too: as stored
        foreach (var split in new[] { DatasetSplit.Train, DatasetSplit.Test })
        {
            var src = MnistDataset.FromFiles("fashion-mnist", split, Path.Combine(Source, MnistDataset.FileNames(split).Images), Path.Combine(Source, MnistDataset.FileNames(split).Labels));
            var ds = ImageFolderDataset.Load(root, split, options);
            Assert.Equal(MnistDataset.FashionMnistClasses.Select((c, i) => $"{i}_{c.Replace('/', '_').Replace(' ', '_')}"), ds.ClassNames);
            Assert.Equal(20, ds.Count);
            var expected = FirstPerClass(src, 2);
            Assert.Equal(expected.Order(), ds.Files.Select(f => int.Parse(Path.GetFileNameWithoutExtension(f))).Order());
            using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 20, Shuffle = false, Prefetch = 2, Workers = 2, Mean = [0f], Std = [1f] });
            var batch = l.GetHostBatch(0, 0);
            for (int i = 0; i < ds.Count; i++)
            {
                int index = int.Parse(Path.GetFileNameWithoutExtension(ds.Files[i]));
                Assert.Equal(src.Label(index), ds.Label(i));
                Assert.Equal(src.Label(index), batch.Labels[i]);
                var px = new byte[3 * 1024];
                ds.ReadImage(i, new VecQ.Tensors.Rng(0), px);
                var want = Padded(src, index);
                for (int c = 0; c < 3; c++) Assert.Equal(want, px.AsSpan(c * 1024, 1024).ToArray());
                Assert.Equal(px.Select(v => (float)(v / 255.0)), batch.Images.AsSpan(i * 3072, 3072).ToArray());
            }
        }
    }

    [Fact]
    public void CifarBatches_ReadBackAsThePaddedIdxImages()
    {
        RequireSource();
        using var tmp = new TempDir();
        string dir = Path.Combine(tmp.Path, "out", "cifar-10-batches-bin");
        Run("cifar10", dir, "--per-class", "2", "--source", Source);
        var locator = new DataLocator { ExplicitDirectory = Path.Combine(tmp.Path, "out"), SystemDirectory = tmp.Sub("none"), AllowDownload = false, Report = null };
        foreach (var split in new[] { DatasetSplit.Train, DatasetSplit.Test })
        {
            var src = MnistDataset.FromFiles("fashion-mnist", split, Path.Combine(Source, MnistDataset.FileNames(split).Images), Path.Combine(Source, MnistDataset.FileNames(split).Labels));
            var ds = CifarDataset.Load("cifar10", split, locator, new CifarOptions { AnyRecordCount = true });
            Assert.Equal(MnistDataset.FashionMnistClasses, ds.ClassNames);
            var expected = FirstPerClass(src, 2);
            Assert.Equal(expected.Count, ds.Count);
            for (int i = 0; i < ds.Count; i++)
            {
                Assert.Equal(src.Label(expected[i]), ds.Label(i));
                var want = Padded(src, expected[i]);
                for (int c = 0; c < 3; c++) Assert.Equal(want, ds.Image(i).Slice(c * 1024, 1024).ToArray());
            }
            if (split == DatasetSplit.Train)
                Assert.All(CifarDataset.DataFileNames("cifar10", split), f => Assert.Equal(4 * 3073, new FileInfo(Path.Combine(dir, f)).Length));
            // Not the official 10000 records per file: refused without AnyRecordCount, with a hint.
            var e = Assert.Throws<DatasetException>(() => CifarDataset.Load("cifar10", split, locator));
            Assert.Contains("pass CifarOptions.AnyRecordCount", e.Message);
        }
    }
}
