using System.Numerics;
using System.Runtime.CompilerServices;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Fused one-pass CPU loops behind the optimizers and gradient clipping. Each update reads every
/// operand once and writes each result once (SIMD over <see cref="Vector{T}"/>, chunked over
/// threads for large tensors). The arithmetic is elementwise and done in the same order in the
/// vector body and the scalar tail, so results do not depend on the chunking or thread count.
/// Tensors that are not contiguous host tensors take the optimizers' generic Tensor-op path.
/// </summary>
internal static unsafe class OptimKernels
{
    /// <summary>Elements per parallel work item.</summary>
    internal const int Chunk = 1 << 15;

    /// <summary>A contiguous host tensor's element pointer (as an address), or false.</summary>
    internal static bool TryAddress<T>(Tensor t, out nint address) where T : unmanaged
    {
        if (t.Device.Kind == DeviceKind.Cpu && t.Storage is CpuStorage cs && t.DType == DTypes.Of<T>() && t.IsContiguous && !t.IsDisposed)
        {
            address = (nint)((T*)cs.Pointer + t.Offset);
            return true;
        }
        address = 0;
        return false;
    }

    internal interface IChunkKernel
    {
        void Run(int start, int end);
    }

    /// <summary>Runs <paramref name="kernel"/> over [0, n), in parallel chunks when n is large.</summary>
    internal static void Run<TKernel>(int n, TKernel kernel) where TKernel : struct, IChunkKernel
    {
        if (n <= 2 * Chunk) kernel.Run(0, n);
        else RunParallel(n, kernel); // a separate method: the closure is allocated only for large tensors
    }

    private static void RunParallel<TKernel>(int n, TKernel kernel) where TKernel : struct, IChunkKernel
    {
        int chunks = (n + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, c => kernel.Run(c * Chunk, Math.Min(n, (c + 1) * Chunk)));
    }

    /// <summary>
    /// SGD (PyTorch's rule): g ← grad + wd·p; with momentum, buf ← g on the first step, else
    /// buf ← μ·buf + (1 − dampening)·g, and g ← g + μ·buf (Nesterov) or buf; p ← p − lr·g.
    /// </summary>
    internal struct Sgd<T> : IChunkKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public nint P, G, Buf;
        public T Lr, WeightDecay, Momentum, OneMinusDampening;
        public bool HasWeightDecay, HasMomentum, FirstStep, Nesterov;

