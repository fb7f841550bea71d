using System.Runtime.InteropServices;

namespace VecQ.Tensors;

/// <summary>
/// Host storage: 64-byte aligned native memory from <see cref="HostMemoryPool"/>. Its memory is reached
/// only by the backends inside VecQ.Tensor (the pointer and span accessors are internal), so code above
/// the tensor layer works the same on a device whose memory the host cannot address.
/// </summary>
/// <example><code>using var t = Tensor.Zeros([10]); bool host = t.Storage is CpuStorage; // true</code></example>
public sealed unsafe class CpuStorage : Storage
{
    private nint _ptr;
    private readonly long _bytes;
    private readonly MemoryCounter _counter;

    private CpuStorage(DType dtype, long length, nint ptr, long bytes, MemoryCounter counter) : base(Device.Cpu, dtype, length)
    {
        _ptr = ptr;
        _bytes = bytes;
        _counter = counter;
        counter.OnAllocate(bytes);
    }

    /// <summary>Allocates uninitialised host memory for <paramref name="length"/> elements (counted as the CPU device's).</summary>
    internal static CpuStorage Allocate(DType dtype, long length) => Allocate(dtype, length, MemoryCounter.Host);

    /// <summary>Allocates uninitialised host memory counted by <paramref name="counter"/> (a simulated device's private buffers).</summary>
    internal static CpuStorage Allocate(DType dtype, long length, MemoryCounter counter)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "storage length must be >= 0");
        long bytes = Math.Max(length * dtype.Size(), 64);
        return new CpuStorage(dtype, length, HostMemoryPool.Rent(bytes), bytes, counter);
    }

    /// <summary>Raw pointer to element 0 (backends only).</summary>
    internal void* Pointer { get { EnsureAlive(); return (void*)_ptr; } }

    /// <summary>The elements as a span of <typeparamref name="T"/> (must match the dtype; backends only).</summary>
    internal Span<T> AsSpan<T>() where T : unmanaged
    {
        if (DTypes.Of<T>() != DType) throw new InvalidOperationException($"storage of {DType.Name()} viewed as {typeof(T).Name}");
        if (Length > int.MaxValue) throw new InvalidOperationException($"storage of {Length} elements is too large for a span");
        return new Span<T>(Pointer, (int)Length);
    }

    /// <inheritdoc/>
    protected override void Free()
    {
        nint p = Interlocked.Exchange(ref _ptr, 0);
        if (p == 0) return;
        HostMemoryPool.Return(p, _bytes);
        _counter.OnFree(_bytes);
    }

    /// <summary>Safety net for storages whose tensors were never disposed: the block goes back to the pool (thread-safe).</summary>
    ~CpuStorage() { Free(); }
}

/// <summary>
/// Caches freed host blocks by exact size so a training loop, which asks for the same sizes every
/// step, reuses memory instead of going back to the OS. Bounded by <see cref="MaxCachedBytes"/>: a block
/// returned to a full cache evicts the blocks that have waited longest (of any size), so the cache follows
/// the current working set. (Refusing the newcomer instead kept a training step's blocks forever: the
/// inference after it then went to the OS for every block, and ResNet-18's batch-8 inference page-faulted
/// on about 0.8 GB per bench run.)
/// </summary>
/// <remarks>
/// Native memory is invisible to the GC, so the pool reports what it holds from the OS (blocks in use
/// and cached) as memory pressure: tensors that were never disposed are then collected, and their
/// blocks returned, about as promptly as managed arrays would be. It reports when a block comes from
/// the OS and when one goes back, not on every rent: a steady training loop, served from the cache,
/// adds no pressure (reporting every rent forced about nine full collections per LeNet5 step).
/// </remarks>
public static class HostMemoryPool
{
    private static readonly BlockCache Cache = new(DefaultBound());

