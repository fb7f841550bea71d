using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

/// <summary>Tests that read or change process environment variables (VECQ_DATA, VECQ_CACHE) run in here, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vecq-datasets-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(params string[] parts)
    {
        var p = System.IO.Path.Combine([Path, .. parts]);
        Directory.CreateDirectory(p);
        return p;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Sets environment variables for a test and restores the previous values on dispose.</summary>
public sealed class EnvScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = new();

    public EnvScope Set(string name, string? value)
    {
        if (!_saved.ContainsKey(name)) _saved[name] = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    /// <summary>VECQ_DATA unset and VECQ_CACHE pointing at <paramref name="cacheRoot"/>: a clean search.</summary>
    public static EnvScope Clean(string cacheRoot) =>
        new EnvScope().Set(DataLocator.DataEnvironmentVariable, null).Set(DataLocator.CacheEnvironmentVariable, cacheRoot);

    public void Dispose()
    {
        foreach (var (k, v) in _saved) Environment.SetEnvironmentVariable(k, v);
    }
}

/// <summary>Small MNIST-format files with a known, deterministic content.</summary>
public static class FakeMnist
{
    public static byte Pixel(int image, int p) => (byte)((image * 31 + p * 7) % 256);

    public static byte LabelOf(int image) => (byte)(image * 7 % 10);

    public static byte[] Images(int count, int rows = 28, int cols = 28)
    {
        var px = new byte[count * rows * cols];
        for (int i = 0; i < count; i++)
            for (int p = 0; p < rows * cols; p++) px[i * rows * cols + p] = Pixel(i, p);
        return px;
    }

    public static byte[] Labels(int count)
    {
        var l = new byte[count];
        for (int i = 0; i < count; i++) l[i] = LabelOf(i);
        return l;
    }

    /// <summary>Writes the split's two files (official names) into <paramref name="dir"/>; returns (images, labels) paths.</summary>
    public static (string Images, string Labels) Write(string dir, DatasetSplit split, int count, bool gzip = true, int labelCount = -1)
    {
        var (imgName, lblName) = MnistDataset.FileNames(split);
        if (!gzip)
        {
            imgName = imgName[..^3];
            lblName = lblName[..^3];
        }
        var img = Path.Combine(dir, imgName);
        var lbl = Path.Combine(dir, lblName);
        IdxWriter.Write(img, IdxArray.Create(Images(count), count, 28, 28), gzip);
        IdxWriter.Write(lbl, IdxArray.Create(Labels(labelCount < 0 ? count : labelCount)), gzip);
        return (img, lbl);
    }

    /// <summary>Both splits.</summary>
    public static void WriteAll(string dir, int train = 12, int test = 5, bool gzip = true)
    {
        Write(dir, DatasetSplit.Train, train, gzip);
        Write(dir, DatasetSplit.Test, test, gzip);
    }
}

/// <summary>A small in-memory dataset for DataLoader tests.</summary>
public static class SmallDataset
{
    public static MnistDataset Make(int count, string name = MnistDataset.FashionMnist) =>
        new(name, DatasetSplit.Train, FakeMnist.Images(count), FakeMnist.Labels(count));
}
