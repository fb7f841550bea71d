using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors.Tests;

/// <summary>
/// <see cref="Sgemm"/> against a naive triple loop in double: odd, prime and unit sizes, every transpose
/// combination, padded strides, alpha/beta, beta = 0 over NaN, one and several threads, every kernel family.
/// </summary>
public unsafe class SgemmTests
{
    private static readonly int[] Sizes = [1, 2, 3, 7, 13, 31, 64, 97, 130];

    /// <summary>Kernel families runnable here (512-bit runs in software when not accelerated).</summary>
    public static TheoryData<int> Isas()
    {
        var d = new TheoryData<int> { (int)SgemmIsa.Auto, (int)SgemmIsa.Portable, (int)SgemmIsa.Avx512, (int)SgemmIsa.Avx512x12 };
        if (Avx2.IsSupported && Fma.IsSupported) d.Add((int)SgemmIsa.Avx2);
        return d;
    }

    /// <summary>Random shapes over <see cref="Sizes"/> with all four transpose combinations.</summary>
    [Theory]
    [MemberData(nameof(Isas))]
    public void RandomShapes_MatchNaive(int isaValue)
    {
        var isa = (SgemmIsa)isaValue;
        var rng = new Random(1234 + isaValue);
        // The software Vector512 path is slow where not accelerated: fewer, smaller cases there.
        bool slow = (isa is SgemmIsa.Avx512 or SgemmIsa.Avx512x12) && !Vector512.IsHardwareAccelerated;
        int cases = slow ? 24 : 120;
        for (int t = 0; t < cases; t++)
        {
            int m = Sizes[rng.Next(Sizes.Length)], n = Sizes[rng.Next(Sizes.Length)], k = Sizes[rng.Next(Sizes.Length)];
            bool ta = (t & 1) != 0, tb = (t & 2) != 0;
            int padA = rng.Next(3) == 0 ? 0 : rng.Next(1, 9);
            int padB = rng.Next(3) == 0 ? 0 : rng.Next(1, 9);
            int padC = rng.Next(3) == 0 ? 0 : rng.Next(1, 9);
            float alpha = rng.Next(3) switch { 0 => 1f, 1 => -0.75f, _ => 1.5f };
            float beta = rng.Next(4) switch { 0 => 0f, 1 => 1f, 2 => 0.5f, _ => -2f };
            int threads = 1 + (t / 4) % 2;
            Check(m, n, k, ta, tb, padA, padB, padC, alpha, beta, threads, isa, minFmasPerPart: 1);
        }
    }

    /// <summary>Every size pair in a fixed grid, each transpose combination, with beta = 0 over NaN.</summary>
    [Fact]
    public void AllSizes_AllTransposes_BetaZeroIgnoresNaN()
    {
        foreach (int m in Sizes)
        foreach (int n in new[] { 1, 13, 64, 130 })
        foreach (int k in new[] { 1, 7, 97 })
        for (int tr = 0; tr < 4; tr++)
            Check(m, n, k, (tr & 1) != 0, (tr & 2) != 0, 0, 0, 3, 1f, 0f, threads: 2, SgemmIsa.Auto, minFmasPerPart: 1);
    }

    /// <summary>Larger shapes that cross KC/MC/NC block edges and split K into several equal blocks.</summary>
    [Theory]
    [InlineData(260, 4100, 531, false, false)] // packed: two NC blocks on one thread, shared B on more; K = 3×177
    [InlineData(211, 1001, 613, false, false)] // small-M path, partial last strip and last chunk
    [InlineData(64, 1960, 800, false, false)]  // LeNet-like small-M shape, K = 4×200
    [InlineData(257, 263, 769, true, true)]    // packed, every operand transposed
    [InlineData(1000, 13, 200, false, true)]   // narrow N: row chunks sharing B
    [InlineData(100, 9, 300, true, false)]     // small M, narrow N: a single column chunk
    [InlineData(100, 700, 3136 / 8, false, true)] // Linear-like x·Wᵀ, M ≤ MC: column chunks, each packing its own A and B
    [InlineData(143, 333, 257, true, true)]    // M just under MC, every operand transposed: column chunks, partial panels
    public void BlockEdges_MatchNaive(int m, int n, int k, bool ta, bool tb)
    {
        Check(m, n, k, ta, tb, 5, 3, 1, 0.5f, -1f, [1, 2, 3], SgemmIsa.Auto, Sgemm.DefaultMinFmasPerPart / 8);
    }

