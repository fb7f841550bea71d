using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

/// <summary>
/// The fast CPU backend: float32 kernels written with <c>System.Numerics.Tensors.TensorPrimitives</c>,
/// SIMD loops and our own SGEMM (<c>Backends/Cpu/Gemm</c>), multi-threaded over
/// <see cref="Parallelism.Threads"/> for large tensors. Every result equals the
/// <see cref="ReferenceBackend"/>'s up to float32 rounding (reductions may sum in another order).
/// Float64 tensors (gradient checks) run on <see cref="Backend.Reference"/>: each method hands them
/// over explicitly, except the fused optimizer kernels (<c>.Optim</c>), which have float64 SIMD paths
/// too. Int32 tensors (indices, labels) are filled, copied, cast and moved here.
/// </summary>
/// <remarks>
/// The methods are split by family over partial-class files: this one (storage, data movement,
/// random fill), <c>.Elementwise</c>, <c>.Reduce</c>, <c>.MatMul</c>, <c>.Conv</c>, <c>.Pool</c>,
/// <c>.Nn</c> (batch-norm statistics, softmax, cross-entropy), <c>.BatchNorm</c>, <c>.Index</c> and
/// <c>.Optim</c> (fused SGD / Adam steps, sum of squares).
/// </remarks>
/// <example><code>
/// using (Backend.Use(Backend.Cpu)) { using var y = x.MatMul(w); }   // the default for CPU tensors
/// </code></example>
public sealed unsafe partial class CpuBackend : IBackend, IFusedConvTail, IFusedOptimizer, IFusedLoss, IFusedLstmCell, IFusedLstmRecurrence, IFusedBatchNormActivation, IFusedConvBatchNorm
{
    /// <inheritdoc/>
    public string Name => "cpu";

    /// <summary>
    /// The SGEMM micro-kernel and cache blocking this process runs (chosen for <see cref="CpuInfo.Current"/>,
    /// or as <c>VECQ_SGEMM_KERNEL</c> / <c>VECQ_SGEMM_BLOCKING</c> say), e.g. "avx512 8×32 (edge 4), kc 256, …".
    /// </summary>
    /// <example><code>Console.WriteLine($"{CpuInfo.Current}\n{CpuBackend.SgemmChoice}");</code></example>
    public static string SgemmChoice => Sgemm.Kernel.ToString();

    /// <summary>
    /// Checks the kernel-choice environment variables (<see cref="SgemmKernelVariable"/>, <see cref="SgemmBlockingVariable"/>,
    /// <see cref="WinogradVariable"/>) and throws a clear error for a bad value; call it at startup, before the first
    /// operation, since the choice is made once (a bad value found there surfaces as a TypeInitializationException).
    /// </summary>
    /// <example><code>CpuBackend.ValidateEnvironment(); // ArgumentException: "VECQ_SGEMM_KERNEL='avx1024': expected …"</code></example>
    /// <exception cref="ArgumentException">A variable holds a value its documentation does not allow, or names a kernel this CPU cannot run.</exception>
    public static void ValidateEnvironment()
    {
        try
        {
            SgemmKernel.For(SgemmIsa.Auto);
        }
        catch (PlatformNotSupportedException e)
        {
            throw new ArgumentException($"{SgemmKernelVariable}='{Environment.GetEnvironmentVariable(SgemmKernelVariable)}': {e.Message}", e);
        }
        ChooseWinogradSizes(CpuInfo.Current, Environment.GetEnvironmentVariable(WinogradVariable));
    }

    /// <summary>The environment variable that names the SGEMM kernel family (avx512x12, avx512, avx2, portable).</summary>
    public const string SgemmKernelVariable = SgemmKernel.KernelVariable;

    /// <summary>The environment variable that overrides the SGEMM cache blocking (kc=…,kcsmall=…,mc=…,nc=…).</summary>
    public const string SgemmBlockingVariable = SgemmKernel.BlockingVariable;

    /// <inheritdoc/>
    public Storage Allocate(DType dtype, long length) => CpuStorage.Allocate(dtype, length);

