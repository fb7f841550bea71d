using System.Numerics;

namespace VecQ.Tensors;

/// <summary>
/// The scalar reference backend: plain loops over strided views, written to be read. It is the
/// definition every faster backend is tested against and the backend of float64 gradient checks.
/// Every float op is written once, generic over the element type, and runs on float32 and
/// float64; int32 is supported for fill, copy, upload/download and as index/label input.
/// Inputs may be any strided view (stride 0 included); outputs are written through their strides.
/// Sums accumulate in double.
/// </summary>
/// <example><code>
/// using (Backend.Use(Backend.Reference))
/// {
///     using var y = x.MatMul(w); // computed by the loops in ReferenceBackend.MatMul.cs
/// }
/// </code></example>
public sealed partial class ReferenceBackend : IBackend, IFusedConvTail, IFusedOptimizer, IFusedLoss, IFusedLstmCell
{
    /// <inheritdoc/>
    public string Name => "reference";

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length) => CpuStorage.Allocate(dtype, length);

    /// <inheritdoc/>
    public MemoryStats MemoryStats => MemoryCounter.Host.Snapshot();

    /// <inheritdoc/>
    public void ResetPeakMemory() => MemoryCounter.Host.ResetPeak();

    // ---- data movement ----------------------------------------------------------------

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: FillT(dst, (float)value); break;
            case DType.Float64: FillT(dst, value); break;
            case DType.Int32: FillT(dst, int.CreateSaturating(value)); break;
            default: throw Unsupported("fill", dst);
        }
    }

    private static void FillT<T>(Tensor dst, T value) where T : unmanaged
    {
        var d = Data<T>(dst);
        var it = new Odometer(dst.Dims, dst);
        for (int i = 0; i < dst.Numel; i++, it.Next()) d[it.Offsets[0]] = value;
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        SameShape("copy", src, dst);
        switch (src.DType)
        {
            case DType.Float32: CopyFrom<float>(src, dst); break;
            case DType.Float64: CopyFrom<double>(src, dst); break;
            case DType.Int32: CopyFrom<int>(src, dst); break;
            default: throw Unsupported("copy", src);
        }
    }

    private static void CopyFrom<TS>(Tensor src, Tensor dst) where TS : unmanaged, INumberBase<TS>
    {
        switch (dst.DType)
        {
            case DType.Float32: CopyT<TS, float>(src, dst); break;
            case DType.Float64: CopyT<TS, double>(src, dst); break;
            case DType.Int32: CopyT<TS, int>(src, dst); break;
            default: throw Unsupported("copy", dst);
        }
    }

    // dst[i] = (TD)src[i]; CreateTruncating rounds double→float to nearest and truncates float→int toward zero.
    private static void CopyT<TS, TD>(Tensor src, Tensor dst)
        where TS : unmanaged, INumberBase<TS> where TD : unmanaged, INumberBase<TD>
    {
        int n = dst.Numel;
        var s = Data<TS>(src);
        // read everything first when both views share storage, so an overlapping copy sees the old values
        var values = new TS[n];
        var read = new Odometer(src.Dims, src);
        for (int i = 0; i < n; i++, read.Next()) values[i] = s[read.Offsets[0]];
        var d = Data<TD>(dst);
        var write = new Odometer(dst.Dims, dst);
        for (int i = 0; i < n; i++, write.Next()) d[write.Offsets[0]] = TD.CreateTruncating(values[i]);
    }

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        if (DTypes.Of<T>() != dst.DType || src.Length != dst.Numel)
            throw new ArgumentException($"upload: {src.Length} {typeof(T).Name} values cannot fill tensor {dst.ShapeText} ({dst.Numel} elements of {dst.DType.Name()})");
        var d = Data<T>(dst);
        var it = new Odometer(dst.Dims, dst);
        for (int i = 0; i < src.Length; i++, it.Next()) d[it.Offsets[0]] = src[i];
    }

    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        if (DTypes.Of<T>() != src.DType || dst.Length != src.Numel)
            throw new ArgumentException($"download: tensor {src.ShapeText} ({src.Numel} elements of {src.DType.Name()}) cannot fill {dst.Length} {typeof(T).Name} values");
        var s = Data<T>(src);
        var it = new Odometer(src.Dims, src);
        for (int i = 0; i < dst.Length; i++, it.Next()) dst[i] = s[it.Offsets[0]];
    }

    // ---- random -----------------------------------------------------------------------

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        switch (dst.DType)
        {
            case DType.Float32: RandomFillT<float>(dst, kind, seed, counter, a, b); break;
            case DType.Float64: RandomFillT<double>(dst, kind, seed, counter, a, b); break;
            default: throw Unsupported("random_fill", dst);
        }
    }

    // Element i (row-major) is Rng.Sample at stream position counter + i, rounded to T.
    private static void RandomFillT<T>(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = Data<T>(dst);
        var it = new Odometer(dst.Dims, dst);
        for (int i = 0; i < dst.Numel; i++, it.Next())
            d[it.Offsets[0]] = T.CreateTruncating(Rng.Sample(kind, seed, counter + (ulong)i, a, b));
    }

    // ---- shared helpers ---------------------------------------------------------------

    // The whole storage of t as a span; element positions are absolute (they include t.Offset).
    private static Span<T> Data<T>(Tensor t) where T : unmanaged
    {
        if (t.Storage is not CpuStorage s)
            throw new ArgumentException($"reference backend: tensor {t.ShapeText} lives on {t.Device}; the reference backend runs on host memory only");
        return s.AsSpan<T>();
    }

    private static double D<T>(T v) where T : INumberBase<T> => double.CreateTruncating(v);

    private static T Cast<T>(double v) where T : INumberBase<T> => T.CreateTruncating(v);

    private static ArgumentException Unsupported(string op, Tensor t) =>
        new($"reference {op}: tensor {t.ShapeText} is {t.DType.Name()}, which this op does not support (float ops take float32 or float64)");

    private static void SameShape(string op, Tensor a, Tensor b)
    {
        if (!Shape.Equal(a.Dims, b.Dims))
            throw new ArgumentException($"reference {op}: shapes {a.ShapeText} and {b.ShapeText} differ");
    }

    private static void SameDType(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType)
            throw new ArgumentException($"reference {op}: dtypes differ ({a.DType.Name()} {a.ShapeText} and {b.DType.Name()} {b.ShapeText})");
    }

    private static void ExpectShape(string op, string what, Tensor t, params int[] shape)
    {
        if (!Shape.Equal(t.Dims, shape))
            throw new ArgumentException($"reference {op}: {what} is {t.ShapeText}; expected {Shape.Format(shape)}");
    }

    private static void ExpectInt32(string op, string what, Tensor t)
    {
        if (t.DType != DType.Int32)
            throw new ArgumentException($"reference {op}: {what} {t.ShapeText} is {t.DType.Name()}; expected int32");
    }

    // Storage position of element (i0, i1, i2, i3) of a 4-D tensor.
    private static int At(Tensor t, int i0, int i1, int i2, int i3) =>
        t.Offset + i0 * t.Strides[0] + i1 * t.Strides[1] + i2 * t.Strides[2] + i3 * t.Strides[3];

    // Storage position of element (i0, i1, i2) of a 3-D tensor.
    private static int At(Tensor t, int i0, int i1, int i2) =>
        t.Offset + i0 * t.Strides[0] + i1 * t.Strides[1] + i2 * t.Strides[2];

    // Storage position of element (i0, i1) of a 2-D tensor.
    private static int At(Tensor t, int i0, int i1) => t.Offset + i0 * t.Strides[0] + i1 * t.Strides[1];

    // Storage position of element i0 of a 1-D tensor.
    private static int At(Tensor t, int i0) => t.Offset + i0 * t.Strides[0];
}
