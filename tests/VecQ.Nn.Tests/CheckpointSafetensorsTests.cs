using System.Buffers.Binary;
using System.Text;
using VecQ.Tensors;
using static VecQ.Nn.Tests.OptimTestSupport;

namespace VecQ.Nn.Tests;

/// <summary>The safetensors reader/writer and the atomic file writer that checkpoints are built on.</summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = TempDir("safetensors");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>An 8-byte little-endian length, the header text and the data.</summary>
    private static byte[] Build(string header, byte[] data, ulong? lengthOverride = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    private static byte[] Floats(params float[] v)
    {
        var b = new byte[v.Length * 4];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    [Fact]
    public void Safetensors_RoundTrip_Float32Float64Int32AndMetadata_ByteExact()
    {
        float[] f = [1.5f, -0f, float.NaN, float.PositiveInfinity, float.Epsilon, -3.25e-20f];
        double[] d = [Math.PI, -0.0, double.MaxValue, double.Epsilon];
        int[] i = [int.MinValue, -1, 0, 7, int.MaxValue, 42];
        using var tf = Tensor.FromArray(f, [2, 3]);
        using var td = Tensor.FromArray(d, [4]);
        using var ti = Tensor.FromArray(i, [3, 1, 2]);
        using var scalar = Tensor.FromArray(new int[] { 9 }, []);
        var meta = new Dictionary<string, string> { ["model"] = "lenet5", ["config"] = "{\"lr\": 0.1, \"name\": \"ü→\\\"q\\\"\"}", ["empty"] = "" };
        string path = PathOf("rt.safetensors");
        Safetensors.Save(path, [new("f", tf), new("d", td), new("i", ti), new("s", scalar)], meta);

        var file = Safetensors.Load(path);
        Assert.Equal(["f", "d", "i", "s"], file.Order);
        Assert.Equal(meta, file.Metadata);
        Assert.Equal([2, 3], file.Tensors["f"].Dims);
        Assert.Equal(DType.Float32, file.Tensors["f"].DType);
        Assert.Equal(Array.ConvertAll(f, BitConverter.SingleToInt32Bits), Array.ConvertAll(file.Tensors["f"].ToArray<float>(), BitConverter.SingleToInt32Bits));
        Assert.Equal(Array.ConvertAll(d, BitConverter.DoubleToInt64Bits), Array.ConvertAll(file.Tensors["d"].ToArray<double>(), BitConverter.DoubleToInt64Bits));
        Assert.Equal(i, file.Tensors["i"].ToArray<int>());
        Assert.Equal([3, 1, 2], file.Tensors["i"].Dims);
        Assert.Empty(file.Tensors["s"].Dims);
        Assert.Equal(9, file.Tensors["s"].Item());

        // writing what was read gives the same bytes
        string again = PathOf("rt2.safetensors");
        Safetensors.Save(again, file.Order.Select(n => new KeyValuePair<string, Tensor>(n, file.Tensors[n])), file.Metadata);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
        foreach (var t in file.Tensors.Values) t.Dispose();
    }

    [Fact]
    public void Safetensors_WrittenFile_MatchesHandComputedLayout()
    {
        using var a = Tensor.FromArray(new float[] { 1f, 2f }, [2]);
        using var b = Tensor.FromArray(new int[] { 3, 4, 5 }, [3, 1]);
        string path = PathOf("layout.safetensors");
        Safetensors.Save(path, [new("a", a), new("b", b)], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);

        const string json = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"I32\",\"shape\":[3,1],\"data_offsets\":[8,20]}}";
        int padded = (json.Length + 7) / 8 * 8;                 // data starts 8-byte aligned
        Assert.Equal((ulong)padded, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(json + new string(' ', padded - json.Length), Encoding.UTF8.GetString(bytes, 8, padded));
        var data = bytes.AsSpan(8 + padded);
        Assert.Equal(20, data.Length);
        Assert.Equal(1f, BinaryPrimitives.ReadSingleLittleEndian(data));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(data[4..]));
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(data[8..]));
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(data[12..]));
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(data[16..]));
    }

    [Fact]
    public void Safetensors_ReadsHandWrittenFile()
    {
        string path = PathOf("hand.safetensors");
        File.WriteAllBytes(path, Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", Floats(0.5f, -2f)));
        var file = Safetensors.Load(path);
        Assert.Empty(file.Metadata);
        Assert.Equal([1, 2], file.Tensors["w"].Dims);
        Assert.Equal([0.5f, -2f], file.Tensors["w"].ToArray<float>());
        file.Tensors["w"].Dispose();
    }

    public static TheoryData<string, string> CorruptCases() => new()
    {
        { "json", "not valid JSON" },
        { "header_beyond_file", "header length" },
        { "tiny_file", "8-byte header length" },
        { "truncated_data", "truncated" },
        { "overlap", "overlap" },
        { "hole", "hole" },
        { "unknown_dtype", "dtype F16" },
        { "shape_offsets_mismatch", "needs 16 bytes but data_offsets span 8" },
        { "negative_dim", "invalid dimension" },
        { "bad_offsets", "invalid data_offsets" },
        { "metadata_not_string", "is not a string" },
        { "not_object", "not an object" },
    };

    [Theory]
    [MemberData(nameof(CorruptCases))]
    public void Safetensors_CorruptFile_ThrowsInvalidDataNamingFileAndProblem(string kind, string expected)
    {
        static string T(string name, string dtype, string shape, int b, int e) =>
            $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{b},{e}]}}";
        byte[] eight = Floats(1, 2);
        byte[] bytes = kind switch
        {
            "json" => Build("{\"w\":{\"dtype\":\"F32\",", eight),
            "header_beyond_file" => Build("{" + T("w", "F32", "[2]", 0, 8) + "}", eight, lengthOverride: 1000),
            "tiny_file" => [1, 2, 3],
            "truncated_data" => Build("{" + T("w", "F32", "[4]", 0, 16) + "}", eight),
            "overlap" => Build("{" + T("a", "F32", "[2]", 0, 8) + "," + T("b", "F32", "[2]", 4, 12) + "}", Floats(1, 2, 3)),
            "hole" => Build("{" + T("a", "F32", "[1]", 0, 4) + "," + T("b", "F32", "[1]", 8, 12) + "}", Floats(1, 2, 3)),
            "unknown_dtype" => Build("{" + T("w", "F16", "[4]", 0, 8) + "}", eight),
            "shape_offsets_mismatch" => Build("{" + T("w", "F32", "[2,2]", 0, 8) + "}", eight),
            "negative_dim" => Build("{" + T("w", "F32", "[-2]", 0, 8) + "}", eight),
            "bad_offsets" => Build("{" + T("w", "F32", "[2]", 8, 0) + "}", eight),
            "metadata_not_string" => Build("{\"__metadata__\":{\"epoch\":3}," + T("w", "F32", "[2]", 0, 8) + "}", eight),
            "not_object" => Build("[1,2]", eight),
            _ => throw new ArgumentException(kind),
        };
        string path = PathOf($"corrupt-{kind}.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("metadata value")]
    [InlineData("tensor name")]
    public void Safetensors_HeaderWithInvalidUtf8_ThrowsInvalidDataNamingTheFile(string where)
    {
        // JsonDocument accepts the structure and fails only when the text is read (InvalidOperationException before)
        string header = where == "metadata value"
            ? "{\"__metadata__\":{\"note\":\"aXb\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
            : "{\"aXb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        byte[] h = System.Text.Encoding.ASCII.GetBytes(header);
        h[Array.IndexOf(h, (byte)'X')] = 0xFF;                        // not a UTF-8 byte anywhere
        var bytes = new byte[8 + h.Length + 8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        Floats(1, 2).CopyTo(bytes, 8 + h.Length);
        string path = PathOf($"utf8-{where.Replace(' ', '-')}.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public void Safetensors_MissingFile_ThrowsFileNotFoundNamingIt()
    {
        string path = PathOf("nope.safetensors");
        var e = Assert.Throws<FileNotFoundException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Safetensors_AtomicWrite_WriterThrowsMidway_OldFileIntactAndNoTempLeft()
    {
        string path = PathOf("atomic.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[4096]);
            throw new IOException("disk on fire");
        }));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Safetensors_SaveFailsWhileWritingData_OldCheckpointIntactAndNoTempLeft()
    {
        string path = PathOf("model.safetensors");
        using var good = Tensor.FromArray(new float[] { 1, 2, 3 }, [3]);
        Safetensors.Save(path, [new("w", good)]);
        var before = File.ReadAllBytes(path);

        var disposed = Tensor.FromArray(new float[] { 4, 5 }, [2]);
        disposed.Dispose(); // reading its data fails after the header has been written
        Assert.ThrowsAny<ObjectDisposedException>(() => Safetensors.Save(path, [new("w", good), new("v", disposed)]));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Safetensors_AtomicWrite_CreatesFolderAndReplacesFile()
    {
        string path = Path.Combine(_dir, "sub", "deeper", "x.txt");
        AtomicFile.WriteText(path, "one");
        AtomicFile.WriteText(path, "two");
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Safetensors_Save_RejectsBadNames()
    {
        using var t = Tensor.Zeros([1]);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(PathOf("x.safetensors"), [new("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(PathOf("x.safetensors"), [new("a", t), new("a", t)]));
        Assert.False(File.Exists(PathOf("x.safetensors")));
    }
}