    /// <inheritdoc/>
    public MemoryStats MemoryStats => MemoryCounter.Host.Snapshot();

    /// <inheritdoc/>
    public void ResetPeakMemory() => MemoryCounter.Host.ResetPeak();

    // ---- helpers shared by the partial files ---------------------------------------------

    /// <summary>The scalar backend that runs what the SIMD paths do not cover (float64 tensors).</summary>
    private static IBackend Reference => Backend.Reference;

    /// <summary>True when a float op must go to the reference backend (anything but float32).</summary>
    private static bool NotF32(Tensor t) => t.DType != DType.Float32;

    /// <summary>True for float64, the one dtype the data-movement paths hand to the reference backend.</summary>
    private static bool IsF64(Tensor t) => t.DType == DType.Float64;

    /// <summary>Pointer to element [0, …, 0] of a host tensor with 4-byte elements (float32 or int32, as float*).</summary>
    private static float* Ptr(Tensor t) => Ptr<float>(t);

    /// <summary>Pointer to element [0, …, 0] of a host tensor whose elements are <typeparamref name="T"/>.</summary>
    private static T* Ptr<T>(Tensor t) where T : unmanaged
    {
        if (t.Storage is not CpuStorage s)
            throw new ArgumentException($"cpu backend: tensor {t.ShapeText} lives on {t.Device} in {t.Storage.GetType().Name}; expected host memory");
        return (T*)s.Pointer + t.Offset;
    }

    /// <summary>Pointer to element [0, …, 0] of an int32 host tensor.</summary>
    private static int* IntPtr(Tensor t) => (int*)Ptr(t);

    /// <summary>An uninitialised contiguous tensor shaped like <paramref name="x"/> in pooled host memory (dispose it).</summary>
    private static Tensor TempLike(Tensor x)
    {
        var storage = CpuStorage.Allocate(x.DType, x.Numel);
        var t = new Tensor(storage, (int[])x.Dims.Clone(), Shape.ContiguousStrides(x.Dims), 0);
        storage.Release(); // the tensor holds the only reference
        return t;
    }

    /// <summary>A contiguous copy of <paramref name="x"/> in pooled host memory (dispose it).</summary>
    private Tensor ContiguousTemp(Tensor x)
    {
        var t = TempLike(x);
        Copy(x, t);
        return t;
    }

    /// <summary>
    /// <paramref name="t"/> itself when contiguous, else a contiguous copy (kept in <paramref name="temp"/>
    /// for the caller to dispose): the kernels that index by position read through this.
    /// </summary>
    private Tensor Contiguous(Tensor t, out Tensor? temp)
    {
        temp = t.IsContiguous ? null : ContiguousTemp(t);
        return temp ?? t;
    }

    /// <summary>Runs body(chunk, start, end) over <paramref name="chunks"/> near-equal ranges of [0, count) in parallel.</summary>
    private static void ForChunks(int count, int chunks, Action<int, int, int> body)
    {
        if (count <= 0) return;
        chunks = Math.Clamp(chunks, 1, count);
        if (chunks == 1) { body(0, 0, count); return; }
        Parallelism.For(chunks, c =>
        {
            int start = (int)((long)count * c / chunks), end = (int)((long)count * (c + 1) / chunks);
            body(c, start, end);
        });
    }

    /// <summary>How many chunks to split <paramref name="count"/> items into, given the total work in element operations.</summary>
    private static int ChunksFor(int count, long work, long minWorkPerChunk = 1 << 16)
    {
        int threads = Parallelism.Threads;
        if (threads == 1 || count < 2) return 1;
        long byWork = Math.Max(1, work / Math.Max(1, minWorkPerChunk));
        return (int)Math.Min(Math.Min(threads, count), byWork);
    }

    // ---- data movement -----------------------------------------------------------------

