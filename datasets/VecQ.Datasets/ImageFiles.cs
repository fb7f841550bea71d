using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>
/// Limits checked before an image file is decoded: its size on disk, then (from the header alone, read with
/// ImageSharp's <c>Image.Identify</c>) its width × height. A file over a limit is a <see cref="DatasetException"/>
/// naming it; nothing large is allocated for it.
/// </summary>
/// <example><code>var limits = new ImageLimits { MaxPixels = 4096L * 4096 };   // refuse anything above 16.7 megapixels</code></example>
public sealed record ImageLimits
{
    /// <summary>Largest width × height accepted (default 40,000,000: e.g. 8000×5000).</summary>
    public long MaxPixels { get; init; } = 40_000_000;
    /// <summary>Largest file accepted, in bytes (default 128 MiB).</summary>
    public long MaxFileBytes { get; init; } = 128L << 20;
}

/// <summary>The channels an image is turned into.</summary>
public enum PixelOrder
{
    /// <summary>Three channels, red, green, blue (written "RGB").</summary>
    Rgb,
    /// <summary>One grey channel (written "L"): L = (19595·R + 38470·G + 7471·B + 2¹⁵) ≫ 16, as PIL's convert("L"); a grey image keeps its values.</summary>
    Grey,
}

/// <summary>
/// The geometry of the standard crops, exactly as torchvision computes it (so crops can be checked and reproduced):
/// the shorter-side resize of <c>Resize(size)</c>, <c>CenterCrop</c>, and <c>RandomResizedCrop</c>'s box.
/// </summary>
/// <example><code>
/// var (w, h) = ImageCrops.ResizeShorter(500, 375, 256);           // (341, 256)
/// var box = ImageCrops.CenterCrop(341, 256, 224);                  // left 58, top 16, 224×224
/// var rnd = ImageCrops.RandomResizedCrop(500, 375, new Rng(1));   // scale (0.08, 1), ratio (3/4, 4/3)
/// </code></example>
public static class ImageCrops
{
    /// <summary>A crop box in pixels: the top-left corner and the size.</summary>
    /// <param name="Left">First column.</param>
    /// <param name="Top">First row.</param>
    /// <param name="Width">Columns.</param>
    /// <param name="Height">Rows.</param>
    public readonly record struct Box(int Left, int Top, int Width, int Height);

    /// <summary>
    /// The size after resizing the shorter side to <paramref name="shorter"/>, keeping the aspect ratio: the longer side
    /// becomes (int)(shorter × long / short), truncated (torchvision's <c>Resize(int)</c>).
    /// </summary>
    public static (int Width, int Height) ResizeShorter(int width, int height, int shorter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(shorter, 1);
        if (width <= height) return (shorter, (int)((long)shorter * height / width));
        return ((int)((long)shorter * width / height), shorter);
    }

    /// <summary>The centred <paramref name="size"/>×<paramref name="size"/> box: top = round((H − size) / 2), left likewise, halves to even (torchvision's <c>CenterCrop</c>).</summary>
    public static Box CenterCrop(int width, int height, int size)
    {
        if (size > width || size > height) throw new ArgumentException($"a {size}×{size} crop does not fit a {width}×{height} image");
        return new Box((int)Math.Round((width - size) / 2.0), (int)Math.Round((height - size) / 2.0), size, size);
    }

