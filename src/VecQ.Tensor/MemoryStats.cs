namespace VecQ.Tensors;

/// <summary>
/// What a device's allocator holds: bytes of live storages (allocated and not yet released), the peak
/// since the last <see cref="Backend.ResetPeakMemory"/>, and how many storages were allocated and freed.
/// Host pools that cache freed blocks count them as freed.
/// </summary>
/// <param name="LiveBytes">Bytes of storages alive now.</param>
/// <param name="PeakBytes">Largest <paramref name="LiveBytes"/> seen since the last reset.</param>
/// <param name="Allocations">Storages allocated so far.</param>
/// <param name="Frees">Storages released so far.</param>
/// <example><code>var m = Backend.MemoryStats(Device.Sim()); Console.WriteLine($"{m.LiveBytes} bytes live");</code></example>
public readonly record struct MemoryStats(long LiveBytes, long PeakBytes, long Allocations, long Frees)
{
    /// <summary>Storages alive now.</summary>
    public long LiveStorages => Allocations - Frees;
}

/// <summary>
/// Host↔device traffic of an accelerator: uploads and downloads (calls and bytes) and the times the host
/// waited for the device (every download is one; so is an explicit <see cref="IBackend.Synchronize"/>).
/// Zero for the CPU, whose memory the host reads directly.
/// </summary>
/// <param name="Uploads">Host → device copies.</param>
/// <param name="UploadBytes">Bytes uploaded.</param>
/// <param name="Downloads">Device → host copies.</param>
/// <param name="DownloadBytes">Bytes downloaded.</param>
/// <param name="Synchronizations">Host waits on the device.</param>
/// <example><code>
/// var before = Backend.Transfers(Device.Sim());
/// // … one training step …
/// var step = Backend.Transfers(Device.Sim()) - before;   // step.Calls: transfers of that step
/// </code></example>
public readonly record struct TransferStats(long Uploads, long UploadBytes, long Downloads, long DownloadBytes, long Synchronizations)
{
    /// <summary>Uploads plus downloads.</summary>
    public long Calls => Uploads + Downloads;

    /// <summary>Bytes moved either way.</summary>
    public long Bytes => UploadBytes + DownloadBytes;

    /// <summary>The traffic between two readings.</summary>
    public static TransferStats operator -(TransferStats a, TransferStats b) =>
        new(a.Uploads - b.Uploads, a.UploadBytes - b.UploadBytes, a.Downloads - b.Downloads, a.DownloadBytes - b.DownloadBytes,
            a.Synchronizations - b.Synchronizations);
}

/// <summary>Thread-safe live/peak/allocation counter of one device's storages.</summary>
internal sealed class MemoryCounter
{
    private long _live, _peak, _allocations, _frees;

    /// <summary>The counter of host storages (the CPU device).</summary>
    public static MemoryCounter Host { get; } = new();

    public void OnAllocate(long bytes)
    {
        long live = Interlocked.Add(ref _live, bytes);
        Interlocked.Increment(ref _allocations);
        long peak;
        while (live > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, live, peak) != peak) { }
    }

    public void OnFree(long bytes)
    {
        Interlocked.Add(ref _live, -bytes);
        Interlocked.Increment(ref _frees);
    }

    public MemoryStats Snapshot() => new(Volatile.Read(ref _live), Volatile.Read(ref _peak), Volatile.Read(ref _allocations), Volatile.Read(ref _frees));

    public void ResetPeak() => Interlocked.Exchange(ref _peak, Volatile.Read(ref _live));
}
