using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>Writes .npy bytes exactly as numpy's format.write_array does (header padded with spaces to a multiple of 64, then '\n').</summary>
public static class NpyBytes
{
    public static byte[] Header(string descr, bool fortran, string shape, int major = 1, string? dict = null)
    {
        dict ??= $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        int pre = major == 1 ? 10 : 12;
        var body = Encoding.UTF8.GetBytes(dict);
        int total = pre + body.Length + 1;
        int pad = (64 - total % 64) % 64;
        var header = new byte[total + pad];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = (byte)major;
        header[7] = 0;
        int len = body.Length + pad + 1;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)len);
        else BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)len);
        body.CopyTo(header, pre);
        header.AsSpan(pre + body.Length, pad).Fill((byte)' ');
        header[^1] = (byte)'\n';
        return header;
    }

    public static byte[] Int32(string shape, int[] values, int major = 1, bool fortran = false)
    {
        var data = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), values[i]);
        return [.. Header("<i4", fortran, shape, major), .. data];
    }

    public static byte[] Int64(string shape, long[] values)
    {
        var data = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * 8), values[i]);
        return [.. Header("<i8", false, shape), .. data];
    }

    public static void Npz(string path, IEnumerable<(string Name, byte[] Npy)> members, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var f = File.Create(path);
        using var zip = new ZipArchive(f, ZipArchiveMode.Create);
        foreach (var (name, npy) in members)
        {
            var e = zip.CreateEntry(name + ".npy", level);
            using var s = e.Open();
            s.Write(npy);
        }
    }
}

public sealed class PythonNumpyFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";
    private static readonly Lazy<bool> Present = new(() =>
    {
        if (!File.Exists(Python)) return false;
        using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import numpy"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(60_000);
        return p.HasExited && p.ExitCode == 0;
    });

    public PythonNumpyFactAttribute()
    {
        if (!Present.Value) Skip = $"{Python} with numpy is not installed (Debian package python3-numpy; .ci/run installs it)";
    }
}

public class NpyTests
{
    private static NpyReader Open(TempDir tmp, byte[] bytes, string name = "a.npy")
    {
        string path = tmp.File(name);
        File.WriteAllBytes(path, bytes);
        return NpyReader.Open(path);
    }