    /// <summary>Several threads packing B into shared memory block by block (a small shared limit).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SharedB_SeveralBlocks_MatchNaive(bool transB)
    {
        // 300 rows (packed path); k = 600 in K blocks of 200; shared blocks of 200 rows × 256 columns:
        // 3 × 3 blocks (the last column block 88 wide).
        Check(300, 600, 600, false, transB, 1, 2, 3, 1f, 0.5f, [2, 3], SgemmIsa.Auto, 1, sharedLimitFloats: 256 * 200);
    }

    /// <summary>The 512-bit kernel on a shape with several blocks (software-emulated where not accelerated).</summary>
    [Fact]
    public void Avx512Kernel_BlockEdges_MatchNaive()
    {
        Check(70, 200, 300, false, false, 0, 0, 0, 1f, 0.5f, 2, SgemmIsa.Avx512, 1);
        Check(45, 67, 400, true, true, 2, 1, 4, 2f, 0f, 1, SgemmIsa.Avx512, 1);
        Check(100, 70, 50, false, true, 1, 0, 2, 1f, 1f, 2, SgemmIsa.Avx512, 1); // 100 = 12·8 + 4: the 4-row edge kernel
        Check(12, 40, 30, false, false, 0, 0, 0, 1f, 0f, 1, SgemmIsa.Avx512, 1);
    }

    /// <summary>Concurrent callers (single- and multi-threaded calls mixed) each get their own correct result.</summary>
    [Fact]
    public void ConcurrentCalls_AreIndependent()
    {
        Parallel.For(0, 6, new ParallelOptions { MaxDegreeOfParallelism = 6 }, id =>
        {
            for (int rep = 0; rep < 3; rep++)
                Check(97 + id, 130 - id, 64 + 7 * id, (id & 1) != 0, (id & 2) != 0, id, 1, 2, 1f, 0f,
                    [1 + (rep + id) % 2], SgemmIsa.Auto, 1);
        });
    }

    /// <summary>k = 0 scales C by beta; alpha = 0 does too (A and B unread).</summary>
    [Fact]
    public void KZeroOrAlphaZero_ScalesC()
    {
        float[] c = [1f, 2f, float.NaN, 4f];
        fixed (float* pc = c)
        {
            Sgemm.Run(2, 2, 0, null, 1, false, null, 2, false, pc, 2, 1f, 0f, 1);
            Assert.Equal(new float[] { 0, 0, 0, 0 }, c);
            c[0] = 1; c[1] = 2; c[2] = 3; c[3] = 4;
            Sgemm.Run(2, 2, 0, null, 1, false, null, 2, false, pc, 2, 1f, 2f, 1);
            Assert.Equal(new float[] { 2, 4, 6, 8 }, c);
            float[] a = [1, 2, 3, 4];
            fixed (float* pa = a)
                Sgemm.Run(2, 2, 2, pa, 2, false, pa, 2, false, pc, 2, 0f, 0.5f, 1);
            Assert.Equal(new float[] { 1, 2, 3, 4 }, c);
        }
    }

    /// <summary>Untouched padding between rows of C stays untouched.</summary>
    [Fact]
    public void LeavesCPaddingAlone()
    {
        int m = 7, n = 19, k = 5, ldc = 23;
        var a = RandomArray(m * k, 1);
        var b = RandomArray(k * n, 2);
        var c = new float[m * ldc];
        Array.Fill(c, 42f);
        fixed (float* pa = a, pb = b, pc = c)
            Sgemm.Run(m, n, k, pa, k, false, pb, n, false, pc, ldc, 1f, 0f, 2);
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.Equal(42f, c[i * ldc + j]);
    }

