using System.Runtime.Intrinsics;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors.Tests;

/// <summary>
/// <see cref="Sgemm.RunImplicitB"/> (B read through row and column offsets) and <see cref="Sgemm.RunImplicitC"/>
/// (C added through row and column offsets), as convolutions use them, against naive loops in double, for
/// every kernel family: odd, prime and unit sizes, column runs of every length (so the vector moves, their
/// overlaps and masks, and the scalar fallback all run), colliding destinations, column sub-ranges, beta.
/// </summary>
public unsafe class ImplicitGemmTests
{
    [Theory]
    [MemberData(nameof(SgemmTests.Isas), MemberType = typeof(SgemmTests))]
    public void RandomShapes_MatchNaive(int isaValue)
    {
        var isa = (SgemmIsa)isaValue;
        var kern = SgemmKernel.For(isa);
        var rng = new Random(4321 + isaValue);
        int cases = (isa is SgemmIsa.Avx512 or SgemmIsa.Avx512x12) && !Vector512.IsHardwareAccelerated ? 20 : 80;
        int[] sizes = [1, 2, 3, 4, 5, 7, 8, 12, 13, 20, 31, 32, 64, 67];
        for (int t = 0; t < cases; t++)
        {
            int m = sizes[rng.Next(sizes.Length)], n = sizes[rng.Next(sizes.Length)] + rng.Next(3), k = sizes[rng.Next(sizes.Length)];
            int kcMax = 1 + rng.Next(Math.Max(1, k)); // one K block or several
            int maxRun = t % 4 == 0 ? 1 : 1 + rng.Next(20);  // runs of 1 take the scalar path
            float beta = rng.Next(3) switch { 0 => 0f, 1 => 1f, _ => -0.5f };
            int j0 = rng.Next(3) == 0 ? rng.Next(n) : 0, j1 = rng.Next(3) == 0 ? j0 + 1 + rng.Next(n - j0) : n;
            Check(kern, m, n, k, kcMax, maxRun, beta, j0, j1, rng);
        }
    }

    [Theory]
    [MemberData(nameof(SgemmTests.Isas), MemberType = typeof(SgemmTests))]
    public void ImplicitC_RandomShapes_MatchNaive(int isaValue)
    {
        var isa = (SgemmIsa)isaValue;
        var kern = SgemmKernel.For(isa);
        var rng = new Random(8765 + isaValue);
        int cases = (isa is SgemmIsa.Avx512 or SgemmIsa.Avx512x12) && !Vector512.IsHardwareAccelerated ? 20 : 80;
        int[] sizes = [1, 2, 3, 4, 5, 7, 8, 12, 13, 20, 31, 32, 64, 67];
        for (int t = 0; t < cases; t++)
        {
            int m = sizes[rng.Next(sizes.Length)], n = sizes[rng.Next(sizes.Length)] + rng.Next(3), k = sizes[rng.Next(sizes.Length)];
            int kcMax = 1 + rng.Next(Math.Max(1, k));
            int maxRun = t % 4 == 0 ? 1 : 1 + rng.Next(20);
            int j0 = rng.Next(3) == 0 ? rng.Next(n) : 0, j1 = rng.Next(3) == 0 ? j0 + 1 + rng.Next(n - j0) : n;
            CheckC(kern, m, n, k, kcMax, maxRun, j0, j1, rng);
        }
    }

    [Fact]
    public void PanelPlan_CoversEveryRowOnce()
    {
        var kern = SgemmKernel.For(SgemmIsa.Auto);
        for (int m = 1; m < 100; m++)
        {
            var plan = new PanelPlan(kern, m);
            Assert.Equal(m, plan.Full * kern.MR + plan.Edge * kern.EdgeRows + plan.Partial);
            Assert.True(plan.Partial < kern.MR, $"m={m}: partial panel of {plan.Partial} rows");
        }
        if (kern.EdgeRows == 4 && kern.MR == 6)
        {
            var p32 = new PanelPlan(kern, 32);
            Assert.Equal((4, 2, 0), (p32.Full, p32.Edge, p32.Partial));
            Assert.Equal(32, p32.ComputedRows(kern));
        }
    }

    /// <summary>Column offsets in runs of consecutive values (up to <paramref name="maxRun"/> long) with random gaps.</summary>
    private static int[] RunOffsets(int n, int maxRun, Random rng, out int end)
    {
        var off = new int[n];
        int at = rng.Next(5);
        for (int j = 0; j < n;)
        {
            int len = Math.Min(n - j, 1 + rng.Next(maxRun));
            for (int t = 0; t < len; t++) off[j + t] = at + t;
            j += len;
            at += len + rng.Next(1, 9);
        }
        end = at;
        return off;
    }

