using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors;

// Index ops. Indices are validated up front (an ArgumentException names the bad value and its
// position) so no exception escapes a parallel loop. IndexSelect / Gather only move 4-byte elements,
// so they serve int32 tensors too; the adds (IndexAdd / ScatterAdd) run in index order, so duplicates
// accumulate exactly as in the reference.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int axis, Tensor index, Tensor y)
    {
        if (IsF64(x)) { Reference.IndexSelect(x, axis, index, y); return; } // float64: the reference backend
        // x: [outer, n, inner], index: int32 [K] → y: [outer, K, inner] contiguous
        x = Contiguous(x, out var xTemp);
        index = Contiguous(index, out var iTemp);
        using var _x = xTemp;
        using var _i = iTemp;
        var (outer, n, inner) = AroundAxis(x.Dims, axis);
        int k = index.Numel;
        int* ip = IntPtr(index);
        CheckIndices("index_select", ip, k, n, axis);
        uint* xp = (uint*)Ptr(x), yp = (uint*)Ptr(y);
        int rows = outer * k;
        if (rows == 0 || inner == 0) return;
        void Rows(int r0, int r1)
        {
            if (outer == 1 && inner % 16 == 0 && Vector512.IsHardwareAccelerated)
            {
                // an embedding lookup: whole rows of 16-element vectors, no division per row (the LSTM classifier
                // gathers 12,800 rows of 128 per batch)
                for (int r = r0; r < r1; r++)
                {
                    uint* src = xp + (long)ip[r] * inner, dst = yp + (long)r * inner;
                    for (int e = 0; e < inner; e += 16) Vector512.Store(Vector512.Load(src + e), dst + e);
                }
                return;
            }
            for (int r = r0; r < r1; r++)
            {
                int o = r / k, j = r % k;
                new ReadOnlySpan<uint>(xp + ((long)o * n + ip[j]) * inner, inner).CopyTo(new Span<uint>(yp + (long)r * inner, inner));
            }
        }
        int chunks = ChunksFor(rows, (long)rows * inner);
        if (chunks == 1) Rows(0, rows);
        else ForChunks(rows, chunks, (_, s, e) => Rows(s, e));
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        if (NotF32(dst)) { Reference.IndexAdd(dst, axis, index, src); return; } // float64: the reference backend
        if (!dst.IsContiguous)
        {
            // a strided destination: accumulate into a contiguous copy, then write it back
            using var staged = ContiguousTemp(dst);
            IndexAdd(staged, axis, index, src);
            Copy(staged, dst);
            return;
        }
        // dst: [outer, n, inner], index: int32 [K], src: [outer, K, inner]
        index = Contiguous(index, out var iTemp);
        src = Contiguous(src, out var sTemp);
        using var _i = iTemp;
        using var _s = sTemp;
        var (outer, n, inner) = AroundAxis(dst.Dims, axis);
        int k = index.Numel;
        int* ip = IntPtr(index);
        CheckIndices("index_add", ip, k, n, axis);
        float* dp = Ptr(dst), sp = Ptr(src);
        if (outer == 0 || inner == 0 || k == 0) return;
        // one thread owns each (outer, column range), so duplicate indices never race
        void Part(int o0, int o1, int c0, int c1)
        {
            for (int o = o0; o < o1; o++)
                for (int j = 0; j < k; j++)
                {
                    var d = new Span<float>(dp + ((long)o * n + ip[j]) * inner + c0, c1 - c0);
                    TensorPrimitives.Add(d, new ReadOnlySpan<float>(sp + ((long)o * k + j) * inner + c0, c1 - c0), d);
                }
        }
        long work = (long)outer * k * inner;
        int threads = Parallelism.Threads;
        if (outer >= threads)
        {
            int chunks = ChunksFor(outer, work);
            if (chunks == 1) Part(0, outer, 0, inner);
            else ForChunks(outer, chunks, (_, s, e) => Part(s, e, 0, inner));
        }
        else
        {
            int chunks = inner >= 64 ? ChunksFor(inner / 16, work) : 1;
            if (chunks == 1) Part(0, outer, 0, inner);
            else ForChunks(inner, chunks, (_, s, e) => Part(0, outer, s, e));
        }
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, int axis, Tensor index, Tensor y)
    {
        if (IsF64(x)) { Reference.Gather(x, axis, index, y); return; } // float64: the reference backend
        // x: any layout; index: int32; y: index's shape, contiguous
        index = Contiguous(index, out var iTemp);
        using var _i = iTemp;
        int total = index.Numel;
        int* ip = IntPtr(index);
        CheckIndices("gather", ip, total, x.Dims[axis], axis);
        uint* xp = (uint*)Ptr(x), yp = (uint*)Ptr(y);
        WalkIndex(index.Dims, x.Strides, axis, ip, (i, off) => yp[i] = xp[off]);
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src)
    {
        if (NotF32(dst)) { Reference.ScatterAdd(dst, axis, index, src); return; } // float64: the reference backend
        // dst: any layout (written through its strides); index: int32; src: index's shape
        index = Contiguous(index, out var iTemp);
        src = Contiguous(src, out var sTemp);
        using var _i = iTemp;
        using var _s = sTemp;
        int total = index.Numel;
        int* ip = IntPtr(index);
        CheckIndices("scatter_add", ip, total, dst.Dims[axis], axis);
        float* dp = Ptr(dst), sp = Ptr(src);
        WalkIndex(index.Dims, dst.Strides, axis, ip, (i, off) => dp[off] += sp[i]);
    }

    /// <summary>
    /// Calls visit(i, offset) for every element i (row-major) of an index tensor of shape
    /// <paramref name="dims"/>, where offset addresses the target tensor (strides <paramref name="strides"/>)
    /// at i's coordinates with the <paramref name="axis"/> coordinate replaced by index[i]. Serial, in order.
    /// </summary>
    private static void WalkIndex(int[] dims, int[] strides, int axis, int* index, Action<int, long> visit)
    {
        int rank = dims.Length, total = Shape.Numel(dims);
        if (total == 0) return;
        Span<int> c = stackalloc int[rank];
        c.Clear();
        long baseOff = 0; // Σ over non-axis dimensions of coordinate · stride
        for (int i = 0; i < total; i++)
        {
            visit(i, baseOff + (long)index[i] * strides[axis]);
            for (int d = rank - 1; d >= 0; d--)
            {
                c[d]++;
                if (d != axis) baseOff += strides[d];
                if (c[d] < dims[d]) break;
                if (d != axis) baseOff -= (long)strides[d] * dims[d];
                c[d] = 0;
            }
        }
    }

    /// <summary>(product of the dims before <paramref name="axis"/>, its size, product of the dims after).</summary>
    private static (int Outer, int N, int Inner) AroundAxis(int[] dims, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= dims[i];
        for (int i = axis + 1; i < dims.Length; i++) inner *= dims[i];
        return (outer, dims[axis], inner);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> for the first index outside [0, n).</summary>
    private static void CheckIndices(string op, int* index, int count, int n, int axis)
    {
        for (int i = 0; i < count; i++)
            if ((uint)index[i] >= (uint)n)
                throw new ArgumentException($"{op}: index {index[i]} at position {i} is out of range [0, {n}) for axis {axis} of size {n}");
    }
}
