using System.IO.Compression;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

public class IdxTests
{
    public static TheoryData<string, bool> Types()
    {
        var d = new TheoryData<string, bool>();
        foreach (var t in new[] { "u8", "i8", "i16", "i32", "f32", "f64" })
        {
            d.Add(t, false);
            d.Add(t, true);
        }
        return d;
    }

    private static IdxArray Sample(string type)
    {
        int[] dims = [2, 3, 5];
        int n = 30;
        return type switch
        {
            "u8" => IdxArray.Create(Enumerable.Range(0, n).Select(i => (byte)(i * 9)).ToArray(), dims),
            "i8" => IdxArray.Create(Enumerable.Range(0, n).Select(i => (sbyte)(i * 9 - 128)).ToArray(), dims),
            "i16" => IdxArray.Create(Enumerable.Range(0, n).Select(i => (short)(i * 2113 - 30000)).ToArray(), dims),
            "i32" => IdxArray.Create(Enumerable.Range(0, n).Select(i => i * 123456789 - 7).ToArray(), dims),
            "f32" => IdxArray.Create(Enumerable.Range(0, n).Select(i => i == 7 ? float.NaN : (float)(i * -0.37 + 1e-20 * i)).ToArray(), dims),
            "f64" => IdxArray.Create(Enumerable.Range(0, n).Select(i => Math.PI * i - 1e300 * (i % 2)).ToArray(), dims),
            _ => throw new ArgumentException(type),
        };
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void RoundTrip_File(string type, bool gzip)
    {
        using var dir = new TempDir();
        var a = Sample(type);
        var path = dir.File("data.idx");
        IdxWriter.Write(path, a, gzip);
        var b = IdxReader.Read(path);
        Assert.Equal(a.Type, b.Type);
        Assert.Equal(a.Dims, b.Dims);
        Assert.Equal(a.Data, b.Data);
    }

    [Fact]
    public void Writer_IsBigEndian_AsTheFormatSays()
    {
        var bytes = IdxWriter.ToBytes(IdxArray.Create(new int[] { 0x01020304, -2 }, 2));
        Assert.Equal(new byte[] { 0, 0, 0x0C, 1, 0, 0, 0, 2, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE }, bytes);
        var shorts = IdxWriter.ToBytes(IdxArray.Create(new short[] { 0x0102 }, 1, 1));
        Assert.Equal(new byte[] { 0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2 }, shorts);
        var floats = IdxWriter.ToBytes(IdxArray.Create(new float[] { 1f }));
        Assert.Equal(new byte[] { 0x3F, 0x80, 0, 0 }, floats[8..]);
    }

    [Fact]
    public void Writer_LeavesTheArrayUntouched()
    {
        var data = new double[] { 1.5, -2.25 };
        IdxWriter.ToBytes(IdxArray.Create(data));
        Assert.Equal(new[] { 1.5, -2.25 }, data);
    }

    [Fact]
    public void Compression_IsDetectedFromContent_NotFromTheName()
    {
        using var dir = new TempDir();
        var a = IdxArray.Create(new byte[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var gzNamedRaw = dir.File("looks-raw-idx2-ubyte");
        var rawNamedGz = dir.File("looks-compressed-idx2-ubyte.gz");
        IdxWriter.Write(gzNamedRaw, a, gzip: true);
        IdxWriter.Write(rawNamedGz, a, gzip: false);
        Assert.Equal(0x1F, File.ReadAllBytes(gzNamedRaw)[0]);
        Assert.Equal(a.Data, IdxReader.Read(gzNamedRaw).Data);
        Assert.Equal(a.Data, IdxReader.Read(rawNamedGz).Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsFromNonSeekableStreams(bool gzip)
    {
        var a = IdxArray.Create(new short[] { 1, -2, 300, 4 }, 2, 2);
        var bytes = IdxWriter.ToBytes(a, gzip);
        using var s = new ForwardOnlyStream(bytes);
        var b = IdxReader.Read(s, "pipe");
        Assert.Equal(a.Data, b.Data);
        Assert.Equal([2, 2], b.Dims);
    }

    [Fact]
    public void EmptyDimension_IsAnEmptyArray()
    {
        var a = IdxArray.Create(Array.Empty<byte>(), 0, 28, 28);
        var b = IdxReader.Read(new MemoryStream(IdxWriter.ToBytes(a)), "x");
        Assert.Equal([0, 28, 28], b.Dims);
        Assert.Equal(0, b.Length);
    }

    [Fact]
    public void As_WrongType_Throws()
    {
        var a = IdxArray.Create(new byte[] { 1 });
        Assert.Throws<InvalidCastException>(() => a.As<float>());
        Assert.Throws<ArgumentException>(() => new IdxArray(IdxType.Int32, [2], new byte[2]));
        Assert.Throws<ArgumentException>(() => IdxArray.Create(new byte[5], 2, 3));
    }

    // ---- errors: each names the file and says what was wrong ----

    private static DatasetException ReadBad(TempDir dir, string name, byte[] content)
    {
        var path = dir.File(name);
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<DatasetException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Equal(path, e.FilePath);
        return e;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    private static byte[] Images3x4x4() => IdxWriter.ToBytes(IdxArray.Create(new byte[48], 3, 4, 4));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CorruptMagic(bool gzip)
    {
        using var dir = new TempDir();
        var bytes = Images3x4x4();
        bytes[0] = 0x12;
        bytes[1] = 0x34;
        var e = ReadBad(dir, "train-images-idx3-ubyte" + (gzip ? ".gz" : ""), gzip ? Gzip(bytes) : bytes);
        Assert.Contains("bad magic 0x12 0x34 0x08 0x03", e.Message);
    }

    [Fact]
    public void WrongTypeCode()
    {
        using var dir = new TempDir();
        var bytes = Images3x4x4();
        bytes[2] = 0x0A;
        var e = ReadBad(dir, "train-images-idx3-ubyte", bytes);
        Assert.Contains("unknown element type code 0x0A", e.Message);
    }

    [Fact]
    public void RankZero()
    {
        using var dir = new TempDir();
        var e = ReadBad(dir, "scalar", [0, 0, 8, 0, 1]);
        Assert.Contains("rank 0", e.Message);
    }

    [Fact]
    public void EmptyFile()
    {
        using var dir = new TempDir();
        var e = ReadBad(dir, "empty.gz", []);
        Assert.Contains("empty file", e.Message);
    }

    [Fact]
    public void TruncatedHeader()
    {
        using var dir = new TempDir();
        var e = ReadBad(dir, "t10k-images-idx3-ubyte", Images3x4x4()[..9]);
        Assert.Contains("truncated header: rank 3 needs 12 bytes of dimension sizes after the magic, file has 5", e.Message);
        e = ReadBad(dir, "two-bytes", [0, 0]);
        Assert.Contains("truncated header", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedPayload(bool gzip)
    {
        using var dir = new TempDir();
        var bytes = Images3x4x4()[..(16 + 20)];
        var e = ReadBad(dir, "train-images-idx3-ubyte" + (gzip ? ".gz" : ""), gzip ? Gzip(bytes) : bytes);
        Assert.Contains("truncated: header says 3×4×4 = 48 bytes of data, file has 20", e.Message);
    }

    [Fact]
    public void HugeHeader_OnATinyRawFile_IsTruncated_WithoutAllocatingIt()
    {
        using var dir = new TempDir();
        byte[] bytes = [0, 0, 8, 2, 0, 0x0F, 0x42, 0x40, 0, 0, 0x03, 0xE8, .. new byte[10]];
        var e = ReadBad(dir, "huge", bytes);
        Assert.Contains("truncated: header says 1000000×1000 = 1000000000 bytes of data, file has 10", e.Message);
    }

    [Fact]
    public void TruncatedPayload_MultiByteType_SaysTheSizes()
    {
        using var dir = new TempDir();
        var bytes = IdxWriter.ToBytes(IdxArray.Create(new int[6], 2, 3));
        var e = ReadBad(dir, "ints", bytes[..^3]);
        Assert.Contains("truncated: header says 2×3 ints × 4 bytes = 24 bytes of data, file has 21", e.Message);
    }

    [Fact]
    public void TruncatedGzipStream()
    {
        using var dir = new TempDir();
        var rnd = new Random(5);
        var px = new byte[4000];
        rnd.NextBytes(px); // incompressible, so cutting the .gz file cuts the data
        var gz = IdxWriter.ToBytes(IdxArray.Create(px, 10, 20, 20), gzip: true);
        var e = ReadBad(dir, "cut-idx3-ubyte.gz", gz[..(gz.Length / 2)]);
        Assert.Matches("truncated|corrupt gzip", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrailingBytes(bool gzip)
    {
        using var dir = new TempDir();
        var bytes = Images3x4x4().Concat(new byte[] { 1, 2, 3 }).ToArray();
        var e = ReadBad(dir, "train-images-idx3-ubyte" + (gzip ? ".gz" : ""), gzip ? Gzip(bytes) : bytes);
        Assert.Contains("trailing data: header says 3×4×4 = 48 bytes of data, file has 3 more byte(s) after it", e.Message);
    }

    [Fact]
    public void CorruptGzip()
    {
        using var dir = new TempDir();
        var gz = IdxWriter.ToBytes(IdxArray.Create(new byte[100], 100), gzip: true);
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var e = ReadBad(dir, "labels.gz", gz);
        Assert.Matches("corrupt gzip data|bad magic|truncated|trailing", e.Message);
    }

    [Fact]
    public void MissingFile_IsFileNotFound_WithThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "vecq-no-such-" + Guid.NewGuid().ToString("N"), "x.gz");
        var e = Assert.Throws<FileNotFoundException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message);
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int _pos;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, 7), data.Length - _pos); // short reads on purpose
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
