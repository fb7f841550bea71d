namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The iteration space of an elementwise kernel over up to four operands of one shape (already
/// broadcast: stride 0 on broadcast dimensions), with dimensions coalesced: size-1 dimensions are
/// dropped and neighbours merged wherever every operand is contiguous across them, so contiguous
/// tensors become one long run and a row broadcast ([N, C] + [C]) becomes rows of C.
/// </summary>
/// <remarks>
/// Elements are visited row-major; a "row" is the innermost coalesced dimension. Operand k's
/// element at coordinates (i₀, …, i_{r−1}) lives at base_k + Σ i_d · Strides[k][d].
/// </remarks>
internal sealed class CpuLayout
{
    /// <summary>Most operands a layout holds.</summary>
    public const int MaxOperands = 4;

    /// <summary>Coalesced rank (≥ 1; a scalar is one run of length 1).</summary>
    public readonly int Rank;
    /// <summary>Coalesced sizes.</summary>
    public readonly int[] Dims;
    /// <summary>Per operand, the element stride of each coalesced dimension.</summary>
    public readonly int[][] Strides;
    /// <summary>Number of operands.</summary>
    public readonly int Operands;
    /// <summary>Number of elements.</summary>
    public readonly long Numel;

    private CpuLayout(int[] dims, int[][] strides, long numel)
    {
        Rank = dims.Length;
        Dims = dims;
        Strides = strides;
        Operands = strides.Length;
        Numel = numel;
    }

    /// <summary>Length of one row (the innermost coalesced dimension).</summary>
    public int Inner => Dims[Rank - 1];

    /// <summary>The innermost stride of operand <paramref name="k"/>.</summary>
    public int InnerStride(int k) => Strides[k][Rank - 1];

    /// <summary>Coalesces <paramref name="shape"/> for operands with the given strides (one array per operand).</summary>
    public static CpuLayout Create(int[] shape, params int[][] strides)
    {
        int ops = strides.Length;
        long numel = 1;
        foreach (int d in shape) numel *= d;
        // walk from the innermost dimension, merging into the current group when every operand
        // steps across the boundary exactly as if the two dimensions were one
        Span<int> dims = stackalloc int[Math.Max(shape.Length, 1)];
        var st = new int[ops][];
        for (int k = 0; k < ops; k++) st[k] = new int[Math.Max(shape.Length, 1)];
        int r = 0; // groups so far, stored innermost first
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            int d = shape[i];
            if (d == 1) continue;
            bool merge = r > 0;
            for (int k = 0; merge && k < ops; k++)
                merge = strides[k][i] == (long)st[k][r - 1] * dims[r - 1];
            if (merge)
            {
                dims[r - 1] *= d;
                continue;
            }
            dims[r] = d;
            for (int k = 0; k < ops; k++) st[k][r] = strides[k][i];
            r++;
        }
        if (r == 0)
        {
            // every dimension has size 1 (or the tensor is 0-d): a single element
            dims[0] = 1;
            for (int k = 0; k < ops; k++) st[k][0] = 0;
            r = 1;
        }
        // reverse into outermost-first order
        var outDims = new int[r];
        var outStrides = new int[ops][];
        for (int k = 0; k < ops; k++) outStrides[k] = new int[r];
        for (int j = 0; j < r; j++)
        {
            outDims[j] = dims[r - 1 - j];
            for (int k = 0; k < ops; k++) outStrides[k][j] = st[k][r - 1 - j];
        }
        return new CpuLayout(outDims, outStrides, numel);
    }
}

/// <summary>Base pointers of up to four 4-byte-element operands (passed by value into parallel bodies).</summary>
internal unsafe struct CpuOperands
{
    /// <summary>Operand 0 (by convention the output).</summary>
    public float* P0;
    /// <summary>Operand 1.</summary>
    public float* P1;
    /// <summary>Operand 2.</summary>
    public float* P2;
    /// <summary>Operand 3.</summary>
    public float* P3;

