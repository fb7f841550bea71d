namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// Temporary float32 memory for a kernel (im2col columns, per-thread partial sums, gathered rows).
/// Backed by <see cref="CpuStorage"/>, whose <see cref="HostMemoryPool"/> caches blocks by size, so a
/// training loop that asks for the same sizes every step reuses the same memory instead of allocating.
/// </summary>
/// <example><code>using var cols = CpuScratch.Rent(k * p); float* col = cols.Pointer;</code></example>
internal readonly unsafe struct CpuScratch : IDisposable
{
    private readonly CpuStorage? _storage;

    private CpuScratch(CpuStorage storage, float* pointer)
    {
        _storage = storage;
        Pointer = pointer;
    }

    /// <summary>Start of the buffer (64-byte aligned; contents unspecified).</summary>
    public float* Pointer { get; }

    /// <summary>Rents room for <paramref name="floats"/> floats (0 gives a valid, tiny buffer).</summary>
    public static CpuScratch Rent(long floats)
    {
        var s = CpuStorage.Allocate(DType.Float32, Math.Max(floats, 1));
        return new CpuScratch(s, (float*)s.Pointer);
    }

    /// <summary>Returns the memory to the pool.</summary>
    public void Dispose() => _storage?.Release();
}