    /// <inheritdoc/>
    public void Fill(Tensor dst, double value)
    {
        if (IsF64(dst)) { Reference.Fill(dst, value); return; } // float64: the reference backend
        uint bits = dst.DType == DType.Float32 ? BitConverter.SingleToUInt32Bits((float)value) : unchecked((uint)int.CreateSaturating(value));
        var layout = CpuLayout.Create(dst.Dims, dst.Strides);
        CpuWalker.Run(new FillKernel { Bits = bits }, layout, new CpuOperands { P0 = Ptr(dst) });
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (IsF64(src) || IsF64(dst)) { Reference.Copy(src, dst); return; } // float64 on either side: the reference backend
        if (!Shape.Equal(src.Dims, dst.Dims))
            throw new ArgumentException($"copy: source {src.ShapeText} and destination {dst.ShapeText} differ in shape");
        if (ReferenceEquals(src.Storage, dst.Storage) && src.Numel > 0 && !(src.Offset == dst.Offset && Shape.Equal(src.Strides, dst.Strides)))
        {
            // source and destination share storage: read everything first, so an overlapping copy sees the old values
            using var staged = ContiguousTemp(src);
            Copy(staged, dst);
            return;
        }
        var layout = CpuLayout.Create(dst.Dims, dst.Strides, src.Strides);
        var ops = new CpuOperands { P0 = Ptr(dst), P1 = Ptr(src) };
        if (src.DType == dst.DType)
        {
            if (TryTransposeCopy(layout, ops)) return;
            CpuWalker.Run(new CopyKernel(), layout, ops);
        }
        else if (src.DType == DType.Float32) CpuWalker.Run(new FloatToIntKernel(), layout, ops);
        else CpuWalker.Run(new IntToFloatKernel(), layout, ops);
    }

    /// <inheritdoc/>
    public void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged
    {
        if (IsF64(dst)) { Reference.Upload(src, dst); return; } // float64: the reference backend
        CheckHostTransfer("upload", DTypes.Of<T>(), dst, src.Length);
        fixed (T* host = src)
        {
            var layout = CpuLayout.Create(dst.Dims, dst.Strides, Shape.ContiguousStrides(dst.Dims));
            CpuWalker.Run(new CopyKernel(), layout, new CpuOperands { P0 = Ptr(dst), P1 = (float*)host });
        }
    }

    /// <inheritdoc/>
    public void Download<T>(Tensor src, Span<T> dst) where T : unmanaged
    {
        if (IsF64(src)) { Reference.Download(src, dst); return; } // float64: the reference backend
        CheckHostTransfer("download", DTypes.Of<T>(), src, dst.Length);
        fixed (T* host = dst)
        {
            var layout = CpuLayout.Create(src.Dims, Shape.ContiguousStrides(src.Dims), src.Strides);
            CpuWalker.Run(new CopyKernel(), layout, new CpuOperands { P0 = (float*)host, P1 = Ptr(src) });
        }
    }

    private static void CheckHostTransfer(string op, DType hostType, Tensor t, int hostLength)
    {
        if (hostType != t.DType)
            throw new ArgumentException($"{op}: host data is {hostType.Name()} but tensor {t.ShapeText} is {t.DType.Name()}");
        if (hostLength != t.Numel)
            throw new ArgumentException($"{op}: host buffer has {hostLength} elements but tensor {t.ShapeText} has {t.Numel}");
    }

    // ---- random ----------------------------------------------------------------------

