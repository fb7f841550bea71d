using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using VecQ.Datasets;
using VecQ.Tensors;

namespace VecQ.Datasets.Tests;

public class ImageFolderTests
{
    private static readonly ImageFolderOptions Exact10 = new() { ImageSize = 10, ResizeShorter = 10 };

    private static byte[] Read(IImageSource ds, int index, ulong seed = 0)
    {
        var px = new byte[ds.Channels * ds.Height * ds.Width];
        ds.ReadImage(index, new Rng(seed), px);
        return px;
    }

    [Fact]
    public void Classes_AreSortedOrdinally_FilesAsSortedOsWalk_OtherFilesIgnored()
    {
        using var tmp = new TempDir();
        string root = tmp.Sub("tree");
        int seed = 0;
        TestImages.Png(Path.Combine(root, "dog", "1.png"), 10, 10, seed++);
        TestImages.Png(Path.Combine(root, "Cat", "z.png"), 10, 10, seed++);
        string ant = Path.Combine(root, "ant");
        string[] expected =
        [
            Path.Combine(ant, "a.PNG"), Path.Combine(ant, "b.png"),
            Path.Combine(ant, "s", "c.png"), Path.Combine(ant, "s-b", "e.jpeg"), Path.Combine(ant, "s", "x", "d.png"),
        ];
        // Written in another order than expected; "ant/s-b" sorts between "ant/s" and "ant/s/x" ('-' < '/'), as Python's sorted(os.walk(…)).
        foreach (var f in expected.Reverse())
            if (f.EndsWith(".jpeg")) TestImages.Jpeg(f, 10, 10, seed++);
            else TestImages.Png(f, 10, 10, seed++);
        File.WriteAllText(Path.Combine(ant, "README.txt"), "not an image");
        File.WriteAllText(Path.Combine(root, "labels.csv"), "a file beside the class folders");
        var ds = ImageFolderDataset.FromFolder(root, DatasetSplit.Test, Exact10);
        Assert.Equal(["Cat", "ant", "dog"], ds.ClassNames);
        var two = ImageFolderDataset.FromFolder(root, DatasetSplit.Test, Exact10 with { MaxPerClass = 2 });
        Assert.Equal([Path.Combine(root, "Cat", "z.png"), expected[0], expected[1], Path.Combine(root, "dog", "1.png")], two.Files);
        Assert.Equal([Path.Combine(root, "Cat", "z.png"), .. expected, Path.Combine(root, "dog", "1.png")], ds.Files);
        Assert.Equal([0, 1, 1, 1, 1, 1, 2], ds.Labels);
        Assert.Equal(7, ds.Count);
        Assert.Equal((3, 10, 10), (ds.Channels, ds.Height, ds.Width));
        Assert.False(ds.IsAugmented);
        Assert.Equal("imagefolder", ds.Name);
    }

