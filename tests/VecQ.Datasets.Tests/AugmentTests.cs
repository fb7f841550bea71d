using System.Security.Cryptography;
using VecQ.Datasets;
using VecQ.Tensors;

namespace VecQ.Datasets.Tests;

/// <summary>An in-memory 3-channel dataset of distinct non-zero pixels (so zero padding is visible).</summary>
public sealed class RgbDataset(int count, int height = 8, int width = 6) : IImageDataset
{
    public string Name => "rgb";
    public int Count => count;
    public int Channels => 3;
    public int Height => height;
    public int Width => width;
    public IReadOnlyList<string> ClassNames => ["a", "b", "c"];
    public float[] DefaultMean => [0.4f, 0.5f, 0.6f];
    public float[] DefaultStd => [0.2f, 0.25f, 0.3f];
    public static byte Pixel(int image, int c, int y, int x) => (byte)(1 + (image * 17 + c * 61 + y * 13 + x * 3) % 255);

    public ReadOnlySpan<byte> Image(int index)
    {
        var px = new byte[3 * height * width];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++) px[(c * height + y) * width + x] = Pixel(index, c, y, x);
        return px;
    }

    public int Label(int index) => index % 3;
}

public class AugmentTests
{
    /// <summary>The source pixel an output pixel shows for a given (top, left, flip), or 0 in the padding.</summary>
    private static byte Expected(ReadOnlySpan<byte> src, ImageDims d, int pad, int top, int left, bool flip, int c, int y, int x)
    {
        int sy = y + top - pad, sx = (flip ? d.Width - 1 - x : x) + left - pad;
        return sy < 0 || sy >= d.Height || sx < 0 || sx >= d.Width ? (byte)0 : src[(c * d.Height + sy) * d.Width + sx];
    }

    [Fact]
    public void PadCropFlip_EachOutputIsExactlyOneShiftWithinThePad_PossiblyFlipped()
    {
        var ds = new RgbDataset(1, 8, 6);
        var d = new ImageDims(3, 8, 6);
        var src = ds.Image(0).ToArray();
        var aug = new PadCropFlip(pad: 2, flip: true);
        var seen = new HashSet<(int, int, bool)>();
        for (ulong seed = 0; seed < 600; seed++)
        {
            var dst = new byte[d.Size];
            aug.Apply(src, d, new Rng(seed), dst);
            // Brute force over every candidate: exactly one (top, left, flip) reproduces the output.
            var matches = new List<(int, int, bool)>();
            for (int top = 0; top <= 4; top++)
                for (int left = 0; left <= 4; left++)
                    foreach (bool flip in new[] { false, true })
                    {
                        bool ok = true;
                        for (int c = 0; c < 3 && ok; c++)
                            for (int y = 0; y < 8 && ok; y++)
                                for (int x = 0; x < 6 && ok; x++)
                                    ok = dst[(c * 8 + y) * 6 + x] == Expected(src, d, 2, top, left, flip, c, y, x);
                        if (ok) matches.Add((top, left, flip));
                    }
            Assert.Single(matches);
            Assert.Equal(matches[0], aug.Draw(d, new Rng(seed))); // Draw tells the same choice
            seen.Add(matches[0]);
        }
        Assert.Equal(5 * 5 * 2, seen.Count); // every offset in 0..2·pad and both flips occur
    }

    [Fact]
    public void Cifar_PadsBy4_Crops32_Flips_AndDrawsInTheDocumentedOrder()
    {
        var aug = ImageAugment.Cifar;
        var d = new ImageDims(3, 32, 32);
        Assert.Equal(d, aug.OutputDims(d));
        var rng = new Rng(123);
        var (top, left, flip) = aug.Draw(d, rng);
        Assert.Equal(3UL, rng.Counter);
        var r = new Rng(123);
        Assert.Equal(r.NextInt(9), top);
        Assert.Equal(r.NextInt(9), left);
        Assert.Equal(r.NextDouble() < 0.5, flip);
        var flips = Enumerable.Range(0, 2000).Count(s => aug.Draw(d, new Rng((ulong)s)).Flip);
        Assert.InRange(flips, 900, 1100);
        var offsets = Enumerable.Range(0, 2000).Select(s => aug.Draw(d, new Rng((ulong)s))).ToList();
        Assert.Equal(0, offsets.Min(o => o.Top));
        Assert.Equal(8, offsets.Max(o => o.Top));
        Assert.Equal(8, offsets.Max(o => o.Left));
        Assert.False(ImageAugment.HorizontalFlip.Draw(d, new Rng(1)).Top != 0);
    }

