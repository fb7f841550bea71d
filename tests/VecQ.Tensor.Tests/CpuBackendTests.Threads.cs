using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Tests that change the global <see cref="Parallelism.Threads"/>: they run alone (no other test class
/// runs beside this collection), so no concurrent test sees the changed thread count.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuBackendThreadCollection
{
    /// <summary>Name of the serial collection.</summary>
    public const string Name = "CpuBackend thread count";
}

/// <summary>The multi-threaded CPU kernels give the reference results with 1, 2 and 3 threads.</summary>
[Collection(CpuBackendThreadCollection.Name)]
public sealed class CpuBackendThreadTests
{
    /// <summary>The CPU column of the op suite: CPU tensors under <c>Backend.Use(Backend.Cpu)</c>.</summary>
    private static readonly BackendCase Cpu = BackendCase.Get("cpu");

    private static void WithThreads(int threads, Action body)
    {
        int saved = Parallelism.Threads;
        Parallelism.Threads = threads;
        try { body(); }
        finally { Parallelism.Threads = saved; }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ElementwiseAndReductionsMatchForAnyThreadCount(int threads) => WithThreads(threads, () =>
    {
        Same(Cpu, $"add big ({threads} threads)", d =>
        {
            using var a = d.Rand(1, 301, 257);
            using var b = d.Rand(2, 257);
            return a + b;
        });
        Same(Cpu, $"exp transposed big ({threads} threads)", d =>
        {
            using var a = d.Rand(3, 257, 301);
            using var t = a.T();
            return t.Exp();
        });
        Same(Cpu, $"transpose copy ({threads} threads)", d =>
        {
            using var a = d.Rand(4, 257, 301);
            using var t = a.T();
            return t.Contiguous();
        }, 0, 0);
        foreach (var axes in new int[][] { [0], [1], [0, 2, 3], [] })
            Same(Cpu, $"sum {Shape.Format(axes)} ({threads} threads)", d =>
            {
                using var x = d.Rand(5, 50, 16, 12, 12);
                return x.Sum(axes);
            }, 2e-4, 1e-4);
        Same(Cpu, $"max rows ({threads} threads)", d => { using var x = d.Rand(6, 500, 301); return x.Max([1]); });
        Same(Cpu, $"sum one row ({threads} threads)", d => { using var x = d.Rand(6, 200_001); return x.Sum(); }, 1e-3, 1e-4);
        Same(Cpu, $"batch norm var ({threads} threads)", d =>
        {
            using var x = d.Rand(7, 40, 24, 81);
            var (m, v) = NnOps.BatchNormStats(x);
            m.Dispose();
            return v;
        }, 1e-6, 1e-4);
    });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ConvMatMulAndPoolingMatchForAnyThreadCount(int threads) => WithThreads(threads, () =>
    {
        foreach (var n in new[] { 1, 5, 12 })
        {
            var g = Conv2dGeometry.Create(n, 6, 12, 12, 8, 3, 3, (1, 1), (1, 1), (1, 1), 1);
            Same(Cpu, $"conv y n{n} ({threads} threads)", d =>
            {
                using var x = d.Rand(1, n, 6, 12, 12);
                using var w = d.Rand(2, 8, 6, 3, 3);
                using var b = d.Rand(3, 8);
                return ConvOps.Conv2d(x, w, b, (1, 1), (1, 1));
            }, 1e-4, 1e-4);
            Same(Cpu, $"conv dx n{n} ({threads} threads)", d =>
            {
                using var dy = d.Rand(4, n, 8, g.OH, g.OW);
                using var w = d.Rand(2, 8, 6, 3, 3);
                return ConvOps.Conv2dBackwardData(dy, w, [n, 6, 12, 12], (1, 1), (1, 1));
            }, 1e-4, 1e-4);
            Same(Cpu, $"conv dw n{n} ({threads} threads)", d =>
            {
                using var x = d.Rand(1, n, 6, 12, 12);
                using var dy = d.Rand(4, n, 8, g.OH, g.OW);
                return ConvOps.Conv2dBackwardWeight(x, dy, [8, 6, 3, 3], (1, 1), (1, 1));
            }, 2e-4, 1e-4);
            Same(Cpu, $"depthwise n{n} ({threads} threads)", d =>
            {
                using var x = d.Rand(1, n, 6, 12, 12);
                using var w = d.Rand(2, 6, 1, 3, 3);
                return ConvOps.Conv2d(x, w, null, (1, 1), (1, 1), groups: 6);
            }, 1e-4, 1e-4);
        }
        Same(Cpu, $"matmul ({threads} threads)", d =>
        {
            using var a = d.Rand(1, 150, 200);
            using var b = d.Rand(2, 180, 200);
            using var bt = b.T();
            return a.MatMul(bt);
        }, 1e-4, 1e-4);
        Same(Cpu, $"batched matmul ({threads} threads)", d =>
        {
            using var a = d.Rand(1, 300, 12, 10);
            using var b = d.Rand(2, 300, 10, 14);
            return a.MatMul(b);
        }, 1e-4, 1e-4);
        SameAll(Cpu, $"max pool ({threads} threads)", d =>
        {
            using var x = d.Rand(1, 20, 16, 20, 20);
            var (y, idx) = ConvOps.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
            using var dy = d.Rand(2, y.Dims);
            var dx = ConvOps.MaxPool2dBackward(dy, idx, x.Dims, (3, 3), (2, 2), (1, 1));
            return [y, idx, dx];
        }, 1e-6, 1e-5);
        SameAll(Cpu, $"cross entropy ({threads} threads)", d =>
        {
            using var logits = d.Rand(1, 700, 60);
            using var labels = d.RandInt(2, 60, 700);
            var (loss, probs) = NnOps.SoftmaxCrossEntropy(logits, labels, 0.1);
            return [loss, probs];
        }, 1e-5, 1e-4);
        Same(Cpu, $"index_add ({threads} threads)", d =>
        {
            var dst = d.Rand(1, 50, 512);
            using var idx = d.RandInt(2, 50, 300);
            using var src = d.Rand(3, 300, 512);
            dst.IndexAdd_(0, idx, src);
            return dst;
        }, 1e-6, 1e-5);
    });

    [Fact]
    public void OptimKernelsAreTheSameForAnyThreadCount()
    {
        int n = 5 * CpuBackend.OptimChunk + 7; // six chunks: run in parallel
        long[] Run(int threads)
        {
            var bits = new List<long>();
            WithThreads(threads, () =>
            {
                using var p = Cpu.Rand(1, n);
                using var g = Cpu.Rand(2, n);
                using var buf = Cpu.Rand(3, n);
                using var m = Cpu.Rand(4, n);
                using var v0 = Cpu.Rand(5, n);
                using var v = v0.Abs();
                Backend.Cpu.SgdStep(p, g, buf, new SgdStepArgs(Lr: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true));
                Backend.Cpu.AdamStep(p, g, m, v, new AdamStepArgs(Lr: 0.01, Step: 3, WeightDecay: 0.01));
                bits.Add(BitConverter.DoubleToInt64Bits(Backend.Cpu.SumOfSquares(p)));
                foreach (var t in new[] { p, buf, m, v })
                    bits.AddRange(t.ToArray().Select(x => (long)BitConverter.SingleToInt32Bits(x)));
            });
            return bits.ToArray();
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }

    [Fact]
    public void ReluBatchNormMaxPoolIsThreadCountInvariant()
    {
        // LeNet5 conv1's shape at batch 8: one thread and two give the same bits.
        Func<BackendCase, Tensor[]> tail = d => BackendOpTests.Tail(d, 8, 32, 28, 28, 2, 2, 0, true);
        OpCheck.Result[] Run(int threads)
        {
            OpCheck.Result[] r = [];
            WithThreads(threads, () => r = OpCheck.Run(Cpu, tail));
            return r;
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Length, two.Length);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i].Values, two[i].Values);
    }

    [Fact]
    public void RandomFillIsTheSameForAnyThreadCount()
    {
        float[] Draw(int threads)
        {
            float[] result = [];
            WithThreads(threads, () =>
            {
                using var scope = Backend.Use(Backend.Cpu);
                using var t = Tensor.RandN([50_001], new Rng(3));
                result = t.ToArray();
            });
            return result;
        }
        var one = Draw(1);
        Assert.Equal(one, Draw(2));
        Assert.Equal(one, Draw(3));
    }
}