    /// <summary>
    /// Upper bound on bytes kept for reuse: by default an eighth of the memory the process may use, at least
    /// 192 MiB and at most 2 GiB. A cache smaller than a step's working set sends blocks back to the OS every step
    /// and page-faults them in again: a ResNet-18 bench run (batch 8, 224², train steps then inferences) took
    /// 412,000 minor page faults with a fixed 192 MiB and 198,000 with this bound.
    /// </summary>
    public static long MaxCachedBytes { get => Cache.MaxBytes; set => Cache.MaxBytes = value; }

    /// <summary>Bytes currently cached.</summary>
    public static long CachedBytes => Cache.CachedBytes;

    internal static nint Rent(long bytes) => Cache.Rent(bytes);

    internal static void Return(nint ptr, long bytes) => Cache.Return(ptr, bytes);

    /// <summary>Returns every cached block to the OS.</summary>
    public static void Trim() => Cache.Trim();

    private static long DefaultBound() => Math.Clamp(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8, 192L << 20, 2L << 30);
}

/// <summary>
/// The cache behind <see cref="HostMemoryPool"/>: 64-byte aligned native blocks kept by exact size, at most
/// <see cref="MaxBytes"/> in all, the newest of a size rented first and the oldest of all evicted first.
/// Thread-safe.
/// </summary>
internal sealed class BlockCache(long maxBytes)
{
    // one cached block: in its size's list (rented newest first) and in the return order (evicted oldest first)
    private sealed class Block(long bytes, nint ptr)
    {
        public readonly long Bytes = bytes;
        public readonly nint Ptr = ptr;
        public LinkedListNode<Block>? InSize, InOrder;
    }

    private readonly Dictionary<long, LinkedList<Block>> _free = new();
    private readonly LinkedList<Block> _order = new();
    private readonly object _gate = new();
    private long _cached;

    /// <summary>Upper bound on bytes kept for reuse.</summary>
    public long MaxBytes { get; set; } = maxBytes;

    /// <summary>Bytes currently cached.</summary>
    public long CachedBytes { get { lock (_gate) return _cached; } }

    /// <summary>A block of <paramref name="bytes"/>: a cached one of that size (the newest), else a fresh one.</summary>
    public unsafe nint Rent(long bytes)
    {
        lock (_gate)
        {
            if (_free.TryGetValue(bytes, out var list) && list.Last is { } node)
            {
                Unlink(node.Value);
                return node.Value.Ptr;
            }
        }
        nint fresh = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        GC.AddMemoryPressure(bytes);
        return fresh;
    }

    /// <summary>Caches a block (evicting the oldest until it fits), or frees it when it alone exceeds the bound.</summary>
    public unsafe void Return(nint ptr, long bytes)
    {
        List<Block>? freed = null;                                    // only when something leaves the cache
        lock (_gate)
        {
            if (bytes <= MaxBytes)
            {
                while (_cached + bytes > MaxBytes && _order.First is { } oldest)
                {
                    Unlink(oldest.Value);
                    (freed ??= []).Add(oldest.Value);
                }
                var block = new Block(bytes, ptr);
                if (!_free.TryGetValue(bytes, out var list)) _free[bytes] = list = new LinkedList<Block>();
                block.InSize = list.AddLast(block);
                block.InOrder = _order.AddLast(block);
                _cached += bytes;
            }
            else (freed ??= []).Add(new Block(bytes, ptr));
        }
        if (freed != null) foreach (var b in freed) FreeBlock(b);
    }

    /// <summary>Returns every cached block to the OS.</summary>
    public void Trim()
    {
        List<Block> all;
        lock (_gate)
        {
            all = [.. _order];
            _order.Clear();
            _free.Clear();
            _cached = 0;
        }
        foreach (var b in all) FreeBlock(b);
    }

    // removes a cached block from both lists (the caller holds the gate)
    private void Unlink(Block b)
    {
        b.InSize!.List!.Remove(b.InSize);
        _order.Remove(b.InOrder!);
        _cached -= b.Bytes;
    }

    private static unsafe void FreeBlock(Block b)
    {
        NativeMemory.AlignedFree((void*)b.Ptr);
        GC.RemoveMemoryPressure(b.Bytes);
    }
}
