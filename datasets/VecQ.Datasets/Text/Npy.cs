using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace VecQ.Datasets;

/// <summary>
/// The header of a NumPy <c>.npy</c> array (format versions 1.0, 2.0 and 3.0): the magic <c>\x93NUMPY</c>, the version
/// bytes, the header length (uint16 little-endian in 1.0, uint32 in 2.0/3.0), then a Python dict literal
/// <c>{'descr': '&lt;i4', 'fortran_order': False, 'shape': (25000, 100), }</c> (ASCII; UTF-8 in 3.0) padded with
/// spaces and a newline, then the raw elements.
/// </summary>
/// <param name="Major">Format major version (1, 2 or 3).</param>
/// <param name="Minor">Format minor version (0).</param>
/// <param name="Descr">The dtype string, e.g. "&lt;i4", "|u1", "&lt;f8", "|O".</param>
/// <param name="FortranOrder">Whether the elements are stored column-major.</param>
/// <param name="Shape">The array's shape (empty for a scalar).</param>
/// <param name="DataOffset">Bytes before the first element (magic, version, length field and header).</param>
public sealed record NpyHeader(int Major, int Minor, string Descr, bool FortranOrder, long[] Shape, long DataOffset)
{
    /// <summary>'&lt;' little-endian, '&gt;' big-endian, '|' not applicable (one byte, or objects).</summary>
    public char ByteOrder => Descr[0] == '=' ? '<' : Descr[0];
    /// <summary>The dtype kind: 'b' bool, 'i' signed, 'u' unsigned, 'f' float, 'c' complex, 'O' object, 'S'/'U' strings, …</summary>
    public char Kind => Descr[1];
    /// <summary>Bytes per element.</summary>
    public int ItemSize => Descr.Length > 2 && int.TryParse(Descr.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;
    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));
    /// <summary>Bytes of element data: Count × ItemSize.</summary>
    public long DataBytes => checked(Count * ItemSize);
    /// <summary>Whether the elements are integers or booleans (what <see cref="NpyReader.ReadInt64(Span{long})"/> reads).</summary>
    public bool IsInteger => Kind is 'b' or 'i' or 'u';
    /// <summary>The shape as Python prints it: "(25000, 100)", "(3,)", "()".</summary>
    public string ShapeText => Shape.Length == 1 ? $"({Shape[0]},)" : $"({string.Join(", ", Shape)})";
}

/// <summary>
/// Reads one NumPy <c>.npy</c> array, from a file or from a member of an <c>.npz</c> archive (<see cref="NpzArchive"/>),
/// byte-exactly: every field of the header is checked, and the element data the header declares is checked against the
/// bytes actually there before anything is allocated. Integer and boolean dtypes of 1, 2, 4 or 8 bytes in either byte
/// order are read (<see cref="ReadInt64(Span{long})"/>); other dtypes parse but are refused when read, and an object array
/// (<c>|O</c>, pickled Python objects, as Keras's own imdb.npz holds) is refused already at open with how to convert it,
/// since unpickling runs arbitrary code. Errors are <see cref="DatasetException"/>s naming the file (and the member).
/// </summary>
/// <example><code>
/// using var npz = NpzArchive.Open("/data/imdb/imdb_int32.npz");
/// using var y = npz.OpenArray("y_train");          // header: '&lt;i4', shape (25000,)
/// long[] labels = y.ReadAllInt64();
/// </code></example>
public sealed class NpyReader : IDisposable
{
    /// <summary>Longest header accepted (numpy itself refuses headers over 10 000 bytes by default).</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>The hint given for object arrays.</summary>
    internal const string ObjectArrayHint =
        "dtype |O is an array of pickled Python objects (Keras's imdb.npz stores its sequences so); VecQ does not unpickle " +
        "(it would run arbitrary code). Convert the file once with tools/datasets/imdb_npz_convert.py IN.npz OUT.npz " +
        "(padded int32 arrays plus lengths; needs python3-numpy)";

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly string _source;
    private readonly string? _member;
    private long _elementsRead;
    private byte[] _buffer = [];

