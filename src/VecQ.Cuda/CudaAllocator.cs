using System.Collections.Concurrent;
using VecQ.Tensors;

namespace VecQ.Cuda;

/// <summary>
/// The caching allocator of one device: blocks in size buckets (multiples of 512 bytes up to 1 MiB, then powers of two in
/// quarter steps), kept on free lists when released and handed out again for the same bucket; when the driver reports
/// out-of-memory, the cached blocks are freed and the allocation is tried once more. Live and peak bytes count the
/// blocks handed out (not the cache).
/// </summary>
internal sealed class CudaAllocator(CudaContext context)
{
    private readonly Dictionary<long, Stack<ulong>> _free = new();
    private readonly ConcurrentQueue<(ulong Ptr, long Bytes)> _later = new();
    private long _live, _peak, _allocations, _frees, _cached;

    /// <summary>The bucket size for a request of <paramref name="bytes"/>.</summary>
    internal static long Bucket(long bytes)
    {
        bytes = Math.Max(bytes, 512);
        if (bytes <= 1 << 20) return (bytes + 511) / 512 * 512;
        long p = 1L << (63 - (int)long.LeadingZeroCount(bytes - 1));   // largest power of two below bytes
        long quarter = p / 4;
        return (bytes + quarter - 1) / quarter * quarter;
    }

    /// <summary>A block of at least <paramref name="bytes"/> bytes and its bucket size.</summary>
    public (ulong Ptr, long Bytes) Rent(long bytes)
    {
        DrainLater();
        long size = Bucket(bytes);
        ulong ptr = 0;
        lock (_free)
        {
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0) { ptr = stack.Pop(); _cached -= size; }
        }
        if (ptr == 0)
        {
            if (!context.TryAllocate(size, out ptr))
            {
                // out of memory: storages nobody disposed are returned by their finalizers, then every cached block is freed
                GC.Collect();
                GC.WaitForPendingFinalizers();
                EmptyCache();
                ptr = context.Allocate(size);   // throws CudaException (out of memory) when this fails too
            }
        }
        long live = Interlocked.Add(ref _live, size);
        Interlocked.Increment(ref _allocations);
        long peak;
        while (live > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, live, peak) != peak) { }
        return (ptr, size);
    }

    /// <summary>Puts a released block on its bucket's free list.</summary>
    public void Return(ulong ptr, long bytes)
    {
        lock (_free)
        {
            if (!_free.TryGetValue(bytes, out var stack)) _free[bytes] = stack = new Stack<ulong>();
            stack.Push(ptr);
            _cached += bytes;
        }
        Interlocked.Add(ref _live, -bytes);
        Interlocked.Increment(ref _frees);
    }

    /// <summary>Queues a block from a finalizer (no locks there); it joins the free lists at the next allocation.</summary>
    public void ReturnLater(ulong ptr, long bytes) => _later.Enqueue((ptr, bytes));

    private void DrainLater()
    {
        while (_later.TryDequeue(out var b)) Return(b.Ptr, b.Bytes);
    }

    /// <summary>Frees every cached block back to the driver.</summary>
    public void EmptyCache()
    {
        DrainLater();
        List<ulong> blocks = [];
        lock (_free)
        {
            foreach (var stack in _free.Values) blocks.AddRange(stack);
            _free.Clear();
            _cached = 0;
        }
        context.WaitForStream();   // kernels queued before may still use these blocks (no error-slot check here)
        foreach (ulong p in blocks) context.Free(p);
    }

    /// <summary>Bytes held on the free lists.</summary>
    public long CachedBytes { get { lock (_free) return _cached; } }

    /// <summary>Live bytes, peak and counts of the blocks handed out.</summary>
    public MemoryStats Stats
    {
        get
        {
            DrainLater();
            return new MemoryStats(Volatile.Read(ref _live), Volatile.Read(ref _peak), Volatile.Read(ref _allocations), Volatile.Read(ref _frees));
        }
    }

    /// <summary>Starts a new peak measurement.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peak, Volatile.Read(ref _live));
}