    /// <summary>
    /// The box of torchvision's <c>RandomResizedCrop.get_params</c>: up to 10 tries of an area fraction uniform in
    /// [<paramref name="minScale"/>, <paramref name="maxScale"/>] and a log-uniform aspect ratio (w/h) in
    /// [<paramref name="minRatio"/>, <paramref name="maxRatio"/>]; w = round(√(area·ratio)), h = round(√(area/ratio));
    /// the first that fits is placed uniformly at random. After 10 misses, the centred box of the whole image clamped to
    /// the ratio range. Draws from <paramref name="rng"/>: two per try, then two for the position.
    /// </summary>
    public static Box RandomResizedCrop(int width, int height, Rng rng, double minScale = 0.08, double maxScale = 1.0,
        double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1)) throw new ArgumentException($"scale range ({minScale}, {maxScale}) must satisfy 0 < min ≤ max ≤ 1");
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new ArgumentException($"ratio range ({minRatio}, {maxRatio}) must satisfy 0 < min ≤ max");
        double area = (double)width * height;
        double logMin = Math.Log(minRatio), logMax = Math.Log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + (maxScale - minScale) * rng.NextDouble());
            double ratio = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * ratio)); // Math.Round: halves to even, as Python's round
            int h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = rng.NextInt(height - h + 1);
                int left = rng.NextInt(width - w + 1);
                return new Box(left, top, w, h);
            }
        }
        // Fallback: the whole image, clamped to the ratio range, centred.
        double inRatio = (double)width / height;
        int fw, fh;
        if (inRatio < minRatio)
        {
            fw = width;
            fh = (int)Math.Round(fw / minRatio);
        }
        else if (inRatio > maxRatio)
        {
            fh = height;
            fw = (int)Math.Round(fh * maxRatio);
        }
        else
        {
            fw = width;
            fh = height;
        }
        return new Box((width - fw) / 2, (height - fh) / 2, fw, fh);
    }
}

/// <summary>
/// Decodes image files with ImageSharp under <see cref="ImageLimits"/>, and turns them into 8-bit CHW pixels
/// (resize + crop, random or centred). One instance is shared by the loader's workers (thread-safe).
/// </summary>
internal sealed class ImageFileReader
{
    private readonly Configuration _config;