    [Fact]
    public void PadCropFlip_SmallerCrop_AndBadSizesRejected()
    {
        var aug = new PadCropFlip(pad: 0, flip: false, cropHeight: 4, cropWidth: 3);
        var d = new ImageDims(3, 8, 6);
        Assert.Equal(new ImageDims(3, 4, 3), aug.OutputDims(d));
        var src = new RgbDataset(1).Image(0).ToArray();
        var dst = new byte[36];
        var rng = new Rng(5);
        aug.Apply(src, d, rng, dst);
        var (top, left, _) = aug.Draw(d, new Rng(5));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 3; x++) Assert.Equal(src[(c * 8 + y + top) * 6 + x + left], dst[(c * 4 + y) * 3 + x]);
        Assert.Throws<ArgumentException>(() => new PadCropFlip(1, false, 11, 2).OutputDims(d));
        Assert.Throws<ArgumentException>(() => aug.Apply(src, d, rng, new byte[35]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PadCropFlip(-1, true));
    }

    private static DataLoader Loader(IImageSource ds, ulong seed = 4, int batch = 5, int prefetch = 0, int workers = 1, IImageAugment? augment = null, bool shuffle = true) =>
        new(ds, new DataLoaderOptions { Seed = seed, BatchSize = batch, Prefetch = prefetch, Workers = workers, Augment = augment, Shuffle = shuffle });

    /// <summary>Every example's floats of an epoch, by dataset index.</summary>
    private static Dictionary<int, float[]> ByIndex(DataLoader l, int epoch)
    {
        var result = new Dictionary<int, float[]>();
        int chw = l.ExampleDims.Size;
        foreach (var b in l.HostBatches(epoch))
            for (int i = 0; i < b.Size; i++) result[b.Indices[i]] = b.Images.AsSpan(i * chw, chw).ToArray();
        return result;
    }

    [Fact]
    public void LoaderAugment_IsReproducible_PerEpoch_AndIndependentOfBatchSizePrefetchAndWorkers()
    {
        var ds = new RgbDataset(23);
        var aug = new PadCropFlip(2, true);
        using var a = Loader(ds, augment: aug);
        var e1 = ByIndex(a, 1);
        foreach (var (batch, prefetch, workers) in new[] { (5, 0, 1), (7, 2, 1), (3, 2, 3), (23, 1, 4), (1, 5, 2) })
        {
            using var b = Loader(ds, batch: batch, prefetch: prefetch, workers: workers, augment: aug);
            var other = ByIndex(b, 1);
            Assert.Equal(e1.Keys.Order(), other.Keys.Order());
            foreach (var k in e1.Keys) Assert.Equal(e1[k], other[k]);
        }
        // Another epoch or seed augments differently; the order of the batches is the same as without augmentation.
        var e2 = ByIndex(a, 2);
        Assert.Contains(e1.Keys, k => !e1[k].SequenceEqual(e2[k]));
        using var plain = Loader(ds);
        Assert.Equal(plain.Order(1), a.Order(1));
        Assert.Equal(plain.HostBatches(1).SelectMany(b => b.Labels), a.HostBatches(1).SelectMany(b => b.Labels));
        using var s = Loader(ds, seed: 5, augment: aug);
        var s1 = ByIndex(s, 1);
        Assert.Contains(e1.Keys, k => !e1[k].SequenceEqual(s1[k]));
    }

