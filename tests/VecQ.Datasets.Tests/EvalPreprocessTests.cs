using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

public class EvalPreprocessTests
{
    [Fact]
    public void Json_RoundTripsExactly_AndHasTheDocumentedForm()
    {
        var d = new EvalPreprocess();
        Assert.Equal("""{"resize":256,"crop":224,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"channels":"RGB","interpolation":"bilinear"}""", d.ToJson());
        Assert.Equal(d.ToJson(), d.ToString());
        var odd = new EvalPreprocess { ResizeShorter = 36, CropSize = 32, Mean = [0.49139968f, 1f / 3f, 1e-7f], Std = [0.24703233f, 0.2f, 3.4e38f] };
        var back = EvalPreprocess.FromJson(odd.ToJson());
        Assert.Equal(odd, back);
        Assert.Equal(odd.GetHashCode(), back.GetHashCode());
        Assert.Equal(odd.Mean, back.Mean); // bit for bit
        Assert.Equal(odd.Std, back.Std);
        var grey = new EvalPreprocess { ResizeShorter = 28, CropSize = 28, Mean = [0.286f], Std = [0.353f], Channels = PixelOrder.Grey };
        Assert.Contains("\"channels\":\"L\"", grey.ToJson());
        Assert.Equal(grey, EvalPreprocess.FromJson(grey.ToJson()));
        Assert.Equal([1, 28, 28], grey.OutputShape);
        Assert.NotEqual(grey, grey with { Mean = [0.287f] });
        // Key order and white space do not matter; "interpolation" may be left out.
        Assert.Equal(grey, EvalPreprocess.FromJson(""" { "channels" : "L", "std":[0.353], "mean":[0.286], "crop":28, "resize":28 } """));
    }