        public readonly void Run(int start, int end)
        {
            T* p = (T*)P, g = (T*)G, buf = (T*)Buf;
            int i = start;
            if (Vector.IsHardwareAccelerated)
            {
                var lr = new Vector<T>(Lr);
                var wd = new Vector<T>(WeightDecay);
                var mu = new Vector<T>(Momentum);
                var omd = new Vector<T>(OneMinusDampening);
                for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
                {
                    var pv = Unsafe.ReadUnaligned<Vector<T>>(p + i);
                    var gv = Unsafe.ReadUnaligned<Vector<T>>(g + i);
                    if (HasWeightDecay) gv += wd * pv;
                    if (HasMomentum)
                    {
                        var bv = FirstStep ? gv : mu * Unsafe.ReadUnaligned<Vector<T>>(buf + i) + omd * gv;
                        Unsafe.WriteUnaligned(buf + i, bv);
                        gv = Nesterov ? gv + mu * bv : bv;
                    }
                    Unsafe.WriteUnaligned(p + i, pv - lr * gv);
                }
            }
            for (; i < end; i++)
            {
                T pv = p[i], gv = g[i];
                if (HasWeightDecay) gv += WeightDecay * pv;
                if (HasMomentum)
                {
                    T bv = FirstStep ? gv : Momentum * buf[i] + OneMinusDampening * gv;
                    buf[i] = bv;
                    gv = Nesterov ? gv + Momentum * bv : bv;
                }
                p[i] = pv - Lr * gv;
            }
        }
    }

    /// <summary>
    /// Adam / AdamW (PyTorch's rule): g ← grad (+ wd·p for Adam's L2); p ← (1 − lr·wd)·p for AdamW;
    /// m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g·g; p ← p − stepSize·m / (√v / √bc2 + ε).
    /// </summary>
    internal struct Adam<T> : IChunkKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public nint P, G, M, V;
        public T Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, StepSize, Bc2Sqrt, Eps, WeightDecay, Decay;
        public bool L2, Decoupled;

        public readonly void Run(int start, int end)
        {
            T* p = (T*)P, g = (T*)G, m = (T*)M, v = (T*)V;
            int i = start;
            if (Vector.IsHardwareAccelerated)
            {
                var b1 = new Vector<T>(Beta1);
                var omb1 = new Vector<T>(OneMinusBeta1);
                var b2 = new Vector<T>(Beta2);
                var omb2 = new Vector<T>(OneMinusBeta2);
                var stepSize = new Vector<T>(StepSize);
                var bc2 = new Vector<T>(Bc2Sqrt);
                var eps = new Vector<T>(Eps);
                var wd = new Vector<T>(WeightDecay);
                var decay = new Vector<T>(Decay);
                for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
                {
                    var pv = Unsafe.ReadUnaligned<Vector<T>>(p + i);
                    var gv = Unsafe.ReadUnaligned<Vector<T>>(g + i);
                    if (L2) gv += wd * pv;
                    if (Decoupled) pv *= decay;
                    var mv = Unsafe.ReadUnaligned<Vector<T>>(m + i) * b1 + omb1 * gv;
                    var vv = Unsafe.ReadUnaligned<Vector<T>>(v + i) * b2 + omb2 * gv * gv;
                    Unsafe.WriteUnaligned(m + i, mv);
                    Unsafe.WriteUnaligned(v + i, vv);
                    var denom = Vector.SquareRoot(vv) / bc2 + eps;
                    Unsafe.WriteUnaligned(p + i, pv - stepSize * mv / denom);
                }
            }
            for (; i < end; i++)
            {
                T pv = p[i], gv = g[i];
                if (L2) gv += WeightDecay * pv;
                if (Decoupled) pv *= Decay;
                T mv = m[i] * Beta1 + OneMinusBeta1 * gv;
                T vv = v[i] * Beta2 + OneMinusBeta2 * gv * gv;
                m[i] = mv;
                v[i] = vv;
                T denom = T.Sqrt(vv) / Bc2Sqrt + Eps;
                p[i] = pv - StepSize * mv / denom;
            }
        }
    }

    /// <summary>x ← s·x.</summary>
    internal struct Scale<T> : IChunkKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public nint X;
        public T S;

        public readonly void Run(int start, int end)
        {
            T* x = (T*)X;
            int i = start;
            if (Vector.IsHardwareAccelerated)
            {
                var s = new Vector<T>(S);
                for (; i <= end - Vector<T>.Count; i += Vector<T>.Count)
                    Unsafe.WriteUnaligned(x + i, Unsafe.ReadUnaligned<Vector<T>>(x + i) * s);
            }
            for (; i < end; i++) x[i] *= S;
        }
    }

    /// <summary>Σ x² of a contiguous float32 or float64 host buffer, accumulated in double (chunk partials summed in order).</summary>
    internal static double SumOfSquares(nint address, int n, DType dtype)
    {
        return n <= 2 * Chunk ? SumOfSquares(address, 0, n, dtype) : SumOfSquaresParallel(address, n, dtype);
    }

    private static double SumOfSquaresParallel(nint address, int n, DType dtype)
    {
        int chunks = (n + Chunk - 1) / Chunk;
        var partial = new double[chunks];
        Parallel.For(0, chunks, c => partial[c] = SumOfSquares(address, c * Chunk, Math.Min(n, (c + 1) * Chunk), dtype));
        double total = 0;
        foreach (double s in partial) total += s;
        return total;
    }

    private static double SumOfSquares(nint address, int start, int end, DType dtype)
    {
        int i = start;
        var acc = Vector<double>.Zero;
        double tail = 0;
        if (dtype == DType.Float32)
        {
            float* x = (float*)address;
            if (Vector.IsHardwareAccelerated)
                for (; i <= end - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector.Widen(Unsafe.ReadUnaligned<Vector<float>>(x + i), out var lo, out var hi);
                    acc += lo * lo + hi * hi;
                }
            for (; i < end; i++) tail += (double)x[i] * x[i];
        }
        else
        {
            double* x = (double*)address;
            if (Vector.IsHardwareAccelerated)
                for (; i <= end - Vector<double>.Count; i += Vector<double>.Count)
                {
                    var v = Unsafe.ReadUnaligned<Vector<double>>(x + i);
                    acc += v * v;
                }
            for (; i < end; i++) tail += x[i] * x[i];
        }
        return Vector.Sum(acc) + tail;
    }
}
