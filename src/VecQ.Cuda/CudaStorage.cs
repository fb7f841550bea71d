using VecQ.Tensors;

namespace VecQ.Cuda;

/// <summary>
/// A block of GPU memory holding one tensor storage (<see cref="Device.Cuda"/>). The host never reads it directly: data
/// crosses only through the backend's Upload and Download. Released blocks go back to the device's caching allocator.
/// </summary>
/// <example><code>using var t = Tensor.Zeros([4], device: Device.Cuda()); // t.Storage is a CudaStorage</code></example>
public sealed class CudaStorage : Storage
{
    private readonly CudaAllocator _allocator;
    private ulong _ptr;

    internal CudaStorage(CudaAllocator allocator, Device device, DType dtype, long length, ulong ptr, long bytes) : base(device, dtype, length)
    {
        _allocator = allocator;
        _ptr = ptr;
        Bytes = bytes;
    }

    /// <summary>The block's size in bytes (its allocator bucket).</summary>
    public long Bytes { get; }

    /// <summary>The device address of element 0.</summary>
    internal ulong Pointer { get { EnsureAlive(); return _ptr; } }

    /// <inheritdoc/>
    protected override void Free()
    {
        ulong p = Interlocked.Exchange(ref _ptr, 0UL);
        if (p != 0) _allocator.Return(p, Bytes);
    }

    /// <summary>Safety net: a storage never released returns its block when collected (queued; freed at the next allocation).</summary>
    ~CudaStorage()
    {
        ulong p = Interlocked.Exchange(ref _ptr, 0UL);
        if (p != 0) _allocator.ReturnLater(p, Bytes);
    }
}