    private static void CheckC(in SgemmKernel kern, int m, int n, int k, int kcMax, int maxRun, int j0, int j1, Random rng)
    {
        // C(i, j) is added to dst[rowOff[i] + colOff[j]]; row offsets collide on purpose (overlapping windows)
        var colOff = RunOffsets(n, maxRun, rng, out int end);
        var rowOff = new int[m];
        for (int i = 0; i < m; i++) rowOff[i] = rng.Next(Math.Max(1, m / 2 + 3));
        int dstLen = m + 3 + end + ImplicitB.Slack;
        var dst = new float[dstLen];
        for (int i = 0; i < dstLen; i++) dst[i] = (float)(rng.NextDouble() * 2 - 1);
        var a = new float[m * k];
        var b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        var want = new double[dstLen];
        var mag = new double[dstLen];
        for (int i = 0; i < dstLen; i++) { want[i] = dst[i]; mag[i] = Math.Abs(dst[i]); }
        for (int i = 0; i < m; i++)
            for (int j = j0; j < j1; j++)
                for (int p = 0; p < k; p++)
                {
                    double v = (double)a[i * k + p] * b[p * n + j];
                    want[rowOff[i] + colOff[j]] += v;
                    mag[rowOff[i] + colOff[j]] += Math.Abs(v);
                }

        var packed = new float[Sgemm.PackedASize(kern, m, k)];
        var strip = new float[k * kern.NR];
        var tile = new float[kern.MR * kern.NR + ImplicitB.Slack];
        fixed (float* ap = a, bp = b, pp = packed, dp = dst, sp = strip, tp = tile)
        fixed (int* ro = rowOff, co = colOff)
        {
            Sgemm.PackAllA(kern, pp, ap, k, false, m, k, kcMax);
            Sgemm.RunImplicitC(kern, m, k, kcMax, pp, bp, n, new ImplicitC(dp, ro, co), j0, j1, sp, tp);
        }
        string what = $"{kern.Isa} m={m} n={n} k={k} kc={kcMax} runs≤{maxRun} cols [{j0}, {j1})";
        for (int i = 0; i < dstLen; i++)
            Assert.True(Math.Abs(dst[i] - want[i]) <= 1e-5 * (mag[i] + 1), $"{what}: dst[{i}] = {dst[i]}, want {want[i]}");
    }

    private static void Check(in SgemmKernel kern, int m, int n, int k, int kcMax, int maxRun, float beta, int j0, int j1, Random rng)
    {
        // column offsets: runs of consecutive offsets with random jumps between them; row offsets: random
        var colOff = RunOffsets(n, maxRun, rng, out int at);
        var rowOff = new int[k];
        for (int p = 0; p < k; p++) rowOff[p] = rng.Next(50);
        int srcLen = 50 + at + ImplicitB.Slack;
        var src = new float[srcLen];
        for (int i = 0; i < srcLen; i++) src[i] = (float)(rng.NextDouble() * 2 - 1);
        var a = new float[m * k];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        var c = new float[m * n];
        for (int i = 0; i < c.Length; i++) c[i] = beta == 0f ? float.NaN : (float)(rng.NextDouble() * 2 - 1);
        var before = (float[])c.Clone();

        var packed = new float[Sgemm.PackedASize(kern, m, k)];
        var panel = new float[kcMax * kern.NR + ImplicitB.Slack];
        var tile = new float[kern.MR * kern.NR];
        fixed (float* ap = a, pp = packed, sp = src, cp = c, pnl = panel, tp = tile)
        fixed (int* ro = rowOff, co = colOff)
        {
            Sgemm.PackAllA(kern, pp, ap, k, false, m, k, kcMax);
            Sgemm.RunImplicitB(kern, m, k, kcMax, pp, new ImplicitB(sp, ro, co), j0, j1, cp, n, beta, pnl, tp);
        }

        string what = $"{kern.Isa} m={m} n={n} k={k} kc={kcMax} runs≤{maxRun} beta={beta} cols [{j0}, {j1})";
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float got = c[i * n + j];
                if (j < j0 || j >= j1)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(before[i * n + j]) == BitConverter.SingleToInt32Bits(got), $"{what}: ({i}, {j}) outside the range changed");
                    continue;
                }
                double want = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double v = (double)a[i * k + p] * src[rowOff[p] + colOff[j]];
                    want += v;
                    mag += Math.Abs(v);
                }
                if (beta != 0f) { want += beta * before[i * n + j]; mag += Math.Abs(beta * before[i * n + j]); }
                Assert.True(Math.Abs(got - want) <= 1e-5 * (mag + 1), $"{what}: ({i}, {j}) = {got}, want {want}");
            }
    }
}