    /// <inheritdoc/>
    public void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        if (NotF32(dst)) { Reference.RandomFill(dst, kind, seed, counter, a, b); return; } // float64: the reference backend
        _ = kind switch
        {
            RandomKind.Uniform or RandomKind.Normal or RandomKind.Bernoulli => 0,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "random fill: unknown distribution"),
        };
        // dst: contiguous, element i ← Sample(counter + i): the same numbers however the range is split
        if (!dst.IsContiguous)
        {
            // a strided destination: fill a contiguous temporary (element i is still row-major i), then copy
            using var tmp = TempLike(dst);
            RandomFill(tmp, kind, seed, counter, a, b);
            Copy(tmp, dst);
            return;
        }
        float* p = Ptr(dst);
        int n = dst.Numel;
        if (n < 4096 || Parallelism.Threads == 1) { RandomRange(p, 0, n, kind, seed, counter, a, b); return; }
        Parallelism.ForRange(n, 2048, (s, e) => RandomRange(p, s, e, kind, seed, counter, a, b));
    }

    private static void RandomRange(float* p, int start, int end, RandomKind kind, ulong seed, ulong counter, double a, double b)
    {
        int i = kind == RandomKind.Normal ? start : RandomRange512(p, start, end, kind == RandomKind.Bernoulli, seed, counter, a, b);
        for (; i < end; i++) p[i] = (float)Rng.Sample(kind, seed, counter + (ulong)i, a, b);
    }

    // Uniform and Bernoulli fills eight positions at a time where AVX-512DQ multiplies 64-bit lanes: Rng.Hash's
    // SplitMix64 steps lane-wise, then the uniform as Rng.Sample computes it (the same double operations in the same
    // order, so the same bits), or the Bernoulli test u < a done on the integer k = hash >> 11 (u = k·2⁻⁵³ exactly):
    // u < a ⇔ k < ⌈a·2⁵³⌉. Returns the first position left for the scalar loop.
    private static int RandomRange512(float* p, int start, int end, bool bernoulli, ulong seed, ulong counter, double a, double b)
    {
        if (!Avx512DQ.IsSupported || !Vector512.IsHardwareAccelerated || end - start < 8) return start;
        var lane = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        var baseHash = Vector512.Create(seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL);
        var step = Vector512.Create(0xD1B54A32D192ED03UL);
        var m1 = Vector512.Create(0xBF58476D1CE4E5B9UL);
        var m2 = Vector512.Create(0x94D049BB133111EBUL);
        double t = Math.Ceiling(Math.Clamp(a, 0, 1) * (1UL << 53));
        var threshold = Vector512.Create(a > 1 ? ulong.MaxValue : (ulong)t);   // a ≥ 1: every k passes; a ≤ 0 (or NaN): none
        bool never = !(a > 0);
        var scale = Vector512.Create(1.0 / (1UL << 53));
        var lo = Vector512.Create(a);
        var width = Vector512.Create(b - a);
        int i = start;
        for (; i + 8 <= end; i += 8)
        {
            var pos = Vector512.Create(counter + (ulong)i) + lane;
            var z = baseHash + pos * step;
            z = (z ^ (z >>> 30)) * m1;
            z = (z ^ (z >>> 27)) * m2;
            var k = (z ^ (z >>> 31)) >>> 11;
            Vector256<float> v;
            if (bernoulli)
            {
                var hit = never ? Vector512<ulong>.Zero : Vector512.LessThan(k, threshold);
                v = Avx512F.ConvertToVector256Single((hit & Vector512.Create(1.0).AsUInt64()).AsDouble());
            }
            else v = Avx512F.ConvertToVector256Single(lo + width * (Avx512DQ.ConvertToVector512Double(k) * scale));
            Avx.Store(p + i, v);
        }
        return i;
    }

    // ---- copy kernels (4-byte elements moved as raw bits) -------------------------------

    /// <summary>Every element ← the bit pattern <see cref="Bits"/>.</summary>
    private struct FillKernel : ISegmentKernel
    {
        public uint Bits;

        public void Run(int len, float** p, int* s)
        {
            uint* y = (uint*)p[0];
            int sy = s[0];
            if (sy == 1) new Span<uint>(y, len).Fill(Bits);
            else for (int i = 0; i < len; i++) y[(long)i * sy] = Bits;
        }
    }

    /// <summary>Operand 0 ← operand 1, bit for bit.</summary>
    private struct CopyKernel : ISegmentKernel
    {
        public void Run(int len, float** p, int* s)
        {
            uint* y = (uint*)p[0], x = (uint*)p[1];
            int sy = s[0], sx = s[1];
            if (sy == 1)
            {
                if (sx == 1) new ReadOnlySpan<uint>(x, len).CopyTo(new Span<uint>(y, len));
                else if (sx == 0) new Span<uint>(y, len).Fill(*x);
                else for (int i = 0; i < len; i++) y[i] = x[(long)i * sx];
            }
            else for (int i = 0; i < len; i++) y[(long)i * sy] = x[(long)i * sx];
        }
    }

    /// <summary>int32 ← float32, truncating toward zero (saturating; NaN → 0), as the reference.</summary>
    private struct FloatToIntKernel : ISegmentKernel
    {
        public void Run(int len, float** p, int* s)
        {
            int* y = (int*)p[0];
            float* x = p[1];
            int sy = s[0], sx = s[1];
            for (int i = 0; i < len; i++) y[(long)i * sy] = int.CreateTruncating(x[(long)i * sx]);
        }
    }

    /// <summary>float32 ← int32.</summary>
    private struct IntToFloatKernel : ISegmentKernel
    {
        public void Run(int len, float** p, int* s)
        {
            float* y = p[0];
            int* x = (int*)p[1];
            int sy = s[0], sx = s[1];
            for (int i = 0; i < len; i++) y[(long)i * sy] = x[(long)i * sx];
        }
    }

    /// <summary>
    /// A same-dtype copy whose source is transposed in its last two coalesced dimensions (dst rows
    /// contiguous, source columns contiguous), e.g. <c>x.T().Contiguous()</c>: copied in 32×32 tiles
    /// so both sides stay in cache. Returns false for any other layout.
    /// </summary>
    private static bool TryTransposeCopy(CpuLayout layout, CpuOperands ops)
    {
        int r = layout.Rank;
        if (r < 2 || layout.Numel < 4096) return false;
        int[] ds = layout.Strides[0], xs = layout.Strides[1];
        if (ds[r - 1] != 1 || xs[r - 2] != 1 || xs[r - 1] == 1) return false;
        int rows = layout.Dims[r - 2], cols = layout.Dims[r - 1];
        int dRow = ds[r - 2], xCol = xs[r - 1];
        long planes = layout.Numel / ((long)rows * cols);
        // the outer dimensions, walked per plane
        var outer = CpuLayout.Create(layout.Dims[..(r - 2)], ds[..(r - 2)], xs[..(r - 2)]);
        void Planes(int p0, int p1)
        {
            for (int pl = p0; pl < p1; pl++)
            {
                long dOff = 0, xOff = 0, rem = pl;
                for (int d = outer.Rank - 1; d >= 0 && r > 2; d--)
                {
                    long i = rem % outer.Dims[d];
                    rem /= outer.Dims[d];
                    dOff += i * outer.Strides[0][d];
                    xOff += i * outer.Strides[1][d];
                }
                TransposeBlock((uint*)ops.P0 + dOff, (uint*)ops.P1 + xOff, rows, cols, dRow, xCol);
            }
        }
        int nPlanes = (int)planes;
        if (nPlanes >= 2 && layout.Numel >= CpuWalker.ParallelThreshold && Parallelism.Threads > 1)
            ForChunks(nPlanes, ChunksFor(nPlanes, layout.Numel), (_, s, e) => Planes(s, e));
        else if (nPlanes == 1 && layout.Numel >= CpuWalker.ParallelThreshold && Parallelism.Threads > 1)
        {
            // one big plane: split its rows
            int chunks = ChunksFor(rows, layout.Numel);
            ForChunks(rows, chunks, (_, s, e) =>
                TransposeBlock((uint*)ops.P0 + (long)s * dRow, (uint*)ops.P1 + s, e - s, cols, dRow, xCol));
        }
        else Planes(0, nPlanes);
        return true;
    }

    /// <summary>dst[i·dRow + j] ← src[i + j·xCol] for a rows×cols block, in 32×32 tiles.</summary>
    private static void TransposeBlock(uint* dst, uint* src, int rows, int cols, int dRow, int xCol)
    {
        const int T = 32;
        for (int i0 = 0; i0 < rows; i0 += T)
        {
            int i1 = Math.Min(rows, i0 + T);
            for (int j0 = 0; j0 < cols; j0 += T)
            {
                int j1 = Math.Min(cols, j0 + T);
                for (int i = i0; i < i1; i++)
                {
                    uint* drow = dst + (long)i * dRow;
                    uint* scol = src + i;
                    for (int j = j0; j < j1; j++) drow[j] = scol[(long)j * xCol];
                }
            }
        }
    }
}