    private static DatasetException Bad(TempDir tmp, byte[] bytes, Action<NpyReader>? read = null)
    {
        string path = tmp.File("bad.npy");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DatasetException>(() =>
        {
            using var r = NpyReader.Open(path);
            read?.Invoke(r);
        });
        Assert.Equal(path, e.FilePath);
        return e;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Versions_HeaderFieldsAndInt32Data(int major)
    {
        using var tmp = new TempDir();
        using var r = Open(tmp, NpyBytes.Int32("(2, 3)", [1, -2, 3, 4, 5, int.MaxValue], major));
        Assert.Equal(major, r.Header.Major);
        Assert.Equal("<i4", r.Header.Descr);
        Assert.Equal([2L, 3L], r.Header.Shape);
        Assert.False(r.Header.FortranOrder);
        Assert.Equal(128, r.Header.DataOffset);                    // padded to a multiple of 64, as numpy does
        Assert.Equal(24, r.Header.DataBytes);
        Assert.Equal([1L, -2, 3, 4, 5, int.MaxValue], r.ReadAllInt64());
    }

    [Fact]
    public void Dtypes_BothByteOrders_Bool_FortranOrder_Scalars()
    {
        using var tmp = new TempDir();
        void Check(string descr, byte[] data, string shape, long[] want, bool fortran = false)
        {
            using var r = Open(tmp, [.. NpyBytes.Header(descr, fortran, shape), .. data], descr.Replace('<', 'l').Replace('>', 'b').Replace('|', 'n') + ".npy");
            Assert.Equal(want, r.ReadAllInt64());
        }
        Check("|u1", [0, 200, 255], "(3,)", [0, 200, 255]);
        Check("|i1", [0, 200, 255], "(3,)", [0, -56, -1]);
        Check("|b1", [0, 1, 1, 0], "(4,)", [0, 1, 1, 0]);
        Check("<i2", [0x01, 0x80, 0xFF, 0x7F], "(2,)", [-32767, 32767]);
        Check(">i2", [0x01, 0x80, 0xFF, 0x7F], "(2,)", [384, -129]);
        Check("<u2", [0x01, 0x80], "(1,)", [32769]);
        Check(">i4", [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFE], "(2,)", [256, -2]);
        Check("<u4", [0xFF, 0xFF, 0xFF, 0xFF], "()", [4294967295]);
        Check("<i8", [1, 0, 0, 0, 0, 0, 0, 0x80], "(1,)", [long.MinValue + 1]);
        Check("<u8", [5, 0, 0, 0, 0, 0, 0, 0], "(1L,)", [5]);           // Python 2's long suffix
        Check("=i2", [2, 0], "(1,)", [2]);
        // Fortran order: [[1, 2, 3], [4, 5, 6]] stored column by column.
        Check("|u1", [1, 4, 2, 5, 3, 6], "(2, 3)", [1, 2, 3, 4, 5, 6], fortran: true);
        Check("|u1", [], "(0, 5)", []);
    }

    [Fact]
    public void BadHeadersAndSizes_ClearErrorsNamingTheFile()
    {
        using var tmp = new TempDir();
        var good = NpyBytes.Int32("(2, 3)", [1, 2, 3, 4, 5, 6]);
        Assert.Contains("truncated: the header says shape (2, 3) of '<i4' = 24 bytes of data, but 20 bytes follow the 128-byte header", Bad(tmp, good[..^4]).Message);
        Assert.Contains("4 bytes after the data", Bad(tmp, [.. good, 0, 0, 0, 0]).Message);
        Assert.Contains("not a .npy array (magic", Bad(tmp, [.. "PK\x03\x04"u8, .. good[4..]]).Message);
        var v4 = (byte[])good.Clone();
        v4[6] = 4;
        Assert.Contains(".npy format version 4.0 is not supported", Bad(tmp, v4).Message);
        Assert.Contains("truncated: 5 bytes", Bad(tmp, good[..5]).Message);
        Assert.Contains("truncated: the header says it is 118 bytes, but only 10 follow", Bad(tmp, good[..20]).Message);
        var huge = NpyBytes.Header("<i4", false, "(100000, 100000)");
        Assert.Contains("= 40000000000 bytes of data, but 0 bytes follow", Bad(tmp, huge).Message);   // checked before any allocation
        Assert.Contains("overflows 64 bits", Bad(tmp, NpyBytes.Header("<i8", false, "(4294967296, 4294967296)")).Message);
        Assert.Contains("unexpected key 'extra'", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': '<i4', 'fortran_order': False, 'shape': (), 'extra': 1}")).Message);
        Assert.Contains("missing 'shape'", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': '<i4', 'fortran_order': False}")).Message);
        Assert.Contains("expected True or False", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': '<i4', 'fortran_order': 0, 'shape': ()}")).Message);
        Assert.Contains("structured dtypes", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': ()}")).Message);
        Assert.Contains("expected a non-negative integer in the shape", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}")).Message);
        Assert.Contains("non-ASCII byte", Bad(tmp, NpyBytes.Header("", false, "", dict: "{'descr': '<i4', 'fortran_order': False, 'shape': (), 'é': 1}")).Message);
        var obj = Bad(tmp, [.. NpyBytes.Header("|O", false, "(2,)"), .. new byte[16]]);
        Assert.Contains("pickled Python objects", obj.Message);
        Assert.Contains("tools/datasets/imdb_npz_convert.py", obj.Message);
        Assert.Contains("is not an integer type", Bad(tmp, [.. NpyBytes.Header("<f4", false, "(1,)"), 0, 0, 0x80, 0x3F], r => r.ReadAllInt64()).Message);
        Assert.Contains("does not fit in a signed 64-bit integer", Bad(tmp, [.. NpyBytes.Header("<u8", false, "(1,)"), 0, 0, 0, 0, 0, 0, 0, 0x80], r => r.ReadAllInt64()).Message);
    }

    [Fact]
    public void Npz_StoredAndDeflated_MembersByName()
    {
        using var tmp = new TempDir();
        foreach (var level in new[] { CompressionLevel.NoCompression, CompressionLevel.Optimal })
        {
            string path = tmp.File($"a-{level}.npz");
            NpyBytes.Npz(path, [("b", NpyBytes.Int32("(3,)", [7, 8, 9])), ("a", NpyBytes.Int64("(2, 2)", [1, 2, 3, 4]))], level);
            using var npz = NpzArchive.Open(path);
            Assert.Equal(["a", "b"], npz.Names);
            using (var a = npz.OpenArray("a.npy")) Assert.Equal([1L, 2, 3, 4], a.ReadAllInt64());
            using (var b = npz.OpenArray("b")) Assert.Equal([7L, 8, 9], b.ReadAllInt64());
            var e = Assert.Throws<DatasetException>(() => npz.OpenArray("c"));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("no array 'c' (the archive holds a, b)", e.Message);
        }
    }

    [Fact]
    public void Npz_TruncatedOrCorrupt_ErrorNamesTheFile()
    {
        using var tmp = new TempDir();
        string path = tmp.File("imdb_int32.npz");
        ImdbNpzTests.WriteImdb(path, CompressionLevel.Optimal);
        var bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { bytes.Length - 1, bytes.Length / 2, 10, 0 })
        {
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<DatasetException>(() => NpzArchive.Open(path));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("not a complete zip archive (truncated or corrupt", e.Message);
            var e2 = Assert.Throws<DatasetException>(() => ImdbDataset.ReadNpz(path, DatasetSplit.Train));
            Assert.Equal(path, e2.FilePath);
        }
        // The directory intact but a member's deflated data damaged.
        var damaged = (byte[])bytes.Clone();
        for (int i = 200; i < 260; i++) damaged[i] ^= 0x5A;
        File.WriteAllBytes(path, damaged);
        var e3 = Assert.ThrowsAny<DatasetException>(() =>
        {
            using var npz = NpzArchive.Open(path);
            foreach (var n in npz.Names)
                using (var r = npz.OpenArray(n)) r.ReadAllInt64();
        });
        Assert.Equal(path, e3.FilePath);
        // A directory that declares a member far larger than its compressed data could give: refused before reading.
        NpyBytes.Npz(path, [("y_train", NpyBytes.Int32("(3,)", [0, 1, 0]))]);
        var zip = File.ReadAllBytes(path);
        int central = zip.AsSpan().LastIndexOf("PK\x01\x02"u8);
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 24), 0x7FFFFFFF);   // uncompressed size
        File.WriteAllBytes(path, zip);
        var e5 = Assert.Throws<DatasetException>(() => ImdbDataset.ReadNpz(path, DatasetSplit.Train));
        Assert.Equal(path, e5.FilePath);
        Assert.Contains("y_train.npy: 2147483647 bytes declared from 140 compressed bytes, more than deflate can produce", e5.Message);
        // A member whose header declares more data than the member holds.
        NpyBytes.Npz(path, [("y_train", NpyBytes.Int32("(5,)", [0, 1, 0]))]);
        var e4 = Assert.Throws<DatasetException>(() => ImdbDataset.ReadNpz(path, DatasetSplit.Train));
        Assert.Equal(path, e4.FilePath);
        Assert.Contains("y_train.npy: truncated: the header says shape (5,) of '<i4' = 20 bytes of data, but 12 bytes follow", e4.Message);
    }

    [PythonNumpyFact]
    public void NumpyWrittenFiles_ReadTheSame()
    {
        using var tmp = new TempDir();
        string dir = tmp.Path;
        string script = """
            import numpy as np, sys
            d = sys.argv[1]
            a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
            np.save(d + '/c.npy', a)
            np.save(d + '/f.npy', np.asfortranarray(a.astype(np.int16)))
            np.save(d + '/be.npy', a.astype('>i8'))
            np.save(d + '/u1.npy', np.array([0, 7, 255], dtype=np.uint8))
            np.save(d + '/b1.npy', np.array([True, False, True]))
            np.save(d + '/s.npy', np.int64(42))
            np.lib.format.write_array(open(d + '/v2.npy', 'wb'), a, version=(2, 0))
            np.lib.format.write_array(open(d + '/v3.npy', 'wb'), a, version=(3, 0))
            np.savez_compressed(d + '/z.npz', x=a, y=np.array([1, 0, 1], dtype=np.int64))
            np.save(d + '/o.npy', np.array([[1, 2], [3]], dtype=object), allow_pickle=True)
            """;
        RunPython(script, dir);
        var want = Enumerable.Range(-6, 12).Select(v => (long)v).ToArray();
        foreach (var f in new[] { "c", "f", "be", "v2", "v3" })
            using (var r = NpyReader.Open(Path.Combine(dir, f + ".npy")))
            {
                Assert.Equal([3L, 4L], r.Header.Shape);
                Assert.Equal(want, r.ReadAllInt64());
            }
        using (var r = NpyReader.Open(Path.Combine(dir, "f.npy"))) Assert.True(r.Header.FortranOrder);
        using (var r = NpyReader.Open(Path.Combine(dir, "v3.npy"))) Assert.Equal(3, r.Header.Major);
        using (var r = NpyReader.Open(Path.Combine(dir, "u1.npy"))) Assert.Equal([0L, 7, 255], r.ReadAllInt64());
        using (var r = NpyReader.Open(Path.Combine(dir, "b1.npy"))) Assert.Equal([1L, 0, 1], r.ReadAllInt64());
        using (var r = NpyReader.Open(Path.Combine(dir, "s.npy")))
        {
            Assert.Empty(r.Header.Shape);
            Assert.Equal([42L], r.ReadAllInt64());
        }
        using (var z = NpzArchive.Open(Path.Combine(dir, "z.npz")))
        {
            using (var x = z.OpenArray("x")) Assert.Equal(want, x.ReadAllInt64());
            using (var y = z.OpenArray("y")) Assert.Equal([1L, 0, 1], y.ReadAllInt64());
        }
        Assert.Contains("pickled Python objects", Assert.Throws<DatasetException>(() => NpyReader.Open(Path.Combine(dir, "o.npy"))).Message);
    }

    internal static void RunPython(string script, params string[] args) => Run(["-c", script, .. args]);

    /// <summary>Runs a script file with /usr/bin/python3; returns its standard output.</summary>
    internal static string RunScript(string path, params string[] args) => Run([path, .. args]);

    private static string Run(string[] arguments)
    {
        var psi = new ProcessStartInfo(PythonNumpyFactAttribute.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "python did not finish in 2 minutes");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stdout.Result}{stderr.Result}");
        return stdout.Result;
    }
}

public class ImdbNpzTests
{
    // Ranks of 3 training and 2 test reviews (1 = most frequent word), as Keras's lists.
    internal static readonly int[][] TrainRanks = [[1, 14, 22, 16], [5], [7, 8, 9, 10, 11, 12]];
    internal static readonly int[][] TestRanks = [[2, 30000], [4, 4]];
    internal static readonly int[] TrainLabels = [1, 0, 1];
    internal static readonly int[] TestLabels = [0, 1];

