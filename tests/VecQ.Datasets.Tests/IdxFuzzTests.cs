using System.IO.Compression;
using VecQ.Tests.Shared;

namespace VecQ.Datasets.Tests;

/// <summary>
/// Seeded mutation fuzzing of the IDX reader, raw and gzip-compressed: 10,000 mutants each must read or fail with the
/// reader's own <see cref="DatasetException"/> naming the file, allocating no more than a small multiple of its size
/// (a header claiming huge dimensions is refused before the array is allocated).
/// </summary>
public sealed class IdxFuzzTests
{
    private static byte[] ValidIdx()
    {
        // magic 00 00 08 (unsigned byte) 03 (rank 3), dims 2 × 3 × 4 big-endian, then 24 data bytes
        var bytes = new List<byte> { 0, 0, 0x08, 3 };
        foreach (int d in new[] { 2, 3, 4 }) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        for (int i = 0; i < 24; i++) bytes.Add((byte)(i * 7));
        return bytes.ToArray();
    }

    private static IDisposable? Read(byte[] m, string name)
    {
        using var s = new MemoryStream(m, writable: false);
        IdxReader.Read(s, name);
        return null;
    }

    [Fact]
    public void TenThousandRawMutants_ReadOrThrowDatasetExceptionNamingTheFile()
    {
        byte[] good = ValidIdx();
        var (read, refused) = Mutator.Run<DatasetException>(good, 16, 10_000, 19, Read);
        Assert.True(refused > 3_000 && read > 0, $"read {read}, refused {refused}");
    }

    [Fact]
    public void TenThousandGzipMutants_ReadOrThrowDatasetExceptionNamingTheFile()
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(ValidIdx());
        byte[] good = ms.ToArray();
        var (read, refused) = Mutator.Run<DatasetException>(good, good.Length, 10_000, 23, Read);
        Assert.True(refused > 3_000, $"read {read}, refused {refused}");
    }
}