    [Fact]
    public void Eval_SameSizeImage_IsThePngsPixelsExactly_InChwOrder()
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 10, 10, seed: 3);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10);
        Assert.Equal(TestImages.Chw(3, 0, 0, 10, 10), Read(ds, 0));
    }

    [Theory]
    [InlineData(16, 10, 3, 0)] // (16 − 10) / 2 = 3
    [InlineData(15, 10, 2, 0)] // 2.5 rounds to even: 2
    [InlineData(10, 17, 0, 4)] // 3.5 rounds to even: 4
    public void Eval_CentreCrop_WithoutResize_TakesTheRoundedCentre(int width, int height, int left, int top)
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), width, height, seed: 5);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10);
        Assert.Equal(TestImages.Chw(5, left, top, 10, 10), Read(ds, 0));
        Assert.Equal(new ImageCrops.Box(left, top, 10, 10), ImageCrops.CenterCrop(width, height, 10));
    }

    [Fact]
    public void Eval_ResizesTheShorterSide_ThenCropsTheCentre()
    {
        using var tmp = new TempDir();
        string path = TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 41, 20, seed: 7);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, new ImageFolderOptions { ImageSize = 8, ResizeShorter = 10 });
        Assert.Equal((20, 10), ImageCrops.ResizeShorter(41, 20, 10)); // 10·41/20 = 20.5, truncated
        using var img = Image.Load<Rgb24>(path);
        img.Mutate(x => x.Resize(20, 10, KnownResamplers.Triangle));
        Assert.Equal(TestImages.Chw(img, 6, 1, 8, 8), Read(ds, 0));
        Assert.Equal(new EvalPreprocess { ResizeShorter = 10, CropSize = 8 }, ds.EvalPreprocess);
    }

    [Fact]
    public void Train_IsTheRandomResizedCropOfTheExampleSeed_ThenTheFlip()
    {
        using var tmp = new TempDir();
        string path = TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 30, 20, seed: 9);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Train, new ImageFolderOptions { ImageSize = 12 });
        Assert.True(ds.IsAugmented);
        int flips = 0;
        for (ulong seed = 0; seed < 12; seed++)
        {
            var rng = new Rng(seed);
            var box = ImageCrops.RandomResizedCrop(30, 20, rng);
            bool flip = rng.NextDouble() < 0.5;
            flips += flip ? 1 : 0;
            using var img = Image.Load<Rgb24>(path);
            img.Mutate(x => x.Crop(new Rectangle(box.Left, box.Top, box.Width, box.Height)).Resize(12, 12, KnownResamplers.Triangle));
            Assert.Equal(TestImages.Chw(img, 0, 0, 12, 12, flip), Read(ds, 0, seed));
        }
        Assert.InRange(flips, 1, 11);
    }

    [Fact]
    public void Train_FullScaleSquare_IsTheImageOrItsMirror()
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 12, 12, seed: 2);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Train,
            new ImageFolderOptions { ImageSize = 12, MinScale = 1, MaxScale = 1, MinRatio = 1, MaxRatio = 1 });
        var plain = TestImages.Chw(2, 0, 0, 12, 12);
        var mirror = TestImages.Chw(2, 0, 0, 12, 12, flip: true);
        var outputs = Enumerable.Range(0, 20).Select(s => Read(ds, 0, (ulong)s)).ToList();
        Assert.All(outputs, o => Assert.True(o.SequenceEqual(plain) || o.SequenceEqual(mirror)));
        Assert.Contains(outputs, o => o.SequenceEqual(plain));
        Assert.Contains(outputs, o => o.SequenceEqual(mirror));
        var noFlip = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Train,
            new ImageFolderOptions { ImageSize = 12, MinScale = 1, MaxScale = 1, MinRatio = 1, MaxRatio = 1, Flip = false });
        Assert.All(Enumerable.Range(0, 10), s => Assert.Equal(plain, Read(noFlip, 0, (ulong)s)));
    }

    [Fact]
    public void RandomResizedCrop_StaysInsideWithinScaleAndRatio_AndFallsBackToTheCentre()
    {
        var areas = new List<double>();
        for (ulong s = 0; s < 2000; s++)
        {
            var b = ImageCrops.RandomResizedCrop(500, 375, new Rng(s));
            Assert.InRange(b.Left, 0, 500 - b.Width);
            Assert.InRange(b.Top, 0, 375 - b.Height);
            Assert.InRange(b.Width, 1, 500);
            Assert.InRange(b.Height, 1, 375);
            double area = (double)b.Width * b.Height / (500 * 375), ratio = (double)b.Width / b.Height;
            areas.Add(area);
            if (b is { Width: 500, Height: 375, Left: 0, Top: 0 }) continue; // the fallback (ratio 4/3 fits)
            Assert.InRange(area, 0.08 * 0.97, 1.0);
            Assert.InRange(ratio, 0.75 * 0.97, 4.0 / 3.0 * 1.03);
        }
        Assert.True(areas.Min() < 0.12 && areas.Max() > 0.9, $"areas {areas.Min()}..{areas.Max()}");
        Assert.Equal(ImageCrops.RandomResizedCrop(500, 375, new Rng(4)), ImageCrops.RandomResizedCrop(500, 375, new Rng(4)));
        // A 1000×10 strip: no try fits (h ≥ 24), so the centred box clamped to ratio 4/3: 13×10 at (493, 0); 20 draws used.
        var rng = new Rng(1);
        Assert.Equal(new ImageCrops.Box(493, 0, 13, 10), ImageCrops.RandomResizedCrop(1000, 10, rng));
        Assert.Equal(20UL, rng.Counter);
        Assert.Equal(new ImageCrops.Box(0, 493, 10, 13), ImageCrops.RandomResizedCrop(10, 1000, new Rng(1))); // 10 / (3/4) = 13.3 → 13
        Assert.Equal((256, 341), ImageCrops.ResizeShorter(375, 500, 256));
        Assert.Equal((341, 256), ImageCrops.ResizeShorter(500, 375, 256));
        Assert.Equal((256, 256), ImageCrops.ResizeShorter(64, 64, 256));
    }

    private static (string Root, ImageFolderDataset Train) Tree(TempDir tmp, int perClass = 5)
    {
        string root = tmp.Sub("imagenet");
        int seed = 0;
        foreach (var cls in new[] { "n01", "n02", "n03" })
            for (int i = 0; i < perClass; i++)
            {
                TestImages.Png(Path.Combine(root, "train", cls, $"{cls}_{i}.png"), 20 + i, 16 + 2 * i, seed++);
                if (i < 2) TestImages.Jpeg(Path.Combine(root, "val", cls, $"v{i}.JPEG"), 18, 18 + i, seed++);
            }
        return (root, ImageFolderDataset.Load(root, DatasetSplit.Train, new ImageFolderOptions { ImageSize = 8 }));
    }

    [Fact]
    public void Loader_OrderAndPixels_AreStableUnderASeed_WhateverTheWorkers()
    {
        using var tmp = new TempDir();
        var (_, train) = Tree(tmp);
        Assert.Equal(15, train.Count);
        List<HostBatch> Run(int workers, int prefetch, int batch)
        {
            using var l = new DataLoader(train, new DataLoaderOptions { Seed = 7, BatchSize = batch, Workers = workers, Prefetch = prefetch });
            return l.HostBatches(2).ToList();
        }
        var reference = Run(1, 0, 4);
        using (var same = new DataLoader(new RgbDataset(15), new DataLoaderOptions { Seed = 7, BatchSize = 4 }))
            Assert.Equal(same.Order(2), reference.SelectMany(b => b.Indices)); // the order is the loader's (seed, epoch) permutation
        foreach (var b in reference) Assert.Equal(b.Indices.Select(i => train.Labels[i]), b.Labels);
        Assert.Equal([4, 3, 8, 8], reference[0].ImageShape);
        foreach (var (workers, prefetch) in new[] { (1, 2), (2, 2), (4, 1), (3, 6) })
        {
            var other = Run(workers, prefetch, 4);
            Assert.Equal(reference.Count, other.Count);
            for (int i = 0; i < reference.Count; i++)
            {
                Assert.Equal(reference[i].Indices, other[i].Indices);
                Assert.Equal(reference[i].Images, other[i].Images);
            }
        }
        // Another batch size: the same floats for each example.
        var big = Run(2, 2, 15)[0];
        int chw = 3 * 8 * 8;
        var flat = reference.SelectMany(b => b.Images).ToArray();
        Assert.Equal(flat, big.Images);
        // The next epoch crops differently.
        using var l2 = new DataLoader(train, new DataLoaderOptions { Seed = 7, BatchSize = 15, Shuffle = false, Prefetch = 0 });
        Assert.NotEqual(l2.GetHostBatch(0, 0).Images.AsSpan(0, chw).ToArray(), l2.GetHostBatch(1, 0).Images.AsSpan(0, chw).ToArray());
    }

    [Fact]
    public void Load_ImageNetLayout_ValUsesTheTrainClasses()
    {
        using var tmp = new TempDir();
        var (root, train) = Tree(tmp);
        Assert.Equal(["n01", "n02", "n03"], train.ClassNames);
        Assert.Equal(Path.Combine(Path.GetFullPath(root), "train"), train.Folder);
        Directory.Delete(Path.Combine(root, "val", "n02"), recursive: true); // val may lack a class …
        var val = ImageFolderDataset.Load(root, DatasetSplit.Test, new ImageFolderOptions { ImageSize = 8 });
        Assert.Equal(train.ClassNames, val.ClassNames);
        Assert.Equal([0, 0, 2, 2], val.Labels);
        Assert.False(val.IsAugmented);
        Assert.Equal(9, val.EvalPreprocess.ResizeShorter); // round(8 / 0.875)
        TestImages.Png(Path.Combine(root, "val", "n99", "x.png"), 9, 9, 1); // … but not have one of its own
        var e = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root, DatasetSplit.Test));
        Assert.Contains("'n99' are not among the 3 training classes", e.Message);
        Directory.Move(Path.Combine(root, "val"), Path.Combine(root, "test"));
        Directory.Delete(Path.Combine(root, "test", "n99"), recursive: true);
        Assert.Equal(4, ImageFolderDataset.Load(root, DatasetSplit.Test).Count); // test/ is accepted for val/
        Directory.Delete(Path.Combine(root, "test"), recursive: true);
        e = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root, DatasetSplit.Test));
        Assert.Contains("no val/ (or test/) folder", e.Message);
    }

    [Fact]
    public void Load_FromTheLocator_NeedsDataDir()
    {
        using var tmp = new TempDir();
        var (root, _) = Tree(tmp, perClass: 2);
        var lines = new List<string>();
        var ds = ImageFolderDataset.Load(new DataLocator { ExplicitDirectory = root, Report = lines.Add }, DatasetSplit.Train);
        Assert.Equal(6, ds.Count);
        Assert.Contains(lines, l => l.Contains("imagefolder: using") && l.Contains("6 images, 3 classes"));
        using var env = new EnvScope().Set(DataLocator.DataEnvironmentVariable, null);
        var e = Assert.Throws<DatasetNotFoundException>(() => ImageFolderDataset.Load(new DataLocator { Report = null }, DatasetSplit.Train));
        Assert.Contains("needs --data DIR", e.Message);
    }

    [Fact]
    public void EmptyClassFolder_IsAnErrorNamingTheFolder()
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 10, 10, 1);
        string empty = tmp.Sub("b");
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "no images here");
        var e = Assert.Throws<DatasetException>(() => ImageFolderDataset.FromFolder(tmp.Path));
        Assert.Equal(empty, e.FilePath);
        Assert.Contains("class folder 'b' has no image files", e.Message);
        using var none = new TempDir();
        File.WriteAllText(none.File("x.png"), "x");
        e = Assert.Throws<DatasetException>(() => ImageFolderDataset.FromFolder(none.Path));
        Assert.Contains("no class folders", e.Message);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbage")]
    [InlineData("tables")]
    public void CorruptJpeg_IsAnErrorNamingTheFile_WhenTheLoaderReachesIt(string how)
    {
        using var tmp = new TempDir();
        for (int i = 0; i < 6; i++) TestImages.Png(Path.Combine(tmp.Path, "a", $"{i}.png"), 10, 10, i);
        string bad = TestImages.Jpeg(Path.Combine(tmp.Path, "b", "bad.jpg"), 200, 150, 1);
        var bytes = File.ReadAllBytes(bad);
        bytes = how switch
        {
            "truncated" => bytes[..(bytes.Length * 3 / 4)], // ImageSharp alone would decode this quietly, grey-filled
            "garbage" => [0xFF, 0xD8, .. Enumerable.Range(0, 400).Select(i => (byte)(i * 37 + 1))],
            _ => [.. bytes[..200], .. Enumerable.Range(0, 200).Select(i => (byte)(i * 13)), .. bytes[400..]],
        };
        File.WriteAllBytes(bad, bytes);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10); // listing only: no error yet
        Assert.Equal(7, ds.Count);
        using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 2, Shuffle = false, Workers = 2, Prefetch = 2 });
        var steps = new List<int>();
        var e = Assert.Throws<DatasetException>(() => { foreach (var b in l.HostBatches(0)) steps.Add(b.Step); });
        Assert.Equal(bad, e.FilePath);
        Assert.StartsWith(bad + ": ", e.Message);
        Assert.True(e.Message.Contains("JPEG"), e.Message);
        if (how == "truncated") Assert.Contains("corrupt JPEG image: truncated: the file ends before the JPEG end-of-image marker (FF D9)", e.Message);
        Assert.Equal([0, 1, 2], steps);
    }

    [Fact]
    public void PngWhoseHeaderClaims60000x60000_IsRejectedBeforeDecoding_WithoutALargeAllocation()
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 10, 10, 1);
        string huge = TestImages.PngHeaderClaiming(Path.Combine(tmp.Path, "a", "1.png"), 60000, 60000);
        Assert.True(new FileInfo(huge).Length < 200);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10);
        Read(ds, 0); // warm up the decoder's code paths
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DatasetException>(() => Read(ds, 1));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(huge, e.FilePath);
        Assert.Contains("PNG header says 60000×60000 = 3600000000 pixels, more than the limit of 40000000 (ImageLimits.MaxPixels); not decoded", e.Message);
        Assert.True(allocated < 4 << 20, $"{allocated} bytes allocated");
        Assert.Equal(huge, Assert.Throws<DatasetException>(ds.CheckHeaders).FilePath);
        // The limit is configurable, and so is the file size limit.
        var small = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10 with { Limits = new ImageLimits { MaxPixels = 99 } });
        Assert.Contains("10×10 = 100 pixels, more than the limit of 99", Assert.Throws<DatasetException>(() => Read(small, 0)).Message);
        var tiny = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10 with { Limits = new ImageLimits { MaxFileBytes = 50 } });
        Assert.Contains("more than the limit of 50 (ImageLimits.MaxFileBytes)", Assert.Throws<DatasetException>(() => Read(tiny, 0)).Message);
    }

    [Fact]
    public void NotAnImage_AndTruncatedPng_AreErrorsNamingTheFile()
    {
        using var tmp = new TempDir();
        string text = Path.Combine(tmp.Sub("a"), "0.png");
        File.WriteAllText(text, "this is not a PNG file at all");
        string png = TestImages.Png(Path.Combine(tmp.Path, "a", "1.png"), 64, 64, 3);
        var bytes = File.ReadAllBytes(png);
        File.WriteAllBytes(png, bytes[..(bytes.Length - 20)]);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10);
        var e = Assert.Throws<DatasetException>(() => Read(ds, 0));
        Assert.Equal(text, e.FilePath);
        Assert.Contains("not an image", e.Message);
        e = Assert.Throws<DatasetException>(() => Read(ds, 1));
        Assert.Equal(png, e.FilePath);
        Assert.True(e.Message.Contains("corrupt PNG file: cannot read its header"), e.Message); // ImageSharp's CRC check
        // Without its IEND chunk (cut at a chunk boundary) ImageSharp decodes the file; the completeness check refuses it.
        File.WriteAllBytes(png, bytes[..^12]);
        e = Assert.Throws<DatasetException>(() => Read(ds, 1));
        Assert.True(e.Message.Contains("corrupt PNG image: truncated: the file ends before the PNG IEND chunk"), e.Message);
    }

    [Fact]
    public void Grey_IsOneChannel_WithPilsLuminance()
    {
        using var tmp = new TempDir();
        TestImages.Png(Path.Combine(tmp.Path, "a", "0.png"), 10, 10, seed: 4);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, Exact10 with { Channels = PixelOrder.Grey });
        Assert.Equal(1, ds.Channels);
        Assert.Equal([0.449f], ds.DefaultMean);
        var px = Read(ds, 0);
        var p = TestImages.Px(4, 7, 3);
        Assert.Equal((byte)((p.R * 19595 + p.G * 38470 + p.B * 7471 + 0x8000) >> 16), px[3 * 10 + 7]);
    }
}
