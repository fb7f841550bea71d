using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VecQ.Cuda;

/// <summary>
/// The argument list of one kernel launch: each value copied, at its natural alignment, into one native block, and the
/// pointer array <c>cuLaunchKernel</c> takes. The driver copies the values at the launch, so the list can be freed
/// right after it.
/// </summary>
internal sealed unsafe class KernelArgs : IDisposable
{
    private const int Capacity = 4096;       // the kernel parameter space of every architecture we target
    private const int MostArgs = 32;
    private readonly byte* _block = (byte*)NativeMemory.AlignedAlloc(Capacity, 16);
    private readonly void** _pointers = (void**)NativeMemory.Alloc(MostArgs, (nuint)sizeof(void*));
    private int _used, _count;

    /// <summary>The pointer array for cuLaunchKernel's kernelParams.</summary>
    public void** Pointers => _pointers;

    /// <summary>Appends one value (an int, a long, a device pointer as ulong, a double, a descriptor struct …).</summary>
    public KernelArgs Add<T>(T value) where T : unmanaged
    {
        int align = Math.Min(sizeof(T), 8);
        int at = (_used + align - 1) / align * align;
        if (at + sizeof(T) > Capacity || _count == MostArgs)
            throw new InvalidOperationException($"kernel arguments: more than {Capacity} bytes or {MostArgs} arguments");
        Unsafe.Write(_block + at, value);
        _pointers[_count++] = _block + at;
        _used = at + sizeof(T);
        return this;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        NativeMemory.AlignedFree(_block);
        NativeMemory.Free(_pointers);
    }
}