    private NpyReader(Stream stream, bool leaveOpen, string source, string? member, NpyHeader header)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _source = source;
        _member = member;
        Header = header;
    }

    /// <summary>The header.</summary>
    public NpyHeader Header { get; }
    /// <summary>The file read.</summary>
    public string Source => _source;
    /// <summary>The member of an .npz archive read (e.g. "x_train.npy"), or null for a plain .npy file.</summary>
    public string? Member => _member;
    /// <summary>Elements not yet read.</summary>
    public long Remaining => Header.Count - _elementsRead;

    /// <summary>Opens the .npy file <paramref name="path"/> and reads its header.</summary>
    public static NpyReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return Open(f, f.Length, path, null, leaveOpen: false);
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    /// <summary>Reads the header from <paramref name="stream"/>, which holds exactly <paramref name="length"/> bytes of .npy data.</summary>
    internal static NpyReader Open(Stream stream, long length, string source, string? member, bool leaveOpen)
    {
        var header = ReadHeader(stream, length, source, member);
        return new NpyReader(stream, leaveOpen, source, member, header);
    }

    private DatasetException Error(string problem, Exception? inner = null) => Error(_source, _member, problem, inner);

    private static DatasetException Error(string source, string? member, string problem, Exception? inner = null) =>
        new(source, member is null ? problem : $"{member}: {problem}", inner);

    private static NpyHeader ReadHeader(Stream s, long length, string source, string? member)
    {
        Span<byte> pre = stackalloc byte[12];
        if (length < 10) throw Error(source, member, $"truncated: {length} bytes, shorter than the 10-byte .npy preamble");
        ReadExactly(s, pre[..8], source, member, "the .npy preamble");
        if (!(pre[0] == 0x93 && pre[1..6].SequenceEqual("NUMPY"u8)))
            throw Error(source, member, $"not a .npy array (magic {Convert.ToHexString(pre[..6])}, expected 934E554D5059 = \\x93NUMPY)");
        int major = pre[6], minor = pre[7];
        if (major is < 1 or > 3 || minor != 0)
            throw Error(source, member, $".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)");
        long headerLength;
        int lengthField = major == 1 ? 2 : 4;
        if (length < 8 + lengthField) throw Error(source, member, $"truncated: {length} bytes, shorter than the .npy {major}.0 preamble");
        ReadExactly(s, pre.Slice(8, lengthField), source, member, "the header length");
        headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(pre[8..]);
        long dataOffset = 8 + lengthField + headerLength;
        if (headerLength > MaxHeaderBytes) throw Error(source, member, $"header length {headerLength} is over the limit of {MaxHeaderBytes} bytes");
        if (dataOffset > length) throw Error(source, member, $"truncated: the header says it is {headerLength} bytes, but only {length - 8 - lengthField} follow the preamble");
        var raw = new byte[headerLength];
        ReadExactly(s, raw, source, member, "the header");
        string text;
        if (major == 3)
        {
            try { text = new UTF8Encoding(false, true).GetString(raw); }
            catch (DecoderFallbackException e) { throw Error(source, member, "the .npy 3.0 header is not valid UTF-8", e); }
        }
        else
        {
            int bad = Array.FindIndex(raw, b => b > 0x7F);
            if (bad >= 0) throw Error(source, member, $"the .npy {major}.0 header has a non-ASCII byte 0x{raw[bad]:X2} at header offset {bad}");
            text = Encoding.ASCII.GetString(raw);
        }
        var (descr, fortran, shape) = HeaderDict.Parse(text, p => Error(source, member, $"bad header {Quote(text)}: {p}"));
        var header = new NpyHeader(major, minor, descr, fortran, shape, dataOffset);
        if (header.Kind == 'O') throw Error(source, member, ObjectArrayHint);
        if (header.ItemSize <= 0) throw Error(source, member, $"dtype '{descr}' has no element size");
        long dataBytes;
        try { dataBytes = header.DataBytes; }
        catch (OverflowException) { throw Error(source, member, $"shape {header.ShapeText} of '{descr}' overflows 64 bits"); }
        long available = length - dataOffset;
        if (dataBytes > available)
            throw Error(source, member, $"truncated: the header says shape {header.ShapeText} of '{descr}' = {dataBytes} bytes of data, but {available} bytes follow the {dataOffset}-byte header");
        if (dataBytes < available)
            throw Error(source, member, $"{available - dataBytes} bytes after the data: the header says shape {header.ShapeText} of '{descr}' = {dataBytes} bytes, {available} follow the header");
        return header;
    }

    private static string Quote(string header)
    {
        var t = header.TrimEnd();
        return t.Length <= 200 ? t : t[..200] + "…";
    }

    private static void ReadExactly(Stream s, Span<byte> into, string source, string? member, string what)
    {
        try
        {
            s.ReadExactly(into);
        }
        catch (EndOfStreamException e)
        {
            throw Error(source, member, $"truncated while reading {what}", e);
        }
        catch (InvalidDataException e)
        {
            throw Error(source, member, $"corrupt compressed data while reading {what}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads the next <paramref name="destination"/>.Length elements (in storage order: row-major unless
    /// <see cref="NpyHeader.FortranOrder"/>) as 64-bit integers; bool and integer dtypes only.
    /// </summary>
    public void ReadInt64(Span<long> destination)
    {
        var h = Header;
        if (!h.IsInteger) throw Error($"dtype '{h.Descr}' is not an integer type; expected bool, int or uint elements");
        if (h.ItemSize is not (1 or 2 or 4 or 8)) throw Error($"dtype '{h.Descr}' has an unsupported element size {h.ItemSize}");
        if (destination.Length > Remaining) throw new ArgumentException($"{_source}: asked for {destination.Length} elements, {Remaining} remain", nameof(destination));
        int size = h.ItemSize;
        bool big = h.ByteOrder == '>';
        const int chunk = 1 << 14;
        if (_buffer.Length < chunk * size) _buffer = new byte[chunk * size];
        for (int done = 0; done < destination.Length;)
        {
            int n = Math.Min(chunk, destination.Length - done);
            var bytes = _buffer.AsSpan(0, n * size);
            long at = _elementsRead + done;
            ReadExactly(_stream, bytes, _source, _member, $"elements {at}..{at + n - 1} of {h.Count} (data offset {h.DataOffset + at * size})");
            var dst = destination.Slice(done, n);
            for (int i = 0; i < n; i++)
            {
                var b = bytes.Slice(i * size, size);
                dst[i] = (h.Kind, size) switch
                {
                    ('b', 1) => b[0] != 0 ? 1 : 0,
                    ('i', 1) => (sbyte)b[0],
                    ('u', 1) => b[0],
                    ('i', 2) => big ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b),
                    ('u', 2) => big ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
                    ('i', 4) => big ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b),
                    ('u', 4) => big ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
                    ('i', 8) => big ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b),
                    ('u', 8) => U64(big ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b), at + i),
                    _ => throw Error($"dtype '{h.Descr}' is not supported"),
                };
            }
            done += n;
        }
        _elementsRead += destination.Length;
    }

    private long U64(ulong v, long index) => v <= long.MaxValue ? (long)v : throw Error($"element {index} = {v} does not fit in a signed 64-bit integer");

    /// <summary>All (remaining) elements as 64-bit integers in row-major (C) order: a Fortran-order array is transposed.</summary>
    public long[] ReadAllInt64()
    {
        if (_elementsRead != 0) throw new InvalidOperationException($"{_source}: ReadAllInt64 after a partial read");
        long count = Header.Count;
        if (count > Array.MaxLength) throw Error($"shape {Header.ShapeText} has {count} elements, too many to read into one array");
        var values = new long[count];
        ReadInt64(values);
        if (!Header.FortranOrder || Header.Shape.Length < 2) return values;
        // Storage order has the first axis fastest; walk the C-order index and gather.
        var shape = Header.Shape;
        int rank = shape.Length;
        var fStride = new long[rank];
        fStride[0] = 1;
        for (int k = 1; k < rank; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
        var idx = new long[rank];
        var c = new long[count];
        for (long i = 0; i < count; i++)
        {
            long f = 0;
            for (int k = 0; k < rank; k++) f += idx[k] * fStride[k];
            c[i] = values[f];
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
        return c;
    }

    /// <summary>Closes the stream (unless it was left open).</summary>
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }

    /// <summary>The subset of Python literals an .npy header uses: a dict of str keys to str, bool and int-tuple values.</summary>
    private ref struct HeaderDict
    {
        private readonly string _s;
        private readonly Func<string, DatasetException> _fail;
        private int _i;

        private HeaderDict(string s, Func<string, DatasetException> fail)
        {
            _s = s;
            _fail = fail;
            _i = 0;
        }

        public static (string Descr, bool Fortran, long[] Shape) Parse(string text, Func<string, DatasetException> fail)
        {
            var p = new HeaderDict(text, fail);
            return p.Dict();
        }

        private (string, bool, long[]) Dict()
        {
            string? descr = null;
            bool? fortran = null;
            long[]? shape = null;
            var keys = new List<string>();
            Skip();
            Expect('{');
            Skip();
            while (Peek() != '}')
            {
                string key = Str();
                if (keys.Contains(key)) throw _fail($"key '{key}' appears twice");
                keys.Add(key);
                Skip();
                Expect(':');
                Skip();
                switch (key)
                {
                    case "descr":
                        if (Peek() == '[') throw _fail("structured dtypes (a descr list) are not supported");
                        descr = Str();
                        break;
                    case "fortran_order":
                        fortran = Bool();
                        break;
                    case "shape":
                        shape = Tuple();
                        break;
                    default:
                        throw _fail($"unexpected key '{key}' (an .npy header has exactly 'descr', 'fortran_order' and 'shape')");
                }
                Skip();
                if (Peek() == ',')
                {
                    _i++;
                    Skip();
                }
                else if (Peek() != '}') throw _fail($"expected ',' or '}}' at header offset {_i}");
            }
            _i++;
            for (; _i < _s.Length; _i++)
                if (_s[_i] is not (' ' or '\n' or '\t' or '\r' or '\0')) throw _fail($"unexpected '{_s[_i]}' after the dict at header offset {_i}");
            if (descr is null || fortran is null || shape is null)
                throw _fail($"missing {string.Join(", ", new[] { descr is null ? "'descr'" : null, fortran is null ? "'fortran_order'" : null, shape is null ? "'shape'" : null }.OfType<string>())}");
            if (descr.Length < 2 || descr[0] is not ('<' or '>' or '|' or '=')) throw _fail($"dtype '{descr}' is not of the form <byte order><kind><size>, e.g. '<i4'");
            return (descr, fortran.Value, shape);
        }

        private readonly char Peek() => _i < _s.Length ? _s[_i] : throw _fail("ends inside the dict");

        private void Skip()
        {
            while (_i < _s.Length && _s[_i] is ' ' or '\t' or '\n' or '\r') _i++;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw _fail($"expected '{c}' at header offset {_i}, found '{_s[_i]}'");
            _i++;
        }

        private string Str()
        {
            char q = Peek();
            if (q is not ('\'' or '"')) throw _fail($"expected a quoted string at header offset {_i}");
            int end = _s.IndexOf(q, _i + 1);
            if (end < 0) throw _fail("unterminated string");
            string v = _s.Substring(_i + 1, end - _i - 1);
            if (v.Contains('\\')) throw _fail($"escape sequences in '{v}' are not supported");
            _i = end + 1;
            return v;
        }

        private bool Bool()
        {
            if (string.CompareOrdinal(_s, _i, "True", 0, 4) == 0) { _i += 4; return true; }
            if (string.CompareOrdinal(_s, _i, "False", 0, 5) == 0) { _i += 5; return false; }
            throw _fail($"expected True or False at header offset {_i}");
        }

        private long[] Tuple()
        {
            Expect('(');
            var dims = new List<long>();
            Skip();
            while (Peek() != ')')
            {
                int start = _i;
                while (_i < _s.Length && char.IsAsciiDigit(_s[_i])) _i++;
                if (_i == start) throw _fail($"expected a non-negative integer in the shape at header offset {start}");
                if (!long.TryParse(_s.AsSpan(start, _i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long d))
                    throw _fail($"shape dimension {_s[start.._i]} is too large");
                if (_i < _s.Length && _s[_i] is 'L' or 'l') _i++; // Python 2's long suffix
                dims.Add(d);
                Skip();
                if (Peek() == ',')
                {
                    _i++;
                    Skip();
                }
                else if (Peek() != ')') throw _fail($"expected ',' or ')' in the shape at header offset {_i}");
            }
            _i++;
            return [.. dims];
        }
    }
}

/// <summary>
/// A NumPy <c>.npz</c> archive (what <c>np.savez</c> and <c>np.savez_compressed</c> write): a zip file of
/// <c>NAME.npy</c> members, stored or deflated. A truncated or corrupt archive, a missing array or a bad member is a
/// <see cref="DatasetException"/> naming the file.
/// </summary>
/// <example><code>
/// using var npz = NpzArchive.Open("arrays.npz");
/// foreach (var name in npz.Names) Console.WriteLine(name);        // x_train, y_train, …
/// </code></example>
public sealed class NpzArchive : IDisposable
{
    private readonly FileStream _file;
    private readonly ZipArchive _zip;
    private readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.Ordinal);

    private NpzArchive(string path, FileStream file, ZipArchive zip)
    {
        Path = path;
        _file = file;
        _zip = zip;
        foreach (var e in zip.Entries)
        {
            if (e.FullName.EndsWith('/')) continue;
            string name = e.FullName.EndsWith(".npy", StringComparison.Ordinal) ? e.FullName[..^4] : e.FullName;
            if (!_entries.TryAdd(name, e)) throw new DatasetException(path, $"member {e.FullName} appears twice");
        }
        Names = _entries.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The archive's path.</summary>
    public string Path { get; }
    /// <summary>The array names (member names without ".npy"), sorted.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the archive holds array <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Opens the archive at <paramref name="path"/> and reads its directory.</summary>
    public static NpzArchive Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
                _ = zip.Entries.Count; // reads the central directory now
            }
            catch (InvalidDataException e)
            {
                throw new DatasetException(path, $"not a complete zip archive (truncated or corrupt; {file.Length} bytes): {e.Message}", e);
            }
            try
            {
                return new NpzArchive(path, file, zip);
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens array <paramref name="name"/> ("x_train" or "x_train.npy") and reads its header.</summary>
    public NpyReader OpenArray(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.EndsWith(".npy", StringComparison.Ordinal)) name = name[..^4];
        if (!_entries.TryGetValue(name, out var entry))
            throw new DatasetException(Path, $"no array '{name}' (the archive holds {(Names.Count == 0 ? "nothing" : string.Join(", ", Names))})");
        // The sizes the directory declares, checked before any data is read: the compressed data lies in the file, and
        // deflate cannot expand more than 1032:1, so a member cannot claim more than that (a stored one claims its own size).
        if (entry.CompressedLength > _file.Length)
            throw new DatasetException(Path, $"{entry.FullName}: {entry.CompressedLength} compressed bytes declared, the file has {_file.Length}");
        if (entry.Length > entry.CompressedLength * 1032 + 1024)
            throw new DatasetException(Path, $"{entry.FullName}: {entry.Length} bytes declared from {entry.CompressedLength} compressed bytes, more than deflate can produce");
        Stream s;
        try
        {
            s = entry.Open();
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException(Path, $"{entry.FullName}: cannot be read (truncated or corrupt archive, or an unsupported compression method): {e.Message}", e);
        }
        try
        {
            return NpyReader.Open(s, entry.Length, Path, entry.FullName, leaveOpen: false);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Closes the archive.</summary>
    public void Dispose()
    {
        _zip.Dispose();
        _file.Dispose();
    }
}
