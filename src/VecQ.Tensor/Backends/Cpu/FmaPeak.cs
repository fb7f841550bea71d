using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// Measures the machine's FP32 fused-multiply-add peak: the ceiling that kernels (SGEMM, convolutions)
/// are quoted against. Each thread runs twelve independent FMA dependency chains (enough to cover a
/// 4-cycle latency on two FMA pipes) of the widest accelerated vector for a fixed wall time.
/// </summary>
/// <remarks>
/// This machine's speed swings 2–3× from minute to minute (DESIGN §9), so a peak is only meaningful
/// next to the measurement it normalizes: take one burst just before and one just after the kernel.
/// The threads are the same pool threads SGEMM uses (<see cref="WorkerPool"/>). Public for the benchmarks
/// (`vecq bench` reports it beside every timing); it touches no tensor memory.
/// </remarks>
/// <example><code>double gflops = FmaPeak.Measure(Parallelism.Threads, 0.2);</code></example>
public static unsafe class FmaPeak
{
    /// <summary>Independent accumulator chains per thread.</summary>
    private const int Chains = 12;
    /// <summary>Loop iterations between clock reads (~0.1–0.5 ms of work).</summary>
    private const long ItersPerChunk = 50_000;

    /// <summary>Per-run shared state: inputs and per-thread results.</summary>
    private struct State
    {
        public long Deadline;          // Stopwatch ticks
        public long* Start, End, Flops; // per part
        public float Sink;
    }

