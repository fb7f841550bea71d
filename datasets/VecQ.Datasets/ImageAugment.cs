using VecQ.Tensors;

namespace VecQ.Datasets;

/// <summary>The shape of one image: channels, height, width (CHW order).</summary>
/// <param name="Channels">Channels (1 grey, 3 RGB).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <example><code>var cifar = new ImageDims(3, 32, 32);   // cifar.Size == 3072</code></example>
public readonly record struct ImageDims(int Channels, int Height, int Width)
{
    /// <summary>Bytes of one 8-bit image: Channels×Height×Width.</summary>
    public int Size => Channels * Height * Width;

    /// <summary>"3×32×32".</summary>
    public override string ToString() => $"{Channels}×{Height}×{Width}";
}

/// <summary>
/// A random augmentation of one 8-bit CHW image, plugged into <see cref="DataLoaderOptions.Augment"/>. The loader
/// calls <see cref="Apply"/> once per example with a generator seeded from (seed, epoch, example index)
/// (<see cref="DataLoader.ExampleSeed"/>), so the augmentation of an example is reproducible under a seed and
/// independent of the batch size, the worker count and the order in which workers run. Implementations must be
/// stateless (called from several threads at once).
/// </summary>
/// <example><code>
/// var loader = new DataLoader(train, new DataLoaderOptions { Seed = 1, Augment = ImageAugment.Cifar });
/// </code></example>
public interface IImageAugment
{
    /// <summary>The shape this augmentation produces from images of shape <paramref name="input"/>.</summary>
    ImageDims OutputDims(ImageDims input);

    /// <summary>Writes the augmented <paramref name="source"/> (shape <paramref name="input"/>) into <paramref name="destination"/> (shape <see cref="OutputDims"/>), drawing from <paramref name="rng"/>.</summary>
    void Apply(ReadOnlySpan<byte> source, ImageDims input, Rng rng, Span<byte> destination);
}

/// <summary>The standard augmentations.</summary>
public static class ImageAugment
{
    /// <summary>CIFAR's standard training augmentation: zero padding of 4, a random 32×32 crop, a horizontal flip with probability ½
    /// (torchvision's <c>RandomCrop(32, padding=4)</c> then <c>RandomHorizontalFlip()</c>).</summary>
    public static PadCropFlip Cifar { get; } = new(pad: 4, flip: true);

    /// <summary>A horizontal flip with probability ½ and nothing else.</summary>
    public static PadCropFlip HorizontalFlip { get; } = new(pad: 0, flip: true);
}

/// <summary>
/// Pads the image with <see cref="Pad"/> zero pixels on every side, crops a random window of the crop size
/// (default: the input size) from the padded image, then flips it horizontally with probability ½ when
/// <see cref="Flip"/> is set: torchvision's <c>RandomCrop(size, padding=pad)</c> + <c>RandomHorizontalFlip()</c>.
/// Draws, in this order: the window's top (uniform in 0..H+2·pad−cropH), its left (0..W+2·pad−cropW), and the flip
/// (<c>NextDouble() &lt; 0.5</c>); see <see cref="Draw"/>. Padded pixels are byte 0, so after normalisation they are
/// −mean/std, as in torchvision.
/// </summary>
/// <example><code>
/// var aug = new PadCropFlip(pad: 4, flip: true);           // CIFAR: 3×32×32 → 3×32×32
/// var (top, left, flip) = aug.Draw(new ImageDims(3, 32, 32), new Rng(7));   // top, left in 0..8
/// </code></example>
public sealed class PadCropFlip : IImageAugment
{
    /// <summary>An augmentation with zero padding <paramref name="pad"/>, a crop of <paramref name="cropHeight"/>×<paramref name="cropWidth"/>
    /// (null: the input's size) and a random horizontal flip when <paramref name="flip"/> is true.</summary>
    public PadCropFlip(int pad, bool flip, int? cropHeight = null, int? cropWidth = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pad);
        if (cropHeight is < 1) throw new ArgumentOutOfRangeException(nameof(cropHeight), cropHeight, "crop height must be at least 1");
        if (cropWidth is < 1) throw new ArgumentOutOfRangeException(nameof(cropWidth), cropWidth, "crop width must be at least 1");
        Pad = pad;
        Flip = flip;
        CropHeight = cropHeight;
        CropWidth = cropWidth;
    }

    /// <summary>Zero pixels added on each side before cropping.</summary>
    public int Pad { get; }
    /// <summary>Whether to flip horizontally with probability ½.</summary>
    public bool Flip { get; }
    /// <summary>Crop height (null: the input height).</summary>
    public int? CropHeight { get; }
    /// <summary>Crop width (null: the input width).</summary>
    public int? CropWidth { get; }

    /// <inheritdoc />
    public ImageDims OutputDims(ImageDims input)
    {
        var o = new ImageDims(input.Channels, CropHeight ?? input.Height, CropWidth ?? input.Width);
        if (o.Height > input.Height + 2 * Pad || o.Width > input.Width + 2 * Pad)
            throw new ArgumentException($"augment: a {o.Height}×{o.Width} crop does not fit a {input.Height}×{input.Width} image padded by {Pad}");
        return o;
    }

    /// <summary>
    /// The random choices for one image: the crop window's top-left corner in the padded image (so the source row of
    /// output row y is y + top − pad) and whether to flip. Advances <paramref name="rng"/> by two, or three with <see cref="Flip"/>.
    /// </summary>
    public (int Top, int Left, bool Flip) Draw(ImageDims input, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var o = OutputDims(input);
        int top = rng.NextInt(input.Height + 2 * Pad - o.Height + 1);
        int left = rng.NextInt(input.Width + 2 * Pad - o.Width + 1);
        bool flip = Flip && rng.NextDouble() < 0.5;
        return (top, left, flip);
    }

    /// <inheritdoc />
    public void Apply(ReadOnlySpan<byte> source, ImageDims input, Rng rng, Span<byte> destination)
    {
        var o = OutputDims(input);
        if (source.Length != input.Size) throw new ArgumentException($"augment: source has {source.Length} bytes, expected {input} = {input.Size}");
        if (destination.Length != o.Size) throw new ArgumentException($"augment: destination has {destination.Length} bytes, expected {o} = {o.Size}");
        var (top, left, flip) = Draw(input, rng);
        int h = input.Height, w = input.Width;
        for (int c = 0; c < o.Channels; c++)
        {
            var src = source.Slice(c * h * w, h * w);
            var dst = destination.Slice(c * o.Height * o.Width, o.Height * o.Width);
            for (int y = 0; y < o.Height; y++)
            {
                var row = dst.Slice(y * o.Width, o.Width);
                int sy = y + top - Pad;
                if ((uint)sy >= (uint)h)
                {
                    row.Clear();
                    continue;
                }
                var srow = src.Slice(sy * w, w);
                for (int x = 0; x < o.Width; x++)
                {
                    // Output column x shows padded column left + x, or, flipped, the mirror image of the crop.
                    int sx = (flip ? o.Width - 1 - x : x) + left - Pad;
                    row[x] = (uint)sx < (uint)w ? srow[sx] : (byte)0;
                }
            }
        }
    }
}
