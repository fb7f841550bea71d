using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using VecQ.Cuda.Native;
using VecQ.Tensors;

namespace VecQ.Cuda;

/// <summary>
/// The CUDA backend (<see cref="Device.Cuda"/>): tensors live in GPU memory (<see cref="CudaStorage"/>, from a caching
/// allocator), every op is a kernel of Kernels/*.cu compiled by NVRTC for the device (or, for the elementwise ops, a
/// kernel generated from the op's <see cref="ElementwiseSpec"/>), matrix products and the GEMMs of the convolutions are
/// cuBLAS calls (TF32 off), and everything is issued on one stream in call order; the host waits only in
/// <see cref="Download{T}"/> and <see cref="Synchronize"/>. Float32 and float64 (int32 for indices).
/// </summary>
/// <remarks>The backend registers itself for <see cref="DeviceKind.Cuda"/> (<see cref="Register"/>, which
/// <see cref="Backend.For(Device)"/> calls through reflection the first time a CUDA device is asked for), so no other
/// assembly names it and an app that never asks for a GPU never loads it.</remarks>
/// <example><code>
/// using var x = Tensor.FromArray(new float[] { 1, 2, 3 }, device: Device.Cuda());
/// using var y = x.Mul(2);            // a generated kernel on the GPU
/// float[] back = y.ToArray();        // one download, one synchronisation
/// </code></example>
public sealed partial class CudaBackend : IBackend
{
    private static readonly ConcurrentDictionary<int, Lazy<CudaBackend>> Devices = new();
    private readonly CudaContext _ctx;
    private readonly CudaAllocator _allocator;
    private long _uploads, _uploadBytes, _downloads, _downloadBytes, _syncs;

    private CudaBackend(int index)
    {
        _ctx = new CudaContext(index);
        _allocator = new CudaAllocator(_ctx);
        Device = Device.Cuda(index);
    }

    /// <summary>Registers this backend for every <c>cuda:N</c> device (idempotent).</summary>
    /// <example><code>CudaBackend.Register(); var b = Backend.For(Device.Cuda(0));</code></example>
    public static void Register() => Backend.Register(DeviceKind.Cuda, d => For(d.Index));

    /// <summary>The backend of <c>cuda:<paramref name="index"/></c>, started on first use (driver, context, stream, cuBLAS).</summary>
    /// <exception cref="CudaException">No driver or device, or the driver failed to start.</exception>
    public static CudaBackend For(int index)
    {
        var lazy = Devices.GetOrAdd(index, i => new Lazy<CudaBackend>(() => new CudaBackend(i), LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch { Devices.TryRemove(index, out _); throw; }
    }

    /// <summary>The device this backend serves.</summary>
    public Device Device { get; }

    /// <summary>The GPU's name (e.g. "NVIDIA H200") and NVRTC architecture.</summary>
    public string Description => $"{_ctx.Name} ({_ctx.Architecture})";

    /// <inheritdoc/>
    public string Name => $"cuda:{Device.Index}";

    /// <inheritdoc/>
    public MemoryStats MemoryStats => _allocator.Stats;

    /// <inheritdoc/>
    public void ResetPeakMemory() => _allocator.ResetPeak();

    /// <summary>Frees the allocator's cached blocks back to the driver (PyTorch's torch.cuda.empty_cache()).</summary>
    /// <example><code>CudaBackend.For(0).EmptyCache();</code></example>
    public void EmptyCache() { _ctx.MakeCurrent(); _allocator.EmptyCache(); }

    /// <inheritdoc/>
    public TransferStats Transfers => new(Volatile.Read(ref _uploads), Volatile.Read(ref _uploadBytes), Volatile.Read(ref _downloads),
        Volatile.Read(ref _downloadBytes), Volatile.Read(ref _syncs));

    /// <inheritdoc/>
    public void Synchronize()
    {
        _ctx.MakeCurrent();
        Interlocked.Increment(ref _syncs);
        _ctx.Synchronize();
    }

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "storage length must be >= 0");
        _ctx.MakeCurrent();
        var (ptr, bytes) = _allocator.Rent(Math.Max(length * dtype.Size(), 1));
        return new CudaStorage(_allocator, Device, dtype, length, ptr, bytes);
    }

    // ---- operands --------------------------------------------------------------------------

    /// <summary>The device address of element 0 of <paramref name="t"/>'s storage (the view's offset is not applied).</summary>
    private ulong Base(Tensor t)
    {
        if (t.Storage is not CudaStorage s || t.Device != Device)
            throw new ArgumentException($"{Name} backend: tensor {t.ShapeText} lives on {t.Device}; expected {Device} (move it with To(device))");
        return s.Pointer;
    }

    /// <summary>The device address of the view's first element (base + offset).</summary>
    private ulong At(Tensor t) => Base(t) + (ulong)((long)t.Offset * t.DType.Size());

    private ulong AtOpt(Tensor? t) => t is null ? 0UL : At(t);

    private static string Suffix(Tensor t) => t.DType switch
    {
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        _ => "i32",
    };

    private static string FloatSuffix(string op, Tensor t) => t.DType switch
    {
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        _ => throw new ArgumentException($"cuda {op}: tensor {t.ShapeText} is {t.DType.Name()}; the op takes float32 or float64"),
    };