    public ImageFileReader(ImageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (limits.MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxPixels, "image limits: MaxPixels must be at least 1");
        if (limits.MaxFileBytes < 1) throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxFileBytes, "image limits: MaxFileBytes must be at least 1");
        Limits = limits;
        _config = Configuration.Default.Clone();
        // One thread per image: the loader runs several images at once, and single-threaded processing keeps the pixels
        // independent of the machine. The allocator refuses single buffers far beyond the pixel limit (a second guard).
        _config.MaxDegreeOfParallelism = 1;
        long limitMb = Math.Clamp(limits.MaxPixels * 4 / (1 << 20) + 64, 64, 4096);
        _config.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { MaximumPoolSizeMegabytes = 64, AllocationLimitMegabytes = (int)limitMb });
    }

    public ImageLimits Limits { get; }

    /// <summary>Reads the header only: (width, height, format name). Checks the file size and the pixel limit.</summary>
    public (int Width, int Height, string Format) Identify(string path)
    {
        CheckFileSize(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        return Identify(stream, path);
    }

    private (int Width, int Height, string Format) Identify(Stream stream, string path)
    {
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(_config, stream, out format);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string? name = null;
            try
            {
                stream.Position = 0;
                name = Image.DetectFormat(_config, stream)?.Name;
            }
            catch (Exception) when (e is not OutOfMemoryException) { /* the format stays unknown */ }
            throw new DatasetException(path, $"corrupt {name ?? "image"} file: cannot read its header ({e.GetType().Name}: {e.Message})", e);
        }
        finally
        {
            stream.Position = 0;
        }
        if (info is null || format is null)
            throw new DatasetException(path, "not an image in a format ImageSharp decodes (PNG, JPEG, BMP, GIF, TIFF, WebP, TGA, PBM/PGM/PPM)");
        if (info.Width < 1 || info.Height < 1)
            throw new DatasetException(path, $"{format.Name} header says {info.Width}×{info.Height} pixels");
        long pixels = (long)info.Width * info.Height;
        if (pixels > Limits.MaxPixels)
            throw new DatasetException(path, $"{format.Name} header says {info.Width}×{info.Height} = {pixels} pixels, more than the limit of {Limits.MaxPixels} (ImageLimits.MaxPixels); not decoded");
        return (info.Width, info.Height, format.Name);
    }

    /// <summary>
    /// Decodes the whole image as RGB, after the size and pixel checks and, for PNG and JPEG, a check that the file is
    /// complete (ImageSharp fills a truncated JPEG with grey without a word; PIL refuses it). The caller disposes it.
    /// </summary>
    public Image<Rgb24> Decode(string path)
    {
        using var file = ReadFile(path);
        var (w, h, format) = Identify(file.Stream(), path);
        var problem = ImageIntegrity.Check(file.Span, format);
        if (problem is not null) throw new DatasetException(path, $"corrupt {format} image: {problem}");
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(_config, file.Stream());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DatasetException(path, $"corrupt {format} image: cannot decode it ({e.GetType().Name}: {e.Message})", e);
        }
        if (image.Width != w || image.Height != h)
        {
            image.Dispose();
            throw new DatasetException(path, $"corrupt {format} image: the header says {w}×{h}, the decoder produced {image.Width}×{image.Height}");
        }
        return image;
    }

    /// <summary>The file's bytes in a pooled buffer, after the size checks.</summary>
    private FileBytes ReadFile(string path)
    {
        var info = CheckFileSize(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        int length = (int)Math.Min(stream.Length, info.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            int got = stream.ReadAtLeast(buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
            return new FileBytes(buffer, got);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private FileInfo CheckFileSize(string path)
    {
        FileInfo info = new(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: file not found", path);
        if (info.Length == 0) throw new DatasetException(path, "empty file (0 bytes); not an image");
        if (info.Length > Limits.MaxFileBytes)
            throw new DatasetException(path, $"{info.Length} bytes, more than the limit of {Limits.MaxFileBytes} (ImageLimits.MaxFileBytes); not decoded");
        if (info.Length > Array.MaxLength) throw new DatasetException(path, $"{info.Length} bytes; too large to read");
        return info;
    }

    private sealed class FileBytes(byte[] buffer, int length) : IDisposable
    {
        public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);
        public MemoryStream Stream() => new(buffer, 0, length, writable: false);
        public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>
    /// Evaluation pixels: resize the shorter side to <paramref name="resizeShorter"/> (bilinear, antialiased; skipped when
    /// it already is), take the centred <paramref name="crop"/>×<paramref name="crop"/> box, write CHW bytes.
    /// </summary>
    public void Eval(string path, int resizeShorter, int crop, PixelOrder order, Span<byte> destination)
    {
        using var image = Decode(path);
        var (w, h) = ImageCrops.ResizeShorter(image.Width, image.Height, resizeShorter);
        if (w != image.Width || h != image.Height) image.Mutate(x => x.Resize(w, h, KnownResamplers.Triangle));
        var box = ImageCrops.CenterCrop(w, h, crop);
        CopyOut(image, box, flip: false, order, destination);
    }

    /// <summary>
    /// Training pixels: a random-resized-crop box (drawn from <paramref name="rng"/>) resized to <paramref name="size"/>×<paramref name="size"/>
    /// (bilinear, antialiased), then a horizontal flip with probability ½ when <c>o.Flip</c> (drawn after the box).
    /// </summary>
    public void Train(string path, int size, Rng rng, ImageFolderOptions o, Span<byte> destination)
    {
        using var image = Decode(path);
        var box = ImageCrops.RandomResizedCrop(image.Width, image.Height, rng, o.MinScale, o.MaxScale, o.MinRatio, o.MaxRatio);
        bool flipIt = o.Flip && rng.NextDouble() < 0.5;
        image.Mutate(x =>
        {
            if (box.Left != 0 || box.Top != 0 || box.Width != image.Width || box.Height != image.Height)
                x.Crop(new Rectangle(box.Left, box.Top, box.Width, box.Height));
            if (box.Width != size || box.Height != size) x.Resize(size, size, KnownResamplers.Triangle);
        });
        CopyOut(image, new ImageCrops.Box(0, 0, size, size), flipIt, order: o.Channels, destination);
    }

    /// <summary>Writes the box of <paramref name="image"/> as CHW bytes (RGB planes, or one grey plane), mirrored when <paramref name="flip"/>.</summary>
    public static void CopyOut(Image<Rgb24> image, ImageCrops.Box box, bool flip, PixelOrder order, Span<byte> destination)
    {
        int channels = order == PixelOrder.Rgb ? 3 : 1;
        int plane = box.Width * box.Height;
        if (destination.Length != channels * plane)
            throw new ArgumentException($"destination has {destination.Length} bytes, expected {channels}×{box.Height}×{box.Width}");
        // Only the box's rows are read (PixelAccessor cannot reach a Span parameter, hence the pooled scratch).
        var scratch = ArrayPool<byte>.Shared.Rent(destination.Length);
        try
        {
            image.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < box.Height; y++)
                {
                    var row = rows.GetRowSpan(box.Top + y).Slice(box.Left, box.Width);
                    for (int x = 0; x < box.Width; x++)
                    {
                        var p = row[flip ? box.Width - 1 - x : x];
                        int o = y * box.Width + x;
                        if (channels == 3)
                        {
                            scratch[o] = p.R;
                            scratch[plane + o] = p.G;
                            scratch[2 * plane + o] = p.B;
                        }
                        else scratch[o] = (byte)((p.R * 19595 + p.G * 38470 + p.B * 7471 + 0x8000) >> 16);
                    }
                }
            });
            scratch.AsSpan(0, destination.Length).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}

/// <summary>Structural completeness checks ImageSharp does not make: a JPEG must reach its end-of-image marker, a PNG its IEND chunk.</summary>
internal static class ImageIntegrity
{
    /// <summary>Null when <paramref name="data"/> is complete for <paramref name="format"/> ("JPEG", "PNG"; others are not checked), else what is wrong.</summary>
    public static string? Check(ReadOnlySpan<byte> data, string format) => format switch
    {
        "JPEG" => Jpeg(data),
        "PNG" => Png(data),
        _ => null,
    };

    /// <summary>Walks the marker segments from SOI; entropy-coded data after each SOS is skipped up to the next marker. Must end at EOI (FF D9).</summary>
    private static string? Jpeg(ReadOnlySpan<byte> d)
    {
        const string Truncated = "truncated: the file ends before the JPEG end-of-image marker (FF D9)";
        if (d.Length < 2 || d[0] != 0xFF || d[1] != 0xD8) return "no JPEG start-of-image marker (FF D8)";
        int i = 2;
        while (true)
        {
            // Find the next marker (tolerating stray bytes before it, as libjpeg does), skip fill bytes.
            int ff = d[i..].IndexOf((byte)0xFF);
            if (ff < 0) return Truncated;
            i += ff;
            while (i < d.Length && d[i] == 0xFF) i++;
            if (i >= d.Length) return Truncated;
            byte m = d[i++];
            if (m == 0xD9) return null;               // EOI
            if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; // no length field
            if (i + 2 > d.Length) return Truncated;
            int len = (d[i] << 8) | d[i + 1];
            if (len < 2) return $"bad JPEG segment length {len} at byte {i}";
            if (i + len > d.Length) return Truncated;
            i += len;
            if (m != 0xDA) continue;
            // SOS: entropy-coded data up to the next marker that is not a stuffed FF 00 or a restart marker.
            while (true)
            {
                int j = d[i..].IndexOf((byte)0xFF);
                if (j < 0 || i + j + 1 >= d.Length) return Truncated;
                byte next = d[i + j + 1];
                if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) { i += j + 2; continue; }
                if (next == 0xFF) { i += j + 1; continue; }
                i += j;
                break;
            }
        }
    }

    /// <summary>Walks the chunks after the signature; must reach IEND.</summary>
    private static string? Png(ReadOnlySpan<byte> d)
    {
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!d.StartsWith(signature)) return "no PNG signature";
        long i = 8;
        while (true)
        {
            if (i + 8 > d.Length) return "truncated: the file ends before the PNG IEND chunk";
            uint len = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(d[(int)i..]);
            if (len > int.MaxValue) return $"bad PNG chunk length {len} at byte {i}";
            bool end = d.Slice((int)i + 4, 4).SequenceEqual("IEND"u8);
            i += 12L + len;
            if (i > d.Length) return "truncated: the file ends inside a PNG chunk" + (end ? " (IEND)" : "");
            if (end) return null;
        }
    }
}