    /// <summary>
    /// FP32 FMA throughput of <paramref name="threads"/> threads running together for about
    /// <paramref name="seconds"/>, in GFLOP/s (one FMA = 2 FLOP).
    /// </summary>
    /// <param name="threads">Threads to load (≤ 1: the calling thread only).</param>
    /// <param name="seconds">Wall time of the burst (e.g. 0.05–0.2).</param>
    public static double Measure(int threads, double seconds)
    {
        int parts = Math.Max(1, threads);
        long* start = stackalloc long[parts];
        long* end = stackalloc long[parts];
        long* flops = stackalloc long[parts];
        State s = new()
        {
            Deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency),
            Start = start, End = end, Flops = flops,
        };
        WorkerPool.Run(parts, &RunPart, &s);
        long first = long.MaxValue, last = long.MinValue, total = 0;
        for (int t = 0; t < parts; t++)
        {
            first = Math.Min(first, start[t]);
            last = Math.Max(last, end[t]);
            total += flops[t];
        }
        double wall = (double)(last - first) / Stopwatch.Frequency;
        return wall > 0 ? total / wall / 1e9 : 0;
    }

    /// <summary>FLOPs of one <see cref="Burst"/> iteration for the widest accelerated vector.</summary>
    private static int FlopsPerIteration =>
        2 * Chains * (Vector512.IsHardwareAccelerated ? 16
            : Fma.IsSupported && Avx.IsSupported ? 8
            : Vector<float>.Count);

    private static void RunPart(void* state, int part)
    {
        State* s = (State*)state;
        float sink = 0;
        long iters = 0;
        s->Start[part] = Stopwatch.GetTimestamp();
        long now;
        do
        {
            sink += Burst(ItersPerChunk);
            iters += ItersPerChunk;
            now = Stopwatch.GetTimestamp();
        } while (now < s->Deadline);
        s->End[part] = now;
        s->Flops[part] = iters * FlopsPerIteration;
        if (sink == 12345f) s->Sink = sink; // keeps the loop observable
    }

    /// <summary>Runs <paramref name="iters"/> iterations of <see cref="Chains"/> FMAs on the widest accelerated vector.</summary>
    private static float Burst(long iters)
    {
        if (Vector512.IsHardwareAccelerated) return Burst512(iters);
        if (Fma.IsSupported && Avx.IsSupported) return Burst256(iters);
        return BurstPortable(iters);
    }

    /// <summary>12 chains of acc ← acc·x + y in <see cref="Vector512{T}"/> (converges to y/(1−x); no overflow, no denormals).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Burst512(long iters)
    {
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(1e-3f);
        Vector512<float> a0 = Vector512.Create(0.0f), a1 = Vector512.Create(0.1f), a2 = Vector512.Create(0.2f),
            a3 = Vector512.Create(0.3f), a4 = Vector512.Create(0.4f), a5 = Vector512.Create(0.5f),
            a6 = Vector512.Create(0.6f), a7 = Vector512.Create(0.7f), a8 = Vector512.Create(0.8f),
            a9 = Vector512.Create(0.9f), a10 = Vector512.Create(1.0f), a11 = Vector512.Create(1.1f);
        for (long i = 0; i < iters; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }
        Vector512<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        return Vector512.Sum(sum);
    }

    /// <summary>12 chains of acc ← acc·x + y in <see cref="Vector256{T}"/> with FMA3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Burst256(long iters)
    {
        Vector256<float> x = Vector256.Create(0.999f), y = Vector256.Create(1e-3f);
        Vector256<float> a0 = Vector256.Create(0.0f), a1 = Vector256.Create(0.1f), a2 = Vector256.Create(0.2f),
            a3 = Vector256.Create(0.3f), a4 = Vector256.Create(0.4f), a5 = Vector256.Create(0.5f),
            a6 = Vector256.Create(0.6f), a7 = Vector256.Create(0.7f), a8 = Vector256.Create(0.8f),
            a9 = Vector256.Create(0.9f), a10 = Vector256.Create(1.0f), a11 = Vector256.Create(1.1f);
        for (long i = 0; i < iters; i++)
        {
            a0 = Fma.MultiplyAdd(a0, x, y); a1 = Fma.MultiplyAdd(a1, x, y);
            a2 = Fma.MultiplyAdd(a2, x, y); a3 = Fma.MultiplyAdd(a3, x, y);
            a4 = Fma.MultiplyAdd(a4, x, y); a5 = Fma.MultiplyAdd(a5, x, y);
            a6 = Fma.MultiplyAdd(a6, x, y); a7 = Fma.MultiplyAdd(a7, x, y);
            a8 = Fma.MultiplyAdd(a8, x, y); a9 = Fma.MultiplyAdd(a9, x, y);
            a10 = Fma.MultiplyAdd(a10, x, y); a11 = Fma.MultiplyAdd(a11, x, y);
        }
        Vector256<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        return Vector256.Sum(sum);
    }

    /// <summary>12 chains of acc ← acc·x + y in <see cref="Vector{T}"/> (any CPU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float BurstPortable(long iters)
    {
        Vector<float> x = new(0.999f), y = new(1e-3f);
        Vector<float> a0 = new(0.0f), a1 = new(0.1f), a2 = new(0.2f), a3 = new(0.3f), a4 = new(0.4f), a5 = new(0.5f),
            a6 = new(0.6f), a7 = new(0.7f), a8 = new(0.8f), a9 = new(0.9f), a10 = new(1.0f), a11 = new(1.1f);
        for (long i = 0; i < iters; i++)
        {
            a0 = Vector.FusedMultiplyAdd(a0, x, y); a1 = Vector.FusedMultiplyAdd(a1, x, y);
            a2 = Vector.FusedMultiplyAdd(a2, x, y); a3 = Vector.FusedMultiplyAdd(a3, x, y);
            a4 = Vector.FusedMultiplyAdd(a4, x, y); a5 = Vector.FusedMultiplyAdd(a5, x, y);
            a6 = Vector.FusedMultiplyAdd(a6, x, y); a7 = Vector.FusedMultiplyAdd(a7, x, y);
            a8 = Vector.FusedMultiplyAdd(a8, x, y); a9 = Vector.FusedMultiplyAdd(a9, x, y);
            a10 = Vector.FusedMultiplyAdd(a10, x, y); a11 = Vector.FusedMultiplyAdd(a11, x, y);
        }
        Vector<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        return Vector.Sum(sum);
    }
}
