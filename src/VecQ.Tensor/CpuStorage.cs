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
/// step, reuses memory instead of going back to the OS. Bounded by <see cref="MaxCachedBytes"/>.
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
    private static readonly Dictionary<long, Stack<nint>> Free = new();
    private static readonly object Gate = new();
    private static long _cached;

    /// <summary>Upper bound on bytes kept for reuse (default 192 MiB).</summary>
    public static long MaxCachedBytes { get; set; } = 192L << 20;

    /// <summary>Bytes currently cached.</summary>
    public static long CachedBytes { get { lock (Gate) return _cached; } }

    internal static unsafe nint Rent(long bytes)
    {
        lock (Gate)
        {
            if (Free.TryGetValue(bytes, out var stack) && stack.Count > 0)
            {
                _cached -= bytes;
                return stack.Pop();
            }
        }
        nint fresh = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        GC.AddMemoryPressure(bytes);
        return fresh;
    }

    internal static unsafe void Return(nint ptr, long bytes)
    {
        lock (Gate)
        {
            if (_cached + bytes <= MaxCachedBytes)
            {
                if (!Free.TryGetValue(bytes, out var stack)) Free[bytes] = stack = new Stack<nint>();
                stack.Push(ptr);
                _cached += bytes;
                return;
            }
        }
        NativeMemory.AlignedFree((void*)ptr);
        GC.RemoveMemoryPressure(bytes);
    }

    /// <summary>Returns every cached block to the OS.</summary>
    public static unsafe void Trim()
    {
        lock (Gate)
        {
            foreach (var (bytes, s) in Free)
                while (s.Count > 0)
                {
                    NativeMemory.AlignedFree((void*)s.Pop());
                    GC.RemoveMemoryPressure(bytes);
                }
            Free.Clear();
            _cached = 0;
        }
    }
}
