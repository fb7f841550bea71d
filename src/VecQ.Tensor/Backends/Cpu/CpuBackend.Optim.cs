using System.Numerics;
using System.Runtime.CompilerServices;

namespace VecQ.Tensors;

// The fused optimizer updates and the sum of squares behind gradient clipping, float32 and float64
// alike (the one family with a float64 SIMD path: optimizer state may be float64). Each update reads
// every operand once and writes each result once, in Vector<T> lanes with a scalar tail, over
// fixed chunks of OptimChunk elements run in parallel for large tensors. The arithmetic is the
// reference's (ReferenceBackend.Optim.cs), elementwise and in the same order in the vector body and
// the scalar tail, so every result equals the reference's bit for bit for any chunking or thread count.
// The sum of squares adds its chunk partials in chunk order, so it does not depend on the thread count.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Elements per parallel work item of the optimizer kernels; tensors up to twice this run on the calling thread.</summary>
    internal const int OptimChunk = 1 << 15;

    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        OptimOps.CheckSgdStep(param, grad, momentumBuffer, args);
        switch (param.DType)
        {
            case DType.Float32: RunChunks(param.Numel, SgdKernel<float>.Create(param, grad, momentumBuffer, args)); break;
            case DType.Float64: RunChunks(param.Numel, SgdKernel<double>.Create(param, grad, momentumBuffer, args)); break;
            default: throw new ArgumentException($"cpu sgd_step: param {param.ShapeText} is {param.DType.Name()}; expected float32 or float64");
        }
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        OptimOps.CheckAdamStep(param, grad, expAvg, expAvgSq, args);
        switch (param.DType)
        {
            case DType.Float32: RunChunks(param.Numel, AdamKernel<float>.Create(param, grad, expAvg, expAvgSq, args)); break;
            case DType.Float64: RunChunks(param.Numel, AdamKernel<double>.Create(param, grad, expAvg, expAvgSq, args)); break;
            default: throw new ArgumentException($"cpu adam_step: param {param.ShapeText} is {param.DType.Name()}; expected float32 or float64");
        }
    }

    /// <inheritdoc/>
    public void SumOfSquares(Tensor x, Tensor result)
    {
        OptimOps.CheckSumOfSquares(x, result);
        int n = x.Numel;
        // the parallel form is a separate method: its closure is allocated only for large tensors
        *Ptr<double>(result) = n <= 2 * OptimChunk ? SumOfSquares(x, 0, n) : SumOfSquaresParallel(x, n);
    }

    private static double SumOfSquaresParallel(Tensor x, int n)
    {
        int chunks = (n + OptimChunk - 1) / OptimChunk;
        var partial = new double[chunks];
        Parallelism.For(chunks, c => partial[c] = SumOfSquares(x, c * OptimChunk, Math.Min(n, (c + 1) * OptimChunk)));
        double total = 0;
        foreach (double s in partial) total += s;
        return total;
    }

    /// <summary>Σ x[i]² over [start, end): squares and sums in double (float32 lanes widened first).</summary>
    private static double SumOfSquares(Tensor t, int start, int end)
    {
        int i = start;
        var acc = Vector<double>.Zero;
        double tail = 0;
        if (t.DType == DType.Float32)
        {
            float* x = Ptr<float>(t);
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
            double* x = Ptr<double>(t);
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

    /// <summary>An elementwise update over [start, end) of its operands.</summary>
    private interface IChunkKernel
    {
        void Run(int start, int end);
    }

    /// <summary>Runs <paramref name="kernel"/> over [0, n): on this thread up to 2·<see cref="OptimChunk"/>, else in parallel chunks.</summary>
    private static void RunChunks<TKernel>(int n, TKernel kernel) where TKernel : struct, IChunkKernel
    {
        if (n <= 2 * OptimChunk) kernel.Run(0, n);
        else RunChunksParallel(n, kernel); // a separate method: the closure is allocated only for large tensors
    }

    private static void RunChunksParallel<TKernel>(int n, TKernel kernel) where TKernel : struct, IChunkKernel
    {
        int chunks = (n + OptimChunk - 1) / OptimChunk;
        Parallelism.For(chunks, c => kernel.Run(c * OptimChunk, Math.Min(n, (c + 1) * OptimChunk)));
    }

    /// <summary>The SGD rule of <see cref="SgdStepArgs"/> (see ReferenceBackend.Optim.cs for the scalar definition).</summary>
    private struct SgdKernel<T> : IChunkKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* P, G, Buf;
        public T Lr, WeightDecay, Momentum, OneMinusDampening;
        public bool HasWeightDecay, HasMomentum, FirstStep, Nesterov;

        public static SgdKernel<T> Create(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args) => new()
        {
            P = Ptr<T>(param),
            G = Ptr<T>(grad),
            Buf = momentumBuffer != null ? Ptr<T>(momentumBuffer) : null,
            Lr = T.CreateTruncating(args.Lr),
            WeightDecay = T.CreateTruncating(args.WeightDecay),
            Momentum = T.CreateTruncating(args.Momentum),
            OneMinusDampening = T.CreateTruncating(1 - args.Dampening),
            HasWeightDecay = args.WeightDecay != 0,
            HasMomentum = momentumBuffer != null,
            FirstStep = args.FirstStep,
            Nesterov = args.Nesterov,
        };

        public readonly void Run(int start, int end)
        {
            T* p = P, g = G, buf = Buf;
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

    /// <summary>The Adam / AdamW rule of <see cref="AdamStepArgs"/> (see ReferenceBackend.Optim.cs for the scalar definition).</summary>
    private struct AdamKernel<T> : IChunkKernel where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* P, G, M, V;
        public T Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, StepSize, Bc2Sqrt, Eps, WeightDecay, Decay;
        public bool L2, Decoupled;

        public static AdamKernel<T> Create(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args) => new()
        {
            P = Ptr<T>(param),
            G = Ptr<T>(grad),
            M = Ptr<T>(expAvg),
            V = Ptr<T>(expAvgSq),
            Beta1 = T.CreateTruncating(args.Beta1),
            OneMinusBeta1 = T.CreateTruncating(1 - args.Beta1),
            Beta2 = T.CreateTruncating(args.Beta2),
            OneMinusBeta2 = T.CreateTruncating(1 - args.Beta2),
            StepSize = T.CreateTruncating(args.StepSize),
            Bc2Sqrt = T.CreateTruncating(args.Bc2Sqrt),
            Eps = T.CreateTruncating(args.Eps),
            WeightDecay = T.CreateTruncating(args.WeightDecay),
            Decay = T.CreateTruncating(args.Decay),
            L2 = args.HasL2,
            Decoupled = args.HasDecoupledDecay,
        };

        public readonly void Run(int start, int end)
        {
            T* p = P, g = G, m = M, v = V;
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
}
