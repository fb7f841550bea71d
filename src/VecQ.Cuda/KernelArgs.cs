using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VecQ.Cuda;

/// <summary>
/// The argument list of one kernel launch: each value copied, at its natural alignment, into one pinned block, and the
/// pointer array <c>cuLaunchKernel</c> takes. The driver copies the values at the launch. Both arrays live on the pinned
/// object heap, so a list abandoned by an exception (a tensor on the wrong device found while adding) is simply collected.
/// </summary>
internal sealed unsafe class KernelArgs : IDisposable
{
    private const int Capacity = 4096;       // the kernel parameter space of every architecture we target
    private const int MostArgs = 32;
    private readonly byte[] _block = GC.AllocateUninitializedArray<byte>(Capacity + 16, pinned: true);
    private readonly nint[] _pointers = GC.AllocateArray<nint>(MostArgs, pinned: true);
    private int _used, _count;

    /// <summary>The pointer array for cuLaunchKernel's kernelParams (valid while this list is alive).</summary>
    public void** Pointers => (void**)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_pointers));

    /// <summary>Appends one value (an int, a long, a device pointer as ulong, a double, a descriptor struct …).</summary>
    public KernelArgs Add<T>(T value) where T : unmanaged
    {
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_block));
        byte* aligned = (byte*)(((nint)start + 15) & ~(nint)15);
        int align = Math.Min(sizeof(T), 8);
        int at = (_used + align - 1) / align * align;
        if (at + sizeof(T) > Capacity || _count == MostArgs)
            throw new InvalidOperationException($"kernel arguments: more than {Capacity} bytes or {MostArgs} arguments");
        Unsafe.Write(aligned + at, value);
        _pointers[_count++] = (nint)(aligned + at);
        _used = at + sizeof(T);
        return this;
    }

    /// <summary>Nothing to free (the arrays are the GC's); kept so launches read as <c>using (args)</c>.</summary>
    public void Dispose() { }
}
