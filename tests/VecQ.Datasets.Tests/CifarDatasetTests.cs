using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>CIFAR binary files written byte by byte with a known content.</summary>
public static class FakeCifar
{
    public static readonly string[] Cifar10Names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Pixel byte p (0..3071, R plane then G then B) of record r of file f.</summary>
    public static byte Pixel(int file, int record, int p) => (byte)((file * 131 + record * 31 + p * 7 + p / 1024 * 50) % 256);

    public static byte Label10(int file, int record) => (byte)((file * 3 + record * 7) % 10);
    public static byte Coarse(int record) => (byte)(record * 3 % 20);
    public static byte Fine(int record) => (byte)((record * 13 + 5) % 100);

    /// <summary>Writes a CIFAR-10 batch: per record the label byte, then 3072 pixel bytes.</summary>
    public static void WriteBatch10(string path, int file, int records)
    {
        using var f = File.Create(path);
        for (int r = 0; r < records; r++)
        {
            f.WriteByte(Label10(file, r));
            for (int p = 0; p < 3072; p++) f.WriteByte(Pixel(file, r, p));
        }
    }

    /// <summary>A CIFAR-10 folder: data_batch_1..5 with <paramref name="perBatch"/> records, test_batch with <paramref name="test"/>, batches.meta.txt as the official one (trailing blank line).</summary>
    public static string Write10(string dir, int perBatch = 3, int test = 4)
    {
        Directory.CreateDirectory(dir);
        for (int b = 1; b <= 5; b++) WriteBatch10(Path.Combine(dir, $"data_batch_{b}.bin"), b, perBatch);
        WriteBatch10(Path.Combine(dir, "test_batch.bin"), 0, test);
        File.WriteAllText(Path.Combine(dir, "batches.meta.txt"), string.Join("\n", Cifar10Names) + "\n\n");
        return dir;
    }

    /// <summary>A CIFAR-100 folder: train.bin and test.bin (coarse byte, fine byte, 3072 pixels), CRLF name files.</summary>
    public static string Write100(string dir, int train = 5, int test = 3)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, file, n) in new[] { ("train.bin", 1, train), ("test.bin", 0, test) })
        {
            using var f = File.Create(Path.Combine(dir, name));
            for (int r = 0; r < n; r++)
            {
                f.WriteByte(Coarse(r));
                f.WriteByte(Fine(r));
                for (int p = 0; p < 3072; p++) f.WriteByte(Pixel(file, r, p));
            }
        }
        File.WriteAllText(Path.Combine(dir, "coarse_label_names.txt"), string.Concat(Enumerable.Range(0, 20).Select(i => $"super{i}\r\n")));
        File.WriteAllText(Path.Combine(dir, "fine_label_names.txt"), string.Concat(Enumerable.Range(0, 100).Select(i => $"class{i}\n")));
        return dir;
    }

    public static DataLocator Locator(string? dir, TempDir tmp) => new()
    {
        ExplicitDirectory = dir, SystemDirectory = Path.Combine(tmp.Path, "no-system"), AllowDownload = false, Report = null,
    };
}

[Collection(EnvironmentCollection.Name)]
public class CifarDatasetTests
{
    private static readonly CifarOptions Any = new() { AnyRecordCount = true };

