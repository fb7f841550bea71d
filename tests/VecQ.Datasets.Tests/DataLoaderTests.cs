using VecQ.Datasets;
using VecQ.Tensors;

namespace VecQ.Datasets.Tests;

/// <summary>Byte/float-level DataLoader behaviour: needs no tensor backend.</summary>
public class DataLoaderTests
{
    private static DataLoader Loader(int count, int batch = 8, ulong seed = 1, bool shuffle = true, bool dropLast = false,
        int? limit = null, int prefetch = 0, float[]? mean = null, float[]? std = null) =>
        new(SmallDataset.Make(count), new DataLoaderOptions
        {
            BatchSize = batch, Seed = seed, Shuffle = shuffle, DropLast = dropLast, Limit = limit, Prefetch = prefetch, Mean = mean, Std = std,
        });

    [Fact]
    public void Order_IsAPermutation_ReproducibleForSeedAndEpoch_DifferentAcrossEpochsAndSeeds()
    {
        using var a = Loader(100, seed: 7);
        using var b = Loader(100, seed: 7);
        using var c = Loader(100, seed: 8);
        var e0 = a.Order(0);
        Assert.Equal(Enumerable.Range(0, 100), e0.Order());
        Assert.Equal(e0, b.Order(0));
        Assert.Equal(a.Order(5), b.Order(5));
        Assert.NotEqual(e0, a.Order(1));
        Assert.NotEqual(a.Order(1), a.Order(2));
        Assert.NotEqual(e0, c.Order(0));
        Assert.NotEqual(Enumerable.Range(0, 100), e0);
        // Asking for epoch 3 first gives the same order as after 0, 1, 2 (no hidden state).
        using var d = Loader(100, seed: 7);
        var e3 = d.Order(3);
        Assert.Equal(e3, a.Order(3));
    }

    [Fact]
    public void NoShuffle_IsTheDatasetOrder()
    {
        using var l = Loader(20, shuffle: false);
        Assert.Equal(Enumerable.Range(0, 20), l.Order(4));
        Assert.Equal(Enumerable.Range(0, 8), l.GetHostBatch(4, 0).Indices);
    }

    [Fact]
    public void Batches_HaveTheRightShapes_AndCoverEveryExampleOnce()
    {
        using var l = Loader(21, batch: 8);
        Assert.Equal(3, l.StepsPerEpoch);
        var batches = l.HostBatches(2).ToList();
        Assert.Equal([8, 8, 5], batches.Select(b => b.Size));
        Assert.Equal([8, 1, 28, 28], batches[0].ImageShape);
        Assert.Equal([5, 1, 28, 28], batches[2].ImageShape);
        Assert.Equal(5 * 784, batches[2].Images.Length);
        Assert.Equal([0, 1, 2], batches.Select(b => b.Step));
        Assert.All(batches, b => Assert.Equal(2, b.Epoch));
        Assert.Equal(l.Order(2), batches.SelectMany(b => b.Indices));
        foreach (var b in batches)
            Assert.Equal(b.Indices.Select(i => (int)FakeMnist.LabelOf(i)), b.Labels);
    }

    [Fact]
    public void DropLast_DropsTheShortBatch()
    {
        using var l = Loader(21, batch: 8, dropLast: true);
        Assert.Equal(2, l.StepsPerEpoch);
        Assert.Equal([8, 8], l.HostBatches(0).Select(b => b.Size));
        using var exact = Loader(16, batch: 8, dropLast: true);
        Assert.Equal(2, exact.StepsPerEpoch);
    }

    [Fact]
    public void Limit_UsesTheFirstNExamples()
    {
        using var l = Loader(50, batch: 4, limit: 10);
        Assert.Equal(10, l.Count);
        Assert.Equal(3, l.StepsPerEpoch);
        Assert.Equal(Enumerable.Range(0, 10), l.HostBatches(0).SelectMany(b => b.Indices).Order());
        using var big = Loader(5, limit: 100);
        Assert.Equal(5, big.Count);
    }

    [Fact]
    public void Normalisation_IsXOver255MinusMeanOverStd()
    {
        using var l = Loader(10, batch: 10, shuffle: false);
        var b = l.GetHostBatch(0, 0);
        Assert.Equal(0.2860f, l.Mean[0]);
        Assert.Equal(0.3530f, l.Std[0]);
        for (int i = 0; i < 10; i++)
            for (int p = 0; p < 784; p += 13)
            {
                double x = FakeMnist.Pixel(i, p);
                Assert.Equal((x / 255 - 0.2860f) / 0.3530f, b.Images[i * 784 + p], 1e-6);
            }
        using var custom = Loader(256, batch: 256, shuffle: false, mean: [0.5f], std: [0.25f]);
        var all = custom.GetHostBatch(0, 0).Images;
        Assert.Equal(-2.0, all.Min(), 1e-6);
        Assert.Equal(2.0, all.Max(), 1e-6);
    }

    [Fact]
    public void MnistDefaults_AreUsedForMnist()
    {
        using var l = new DataLoader(SmallDataset.Make(3, "mnist"), new DataLoaderOptions { BatchSize = 3, Shuffle = false, Prefetch = 0 });
        Assert.Equal(0.1307f, l.Mean[0]);
        Assert.Equal(0.3081f, l.Std[0]);
        Assert.Equal((FakeMnist.Pixel(1, 2) / 255.0 - 0.1307f) / 0.3081f, l.GetHostBatch(0, 0).Images[784 + 2], 1e-6);
    }

