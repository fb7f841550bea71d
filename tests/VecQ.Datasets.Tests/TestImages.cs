using System.Buffers.Binary;
using System.IO.Compression;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace VecQ.Datasets.Tests;

/// <summary>Real PNG/JPEG files written by ImageSharp with a known content, and hand-made broken ones.</summary>
public static class TestImages
{
    public static Rgb24 Px(int seed, int x, int y) =>
        new((byte)((seed * 29 + x * 7 + y * 3) % 256), (byte)((seed * 13 + x * 2 + y * 11) % 256), (byte)((seed * 5 + x * y + 40) % 256));

    public static Image<Rgb24> Make(int width, int height, int seed)
    {
        var img = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) img[x, y] = Px(seed, x, y);
        return img;
    }

    public static string Png(string path, int width, int height, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = Make(width, height, seed);
        img.SaveAsPng(path);
        return path;
    }

    public static string Jpeg(string path, int width, int height, int seed, int quality = 90)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var img = Make(width, height, seed);
        img.SaveAsJpeg(path, new JpegEncoder { Quality = quality });
        return path;
    }

    /// <summary>The CHW bytes of the written image's box (exact for PNG).</summary>
    public static byte[] Chw(int seed, int left, int top, int width, int height, bool flip = false)
    {
        var px = new byte[3 * width * height];
        int plane = width * height;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var p = Px(seed, left + (flip ? width - 1 - x : x), top + y);
                px[y * width + x] = p.R;
                px[plane + y * width + x] = p.G;
                px[2 * plane + y * width + x] = p.B;
            }
        return px;
    }

    /// <summary>The CHW bytes of an ImageSharp image's box.</summary>
    public static byte[] Chw(Image<Rgb24> img, int left, int top, int width, int height, bool flip = false)
    {
        var px = new byte[3 * width * height];
        int plane = width * height;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var p = img[left + (flip ? width - 1 - x : x), top + y];
                px[y * width + x] = p.R;
                px[plane + y * width + x] = p.G;
                px[2 * plane + y * width + x] = p.B;
            }
        return px;
    }

    /// <summary>A valid PNG file whose IHDR claims <paramref name="width"/>×<paramref name="height"/> (RGB, 8 bit) with one tiny IDAT: decoding it would allocate the claimed size.</summary>
    public static string PngHeaderClaiming(string path, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        f.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(f, "IHDR", ihdr);
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(new byte[1000]);
        Chunk(f, "IDAT", ms.ToArray());
        Chunk(f, "IEND", []);
        return path;
    }

    /// <summary>The PNG/zlib CRC-32 (polynomial 0xEDB88320).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    private static void Chunk(Stream s, string type, byte[] body)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)body.Length);
        s.Write(len);
        var typeAndBody = System.Text.Encoding.ASCII.GetBytes(type).Concat(body).ToArray();
        s.Write(typeAndBody);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typeAndBody));
        s.Write(len);
    }
}
