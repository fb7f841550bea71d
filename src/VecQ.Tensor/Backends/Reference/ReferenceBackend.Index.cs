using System.Numerics;

namespace VecQ.Tensors;

// Indexing along one axis: index_select / index_add (whole slices picked by an index vector) and
// gather / scatter_add (one index per element). Every index is checked before anything is written.
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y)
    {
        CheckAxis("index_select", x, axis);
        CheckIndexVector("index_select", index);
        var expect = (int[])x.Dims.Clone();
        expect[axis] = index.Numel;
        ExpectShape("index_select", "output", y, expect);
        SameDType("index_select", x, y);
        switch (x.DType)
        {
            case DType.Float32: IndexSelectT<float>(x, axis, index, y); break;
            case DType.Float64: IndexSelectT<double>(x, axis, index, y); break;
            case DType.Int32: IndexSelectT<int>(x, axis, index, y); break;
            default: throw Unsupported("index_select", x);
        }
    }

    // y[…, k, …] = x[…, index[k], …]
    private static void IndexSelectT<T>(Tensor x, int axis, Tensor index, Tensor y) where T : unmanaged
    {
        var idx = ReadIndices("index_select", index, x.Dims[axis], axis);
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        var it = new Odometer(y.Dims, x, y); // walks x with its axis coordinate left at 0
        for (int i = 0; i < y.Numel; i++, it.Next())
        {
            int k = it.Index[axis];
            ys[it.Offsets[1]] = xs[it.Offsets[0] - k * x.Strides[axis] + idx[k] * x.Strides[axis]];
        }
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        CheckAxis("index_add", dst, axis);
        CheckIndexVector("index_add", index);
        var expect = (int[])dst.Dims.Clone();
        expect[axis] = index.Numel;
        ExpectShape("index_add", "src", src, expect);
        SameDType("index_add", dst, src);
        switch (dst.DType)
        {
            case DType.Float32: IndexAddT<float>(dst, axis, index, src); break;
            case DType.Float64: IndexAddT<double>(dst, axis, index, src); break;
            default: throw Unsupported("index_add", dst);
        }
    }

    // dst[…, index[k], …] += src[…, k, …]; repeated indices accumulate.
    private static void IndexAddT<T>(Tensor dst, int axis, Tensor index, Tensor src) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var idx = ReadIndices("index_add", index, dst.Dims[axis], axis);
        var ds = Data<T>(dst);
        var ss = Data<T>(src);
        var it = new Odometer(src.Dims, src, dst);
        for (int i = 0; i < src.Numel; i++, it.Next())
        {
            int k = it.Index[axis];
            ds[it.Offsets[1] - k * dst.Strides[axis] + idx[k] * dst.Strides[axis]] += ss[it.Offsets[0]];
        }
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y)
    {
        CheckAxis("gather", x, axis);
        CheckElementIndex("gather", x, axis, index);
        SameShape("gather", index, y);
        SameDType("gather", x, y);
        switch (x.DType)
        {
            case DType.Float32: GatherT<float>(x, axis, index, y); break;
            case DType.Float64: GatherT<double>(x, axis, index, y); break;
            case DType.Int32: GatherT<int>(x, axis, index, y); break;
            default: throw Unsupported("gather", x);
        }
    }

    // y[i…] = x[i… with the axis coordinate replaced by index[i…]]
    private static void GatherT<T>(Tensor x, int axis, Tensor index, Tensor y) where T : unmanaged
    {
        var idx = ReadIndices("gather", index, x.Dims[axis], axis);
        var xs = Data<T>(x);
        var ys = Data<T>(y);
        var it = new Odometer(index.Dims, x, y); // walks x over the index's (smaller or equal) shape
        for (int i = 0; i < y.Numel; i++, it.Next())
        {
            int k = it.Index[axis];
            ys[it.Offsets[1]] = xs[it.Offsets[0] - k * x.Strides[axis] + idx[i] * x.Strides[axis]];
        }
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        CheckAxis("scatter_add", dst, axis);
        CheckElementIndex("scatter_add", dst, axis, index);
        SameShape("scatter_add", index, src);
        SameDType("scatter_add", dst, src);
        switch (dst.DType)
        {
            case DType.Float32: ScatterAddT<float>(dst, axis, index, src); break;
            case DType.Float64: ScatterAddT<double>(dst, axis, index, src); break;
            default: throw Unsupported("scatter_add", dst);
        }
    }

    // dst[i… with the axis coordinate replaced by index[i…]] += src[i…]; repeated targets accumulate.
    private static void ScatterAddT<T>(Tensor dst, int axis, Tensor index, Tensor src) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var idx = ReadIndices("scatter_add", index, dst.Dims[axis], axis);
        var ds = Data<T>(dst);
        var ss = Data<T>(src);
        var it = new Odometer(index.Dims, src, dst);
        for (int i = 0; i < src.Numel; i++, it.Next())
        {
            int k = it.Index[axis];
            ds[it.Offsets[1] - k * dst.Strides[axis] + idx[i] * dst.Strides[axis]] += ss[it.Offsets[0]];
        }
    }

    // The index values in row-major order, each checked against [0, size).
    private static int[] ReadIndices(string op, Tensor index, int size, int axis)
    {
        var src = Data<int>(index);
        var result = new int[index.Numel];
        var it = new Odometer(index.Dims, index);
        for (int i = 0; i < result.Length; i++, it.Next())
        {
            int v = src[it.Offsets[0]];
            if (v < 0 || v >= size)
                throw new ArgumentException($"{op}: index {v} is out of range [0, {size}) for axis {axis} of size {size}");
            result[i] = v;
        }
        return result;
    }

    private static void CheckAxis(string op, Tensor t, int axis)
    {
        if (axis < 0 || axis >= t.Rank)
            throw new ArgumentException($"reference {op}: axis {axis} is out of range for tensor {t.ShapeText}");
    }

    private static void CheckIndexVector(string op, Tensor index)
    {
        ExpectInt32(op, "index", index);
        if (index.Rank != 1) throw new ArgumentException($"reference {op}: index {index.ShapeText} must be 1-D");
    }

    // gather/scatter: index has t's rank and is no larger than t outside the axis.
    private static void CheckElementIndex(string op, Tensor t, int axis, Tensor index)
    {
        ExpectInt32(op, "index", index);
        if (index.Rank != t.Rank)
            throw new ArgumentException($"reference {op}: index {index.ShapeText} must have the rank of {t.ShapeText}");
        for (int d = 0; d < t.Rank; d++)
            if (d != axis && index.Dims[d] > t.Dims[d])
                throw new ArgumentException($"reference {op}: index {index.ShapeText} is larger than {t.ShapeText} in dimension {d}");
    }
}
