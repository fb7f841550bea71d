using System.Reflection;
using System.Runtime.CompilerServices;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Tests that read the simulated device's counters (transfers, live bytes): they run alone, so no other test's
/// sim tensors move the counters while they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimCounterCollection
{
    /// <summary>Name of the serial collection.</summary>
    public const string Name = "sim device counters";
}

/// <summary>
/// The simulated accelerator as a device: its storage is out of the host's reach (no pointer or span anywhere in
/// the public API), data crosses only through counted uploads and downloads, ops do not mix devices, tensors move
/// between devices with <see cref="Tensor.To"/>, and its live bytes come back when tensors are released.
/// </summary>
[Collection(SimCounterCollection.Name)]
public sealed class SimBackendTests
{
    private static readonly Device Sim0 = Device.Sim(0), Sim1 = Device.Sim(1);

    // ---- no host access to device memory ---------------------------------------------------------

    /// <summary>Types a host pointer or view of memory could hide behind.</summary>
    private static bool ExposesMemory(Type t)
    {
        if (t.IsPointer || t.IsByRef || t.IsFunctionPointer || t == typeof(nint) || t == typeof(nuint)) return true;
        if (!t.IsGenericType) return false;
        var g = t.GetGenericTypeDefinition();
        return g == typeof(Span<>) || g == typeof(ReadOnlySpan<>) || g == typeof(Memory<>) || g == typeof(ReadOnlyMemory<>);
    }

    /// <summary>The members of <paramref name="type"/> that code outside VecQ.Tensor can see (public, or protected through a subclass).</summary>
    private static IEnumerable<(string Name, Type Returns)> VisibleMembers(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
        static bool Visible(MethodBase? m) => m is not null && (m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly);
        foreach (var m in type.GetMethods(all).Where(Visible)) yield return ($"{type.Name}.{m.Name}()", m.ReturnType);
        foreach (var p in type.GetProperties(all).Where(p => Visible(p.GetMethod))) yield return ($"{type.Name}.{p.Name}", p.PropertyType);
        foreach (var f in type.GetFields(all).Where(f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly)) yield return ($"{type.Name}.{f.Name}", f.FieldType);
    }

    [Fact]
    public void NoStorageMemberGivesAPointerOrSpan()
    {
        var types = new[] { typeof(Storage), typeof(SimStorage), typeof(CpuStorage) };
        var leaks = types.SelectMany(VisibleMembers).Where(m => ExposesMemory(m.Returns)).Select(m => $"{m.Name}: {m.Returns}").ToList();
        Assert.True(leaks.Count == 0, "storage members that expose memory: " + string.Join(", ", leaks));
        Assert.True(typeof(SimStorage).IsSealed && typeof(CpuStorage).IsSealed, "the storages are sealed: no subclass reaches their memory");
    }

    [Fact]
    public void NoPublicMemberOfVecQTensorGivesAPointerOrSpan()
    {
        // the whole public surface (Tensor, the backends, the pools): memory only crosses by copy (Upload/Download, ToArray)
        var leaks = typeof(Tensor).Assembly.GetExportedTypes().SelectMany(VisibleMembers)
            .Where(m => ExposesMemory(m.Returns)).Select(m => $"{m.Name}: {m.Returns}").ToList();
        Assert.True(leaks.Count == 0, "public members of VecQ.Tensor that expose memory: " + string.Join(", ", leaks));
    }