    [Fact]
    public void StartStep_GivesTheTailOfTheSameEpoch()
    {
        using var l = Loader(37, batch: 5, seed: 3);
        var full = l.HostBatches(4).ToList();
        var tail = l.HostBatches(4, startStep: 3).ToList();
        Assert.Equal(full.Count - 3, tail.Count);
        for (int i = 0; i < tail.Count; i++)
        {
            Assert.Equal(full[i + 3].Step, tail[i].Step);
            Assert.Equal(full[i + 3].Indices, tail[i].Indices);
            Assert.Equal(full[i + 3].Images, tail[i].Images);
        }
        Assert.Empty(l.HostBatches(4, startStep: l.StepsPerEpoch));
        Assert.Throws<ArgumentOutOfRangeException>(() => l.HostBatches(4, startStep: l.StepsPerEpoch + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => l.HostBatches(-1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Prefetch_YieldsTheSameBatchesAsNoPrefetch(int prefetch)
    {
        using var plain = Loader(203, batch: 16, seed: 11, prefetch: 0);
        using var pre = Loader(203, batch: 16, seed: 11, prefetch: prefetch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var a = plain.HostBatches(epoch, epoch).ToList();
            var b = pre.HostBatches(epoch, epoch).ToList();
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i].Step, b[i].Step);
                Assert.Equal(a[i].Indices, b[i].Indices);
                Assert.Equal(a[i].Labels, b[i].Labels);
                Assert.Equal(a[i].Images, b[i].Images);
            }
        }
    }

    [Fact]
    public void Prefetch_LeavingEarly_StopsTheProducer_AndTheLoaderStaysUsable()
    {
        using var l = Loader(1000, batch: 4, prefetch: 2);
        foreach (var b in l.HostBatches(0))
            if (b.Step == 2) break;
        Assert.Equal(l.StepsPerEpoch, l.HostBatches(0).Count());
    }

    [Fact]
    public async Task Dispose_DuringAnEpoch_StopsTheProducer_AndTheEpochThrows()
    {
        var l = Loader(1000, batch: 4, prefetch: 2);
        using var e = l.HostBatches(0).GetEnumerator();
        Assert.True(e.MoveNext());
        var disposing = Task.Run(l.Dispose);
        Assert.Same(disposing, await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(10)))); // else the producer did not stop
        // The queue may still hold a prepared batch or two; after that the enumeration must fail, not end quietly.
        Assert.Throws<ObjectDisposedException>(() => { while (e.MoveNext()) { } });
        Assert.Throws<ObjectDisposedException>(() => l.HostBatches(0));
    }

    [Fact]
    public void Prefetch_ProducerError_ReachesTheConsumer()
    {
        var broken = new BrokenDataset();
        using var l = new DataLoader(broken, new DataLoaderOptions { BatchSize = 2, Prefetch = 2, Shuffle = false });
        var e = Assert.Throws<InvalidOperationException>(() => l.HostBatches(0).ToList());
        Assert.Contains("image 5 is broken", e.Message);
    }

    [Fact]
    public void InvalidOptions_AreRejected()
    {
        var ds = SmallDataset.Make(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, new DataLoaderOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentException>(() => new DataLoader(ds, new DataLoaderOptions { Std = [0f] }));
        Assert.Throws<ArgumentException>(() => new DataLoader(ds, new DataLoaderOptions { Mean = [0.1f, 0.2f] }));
    }

    private sealed class BrokenDataset : IImageDataset
    {
        public string Name => "broken";
        public int Count => 10;
        public int Channels => 1;
        public int Height => 2;
        public int Width => 2;
        public IReadOnlyList<string> ClassNames => ["a", "b"];
        public float[] DefaultMean => [0f];
        public float[] DefaultStd => [1f];
        public ReadOnlySpan<byte> Image(int index) => index == 5 ? throw new InvalidOperationException("image 5 is broken") : new byte[4];
        public int Label(int index) => index % 2;
    }
}

/// <summary>Batches as tensors (needs the CPU backend's Upload/Download).</summary>
public class DataLoaderTensorTests
{
    [Fact]
    public void Epoch_YieldsFloatImagesAndIntLabels_MatchingTheHostBatches()
    {
        var ds = SmallDataset.Make(21);
        using var l = new DataLoader(ds, new DataLoaderOptions { BatchSize = 8, Seed = 2 });
        var host = l.HostBatches(1).ToList();
        int i = 0;
        foreach (var batch in l.Epoch(1))
            using (batch)
            {
                var (x, y) = batch;
                Assert.Equal(DType.Float32, x.DType);
                Assert.Equal(DType.Int32, y.DType);
                Assert.Equal(host[i].ImageShape, x.Dims);
                Assert.Equal([host[i].Size], y.Dims);
                Assert.Equal(host[i].Images, x.ToArray<float>());
                Assert.Equal(host[i].Labels, y.ToArray<int>());
                Assert.Equal(i, batch.Step);
                i++;
            }
        Assert.Equal(3, i);
    }

    [Fact]
    public void Epoch_WithPrefetch_EqualsWithout_AsTensors()
    {
        var ds = SmallDataset.Make(50);
        using var a = new DataLoader(ds, new DataLoaderOptions { BatchSize = 16, Seed = 9, Prefetch = 0 });
        using var b = new DataLoader(ds, new DataLoaderOptions { BatchSize = 16, Seed = 9, Prefetch = 2 });
        var xs = a.Epoch(3, 1).ToList();
        var ys = b.Epoch(3, 1).ToList();
        Assert.Equal(xs.Count, ys.Count);
        for (int i = 0; i < xs.Count; i++)
        {
            Assert.Equal(xs[i].Images.ToArray<float>(), ys[i].Images.ToArray<float>());
            Assert.Equal(xs[i].Labels.ToArray<int>(), ys[i].Labels.ToArray<int>());
            xs[i].Dispose();
            ys[i].Dispose();
        }
    }
}