    /// <summary>Operand <paramref name="k"/>.</summary>
    public readonly float* this[int k] => k switch { 0 => P0, 1 => P1, 2 => P2, _ => P3 };
}

/// <summary>
/// One run of an elementwise kernel: len elements; operand k starts at p[k] and advances by s[k]
/// elements (0: broadcast value, 1: contiguous, else strided).
/// </summary>
internal unsafe interface ISegmentKernel
{
    /// <summary>Processes one run.</summary>
    void Run(int len, float** p, int* s);
}

/// <summary>Drives an <see cref="ISegmentKernel"/> over a <see cref="CpuLayout"/>, split over threads when large.</summary>
internal static unsafe class CpuWalker
{
    /// <summary>Elements below which a kernel runs on the calling thread only.</summary>
    public const int ParallelThreshold = 32 * 1024;

    /// <summary>Runs <paramref name="kernel"/> over every element of <paramref name="layout"/>.</summary>
    public static void Run<TK>(TK kernel, CpuLayout layout, CpuOperands ops, int parallelThreshold = ParallelThreshold)
        where TK : struct, ISegmentKernel
    {
        long n = layout.Numel;
        if (n == 0) return;
        if (n < parallelThreshold || Parallelism.Threads == 1)
        {
            Walk(ref kernel, layout, ops, 0, n);
            return;
        }
        Parallelism.ForRange((int)n, parallelThreshold / 2, (start, end) =>
        {
            var k = kernel;
            Walk(ref k, layout, ops, start, end);
        });
    }

    /// <summary>Visits elements [start, end) in row-major order, one run per (partial) row.</summary>
    public static void Walk<TK>(ref TK kernel, CpuLayout layout, CpuOperands ops, long start, long end)
        where TK : struct, ISegmentKernel
    {
        int rank = layout.Rank, nops = layout.Operands, inner = layout.Inner;
        int[] dims = layout.Dims;
        int* idx = stackalloc int[rank];
        long* off = stackalloc long[nops];
        float** p = stackalloc float*[nops];
        int* s = stackalloc int[nops];
        for (int k = 0; k < nops; k++) s[k] = layout.InnerStride(k);

        long row = start / inner;
        int col = (int)(start % inner);
        for (int k = 0; k < nops; k++) off[k] = 0;
        long rem = row;
        for (int d = rank - 2; d >= 0; d--)
        {
            idx[d] = (int)(rem % dims[d]);
            rem /= dims[d];
            for (int k = 0; k < nops; k++) off[k] += (long)idx[d] * layout.Strides[k][d];
        }

        long pos = start;
        while (pos < end)
        {
            int len = (int)Math.Min(inner - col, end - pos);
            for (int k = 0; k < nops; k++) p[k] = ops[k] + off[k] + (long)col * s[k];
            kernel.Run(len, p, s);
            pos += len;
            col = 0;
            // next row: odometer over the outer dimensions
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++;
                for (int k = 0; k < nops; k++) off[k] += layout.Strides[k][d];
                if (idx[d] < dims[d]) break;
                for (int k = 0; k < nops; k++) off[k] -= (long)layout.Strides[k][d] * dims[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Copies n elements that are <paramref name="stride"/> apart (0: one value repeated) into <paramref name="dst"/>.</summary>
    public static ReadOnlySpan<float> Gather(float* src, int stride, int n, float* dst)
    {
        if (stride == 0) new Span<float>(dst, n).Fill(*src);
        else for (int i = 0; i < n; i++) dst[i] = src[(long)i * stride];
        return new ReadOnlySpan<float>(dst, n);
    }

    /// <summary>Writes n contiguous values to positions <paramref name="stride"/> apart.</summary>
    public static void Scatter(float* src, float* dst, int stride, int n)
    {
        for (int i = 0; i < n; i++) dst[(long)i * stride] = src[i];
    }
}
