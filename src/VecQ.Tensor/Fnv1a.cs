namespace VecQ.Tensors;

/// <summary>
/// The 64-bit FNV-1a hash (offset basis 14695981039346656037, prime 1099511628211), fed incrementally: the one
/// hash the project uses for fixed data splits and for the packed format's checksum.
/// </summary>
/// <example><code>var h = new Fnv1a(); h.Add("conv1.weight"u8); ulong v = h.Value;</code></example>
public struct Fnv1a
{
    private ulong _h;
    private bool _started;

    /// <summary>The hash of everything added so far (of nothing: the offset basis).</summary>
    public readonly ulong Value => _started ? _h : Basis;

    private const ulong Basis = 14695981039346656037UL, Prime = 1099511628211UL;

    /// <summary>Adds <paramref name="bytes"/>, one byte at a time (xor, then multiply).</summary>
    public void Add(ReadOnlySpan<byte> bytes)
    {
        ulong h = _started ? _h : Basis;
        foreach (byte b in bytes)
        {
            h ^= b;
            h *= Prime;
        }
        _h = h;
        _started = true;
    }

    /// <summary>The hash of <paramref name="bytes"/> alone.</summary>
    public static ulong Of(ReadOnlySpan<byte> bytes)
    {
        var h = new Fnv1a();
        h.Add(bytes);
        return h.Value;
    }
}