    [Fact]
    public void LoaderAugment_AppliesTheExampleSeedsDraw_ThenNormalises()
    {
        var ds = new RgbDataset(6);
        var aug = new PadCropFlip(2, true);
        using var l = Loader(ds, augment: aug, batch: 6);
        var d = new ImageDims(3, 8, 6);
        var batch = l.GetHostBatch(3, 0);
        for (int i = 0; i < batch.Size; i++)
        {
            int idx = batch.Indices[i];
            var (top, left, flip) = aug.Draw(d, new Rng(l.ExampleSeed(3, idx)));
            var src = ds.Image(idx);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 6; x++)
                    {
                        byte v = Expected(src, d, 2, top, left, flip, c, y, x);
                        float want = (float)((v / 255.0 - ds.DefaultMean[c]) / ds.DefaultStd[c]);
                        Assert.Equal(want, batch.Images[i * d.Size + (c * 8 + y) * 6 + x]);
                    }
        }
        Assert.NotEqual(l.ExampleSeed(0, 1), l.ExampleSeed(1, 0));
        Assert.NotEqual(l.ExampleSeed(0, 1), l.ExampleSeed(0, 2));
    }

    [Fact]
    public void PerChannelNormalisation_UsesEachChannelsMeanAndStd()
    {
        var ds = new RgbDataset(2);
        using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 2, Shuffle = false, Prefetch = 0, Mean = [0.1f, 0.2f, 0.3f], Std = [0.5f, 1f, 2f] });
        var b = l.GetHostBatch(0, 0);
        float[] mean = [0.1f, 0.2f, 0.3f], std = [0.5f, 1f, 2f];
        for (int c = 0; c < 3; c++)
            Assert.Equal((float)((RgbDataset.Pixel(1, c, 7, 5) / 255.0 - mean[c]) / std[c]), b.Images[48 * 3 + (c * 8 + 7) * 6 + 5]);
    }

    /// <summary>SHA-256 of every host batch of epochs 0 and 1 (indices, image floats, labels), computed with the
    /// loader as it was before sources, augmentation and workers existed (commit a7aa932): MNIST batches are unchanged bit for bit.</summary>
    [Theory]
    [InlineData(DatasetSplit.Train, 3UL, 64, true, 0, "7761944833842dcc9cea79646cf94914f58093b1fe4845bb1737630fbfa2ec26")]
    [InlineData(DatasetSplit.Train, 11UL, 100, false, 2, "8cc158c1c987c0dc5828e0455fcbf68277b308557ed2fb5bba532b010048dbfd")]
    [InlineData(DatasetSplit.Train, 5UL, 37, true, 2, "a1ccdde7604aa68fcce67490df9bb45d57112df75856a91b7d42cfc15b644728")]
    [InlineData(DatasetSplit.Test, 3UL, 64, true, 0, "cc74f5183f05822177abc734a0d34278aab3a0edaf739d0d488e6e6cea8f3531")]
    [InlineData(DatasetSplit.Test, 11UL, 100, false, 2, "b604e624b8d7fad6ec432b9856863d24ce9e6caeb8572884d575d583ab11650f")]
    [InlineData(DatasetSplit.Test, 5UL, 37, true, 2, "07b9e88aba9ef35f9ba91c49a0d56f114e0a866a18e6824606bae8e523c9c5d4")]
    public void MnistBatches_AreBitIdenticalToTheLoaderBeforeAugmentation(DatasetSplit split, ulong seed, int batch, bool shuffle, int prefetch, string sha256)
    {
        var ds = MnistDataset.LoadEmbeddedSample(split);
        foreach (int workers in new[] { 1, 3 })
        {
            using var l = new DataLoader(ds, new DataLoaderOptions { Seed = seed, BatchSize = batch, Shuffle = shuffle, Prefetch = prefetch, Workers = workers });
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (int e = 0; e < 2; e++)
                foreach (var b in l.HostBatches(e))
                {
                    foreach (var i in b.Indices) h.AppendData(BitConverter.GetBytes(i));
                    foreach (var f in b.Images) h.AppendData(BitConverter.GetBytes(f));
                    foreach (var y in b.Labels) h.AppendData(BitConverter.GetBytes(y));
                }
            Assert.Equal(sha256, Convert.ToHexStringLower(h.GetHashAndReset()));
        }
    }

    [Fact]
    public void Workers_ErrorAtOneStep_ReachesTheConsumerAtThatStep_AfterTheEarlierBatches()
    {
        var src = new FailingSource(40, failAt: 17);
        using var l = new DataLoader(src, new DataLoaderOptions { BatchSize = 4, Shuffle = false, Prefetch = 3, Workers = 3 });
        var got = new List<int>();
        var e = Assert.Throws<InvalidDataException>(() => { foreach (var b in l.HostBatches(0)) got.Add(b.Step); });
        Assert.Equal("example 17 is broken", e.Message);
        Assert.Equal([0, 1, 2, 3], got); // step 4 holds example 17
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(src, new DataLoaderOptions { Workers = 0 }));
    }

    [Fact]
    public void Workers_HoldAtMostMaxPrefetchWorkersBatchesAhead()
    {
        var src = new FailingSource(400, failAt: -1);
        using var l = new DataLoader(src, new DataLoaderOptions { BatchSize = 2, Shuffle = false, Prefetch = 3, Workers = 2 });
        using var e = l.HostBatches(0).GetEnumerator();
        Assert.True(e.MoveNext());
        Thread.Sleep(300); // let the workers run ahead as far as they may
        // Consumed 1 batch (2 examples); at most max(3, 2) = 3 more batches may have been prepared.
        Assert.InRange(src.Reads, 2, 2 + 3 * 2);
        int n = 1;
        while (e.MoveNext()) n++;
        Assert.Equal(200, n);
    }

    /// <summary>A decoding-style source (not in memory) whose example <c>failAt</c> throws; counts reads.</summary>
    private sealed class FailingSource(int count, int failAt) : IImageSource
    {
        private int _reads;
        public int Reads => Volatile.Read(ref _reads);
        public string Name => "failing";
        public int Count => count;
        public int Channels => 1;
        public int Height => 2;
        public int Width => 2;
        public IReadOnlyList<string> ClassNames => ["x"];
        public float[] DefaultMean => [0f];
        public float[] DefaultStd => [1f];
        public int Label(int index) => 0;

        public void ReadImage(int index, Rng rng, Span<byte> destination)
        {
            Interlocked.Increment(ref _reads);
            if (index == failAt) throw new InvalidDataException($"example {index} is broken");
            destination.Fill((byte)index);
        }
    }
}
