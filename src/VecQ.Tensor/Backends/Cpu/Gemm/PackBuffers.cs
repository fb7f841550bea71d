using System.Runtime.InteropServices;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// One thread's SGEMM scratch memory: 64-byte-aligned native buffers for the packed A block, the packed
/// B block, one packed strip of B (small-M path) and one spill tile for partial C tiles. Allocated on first use,
/// grown when a larger problem needs more, reused by every later call on the same thread (no allocation
/// per call), and freed by the finalizer once the thread is gone.
/// </summary>
internal sealed unsafe class PackBuffers
{
    /// <summary>Slot of the packed A block (MC×KC, or all of M × K on the small-M path).</summary>
    public const int SlotA = 0;
    /// <summary>Slot of the packed B block (KC×NC).</summary>
    public const int SlotB = 1;
    /// <summary>Slot of one packed strip of B (KC×NR) on the small-M path.</summary>
    public const int SlotStrip = 2;
    /// <summary>Slot of the MR×NR spill tile for partial C tiles.</summary>
    public const int SlotTile = 3;
    private const int SlotCount = 4;
    private const nuint Alignment = 64;

    [ThreadStatic] private static PackBuffers? t_current;

    private readonly float*[] _ptr = new float*[SlotCount];
    private readonly nint[] _capacity = new nint[SlotCount];

    /// <summary>The calling thread's buffers (created on first use).</summary>
    public static PackBuffers ForCurrentThread() => t_current ??= new PackBuffers();

    /// <summary>
    /// A 64-byte-aligned buffer of at least <paramref name="floats"/> floats for <paramref name="slot"/>.
    /// Contents are unspecified; the pointer stays valid until the same slot is asked for more.
    /// </summary>
    public float* Get(int slot, nint floats)
    {
        if (floats > _capacity[slot])
        {
            // Grow by at least 1.5× so a slowly growing sequence of shapes does not reallocate every call.
            nint want = Math.Max(floats, _capacity[slot] + _capacity[slot] / 2);
            want = (want + 15) & ~(nint)15;
            if (_ptr[slot] != null) NativeMemory.AlignedFree(_ptr[slot]);
            _ptr[slot] = null;
            _capacity[slot] = 0;
            _ptr[slot] = (float*)NativeMemory.AlignedAlloc((nuint)want * sizeof(float), Alignment);
            _capacity[slot] = want;
        }
        return _ptr[slot];
    }

    /// <summary>Frees the native buffers when the owning thread (and so this object) is gone.</summary>
    ~PackBuffers()
    {
        for (int s = 0; s < SlotCount; s++)
        {
            if (_ptr[s] != null) NativeMemory.AlignedFree(_ptr[s]);
            _ptr[s] = null;
        }
    }
}