    [Fact]
    public void CpuStoragePointerAndSpanAreInternalToVecQTensor()
    {
        var pointer = typeof(CpuStorage).GetProperty("Pointer", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        Assert.NotNull(pointer);
        Assert.True(pointer.GetMethod!.IsAssembly, "CpuStorage.Pointer must be internal");
        Assert.Null(typeof(CpuStorage).GetProperty("Pointer", BindingFlags.Instance | BindingFlags.Public));
        var spans = typeof(CpuStorage).GetMethods(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public).Where(m => m.Name == "AsSpan").ToList();
        Assert.NotEmpty(spans);
        Assert.All(spans, m => Assert.True(m.IsAssembly, "CpuStorage.AsSpan must be internal"));
        var inner = typeof(SimStorage).GetProperty("Inner", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        Assert.NotNull(inner);
        Assert.True(inner.GetMethod!.IsAssembly, "SimStorage.Inner must be internal");

        // internal reaches only the assemblies VecQ.Tensor names: its tests and the kernel benchmarks (which time
        // the SGEMM and convolution kernels directly); no library above it (autograd, nn, quant) and not the CLI
        var friends = typeof(Tensor).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(["VecQ.Bench", "VecQ.Tensor.Tests"], friends);
    }

    [Fact]
    public void TheCpuKernelsRefuseASimTensor()
    {
        // even the host backend cannot read a sim block: its kernels take host storage only
        using var x = Tensor.FromArray(new float[] { 1, 2, 3 }, device: Sim0);
        using var y = Tensor.Empty([3]);
        var e = Assert.Throws<ArgumentException>(() => Backend.Cpu.Unary(new Relu(), x, y));
        Assert.Contains("sim:0", e.Message);
        Assert.Throws<ArgumentException>(() => Backend.Cpu.Download<float>(x, new float[3]));
        Assert.IsType<SimStorage>(x.Storage);
    }

    // ---- counted transfers -------------------------------------------------------------------------

    [Fact]
    public void TransfersCountUploadsAndDownloadsWithTheirBytes()
    {
        var before = Backend.Transfers(Sim0);
        using var x = Tensor.FromArray(TestUtil.Values(35, 1), [5, 7], Sim0);
        var up = Backend.Transfers(Sim0) - before;
        Assert.Equal(new TransferStats(Uploads: 1, UploadBytes: 35 * 4, Downloads: 0, DownloadBytes: 0, Synchronizations: 0), up);

        before = Backend.Transfers(Sim0);
        float[] back = x.ToArray();
        Assert.Equal(new TransferStats(0, 0, 1, 35 * 4, 1), Backend.Transfers(Sim0) - before);
        Assert.Equal(TestUtil.Values(35, 1), back);

        // a strided view is gathered on the device first: still one download of just its elements
        before = Backend.Transfers(Sim0);
        using (var col = x.Narrow(1, 2, 1)) Assert.Equal(5, col.ToArray().Length);
        Assert.Equal(new TransferStats(0, 0, 1, 5 * 4, 1), Backend.Transfers(Sim0) - before);

        // Item: one download of one element, of the tensor's dtype
        before = Backend.Transfers(Sim0);
        using (var s = x.Sum()) Assert.Equal(back.Sum(v => (double)v), s.Item(), 1e-5);
        Assert.Equal(new TransferStats(0, 0, 1, 4, 1), Backend.Transfers(Sim0) - before);
        using var d = Tensor.FromArray(new double[] { 1.5, 2.5 }, device: Sim0);
        using var i = Tensor.FromArray(new[] { 7, 8, 9 }, device: Sim0);
        before = Backend.Transfers(Sim0);
        using (var ds = d.Sum()) Assert.Equal(4.0, ds.Item());
        using (var one = i.Narrow(0, 2, 1)) Assert.Equal(9.0, one.Item());
        Assert.Equal(new TransferStats(0, 0, 2, 8 + 4, 2), Backend.Transfers(Sim0) - before);

        // made on the device (zeros, constants, random, arange): nothing crosses
        before = Backend.Transfers(Sim0);
        using (Tensor.Zeros([100], device: Sim0))
        using (Tensor.Full([3, 3], 2.5, device: Sim0))
        using (Tensor.RandN([64], new Rng(1), device: Sim0))
        using (var y = x * 2.0)
        using (var z = y.Exp()) { }
        Assert.Equal(default, Backend.Transfers(Sim0) - before);

        // an explicit synchronisation is counted as one, with no traffic
        before = Backend.Transfers(Sim0);
        Backend.Synchronize(Sim0);
        Assert.Equal(new TransferStats(0, 0, 0, 0, 1), Backend.Transfers(Sim0) - before);
        Assert.Equal(default, Backend.Transfers(Device.Cpu));
    }

    [Fact]
    public void ATrainingStepOnTheSimDeviceTransfersNothingUntilTheHostReads()
    {
        // conv → fused ReLU/batch norm/max pool → linear → cross-entropy, every backward, an SGD step, the quantizer
        // kernels: all on the device; only the final reads cross (one download each)
        var rng = new Rng(3);
        using var x = Tensor.RandN([4, 3, 10, 10], rng, device: Sim0);
        using var w = Tensor.RandN([6, 3, 3, 3], rng, 0, 0.2, device: Sim0);
        using var fc = Tensor.RandN([6 * 5 * 5, 10], rng, 0, 0.1, device: Sim0);
        using var labels = Tensor.FromArray(new[] { 1, 7, 3, 0 }, device: Sim0);
        using var mom = Tensor.Zeros([6, 3, 3, 3], device: Sim0);
        var before = Backend.Transfers(Sim0);

        using var y = ConvOps.Conv2d(x, w, null, (1, 1), (1, 1));
        var (mean, var) = NnOps.BatchNormStats(y, relu: true);
        using var _m = mean;
        using var _v = var;
        using var ve = var.Add(1e-5);
        using var sd = ve.Sqrt();
        using var invStd = 1.0 / sd;
        var (p, idx, picked) = ConvOps.ReluBatchNormMaxPool2d(y, mean, invStd, null, null, (2, 2));
        using var _p = p;
        using var _i = idx;
        using var _k = picked;
        using var flat = p.Reshape(4, -1);
        using var logits = flat.MatMul(fc);
        var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, 0.1);
        using var _l = loss;
        using var _q = probs;
        using var dloss = Tensor.Full([4], 0.25, device: Sim0);
        using var dlogits = NnOps.SoftmaxCrossEntropyBackward(probs, labels, dloss, 0.1);
        using var fcT = fc.T();
        using var dflat = dlogits.MatMul(fcT);
        using var dp = dflat.Reshape(p.Dims);
        var (dy, _, _) = ConvOps.ReluBatchNormMaxPool2dBackward(dp, idx, picked, y, mean, invStd, null, (2, 2));
        using var _dy = dy;
        using var dw = ConvOps.Conv2dBackwardWeight(x, dy, w.Dims, (1, 1), (1, 1));
        OptimOps.SgdStep(w, dw, mom, new SgdStepArgs(Lr: 0.1, Momentum: 0.9));
        using var norm = OptimOps.SumOfSquaresTensor(dw);
        using var rows = w.Reshape(6, -1);
        var (gm, gs) = QuantOps.GroupMoments(rows);
        using var _gm = gm;
        using var _gs = gs;
        using var meanLoss = loss.Mean();
        Assert.Equal(default, Backend.Transfers(Sim0) - before);

        before = Backend.Transfers(Sim0);
        Assert.True(double.IsFinite(meanLoss.Item()));
        Assert.True(norm.Item() > 0);
        Assert.Equal(new TransferStats(0, 0, 2, 4 + 8, 2), Backend.Transfers(Sim0) - before);
    }

    // ---- devices do not mix ------------------------------------------------------------------------

    public static TheoryData<string> MixedOps =>
    [
        "add", "add (sim first)", "mul_scalar_tensor", "matmul", "where", "conv2d", "conv2d bias", "max_pool2d_backward", "batch_norm_forward",
        "index_select", "index_add_", "gather", "scatter_add_", "copy_", "cross_entropy", "sgd_step", "adam_step", "grid_project", "dequantize_sums",
        "relu_batch_norm_max_pool2d",
    ];

    [Theory]
    [MemberData(nameof(MixedOps))]
    public void AnOpOverACpuAndASimTensorNamesBothDevices(string op)
    {
        using var c = Tensor.FromArray(TestUtil.Values(12, 1), [3, 4]);
        using var s = Tensor.FromArray(TestUtil.Values(12, 2), [3, 4], Sim0);
        Action act = op switch
        {
            "add" => () => (c + s).Dispose(),
            "add (sim first)" => () => (s + c).Dispose(),
            "mul_scalar_tensor" => () => { using var k = Tensor.Scalar(2); (s * k).Dispose(); },
            "matmul" => () => { using var st = s.T(); c.MatMul(st).Dispose(); },
            "where" => () => { using var cond = c.Gt(0); Tensor.Where(cond, s, s).Dispose(); },
            "conv2d" => () =>
            {
                using var x = Tensor.Zeros([1, 1, 4, 4], device: Sim0);
                using var w = Tensor.Zeros([2, 1, 3, 3]);
                ConvOps.Conv2d(x, w, null, (1, 1), (0, 0)).Dispose();
            },
            "conv2d bias" => () =>
            {
                using var x = Tensor.Zeros([1, 1, 4, 4], device: Sim0);
                using var w = Tensor.Zeros([2, 1, 3, 3], device: Sim0);
                using var b = Tensor.Zeros([2]);
                ConvOps.Conv2d(x, w, b, (1, 1), (0, 0)).Dispose();
            },
            "max_pool2d_backward" => () =>
            {
                using var dy = Tensor.Zeros([1, 1, 2, 2], device: Sim0);
                using var idx = Tensor.Zeros([1, 1, 2, 2], DType.Int32);
                ConvOps.MaxPool2dBackward(dy, idx, [1, 1, 4, 4], (2, 2)).Dispose();
            },
            "batch_norm_forward" => () =>
            {
                using var m = Tensor.Zeros([4]);
                using var x = s.Reshape(3, 4, 1);
                NnOps.BatchNormForward(x, m, m, null, null).Dispose();
            },
            "index_select" => () => { using var i = Tensor.FromArray(new[] { 0, 2 }); s.IndexSelect(0, i).Dispose(); },
            "index_add_" => () => { using var i = Tensor.FromArray(new[] { 0, 2 }, device: Sim0); using var src = Tensor.Zeros([2, 4]); s.IndexAdd_(0, i, src); },
            "gather" => () => { using var i = Tensor.Zeros([3, 1], DType.Int32); s.Gather(1, i).Dispose(); },
            "scatter_add_" => () => { using var i = Tensor.Zeros([3, 1], DType.Int32, Sim0); using var src = Tensor.Zeros([3, 1]); s.ScatterAdd_(1, i, src); },
            "copy_" => () => s.CopyFrom(c),
            "cross_entropy" => () => { using var y = Tensor.Zeros([3], DType.Int32); var (l, p) = NnOps.SoftmaxCrossEntropy(s, y); l.Dispose(); p.Dispose(); },
            "sgd_step" => () => OptimOps.SgdStep(s, c, null, new SgdStepArgs(0.1)),
            "adam_step" => () => { using var m = Tensor.Zeros([3, 4], device: Sim0); using var v = Tensor.Zeros([3, 4]); OptimOps.AdamStep(s, m, m, v, new AdamStepArgs(0.1, Step: 1)); },
            "grid_project" => () =>
            {
                using var center = Tensor.Zeros([3]);
                using var step = Tensor.Ones([3], device: Sim0);
                using var codes = Tensor.Zeros([3, 4], DType.Int32, Sim0);
                using var v = Tensor.Zeros([3, 4], device: Sim0);
                QuantOps.GridProject(s, center, step, GridSpec.HalfInteger(2), codes, v).Dispose();
            },
            "dequantize_sums" => () =>
            {
                using var a = Tensor.Ones([3], device: Sim0);
                using var q = Tensor.Zeros([3, 4]);
                QuantOps.DequantizeSums(s, s, a, a, q).Dispose();
            },
            _ => () =>
            {
                using var x = Tensor.Zeros([1, 2, 4, 4], device: Sim0);
                using var m = Tensor.Zeros([2]);
                var (y, i, p) = ConvOps.ReluBatchNormMaxPool2d(x, m, m, null, null, (2, 2));
                y.Dispose(); i.Dispose(); p.Dispose();
            },
        };
        var e = Assert.Throws<ArgumentException>(act);
        Assert.True(e.Message.Contains("cpu") && e.Message.Contains("sim:0"), $"{op}: the error should name both devices: {e.Message}");
    }

    [Fact]
    public void AnOpOverTwoSimDevicesNamesBoth()
    {
        using var a = Tensor.Ones([4], device: Sim0);
        using var b = Tensor.Ones([4], device: Sim1);
        var e = Assert.Throws<ArgumentException>(() => (a + b).Dispose());
        Assert.Contains("sim:0", e.Message);
        Assert.Contains("sim:1", e.Message);
        // the backend itself refuses another device's tensor
        using var y = Tensor.Empty([4], device: Sim0);
        var e2 = Assert.Throws<ArgumentException>(() => SimBackend.For(0).Unary(new Exp(), b, y));
        Assert.Contains("sim:1", e2.Message);
        Assert.Contains("sim:0", e2.Message);
    }

    // ---- moving between devices --------------------------------------------------------------------

    [Fact]
    public void ToRoundTripsValuesBetweenCpuAndBothSimDevices()
    {
        var f = TestUtil.Values(6 * 7, 5);
        using var host = Tensor.FromArray(f, [6, 7]);
        Device[] path = [Sim0, Sim1, Device.Cpu, Sim1, Sim0, Device.Cpu];
        var t = host.To(Device.Cpu); // a new reference to the same storage
        Assert.Same(host.Storage, t.Storage);
        foreach (var dev in path)
        {
            var before0 = Backend.Transfers(Sim0);
            var before1 = Backend.Transfers(Sim1);
            var from = t.Device;
            var next = t.To(dev);
            t.Dispose();
            t = next;
            Assert.Equal(dev, t.Device);
            Assert.Equal([6, 7], t.Dims);
            Assert.True(dev.Kind == DeviceKind.Cpu ? t.Storage is CpuStorage : t.Storage is SimStorage);
            // one download from the source device, one upload to the target (each counted where it happened)
            var d0 = Backend.Transfers(Sim0) - before0;
            var d1 = Backend.Transfers(Sim1) - before1;
            Assert.Equal((from == Sim0 ? 1 : 0, dev == Sim0 ? 1 : 0), (d0.Downloads, d0.Uploads));
            Assert.Equal((from == Sim1 ? 1 : 0, dev == Sim1 ? 1 : 0), (d1.Downloads, d1.Uploads));
        }
        using (t) Assert.Equal(f, t.ToArray());

        // views, int32 and float64 keep their values; To onto the same device is a view of the same storage
        using var sim = host.To(Sim0);
        using var view = sim.T();
        using var viewOn1 = view.To(Sim1);
        Assert.True(viewOn1.IsContiguous);
        using var hostT = host.T();
        Assert.Equal(hostT.ToArray(), viewOn1.ToArray());
        using (var same = sim.To(Sim0)) Assert.Same(sim.Storage, same.Storage);
        var ints = Enumerable.Range(-20, 41).ToArray();
        using (var i0 = Tensor.FromArray(ints, device: Sim1))
        using (var i1 = i0.To(Sim0))
        using (var i2 = i1.To(Device.Cpu))
            Assert.Equal(ints, i2.ToArray<int>());
        var doubles = new[] { Math.PI, -1e300, 5e-324, 0.1 };
        using (var d0 = Tensor.FromArray(doubles, device: Sim0))
        using (var d1 = d0.To(Sim1))
            Assert.Equal(doubles, d1.ToArray<double>());
    }

    // ---- live bytes ------------------------------------------------------------------------------------

    /// <summary>Collects every unreachable tensor so that no earlier test's garbage is freed while a test measures.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void LiveBytesReturnToTheirStartAfterTensorsAreDisposed()
    {
        Settle();
        var start = Backend.MemoryStats(Sim0);
        long sim1 = Backend.MemoryStats(Sim1).LiveBytes;
        using (var a = Tensor.Zeros([1000], device: Sim0))
        {
            Assert.Equal(start.LiveBytes + 4000, Backend.MemoryStats(Sim0).LiveBytes);
            using var b = Tensor.FromArray(new double[300], device: Sim0);
            Assert.Equal(start.LiveBytes + 4000 + 2400, Backend.MemoryStats(Sim0).LiveBytes);
            using var view = a.Narrow(0, 10, 20);   // a view adds no storage
            using var small = Tensor.Zeros([3], DType.Int32, Sim0);  // blocks are at least 64 bytes
            Assert.Equal(start.LiveBytes + 4000 + 2400 + 64, Backend.MemoryStats(Sim0).LiveBytes);
            using var c = view.Exp();
            using var s = c.Sum();
            Assert.True(Backend.MemoryStats(Sim0).PeakBytes >= start.LiveBytes + 4000 + 2400 + 64 + 80);
            Assert.Equal(start.LiveStorages + 5, Backend.MemoryStats(Sim0).LiveStorages);
            Assert.Equal(sim1, Backend.MemoryStats(Sim1).LiveBytes); // each sim device counts its own memory
        }
        var end = Backend.MemoryStats(Sim0);
        Assert.Equal(start.LiveBytes, end.LiveBytes);
        Assert.Equal(start.LiveStorages, end.LiveStorages);
        Assert.Equal(start.Allocations + 5, end.Allocations);

        // a whole op chain, views released before their bases, comes back to the start too
        using (var x = Tensor.RandN([2, 3, 8, 8], new Rng(1), device: Sim0))
        using (var w = Tensor.RandN([4, 3, 3, 3], new Rng(2), device: Sim0))
        {
            using var y = ConvOps.Conv2d(x, w, null, (1, 1), (1, 1));
            var (p, idx) = ConvOps.MaxPool2d(y, (2, 2));
            using var d = ConvOps.MaxPool2dBackward(p, idx, y.Dims, (2, 2));
            p.Dispose();
            idx.Dispose();
        }
        Assert.Equal(start.LiveBytes, Backend.MemoryStats(Sim0).LiveBytes);
        Assert.Equal(start.LiveStorages, Backend.MemoryStats(Sim0).LiveStorages);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Leak(int n)
    {
        // tensors that are never disposed: their storage is freed by the backend's deferred queue after collection
        for (int i = 0; i < n; i++) _ = Tensor.Zeros([256], device: Sim0);
    }

    [Fact]
    public void LiveBytesOfTensorsThatWereNeverDisposedComeBackAfterCollection()
    {
        Settle();
        long start = Backend.MemoryStats(Sim0).LiveBytes;
        Leak(10);
        Assert.Equal(start + 10 * 1024, Backend.MemoryStats(Sim0).LiveBytes);
        Settle();
        Assert.Equal(start, Backend.MemoryStats(Sim0).LiveBytes); // reading the stats drains the deferred frees
    }
}