    [Fact]
    public void Cifar10_Train_ReadsTheFiveBatchesInOrder_ByteExact()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var dir = FakeCifar.Write10(tmp.Sub("cifar-10-batches-bin"), perBatch: 3);
        var ds = CifarDataset.FromDirectory("CIFAR-10", DatasetSplit.Train, dir, Any);
        Assert.Equal("cifar10", ds.Name);
        Assert.Equal(15, ds.Count);
        Assert.Equal(FakeCifar.Cifar10Names, ds.ClassNames);
        Assert.Null(ds.CoarseLabels);
        Assert.Equal((3, 32, 32), (ds.Channels, ds.Height, ds.Width));
        for (int b = 1; b <= 5; b++)
            for (int r = 0; r < 3; r++)
            {
                int idx = (b - 1) * 3 + r;
                Assert.Equal(FakeCifar.Label10(b, r), ds.Label(idx));
                var img = ds.Image(idx);
                Assert.Equal(3072, img.Length);
                for (int p = 0; p < 3072; p++)
                    if (img[p] != FakeCifar.Pixel(b, r, p)) Assert.Fail($"record {idx} pixel {p}: {img[p]} != {FakeCifar.Pixel(b, r, p)}");
            }
        var test = CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, dir, Any);
        Assert.Equal(4, test.Count);
        Assert.Equal(FakeCifar.Pixel(0, 3, 3071), test.Image(3)[3071]);
        Assert.Equal(FakeCifar.Label10(0, 2), test.Label(2));
    }

    [Fact]
    public void Cifar10_OfficialSize_IsRequiredByDefault_AndReadExactly()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("c10");
        // An official-size test_batch.bin: 10000 records; only a few carry a non-zero label/pixels (the rest are zeros).
        string path = Path.Combine(dir, "test_batch.bin");
        using (var f = File.Create(path))
        {
            f.SetLength(10000L * 3073);
            f.Position = 9999L * 3073;
            f.WriteByte(9);
            f.Write(Enumerable.Range(0, 3072).Select(p => FakeCifar.Pixel(0, 9999, p)).ToArray());
        }
        File.WriteAllText(Path.Combine(dir, "batches.meta.txt"), string.Join("\n", FakeCifar.Cifar10Names) + "\n");
        var ds = CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, dir);
        Assert.Equal(10000, ds.Count);
        Assert.Equal(9, ds.Label(9999));
        Assert.Equal(0, ds.Label(9998));
        Assert.True(ds.Image(9999).SequenceEqual(Enumerable.Range(0, 3072).Select(p => FakeCifar.Pixel(0, 9999, p)).ToArray()));
        Assert.True(ds.Image(0).ToArray().All(b => b == 0));
    }

    [Theory]
    [InlineData(10000L * 3073 - 1, "30729999 bytes, expected 30730000 (10000 records of 3073 bytes: 1 label byte + 3072 pixel bytes)", "truncated?")]
    [InlineData(10001L * 3073, "30733073 bytes, expected 30730000", "10001 whole records: pass CifarOptions.AnyRecordCount")]
    [InlineData(3073L * 2, "6146 bytes, expected 30730000", "2 whole records")]
    public void Cifar10_WrongSize_IsAnErrorNamingTheFile_BeforeAnythingLargeIsAllocated(long length, string expected, string hint)
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write10(tmp.Sub("c10"));
        string path = Path.Combine(dir, "test_batch.bin");
        using (var f = File.OpenWrite(path)) f.SetLength(length);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, dir));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(hint, e.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated before the size error");
    }

    [Fact]
    public void AnyRecordCount_StillRejectsPartialRecordsAndEmptyFiles()
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write10(tmp.Sub("c10"), perBatch: 2);
        string third = Path.Combine(dir, "data_batch_3.bin");
        using (var f = File.OpenWrite(third)) f.SetLength(2 * 3073 - 100);
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Train, dir, Any));
        Assert.Equal(third, e.FilePath);
        Assert.Contains("6046 bytes is not a whole, non-zero number of 3073-byte records", e.Message);
        Assert.Contains("1 records and 2973 byte(s) left over; truncated?", e.Message);
        using (var f = File.OpenWrite(third)) f.SetLength(0);
        e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Train, dir, Any));
        Assert.Contains("0 bytes is not a whole, non-zero number", e.Message);
    }

    [Fact]
    public void LabelOutOfRange_IsAnErrorNamingFileAndRecord()
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write10(tmp.Sub("c10"), perBatch: 3);
        string path = Path.Combine(dir, "data_batch_2.bin");
        using (var f = File.OpenWrite(path))
        {
            f.Position = 2 * 3073;
            f.WriteByte(10);
        }
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Train, dir, Any));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("record 2: label 10 is outside 0..9 (byte offset 6146)", e.Message);
    }

    [Theory]
    [InlineData("a\nb\n", "2 class names, expected 10")]
    [InlineData("a\n\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "line 2 is blank")]
    public void BadNamesFile_IsAnError(string text, string expected)
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write10(tmp.Sub("c10"));
        string meta = Path.Combine(dir, "batches.meta.txt");
        File.WriteAllText(meta, text);
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, dir, Any));
        Assert.Equal(meta, e.FilePath);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Cifar100_ReadsCoarseAndFineLabels_AndBothNameLists()
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write100(tmp.Sub("cifar-100-binary"), train: 7, test: 3);
        var ds = CifarDataset.FromDirectory("cifar100", DatasetSplit.Train, dir, Any);
        Assert.Equal(7, ds.Count);
        Assert.Equal(100, ds.ClassNames.Count);
        Assert.Equal("class42", ds.ClassNames[42]);
        Assert.Equal("super19", ds.CoarseClassNames![19]);
        Assert.Equal(Enumerable.Range(0, 7).Select(FakeCifar.Fine), ds.FineLabels!);
        Assert.Equal(Enumerable.Range(0, 7).Select(FakeCifar.Coarse), ds.CoarseLabels!);
        Assert.Equal(Enumerable.Range(0, 7).Select(r => (int)FakeCifar.Fine(r)), Enumerable.Range(0, 7).Select(ds.Label));
        Assert.True(ds.Image(6).SequenceEqual(Enumerable.Range(0, 3072).Select(p => FakeCifar.Pixel(1, 6, p)).ToArray()));
        var coarse = CifarDataset.FromDirectory("cifar100", DatasetSplit.Test, dir, Any with { CoarseLabels = true });
        Assert.Equal(20, coarse.ClassNames.Count);
        Assert.Equal(Enumerable.Range(0, 3).Select(r => (int)FakeCifar.Coarse(r)), Enumerable.Range(0, 3).Select(coarse.Label));
        Assert.True(coarse.Image(2).SequenceEqual(Enumerable.Range(0, 3072).Select(p => FakeCifar.Pixel(0, 2, p)).ToArray()));
        // The official size of train.bin is 50000 records.
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar100", DatasetSplit.Train, dir));
        Assert.Contains($"{7 * 3074} bytes, expected {50000L * 3074} (50000 records of 3074 bytes: 1 coarse label byte + 1 fine label byte + 3072 pixel bytes)", e.Message);
        Assert.Throws<ArgumentException>(() => CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, dir, Any with { CoarseLabels = true }));
    }

    [Fact]
    public void Cifar100_FineLabelOutOfRange_IsAnError()
    {
        using var tmp = new TempDir();
        var dir = FakeCifar.Write100(tmp.Sub("c100"), train: 4);
        string path = Path.Combine(dir, "train.bin");
        using (var f = File.OpenWrite(path))
        {
            f.Position = 3 * 3074 + 1;
            f.WriteByte(100);
        }
        var e = Assert.Throws<DatasetException>(() => CifarDataset.FromDirectory("cifar100", DatasetSplit.Train, dir, Any));
        Assert.Contains("record 3: fine label 100 is outside 0..99 (byte offset 9223)", e.Message);
    }

    [Fact]
    public void Locator_AcceptsTheFolder_ItsParent_AndDataDirWithTheDatasetName()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var parent = tmp.Sub("data");
        var dir = FakeCifar.Write10(Path.Combine(parent, "cifar-10-batches-bin"));
        foreach (var given in new[] { dir, parent })
        {
            var ds = CifarDataset.Load("cifar10", DatasetSplit.Test, FakeCifar.Locator(given, tmp), Any);
            Assert.Equal(Path.GetFullPath(dir), ds.Origin);
            Assert.Equal(DatasetSource.Explicit, ds.Source);
            Assert.Equal(4, ds.Count);
        }
        var nested = FakeCifar.Write100(Path.Combine(tmp.Path, "other", "cifar100", "cifar-100-binary"));
        var c100 = CifarDataset.Load("cifar100", DatasetSplit.Test, FakeCifar.Locator(Path.Combine(tmp.Path, "other"), tmp), Any);
        Assert.Equal(Path.GetFullPath(nested), c100.Origin);
        // VECQ_DATA and the system folder get the subfolder too.
        env.Set(DataLocator.DataEnvironmentVariable, parent);
        Assert.Equal(DatasetSource.Environment, CifarDataset.Load("cifar10", DatasetSplit.Train, FakeCifar.Locator(null, tmp), Any).Source);
        env.Set(DataLocator.DataEnvironmentVariable, null);
        var sys = new DataLocator { SystemDirectory = Path.Combine(tmp.Path, "other"), AllowDownload = false, Report = null };
        Assert.Equal(DatasetSource.System, CifarDataset.Load("cifar100", DatasetSplit.Train, sys, Any).Source);
    }

    [Fact]
    public void NotFound_ListsThePlacesTried_AndWhereToGetTheFiles()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var e = Assert.Throws<DatasetNotFoundException>(() => CifarDataset.Load("cifar10", DatasetSplit.Train, FakeCifar.Locator(tmp.Sub("empty"), tmp)));
        Assert.Equal("cifar10", e.DatasetName);
        Assert.Contains("missing data_batch_1.bin", e.Message);
        Assert.Contains("cifar-10-binary.tar.gz", e.Message);
        Assert.Contains("https://www.cs.toronto.edu/~kriz/cifar.html", e.Message);
    }

    [Fact]
    public void Names_AreCanonical_AndUnknownOnesRejected()
    {
        Assert.Equal("cifar10", CifarDataset.Canonical(" Cifar_10 "));
        Assert.Equal("cifar100", CifarDataset.Canonical("CIFAR-100"));
        Assert.Throws<ArgumentException>(() => CifarDataset.Canonical("cifar1000"));
        Assert.Equal(["train.bin"], CifarDataset.DataFileNames("cifar100", DatasetSplit.Train));
        Assert.Equal(3073, CifarDataset.RecordBytes("cifar10"));
        Assert.Equal(3074, CifarDataset.RecordBytes("cifar100"));
    }

    [Fact]
    public void EvalPreprocess_Is32x32Rgb_WithTheDefaultNormalisation()
    {
        using var tmp = new TempDir();
        var ds = CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, FakeCifar.Write10(tmp.Sub("c")), Any);
        var pre = ds.EvalPreprocess;
        Assert.Equal((32, 32, PixelOrder.Rgb), (pre.ResizeShorter, pre.CropSize, pre.Channels));
        Assert.Equal(ds.DefaultMean, pre.Mean);
        Assert.Equal(ds.DefaultStd, pre.Std);
    }
}

