namespace VecQ.Tensors;

/// <summary>
/// A reference-counted block of elements on one device. Tensors are views over a storage;
/// <see cref="Tensor.Dispose"/> releases the view's reference and the memory goes back to the
/// device allocator when the last reference is released (or when the storage is collected).
/// </summary>
/// <example><code>using var t = Tensor.Zeros([4]); // t.Storage.Length == 4</code></example>
public abstract class Storage
{
    private int _refs = 1;

    /// <summary>Creates a storage that holds one reference (its creator's).</summary>
    protected Storage(Device device, DType dtype, long length)
    {
        Device = device;
        DType = dtype;
        Length = length;
    }

    /// <summary>The device holding the memory.</summary>
    public Device Device { get; }
    /// <summary>Element type.</summary>
    public DType DType { get; }
    /// <summary>Number of elements.</summary>
    public long Length { get; }
    /// <summary>True once the memory has been returned.</summary>
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    /// <summary>True when exactly one reference (one tensor view) holds this storage.</summary>
    /// <example><code>using var t = Tensor.Zeros([4]); bool mine = t.Storage.IsExclusive; // true</code></example>
    public bool IsExclusive => Volatile.Read(ref _refs) == 1;

    /// <summary>Adds a reference (a new view).</summary>
    public void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "storage was already released; a disposed tensor was used");
    }

    /// <summary>Drops a reference; frees the memory when none is left.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left == 0) { Free(); GC.SuppressFinalize(this); }
    }

    /// <summary>Returns the memory to the device allocator. Called once.</summary>
    protected abstract void Free();

    /// <summary>Throws when the storage was released.</summary>
    public void EnsureAlive()
    {
        if (IsReleased) throw new ObjectDisposedException(nameof(Storage), "tensor storage was released (the tensor or one of its views was disposed)");
    }
}