    private static (string, byte[])[] Split(string s, int[][] ranks, int[] labels, bool withLengths)
    {
        int width = ranks.Max(r => r.Length);
        var x = new int[ranks.Length * width];
        for (int i = 0; i < ranks.Length; i++) ranks[i].CopyTo(x, i * width);
        var list = new List<(string, byte[])> { ($"x_{s}", NpyBytes.Int32($"({ranks.Length}, {width})", x)), ($"y_{s}", NpyBytes.Int64($"({labels.Length},)", labels.Select(l => (long)l).ToArray())) };
        if (withLengths) list.Add(($"x_{s}_lengths", NpyBytes.Int32($"({ranks.Length},)", ranks.Select(r => r.Length).ToArray())));
        return [.. list];
    }

    /// <summary>What tools/datasets/imdb_npz_convert.py writes: padded int32 x, lengths, labels.</summary>
    internal static void WriteImdb(string path, CompressionLevel level = CompressionLevel.NoCompression, bool withLengths = true) =>
        NpyBytes.Npz(path, [.. Split("train", TrainRanks, TrainLabels, withLengths), .. Split("test", TestRanks, TestLabels, withLengths)], level);

    /// <summary>Keras's imdb.load_data(num_words, skip_top, start_char=1, oov_char=2, index_from=3), then pad_sequences(maxlen) pre/pre, in Python's words.</summary>
    private static int[] Keras(int[] ranks, int numWords, int maxlen, int skipTop = 0)
    {
        var x = new[] { 1 }.Concat(ranks.Select(w => w + 3)).ToList();
        x = x.Select(w => skipTop <= w && w < numWords ? w : 2).ToList();
        if (x.Count > maxlen) x = x.Skip(x.Count - maxlen).ToList();
        return Enumerable.Repeat(0, maxlen - x.Count).Concat(x).ToArray();
    }

