using System.Buffers;
using System.Text.Unicode;

namespace VecQ.Datasets;

/// <summary>Size limits checked before a text file is read.</summary>
/// <example><code>var small = new TextLimits { MaxFileBytes = 1 &lt;&lt; 20 };   // refuse texts over 1 MiB</code></example>
public sealed record TextLimits
{
    /// <summary>Largest text file read, in bytes (default 16 MiB; an IMDB review is under 14 KB, a THUCNews article under 200 KB).</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;
    /// <summary>Most files in one split (default 10 million; THUCNews has 836 075).</summary>
    public int MaxFiles { get; init; } = 10_000_000;

    internal void Check()
    {
        if (MaxFileBytes < 1 || MaxFileBytes > Array.MaxLength) throw new ArgumentException($"text limits: max file bytes {MaxFileBytes} must be in 1..{Array.MaxLength}");
        if (MaxFiles < 1) throw new ArgumentException($"text limits: max files {MaxFiles} must be at least 1");
    }
}

/// <summary>Reads text files as strict UTF-8.</summary>
public static class TextFiles
{
    /// <summary>
    /// The text of <paramref name="path"/>, decoded as strict UTF-8 (a leading byte-order mark skipped). A file over
    /// <paramref name="maxBytes"/>, or one that is not valid UTF-8 (an invalid or truncated sequence, an encoded
    /// surrogate, an overlong form), is a <see cref="DatasetException"/> naming the file and the byte offset.
    /// </summary>
    /// <example><code>string review = TextFiles.ReadUtf8("/data/aclImdb/train/pos/0_9.txt");</code></example>
    public static string ReadUtf8(string path, long maxBytes = 16L << 20)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            long length = f.Length;
            if (length > maxBytes) throw new DatasetException(path, $"text file is {length} bytes, over the limit of {maxBytes} (TextLimits.MaxFileBytes)");
            bytes = new byte[length];
            f.ReadExactly(bytes);
            if (f.ReadByte() >= 0) throw new DatasetException(path, "the file grew while it was read");
        }
        catch (EndOfStreamException e)
        {
            throw new DatasetException(path, "the file shrank while it was read", e);
        }
        return DecodeUtf8(bytes, path);
    }

    /// <summary>Strict UTF-8 decoding of <paramref name="bytes"/> (a leading byte-order mark skipped); errors name <paramref name="source"/> and the byte offset.</summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string source)
    {
        int skip = bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        var input = bytes[skip..];
        if (input.IsEmpty) return "";
        char[] buffer = ArrayPool<char>.Shared.Rent(input.Length);
        try
        {
            var status = Utf8.ToUtf16(input, buffer, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: true);
            if (status != System.Buffers.OperationStatus.Done)
            {
                long offset = skip + read;
                int n = Math.Min(4, input.Length - read);
                string seen = string.Join(" ", input.Slice(read, n).ToArray().Select(b => $"0x{b:X2}"));
                throw new DatasetException(source, $"not valid UTF-8 at byte offset {offset} (bytes {seen}); text files must be UTF-8 (convert with e.g. iconv -f GBK -t UTF-8)");
            }
            return new string(buffer, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
