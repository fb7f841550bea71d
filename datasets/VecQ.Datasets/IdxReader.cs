using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace VecQ.Datasets;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed. Compression is
/// detected from the content (the gzip magic 0x1F 0x8B), never from the file name.
/// <para>
/// Layout: magic 0x00 0x00 &lt;type&gt; &lt;rank&gt;, then rank big-endian uint32 sizes, then the
/// elements in row-major order, big-endian. Everything is checked: the two zero bytes, the type
/// code, the header length, and that the data has exactly the length the header says (missing or
/// trailing bytes are errors). Every problem is a <see cref="DatasetException"/> whose message
/// starts with the file's path.
/// </para>
/// </summary>
/// <example><code>
/// var images = IdxReader.Read("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
/// // images.Type == IdxType.UInt8, images.Dims == [60000, 28, 28]
/// byte[] pixels = images.As&lt;byte&gt;();
/// </code></example>
public static class IdxReader
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Reads the IDX file at <paramref name="path"/> (raw or gzip).</summary>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: file not found", path, e);
        }
        using (file) return Read(file, path);
    }

    /// <summary>
    /// Reads one IDX array from <paramref name="stream"/> (raw or gzip) up to its end;
    /// <paramref name="sourceName"/> (a path or resource name) starts every error message.
    /// </summary>
    public static IdxArray Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        Span<byte> peek = stackalloc byte[2];
        int peeked = stream.ReadAtLeast(peek, 2, throwOnEndOfStream: false);
        Stream body = stream.CanSeek
            ? Rewind(stream, peeked)
            : new PrefixedStream(peek[..peeked].ToArray(), stream);
        bool gzip = peeked == 2 && peek[0] == 0x1F && peek[1] == 0x8B;
        if (!gzip) return ReadIdx(body, sourceName, gzip: false);
        using var unzip = new GZipStream(body, CompressionMode.Decompress, leaveOpen: true);
        return ReadIdx(unzip, sourceName, gzip: true);
    }

    private static Stream Rewind(Stream stream, int count)
    {
        stream.Seek(-count, SeekOrigin.Current);
        return stream;
    }

    private static IdxArray ReadIdx(Stream s, string name, bool gzip)
    {
        string after = gzip ? " (after gzip decompression)" : "";
        Span<byte> magic = stackalloc byte[4];
        int got = Fill(s, magic, name);
        if (got == 0) throw new DatasetException(name, $"empty file{after}: an IDX file starts with the 4-byte magic 0x00 0x00 <type> <rank>");
        if (got < 4) throw new DatasetException(name, $"truncated header: the 4-byte magic is cut off after {got} byte(s){after}");
        if (magic[0] != 0 || magic[1] != 0)
            throw new DatasetException(name, $"bad magic {Hex(magic)}: an IDX file starts with 0x00 0x00 <type> <rank>{(gzip ? " (after gzip decompression)" : "")}");
        if (!IdxTypes.IsDefined(magic[2]))
            throw new DatasetException(name, $"unknown element type code 0x{magic[2]:X2} in magic {Hex(magic)} (valid: {IdxTypes.CodeList})");
        var type = (IdxType)magic[2];
        int rank = magic[3];
        if (rank == 0) throw new DatasetException(name, $"rank 0 in magic {Hex(magic)}: an IDX array needs at least one dimension");

        var sizes = new byte[4 * rank];
        got = Fill(s, sizes, name);
        if (got < sizes.Length)
            throw new DatasetException(name, $"truncated header: rank {rank} needs {sizes.Length} bytes of dimension sizes after the magic, file has {got}{after}");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(4 * i));
            if (d > int.MaxValue) throw new DatasetException(name, $"dimension {i} has size {d}, larger than {int.MaxValue}");
            dims[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength)
                throw new DatasetException(name, $"header dimensions {FormatDims(dims.AsSpan(0, i + 1))}… hold more than {Array.MaxLength} elements; not a valid data file");
        }

        long expectedBytes = count * type.Size();
        if (!gzip && s.CanSeek && s.Length - s.Position < expectedBytes)
        {
            // Raw file shorter than its header claims: say so before allocating the (maybe huge) array.
            throw new DatasetException(name, $"truncated: header says {Describe(dims, type, expectedBytes)}, file has {s.Length - s.Position}");
        }
        // A raw file was checked against its length above, so its array is allocated at once. A gzip stream's
        // decompressed length is unknown until it ends: read it first in chunks that grow from 4 KiB to 1 MiB, so a
        // tiny file whose header claims a huge array fails as truncated before that array is allocated.
        Array data;
        Span<byte> bytes;
        long have = 0;
        if (!gzip)
        {
            data = Array.CreateInstance(type.ClrType(), (int)count);
            bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(data), checked((int)expectedBytes));
            while (have < expectedBytes)
            {
                int want = (int)Math.Min(ChunkBytes, expectedBytes - have);
                int n = Fill(s, bytes.Slice((int)have, want), name);
                have += n;
                if (n < want) break;
            }
            if (have < expectedBytes)
                throw new DatasetException(name, $"truncated: header says {Describe(dims, type, expectedBytes)}, file has {have}{after}");
        }
        else
        {
            var chunks = new List<byte[]>();
            int size = 4096;
            while (have < expectedBytes)
            {
                var chunk = new byte[(int)Math.Min(size, expectedBytes - have)];
                size = Math.Min(2 * size, ChunkBytes);
                int n = Fill(s, chunk, name);
                have += n;
                if (n < chunk.Length)
                    throw new DatasetException(name, $"truncated: header says {Describe(dims, type, expectedBytes)}, file has {have}{after}");
                chunks.Add(chunk);
            }
            data = Array.CreateInstance(type.ClrType(), (int)count);
            bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(data), checked((int)expectedBytes));
            long at = 0;
            foreach (var c in chunks) { c.CopyTo(bytes[(int)at..]); at += c.Length; }
        }

        long trailing = 0;
        Span<byte> rest = stackalloc byte[4096];
        int r;
        while ((r = Fill(s, rest, name)) > 0) trailing += r;
        if (trailing > 0)
            throw new DatasetException(name, $"trailing data: header says {Describe(dims, type, expectedBytes)}, file has {trailing} more byte(s) after it{after}");

        if (BitConverter.IsLittleEndian) SwapToHost(type, bytes);
        return new IdxArray(type, dims, data);
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; gzip corruption becomes a DatasetException.</summary>
    private static int Fill(Stream s, Span<byte> buffer, string name)
    {
        try
        {
            return s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException(name, $"corrupt gzip data: {e.Message}", e);
        }
    }

    /// <summary>Reverses the bytes of each element (IDX is big-endian) in place.</summary>
    internal static void SwapToHost(IdxType type, Span<byte> bytes)
    {
        switch (type.Size())
        {
            case 2:
                var s16 = MemoryMarshal.Cast<byte, short>(bytes);
                BinaryPrimitives.ReverseEndianness(s16, s16);
                break;
            case 4:
                var s32 = MemoryMarshal.Cast<byte, int>(bytes);
                BinaryPrimitives.ReverseEndianness(s32, s32);
                break;
            case 8:
                var s64 = MemoryMarshal.Cast<byte, long>(bytes);
                BinaryPrimitives.ReverseEndianness(s64, s64);
                break;
        }
    }

    /// <summary>"60000×28×28".</summary>
    internal static string FormatDims(ReadOnlySpan<int> dims)
    {
        var parts = new string[dims.Length];
        for (int i = 0; i < dims.Length; i++) parts[i] = dims[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return string.Join("×", parts);
    }

    /// <summary>"60000×28×28 = 47040000 bytes of data" (or "10×3 int × 4 bytes = 120 bytes of data").</summary>
    private static string Describe(int[] dims, IdxType type, long bytes) =>
        type.Size() == 1
            ? $"{FormatDims(dims)} = {bytes} bytes of data"
            : $"{FormatDims(dims)} {type.Name()}s × {type.Size()} bytes = {bytes} bytes of data";

    private static string Hex(ReadOnlySpan<byte> b)
    {
        var parts = new string[b.Length];
        for (int i = 0; i < b.Length; i++) parts[i] = $"0x{b[i]:X2}";
        return string.Join(" ", parts);
    }

    /// <summary>A read-only stream that yields a few already-read bytes, then the rest of an inner stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private int _pos;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pos < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _pos);
                prefix.AsSpan(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }
            return inner.Read(buffer);
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

/// <summary>Writes IDX files, raw or gzip-compressed (big-endian, as the format requires).</summary>
/// <example><code>
/// IdxWriter.Write("t10k-labels-idx1-ubyte.gz", IdxArray.Create(labels), gzip: true);
/// </code></example>
public static class IdxWriter
{
    /// <summary>Writes <paramref name="array"/> to <paramref name="path"/> (created or overwritten).</summary>
    public static void Write(string path, IdxArray array, bool gzip = false)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(file, array, gzip);
    }

    /// <summary>Writes <paramref name="array"/> to <paramref name="stream"/> (left open).</summary>
    public static void Write(Stream stream, IdxArray array, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        if (gzip)
        {
            using var zip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true);
            WriteRaw(zip, array);
        }
        else
        {
            WriteRaw(stream, array);
        }
    }

    /// <summary>The bytes of the file <see cref="Write(string, IdxArray, bool)"/> would write.</summary>
    /// <example><code>byte[] raw = IdxWriter.ToBytes(IdxArray.Create(new byte[] { 1, 2 }));</code></example>
    public static byte[] ToBytes(IdxArray array, bool gzip = false)
    {
        using var ms = new MemoryStream();
        Write(ms, array, gzip);
        return ms.ToArray();
    }

    private static void WriteRaw(Stream s, IdxArray array)
    {
        int rank = array.Rank;
        var header = new byte[4 + 4 * rank];
        header[2] = (byte)array.Type;
        header[3] = (byte)rank;
        for (int i = 0; i < rank; i++) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4 + 4 * i), (uint)array.Dim(i));
        s.Write(header);

        var bytes = array.HostBytes();
        if (array.Type.Size() == 1 || !BitConverter.IsLittleEndian)
        {
            s.Write(bytes);
            return;
        }
        // Swap a chunk at a time into a scratch buffer (the array itself stays untouched).
        var chunk = new byte[1 << 16];
        for (int at = 0; at < bytes.Length; at += chunk.Length)
        {
            int n = Math.Min(chunk.Length, bytes.Length - at);
            bytes.Slice(at, n).CopyTo(chunk);
            IdxReader.SwapToHost(array.Type, chunk.AsSpan(0, n));
            s.Write(chunk, 0, n);
        }
    }
}