    private static void Contiguous(string op, params Tensor?[] ts)
    {
        foreach (var t in ts)
            if (t != null && !t.IsContiguous) throw new ArgumentException($"cuda {op}: tensor {t.ShapeText} must be contiguous");
    }

    private const int Block = 256;

    private static long GridFor(long n) => Math.Clamp((n + Block - 1) / Block, 1, 65535L * 16);

    /// <summary>Runs kernel <paramref name="kernel"/> of module <paramref name="module"/> over <paramref name="work"/> items (grid-stride).</summary>
    private void Run(string module, string kernel, long work, KernelArgs args)
    {
        using (args)
        {
            if (work <= 0) return;
            _ctx.Launch(_ctx.Function(module, kernel), GridFor(work), Block, args);
        }
    }

    /// <summary>Runs a one-block-per-item kernel (<paramref name="blocks"/> blocks of 256 threads).</summary>
    private void RunBlocks(string module, string kernel, long blocks, KernelArgs args)
    {
        using (args)
        {
            if (blocks <= 0) return;
            if (blocks > int.MaxValue) throw new ArgumentException($"cuda {kernel}: {blocks} rows exceed one launch");
            _ctx.Launch(_ctx.Function(module, kernel), blocks, Block, args);
        }
    }

    private KernelArgs Args() { _ctx.MakeCurrent(); return new KernelArgs(); }

    // ---- data movement ----------------------------------------------------------------------

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value) =>
        Run("data", "fill_" + Suffix(dst), dst.Numel, Args().Add((long)dst.Numel).Add(Desc.Of(dst)).Add(Base(dst)).Add(value));

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (!Shape.Equal(src.Dims, dst.Dims)) throw new ArgumentException($"cuda copy: shapes {src.ShapeText} and {dst.ShapeText} differ");
        if (src.Device != dst.Device) throw new ArgumentException($"cuda copy: {src.Device} → {dst.Device}; move tensors between devices with To(device)");
        if (ReferenceEquals(src.Storage, dst.Storage) && Overlap(src, dst))
        {
            // the reference reads everything first: an overlapping copy sees the old values (here through a temporary)
            using var tmp = Tensor.Empty(src.Dims, src.DType, src.Device);
            Copy(src, tmp);
            Copy(tmp, dst);
            return;
        }
        Run("data", $"copy_{Suffix(src)}_{Suffix(dst)}", dst.Numel,
            Args().Add((long)dst.Numel).Add(Desc.Of(src)).Add(Base(src)).Add(Desc.Of(dst)).Add(Base(dst)));
    }

    // Whether the element ranges two views of one storage span intersect (a conservative test: interleaved views count).
    private static bool Overlap(Tensor a, Tensor b)
    {
        if (a.Numel == 0 || b.Numel == 0) return false;
        (long Lo, long Hi) Span(Tensor t)
        {
            long lo = t.Offset, hi = t.Offset;
            for (int d = 0; d < t.Rank; d++)
            {
                long reach = (long)(t.Dims[d] - 1) * t.Strides[d];
                if (reach < 0) lo += reach; else hi += reach;
            }
            return (lo, hi);
        }
        var (al, ah) = Span(a);
        var (bl, bh) = Span(b);
        return al <= bh && bl <= ah;
    }

    /// <inheritdoc/>
    public unsafe void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        if (DTypes.Of<T>() != dst.DType || src.Length != dst.Numel || !dst.IsContiguous)
            throw new ArgumentException($"cuda upload: {src.Length} {typeof(T).Name} values into {dst.DType.Name()} {dst.ShapeText} (contiguous, same length and dtype expected)");
        _ctx.MakeCurrent();
        long bytes = (long)src.Length * sizeof(T);
        if (bytes > 0)
            fixed (T* p = src)
            {
                Driver.Check(Driver.cuMemcpyHtoDAsync_v2(At(dst), p, (nuint)bytes, _ctx.Stream), "cuMemcpyHtoDAsync_v2");
                Driver.Check(Driver.cuStreamSynchronize(_ctx.Stream), "cuStreamSynchronize");   // the span may go away after we return
            }
        Interlocked.Increment(ref _uploads);
        Interlocked.Add(ref _uploadBytes, bytes);
    }

    /// <inheritdoc/>
    public unsafe void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        if (DTypes.Of<T>() != src.DType || dst.Length != src.Numel || !src.IsContiguous)
            throw new ArgumentException($"cuda download: {src.DType.Name()} {src.ShapeText} into {dst.Length} {typeof(T).Name} values (contiguous, same length and dtype expected)");
        _ctx.MakeCurrent();
        long bytes = (long)dst.Length * sizeof(T);
        fixed (T* p = dst)
        {
            if (bytes > 0) Driver.Check(Driver.cuMemcpyDtoHAsync_v2(p, At(src), (nuint)bytes, _ctx.Stream), "cuMemcpyDtoHAsync_v2");
            _ctx.Synchronize();   // the copy has landed while dst is pinned; also reports a bad index met by an earlier kernel
        }
        Interlocked.Increment(ref _downloads);
        Interlocked.Add(ref _downloadBytes, bytes);
        Interlocked.Increment(ref _syncs);
    }
}