[Collection(EnvironmentCollection.Name)]
public class CifarDownloadTests
{
    /// <summary>A .tar.gz of <paramref name="dir"/>'s files under <paramref name="folder"/>/ (as the official archive), plus extra entries.</summary>
    private static byte[] TarGz(string dir, string folder, params (string Name, byte[] Data)[] extra)
    {
        var ms = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new System.Formats.Tar.TarWriter(gz, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.Directory, folder + "/"));
            foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
                tar.WriteEntry(f, $"{folder}/{Path.GetFileName(f)}");
            foreach (var (name, data) in extra)
                tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }
        return ms.ToArray();
    }

    private static DataLocator Downloading(TempDir tmp, byte[] archive, List<Uri> requests, List<string> lines) => new()
    {
        SystemDirectory = Path.Combine(tmp.Path, "no-system"),
        Report = lines.Add,
        Downloader = (url, dest, progress) =>
        {
            requests.Add(url);
            dest.Write(archive);
            progress?.Invoke(archive.Length, archive.Length);
        },
    };

    [Fact]
    public void Download_FetchesTheOfficialArchive_ChecksItsMd5_UnpacksIntoTheCache()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var archive = TarGz(FakeCifar.Write10(tmp.Sub("src"), perBatch: 2), "cifar-10-batches-bin");
        var requests = new List<Uri>();
        var lines = new List<string>();
        var spec = CifarDataset.Spec("cifar10", DatasetSplit.Train);
        Assert.Equal("c32a1d4ab5d03f1284b67883e8d87530", spec.Archive!.Md5);
        // The fake archive is not the official one: its checksum is refused …
        var e = Assert.Throws<DatasetNotFoundException>(() => CifarDataset.Load("cifar10", DatasetSplit.Train, Downloading(tmp, archive, requests, lines)));
        Assert.Equal([new Uri("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")], requests);
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(tmp.Path, "cache")));
        // … and with its own MD5 it is unpacked into the cache, where the next search finds it without downloading.
        string md5 = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(archive));
        var withMd5 = spec with { Archive = spec.Archive with { Md5 = md5 } };
        var location = Downloading(tmp, archive, requests, lines).Locate(withMd5);
        Assert.Equal(DatasetSource.Download, location.Source);
        string unpacked = Path.Combine(tmp.Path, "cache", "cifar10", "cifar-10-batches-bin");
        Assert.Equal(unpacked, location.Directory);
        Assert.Equal(["batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"],
            Directory.GetFiles(unpacked).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Single(Directory.GetFileSystemEntries(Path.Combine(tmp.Path, "cache", "cifar10"))); // the archive and temp files are gone
        var ds = CifarDataset.Load("cifar10", DatasetSplit.Train, new DataLocator { AllowDownload = false, Report = null, SystemDirectory = tmp.Sub("none") }, new CifarOptions { AnyRecordCount = true });
        Assert.Equal(DatasetSource.Cache, ds.Source);
        Assert.Equal(10, ds.Count);
        Assert.Equal(FakeCifar.Pixel(3, 1, 77), ds.Image(5)[77]);
        Assert.Contains(lines, l => l.Contains("unpacking cifar-10-binary.tar.gz"));
    }

    [Fact]
    public void Download_RefusesAnArchiveWithAPathOutsideTheCache()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var archive = TarGz(FakeCifar.Write10(tmp.Sub("src")), "cifar-10-batches-bin", ("../../evil.txt", [1, 2, 3]));
        var spec = CifarDataset.Spec("cifar10", DatasetSplit.Test);
        spec = spec with { Archive = spec.Archive! with { Md5 = null } };
        var lines = new List<string>();
        Assert.False(Downloading(tmp, archive, [], lines).TryLocate(spec, out _, out var steps));
        Assert.Contains(steps, s => s.Contains("unsafe path in the archive: ../../evil.txt"));
        Assert.False(File.Exists(Path.Combine(tmp.Path, "evil.txt")));
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "cache", "cifar10"))); // created for the download, removed again
    }
}