    [Theory]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5],"std":[0.5],"channels":"RGB","size":3}""", "unknown key \"size\"")]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5],"channels":"RGB"}""", "missing std")]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5],"std":[0.5],"channels":"BGR"}""", "channels \"BGR\" is not \"RGB\" or \"L\"")]
    [InlineData("""{"resize":200,"crop":224,"mean":[0.5],"std":[0.5],"channels":"RGB"}""", "resize 200 is smaller than the crop 224")]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5,0.5],"std":[0.5],"channels":"RGB"}""", "2 mean values for 3 channel(s)")]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5],"std":[0],"channels":"RGB"}""", "std must be positive")]
    [InlineData("""{"resize":256.5,"crop":224,"mean":[0.5],"std":[0.5],"channels":"RGB"}""", "resize must be an integer")]
    [InlineData("""{"resize":256,"crop":224,"mean":[0.5],"std":[0.5],"channels":"RGB","interpolation":"bicubic"}""", "interpolation \"bicubic\" is not supported")]
    [InlineData("""[1,2]""", "expected a JSON object")]
    [InlineData("""{"resize":""", "not valid JSON")]
    public void FromJson_RejectsAnythingItCouldNotApplyExactly(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => EvalPreprocess.FromJson(json));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("png", 41, 30)]
    [InlineData("jpeg", 30, 47)]
    [InlineData("png", 9, 9)]
    public void PreprocessFile_EqualsTheLoadersEvaluationFloats(string format, int width, int height)
    {
        using var tmp = new TempDir();
        string path = Path.Combine(tmp.Path, "c", "img." + format);
        if (format == "png") TestImages.Png(path, width, height, 6);
        else TestImages.Jpeg(path, width, height, 6);
        TestImages.Png(Path.Combine(tmp.Path, "d", "other.png"), 12, 12, 1);
        var ds = ImageFolderDataset.FromFolder(tmp.Path, DatasetSplit.Test, new ImageFolderOptions { ImageSize = 8, ResizeShorter = 9, Mean = [0.3f, 0.4f, 0.5f], Std = [0.2f, 0.3f, 0.4f] });
        using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 2, Shuffle = false, Prefetch = 0 });
        var batch = l.GetHostBatch(0, 0);
        var pre = EvalPreprocess.FromJson(ds.EvalPreprocess.ToJson()); // as stored in, and read back from, a checkpoint
        var x = pre.PreprocessFile(path);
        Assert.Equal([3, 8, 8], pre.OutputShape);
        Assert.Equal(batch.Images.AsSpan(0, 3 * 64).ToArray(), x);
    }

    [Fact]
    public void PreprocessFile_OfACifarImageSavedAsPng_EqualsTheCifarLoadersFloats()
    {
        using var tmp = new TempDir();
        var ds = CifarDataset.FromDirectory("cifar10", DatasetSplit.Test, FakeCifar.Write10(tmp.Sub("c")), new CifarOptions { AnyRecordCount = true });
        var chw = ds.Image(2);
        using (var img = new Image<Rgb24>(32, 32))
        {
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) img[x, y] = new Rgb24(chw[y * 32 + x], chw[1024 + y * 32 + x], chw[2048 + y * 32 + x]);
            img.SaveAsPng(tmp.File("2.png"));
        }
        using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 4, Shuffle = false, Prefetch = 0 });
        Assert.Equal(l.GetHostBatch(0, 0).Images.AsSpan(2 * 3072, 3072).ToArray(), ds.EvalPreprocess.PreprocessFile(tmp.File("2.png")));
        Assert.Equal(chw.ToArray(), ds.EvalPreprocess.LoadPixels(tmp.File("2.png")));
    }

    [Fact]
    public void PreprocessFile_GreyModel_OnAGreyPng_KeepsTheValues()
    {
        using var tmp = new TempDir();
        using (var img = new Image<L8>(28, 28))
        {
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) img[x, y] = new L8((byte)(x * 9 + y));
            img.SaveAsPng(tmp.File("g.png"));
        }
        var pre = new EvalPreprocess { ResizeShorter = 28, CropSize = 28, Mean = [0.2860f], Std = [0.3530f], Channels = PixelOrder.Grey };
        var px = pre.LoadPixels(tmp.File("g.png"));
        Assert.Equal(Enumerable.Range(0, 784).Select(i => (byte)(i % 28 * 9 + i / 28)), px);
        var floats = pre.PreprocessFile(tmp.File("g.png"));
        Assert.Equal((float)((px[100] / 255.0 - 0.2860f) / 0.3530f), floats[100]);
        // The same normalisation as the loader's for MNIST.
        var mnist = new MnistDataset("fashion-mnist", DatasetSplit.Test, px, [3]);
        using var l = new DataLoader(mnist, new DataLoaderOptions { BatchSize = 1, Shuffle = false, Prefetch = 0 });
        Assert.Equal(l.GetHostBatch(0, 0).Images, floats);
    }

    [Fact]
    public void PreprocessFile_RefusesAHugeHeader_AndNamesMissingFiles()
    {
        using var tmp = new TempDir();
        string huge = TestImages.PngHeaderClaiming(tmp.File("huge.png"), 60000, 60000);
        var e = Assert.Throws<DatasetException>(() => new EvalPreprocess().PreprocessFile(huge));
        Assert.Equal(huge, e.FilePath);
        Assert.Contains("60000×60000", e.Message);
        Assert.Throws<FileNotFoundException>(() => new EvalPreprocess().PreprocessFile(tmp.File("missing.png")));
        Assert.Throws<ArgumentException>(() => new EvalPreprocess { CropSize = 300 }.PreprocessFile(huge));
    }
}

[Collection(EnvironmentCollection.Name)]
public class DatasetCatalogTests
{
    [Fact]
    public void Load_ByName_AndTheStandardAugmentAndPreprocessOfEach()
    {
        using var tmp = new TempDir();
        using var env = EnvScope.Clean(tmp.Sub("cache"));
        var data = tmp.Sub("data");
        FakeCifar.Write10(Path.Combine(data, "cifar-10-batches-bin"));
        var locator = FakeCifar.Locator(data, tmp);
        var cifar = DatasetCatalog.Load("CIFAR-10", DatasetSplit.Test, locator, cifar: new CifarOptions { AnyRecordCount = true });
        Assert.IsType<CifarDataset>(cifar);
        Assert.Same(ImageAugment.Cifar, DatasetCatalog.TrainAugment(cifar));
        Assert.Equal(((CifarDataset)cifar).EvalPreprocess, DatasetCatalog.EvalPreprocess(cifar));

        // no --data: nothing is found, so Fashion-MNIST is the embedded sample (with --data it would be an error)
        var mnist = DatasetCatalog.Load("fashion_mnist", DatasetSplit.Test, FakeCifar.Locator(null, tmp));
        Assert.Null(DatasetCatalog.TrainAugment(mnist));
        Assert.Equal(new EvalPreprocess { ResizeShorter = 28, CropSize = 28, Mean = [0.2860f], Std = [0.3530f], Channels = PixelOrder.Grey },
            DatasetCatalog.EvalPreprocess(mnist));

        TestImages.Png(Path.Combine(data, "train", "a", "0.png"), 12, 12, 1);
        TestImages.Png(Path.Combine(data, "val", "a", "0.png"), 12, 12, 2);
        var folder = DatasetCatalog.Load("imagefolder", DatasetSplit.Test, locator, new ImageFolderOptions { ImageSize = 10, ResizeShorter = 11 });
        Assert.Equal(new EvalPreprocess { ResizeShorter = 11, CropSize = 10 }, DatasetCatalog.EvalPreprocess(folder));
        Assert.Null(DatasetCatalog.TrainAugment(folder));

        var e = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("imagenet-21k", DatasetSplit.Train, locator));
        Assert.Contains("known: mnist, fashion-mnist, cifar10, cifar100, imagefolder", e.Message);
    }
}
