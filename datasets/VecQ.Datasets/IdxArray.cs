using System.Runtime.InteropServices;

namespace VecQ.Datasets;

/// <summary>Element type codes of the IDX format (the third byte of the magic number).</summary>
public enum IdxType : byte
{
    /// <summary>0x08: unsigned byte (MNIST images and labels).</summary>
    UInt8 = 0x08,
    /// <summary>0x09: signed byte.</summary>
    Int8 = 0x09,
    /// <summary>0x0B: 16-bit signed integer, big-endian.</summary>
    Int16 = 0x0B,
    /// <summary>0x0C: 32-bit signed integer, big-endian.</summary>
    Int32 = 0x0C,
    /// <summary>0x0D: 32-bit IEEE float, big-endian.</summary>
    Float32 = 0x0D,
    /// <summary>0x0E: 64-bit IEEE float, big-endian.</summary>
    Float64 = 0x0E,
}

/// <summary>Helpers over <see cref="IdxType"/>.</summary>
public static class IdxTypes
{
    /// <summary>True when <paramref name="code"/> is one of the six IDX element type codes.</summary>
    public static bool IsDefined(byte code) => code is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;

    /// <summary>Bytes per element.</summary>
    /// <example><code>int n = IdxType.Int16.Size(); // 2</code></example>
    public static int Size(this IdxType t) => t switch
    {
        IdxType.UInt8 or IdxType.Int8 => 1,
        IdxType.Int16 => 2,
        IdxType.Int32 or IdxType.Float32 => 4,
        IdxType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown IDX element type"),
    };

    /// <summary>The C type name the IDX documentation uses (unsigned byte, signed byte, short, int, float, double).</summary>
    public static string Name(this IdxType t) => t switch
    {
        IdxType.UInt8 => "unsigned byte",
        IdxType.Int8 => "signed byte",
        IdxType.Int16 => "short",
        IdxType.Int32 => "int",
        IdxType.Float32 => "float",
        IdxType.Float64 => "double",
        _ => $"unknown type 0x{(byte)t:X2}",
    };

    /// <summary>The CLR element type that holds values of <paramref name="t"/> (byte, sbyte, short, int, float, double).</summary>
    public static Type ClrType(this IdxType t) => t switch
    {
        IdxType.UInt8 => typeof(byte),
        IdxType.Int8 => typeof(sbyte),
        IdxType.Int16 => typeof(short),
        IdxType.Int32 => typeof(int),
        IdxType.Float32 => typeof(float),
        IdxType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown IDX element type"),
    };

    /// <summary>The IDX type of CLR element type <typeparamref name="T"/>.</summary>
    public static IdxType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? IdxType.UInt8 :
        typeof(T) == typeof(sbyte) ? IdxType.Int8 :
        typeof(T) == typeof(short) ? IdxType.Int16 :
        typeof(T) == typeof(int) ? IdxType.Int32 :
        typeof(T) == typeof(float) ? IdxType.Float32 :
        typeof(T) == typeof(double) ? IdxType.Float64 :
        throw new NotSupportedException($"IDX has no element type for {typeof(T).Name}; use byte, sbyte, short, int, float or double");

    /// <summary>The list of valid codes, for error messages.</summary>
    internal const string CodeList = "0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double";
}

/// <summary>
/// The contents of one IDX file: an element type, dimensions and the elements in row-major order,
/// held in host byte order in a typed array (byte[], sbyte[], short[], int[], float[] or double[]).
/// </summary>
/// <example><code>
/// var labels = IdxArray.Create(new byte[] { 3, 1, 4 }, 3);
/// IdxWriter.Write("labels-idx1-ubyte.gz", labels, gzip: true);
/// byte[] back = IdxReader.Read("labels-idx1-ubyte.gz").As&lt;byte&gt;();
/// </code></example>
public sealed class IdxArray
{
    private readonly int[] _dims;

    /// <summary>Wraps <paramref name="data"/> (not copied), checking its CLR type and length against the type and dimensions.</summary>
    public IdxArray(IdxType type, int[] dims, Array data)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        if (!IdxTypes.IsDefined((byte)type)) throw new ArgumentException($"idx: unknown element type 0x{(byte)type:X2} (valid: {IdxTypes.CodeList})", nameof(type));
        if (dims.Length is 0 or > 255) throw new ArgumentException($"idx: rank {dims.Length}: an IDX file has 1 to 255 dimensions", nameof(dims));
        long n = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ArgumentException($"idx: dimensions [{string.Join(", ", dims)}] include a negative size", nameof(dims));
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"idx: dimensions [{string.Join(", ", dims)}] hold more than {Array.MaxLength} elements", nameof(dims));
        }
        if (data.GetType().GetElementType() != type.ClrType() || data.Rank != 1)
            throw new ArgumentException($"idx: data is {data.GetType().Name}, type {type.Name()} needs {type.ClrType().Name}[]", nameof(data));
        if (data.Length != n)
            throw new ArgumentException($"idx: {data.Length} elements cannot fill dimensions {IdxReader.FormatDims(dims)} ({n} elements)", nameof(data));
        Type = type;
        _dims = (int[])dims.Clone();
        Data = data;
    }

    /// <summary>An array of <paramref name="data"/> (not copied) with dimensions <paramref name="dims"/> (default: 1-D).</summary>
    public static IdxArray Create<T>(T[] data, params int[] dims) where T : unmanaged =>
        new(IdxTypes.Of<T>(), dims.Length == 0 ? [data.Length] : dims, data);

    /// <summary>The element type.</summary>
    public IdxType Type { get; }

    /// <summary>The dimensions (a copy).</summary>
    public int[] Dims => (int[])_dims.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Size of dimension <paramref name="axis"/>.</summary>
    public int Dim(int axis) => _dims[axis];

    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>The elements in row-major order, host byte order (the typed array; not a copy).</summary>
    public Array Data { get; }

    /// <summary>The elements as <typeparamref name="T"/>[] (not a copy); throws when the element type differs.</summary>
    /// <example><code>byte[] pixels = IdxReader.Read(path).As&lt;byte&gt;();</code></example>
    public T[] As<T>() where T : unmanaged =>
        Data as T[] ?? throw new InvalidCastException($"idx: elements are {Type.Name()} ({Data.GetType().Name}), not {typeof(T).Name}");

    /// <summary>The raw bytes of the elements in host byte order (a view of <see cref="Data"/>).</summary>
    internal Span<byte> HostBytes() =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(Data), checked(Data.Length * Type.Size()));
}