    /// <summary>Bad arguments throw before anything is touched.</summary>
    [Fact]
    public void Validates()
    {
        var x = new float[16];
        fixed (float* p = x)
        {
            float* q = p;
            Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(-1, 2, 2, q, 2, false, q, 2, false, q, 2, 1, 0, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(2, 2, 3, q, 2, false, q, 2, false, q, 2, 1, 0, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Run(2, 3, 2, q, 2, false, q, 3, false, q, 2, 1, 0, 1));
        }
    }

    /// <summary>Equal K blocks: 800 → 200, never a short tail block.</summary>
    [Fact]
    public void EqualBlocks()
    {
        Assert.Equal(200, Sgemm.EqualBlock(800, 256));
        Assert.Equal(256, Sgemm.EqualBlock(1024, 256));
        Assert.Equal(7, Sgemm.EqualBlock(7, 256));
        Assert.Equal(177, Sgemm.EqualBlock(531, 256));
    }

    private static float[] RandomArray(int count, int seed)
    {
        var r = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Runs one case and compares every element of C (and that padding is untouched).</summary>
    private static void Check(int m, int n, int k, bool ta, bool tb, int padA, int padB, int padC,
        float alpha, float beta, int threads, SgemmIsa isa, long minFmasPerPart)
        => Check(m, n, k, ta, tb, padA, padB, padC, alpha, beta, [threads], isa, minFmasPerPart);

    /// <summary>Runs one case once per thread count against one naive reference.</summary>
    private static void Check(int m, int n, int k, bool ta, bool tb, int padA, int padB, int padC,
        float alpha, float beta, int[] threadCounts, SgemmIsa isa, long minFmasPerPart,
        long sharedLimitFloats = 0)
        => Check(m, n, k, ta, tb, padA, padB, padC, alpha, beta, threadCounts, SgemmKernel.For(isa), minFmasPerPart, sharedLimitFloats);

    /// <summary>Runs one case with a given kernel descriptor once per thread count against one naive reference.</summary>
    internal static void Check(int m, int n, int k, bool ta, bool tb, int padA, int padB, int padC,
        float alpha, float beta, int[] threadCounts, SgemmKernel kernel, long minFmasPerPart,
        long sharedLimitFloats = 0)
    {
        int lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + padC;
        int aRows = ta ? k : m, bRows = tb ? n : k;
        var rng = new Random(m * 7919 + n * 104729 + k * 31 + (ta ? 1 : 0) + (tb ? 2 : 0));
        var a = new float[aRows * lda];
        var b = new float[bRows * ldb];
        var c0 = new float[m * ldc];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < c0.Length; i++) c0[i] = beta == 0f ? float.NaN : (float)(rng.NextDouble() * 2 - 1);

        // Naive reference in double, with the magnitude Σ|a·b| that bounds float rounding error.
        var want = new double[m * n];
        var tol = new double[m * n];
        var bt = new double[n * k]; // op(B)ᵀ, row j contiguous in p
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++)
                bt[j * k + p] = tb ? b[j * ldb + p] : b[p * ldb + j];
        var arow = new double[k];
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++) arow[p] = ta ? a[p * lda + i] : a[i * lda + p];
            for (int j = 0; j < n; j++)
            {
                double sum = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double xy = arow[p] * bt[j * k + p];
                    sum += xy;
                    mag += Math.Abs(xy);
                }
                double old = beta == 0f ? 0 : c0[i * ldc + j];
                want[i * n + j] = alpha * sum + beta * old;
                tol[i * n + j] = 1e-5 * (Math.Abs(alpha) * mag + Math.Abs(beta * old)) + 1e-6;
            }
        }

        foreach (int threads in threadCounts)
        {
            var c = (float[])c0.Clone();
            fixed (float* pa = a, pb = b, pc = c)
                Sgemm.Run(m, n, k, pa, lda, ta, pb, ldb, tb, pc, ldc, alpha, beta, threads, kernel, minFmasPerPart, sharedLimitFloats);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double got = c[i * ldc + j];
                    if (!(Math.Abs(got - want[i * n + j]) <= tol[i * n + j]))
                        Assert.Fail($"{kernel} m={m} n={n} k={k} ta={ta} tb={tb} lda={lda} ldb={ldb} ldc={ldc} alpha={alpha} beta={beta} threads={threads}: C[{i},{j}] = {got}, want {want[i * n + j]} (tol {tol[i * n + j]})");
                }
                for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                    Assert.Equal(c0[i * ldc + j], c[i * ldc + j]);
            }
        }
    }
}