    [Fact]
    public void KerasOffsets_NumWords_SkipTop()
    {
        Assert.Equal([1, 4, 17, 2], ImdbDataset.KerasIds([1, 14, 22], 20));
        Assert.Equal([2, 2, 17, 2], ImdbDataset.KerasIds([1, 14, 22], 20, skipTop: 5));   // the start id too, as Keras
        Assert.Equal([4, 17], ImdbDataset.KerasIds([1, 14], 20, addStart: false));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadNpz_AsKerasLoadDataThenPadSequences(bool withLengths)
    {
        using var tmp = new TempDir();
        string path = tmp.File("imdb_int32.npz");
        WriteImdb(path, CompressionLevel.Optimal, withLengths);
        var seq = new SequenceOptions { MaxLength = 5, AddStart = true };
        var train = ImdbDataset.ReadNpz(path, DatasetSplit.Train, numWords: 20, seq);
        Assert.Equal(3, train.Count);
        Assert.Equal(20, train.VocabularySize);
        Assert.Equal(["neg", "pos"], train.ClassNames);
        Assert.Equal(TrainLabels, train.Labels);
        for (int i = 0; i < 3; i++) Assert.Equal(Keras(TrainRanks[i], 20, 5), train.Tokens(i).ToArray());
        Assert.Equal([0, 0, 0, 1, 8], train.Tokens(1).ToArray());
        Assert.Equal([11, 12, 13, 14, 15], train.Tokens(2).ToArray());     // pre-truncation keeps the last 5
        var test = ImdbDataset.ReadNpz(path, DatasetSplit.Test, numWords: 20, seq, skipTop: 6);
        for (int i = 0; i < 2; i++) Assert.Equal(Keras(TestRanks[i], 20, 5, skipTop: 6), test.Tokens(i).ToArray());
        var half = ImdbDataset.ReadNpz(path, DatasetSplit.Train, 20, seq, maxPerClass: 1);
        Assert.Equal([1, 0], half.Labels);
    }

    [Fact]
    public void Catalog_FindsTheNpz_ByFolderOrFile_AndExplainsKerasPickles()
    {
        using var tmp = new TempDir();
        string dir = tmp.Sub("data", "imdb");
        string path = Path.Combine(dir, ImdbDataset.ConvertedNpzFile);
        WriteImdb(path);
        foreach (var data in new[] { tmp.Path + "/data", dir, path })
        {
            var d = TextDatasetCatalog.Load("imdb", new DataLocator { ExplicitDirectory = data, Report = null, AllowDownload = false });
            Assert.Equal("npz", d.Format);
            Assert.Equal(path, d.Location);
            Assert.Null(d.Vocabulary);
            Assert.Equal(20000, d.VocabularySize);
            Assert.Equal(100, d.SequenceLength);
            Assert.Equal(Keras(TrainRanks[2], 20000, 100), d.Train!.Tokens(2).ToArray());
            Assert.Equal(Keras(TestRanks[0], 20000, 100), d.Test.Tokens(0).ToArray());  // 30000 + 3 ≥ 20000: out of vocabulary
        }
        // Keras's own file: object arrays. Refused with the way out.
        File.Delete(path);
        string keras = Path.Combine(dir, ImdbDataset.KerasNpzFile);
        NpyBytes.Npz(keras, [("x_train", [.. NpyBytes.Header("|O", false, "(3,)"), .. new byte[40]]), ("y_train", NpyBytes.Int64("(3,)", [1, 0, 1]))]);
        var e = Assert.Throws<DatasetException>(() => TextDatasetCatalog.Load("imdb", new DataLocator { ExplicitDirectory = dir, Report = null }));
        Assert.Equal(keras, e.FilePath);
        Assert.Contains("x_train.npy: dtype |O is an array of pickled Python objects", e.Message);
        Assert.Contains("imdb_npz_convert.py", e.Message);
    }

    [Fact]
    public void ReadNpz_BadArrays_ClearErrors()
    {
        using var tmp = new TempDir();
        string path = tmp.File("imdb_int32.npz");
        (string, byte[]) Y(params long[] v) => ("y_train", NpyBytes.Int64($"({v.Length},)", v));
        DatasetException Fail(params (string, byte[])[] members)
        {
            NpyBytes.Npz(path, members);
            var e = Assert.Throws<DatasetException>(() => ImdbDataset.ReadNpz(path, DatasetSplit.Train));
            Assert.Equal(path, e.FilePath);
            return e;
        }
        Assert.Contains("no array 'y_train'", Fail(("x_train", NpyBytes.Int32("(1, 1)", [1]))).Message);
        Assert.Contains("y_train[1] = 2; IMDB labels are 0 (neg) and 1 (pos)", Fail(("x_train", NpyBytes.Int32("(2, 1)", [1, 1])), Y(0, 2)).Message);
        Assert.Contains("x_train has 2 rows but y_train has 1 labels", Fail(("x_train", NpyBytes.Int32("(2, 1)", [1, 1])), Y(0)).Message);
        Assert.Contains("x_train has shape (2,); expected [N, L]", Fail(("x_train", NpyBytes.Int32("(2,)", [1, 1])), Y(0, 1)).Message);
        Assert.Contains("x_train[0][1] = -4 is not a word rank", Fail(("x_train", NpyBytes.Int32("(1, 2)", [1, -4])), Y(0)).Message);
        Assert.Contains("x_train_lengths[0] = 3 is outside 0..2", Fail(("x_train", NpyBytes.Int32("(1, 2)", [1, 2])), Y(0), ("x_train_lengths", NpyBytes.Int32("(1,)", [3]))).Message);
        Assert.Contains("0 is padding and lies past the row's length", Fail(("x_train", NpyBytes.Int32("(1, 2)", [0, 2])), Y(0), ("x_train_lengths", NpyBytes.Int32("(1,)", [2]))).Message);
    }

    [PythonNumpyFact]
    public void ConvertScript_OnAKerasStylePickledFile_ThenReadAsKerasWould()
    {
        using var tmp = new TempDir();
        string keras = tmp.File("imdb.npz");
        string converted = tmp.File("imdb_int32.npz");
        // An imdb.npz laid out as Keras's: object arrays of Python lists, int64 labels.
        NpyTests.RunPython("""
            import numpy as np, sys
            def obj(rows):
                a = np.empty(len(rows), dtype=object)
                for i, r in enumerate(rows): a[i] = list(r)
                return a
            np.savez(sys.argv[1], x_train=obj([[1, 14, 22, 16], [5], [7, 8, 9, 10, 11, 12]]), y_train=np.array([1, 0, 1]),
                     x_test=obj([[2, 30000], [4, 4]]), y_test=np.array([0, 1]))
            """, keras);
        var e = Assert.Throws<DatasetException>(() => ImdbDataset.ReadNpz(keras, DatasetSplit.Train));
        Assert.Contains("pickled Python objects", e.Message);
        NpyTests.RunScript(Path.Combine(RepoRoot(), "tools", "datasets", "imdb_npz_convert.py"), keras, converted);
        var train = ImdbDataset.ReadNpz(converted, DatasetSplit.Train, 20, new SequenceOptions { MaxLength = 5, AddStart = true });
        for (int i = 0; i < 3; i++) Assert.Equal(Keras(TrainRanks[i], 20, 5), train.Tokens(i).ToArray());
        var test = ImdbDataset.ReadNpz(converted, DatasetSplit.Test, 20, new SequenceOptions { MaxLength = 5, AddStart = true });
        for (int i = 0; i < 2; i++) Assert.Equal(Keras(TestRanks[i], 20, 5), test.Tokens(i).ToArray());
        Assert.Equal(TestLabels, test.Labels);
    }

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "tools", "datasets", "imdb_npz_convert.py"))) return d.FullName;
        throw new InvalidOperationException($"tools/datasets/imdb_npz_convert.py not found above {AppContext.BaseDirectory}");
    }
}
