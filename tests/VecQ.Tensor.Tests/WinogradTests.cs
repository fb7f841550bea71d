using System.Runtime.Intrinsics.X86;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Winograd F(4×4, r×r) convolutions: the computed transforms against the definition, and the CPU paths
/// (forward and input gradient, run directly whatever <see cref="CpuBackend.UseWinograd"/> says) against the
/// float64 reference, with the error measured against the outputs' scale.
/// </summary>
public class WinogradTests
{
    [Theory]
    [InlineData(2, 3)]
    [InlineData(4, 3)]
    [InlineData(4, 5)]
    [InlineData(2, 5)]
    public void TransformsComputeTheCorrelation(int m, int r)
    {
        // y_i = Σ_k d_{i+k}·g_k for i < m, from y = Aᵀ[(G g) ⊙ (Bᵀ d)] with the float matrices, in double
        var f = WinogradMatrices.For(m, r);
        int alpha = f.Alpha;
        Assert.Equal(m + r - 1, alpha);
        var rng = new Random(m * 10 + r);
        for (int trial = 0; trial < 20; trial++)
        {
            double[] d = Enumerable.Range(0, alpha).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            double[] g = Enumerable.Range(0, r).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var gg = new double[alpha];
            var bd = new double[alpha];
            for (int j = 0; j < alpha; j++)
            {
                for (int k = 0; k < r; k++) gg[j] += f.G[j * r + k] * g[k];
                for (int k = 0; k < alpha; k++) bd[j] += f.BT[j * alpha + k] * d[k];
            }
            for (int i = 0; i < m; i++)
            {
                double y = 0, want = 0;
                for (int j = 0; j < alpha; j++) y += f.AT[i * alpha + j] * gg[j] * bd[j];
                for (int k = 0; k < r; k++) want += d[i + k] * g[k];
                Assert.True(Math.Abs(y - want) < 1e-5, $"F({m}, {r}) trial {trial} output {i}: {y} vs {want}");
            }
        }
    }

    public static TheoryData<int, int, int, int, int, int, int> Cases() => new()
    {
        // n, c, h, w, o, k, pad
        { 2, 32, 14, 14, 64, 5, 2 },    // LeNet5 conv2
        { 1, 16, 7, 9, 17, 5, 2 },      // odd sizes: partial tiles in both directions
        { 3, 17, 13, 11, 16, 3, 1 },    // 3×3 "same"
        { 1, 16, 6, 6, 16, 3, 0 },      // 3×3 "valid": 4×4 outputs, one tile
        { 2, 19, 5, 8, 23, 5, 4 },      // padding r − 1 (outputs larger than the input)
        { 1, 16, 2, 3, 16, 3, 1 },      // fewer outputs than one tile
        { 2, 33, 32, 32, 16, 3, 1 },    // many tiles, channels not a multiple of 8
        { 5, 20, 7, 7, 24, 3, 1 },      // 4 tiles a sample: the samples side by side (20 columns)
        { 3, 16, 10, 6, 19, 3, 1 },     // 6 tiles a sample, partial tiles, columns not a multiple of 8
    };

    /// <summary>A theory reported as Skipped on a CPU without AVX2 and FMA, where the Winograd path does not exist.</summary>
    private sealed class Avx2TheoryAttribute : TheoryAttribute
    {
        public Avx2TheoryAttribute()
        {
            if (!(Avx2.IsSupported && Fma.IsSupported)) Skip = "the Winograd path exists only with AVX2 and FMA";
        }
    }

    [Avx2Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndInputGradientMatchTheReference(int n, int c, int h, int w, int o, int k, int pad)
    {
        var g = Conv2dGeometry.Create(n, c, h, w, o, k, k, (1, 1), (pad, pad), (1, 1), 1);
        var rng = new Rng((ulong)(n + 10 * c + 100 * o + k));
        using var x = Tensor.RandN([n, c, h, w], rng);
        using var wt = Tensor.RandN([o, c, k, k], rng, 0, 0.1);
        using var b = Tensor.RandN([o], rng);
        using var dy = Tensor.RandN([n, o, g.OH, g.OW], rng);
        using var y = Tensor.Empty([n, o, g.OH, g.OW]);
        using var dx = Tensor.Empty([n, c, h, w]);
        CpuBackend.WinogradForTests(x, wt, b, g, y, backwardData: false);
        CpuBackend.WinogradForTests(dy, wt, null, g, dx, backwardData: true);
        using var x64 = x.Cast(DType.Float64);
        using var w64 = wt.Cast(DType.Float64);
        using var b64 = b.Cast(DType.Float64);
        using var dy64 = dy.Cast(DType.Float64);
        using var yRef = ConvOps.Conv2d(x64, w64, b64, (1, 1), (pad, pad));
        using var dxRef = ConvOps.Conv2dBackwardData(dy64, w64, x.Dims, (1, 1), (pad, pad));
        Close($"y {Shape.Format(x.Dims)} k{k} p{pad}", yRef.ToArray<double>(), y.ToArray());
        Close($"dx {Shape.Format(x.Dims)} k{k} p{pad}", dxRef.ToArray<double>(), dx.ToArray());
    }

    [Avx2Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SamplesSideBySide_GiveTheSameBitsWhateverTheBlock(int maxBlock)
    {
        // 7×7 outputs, 4 tiles a sample: blocks of maxBlock samples (the last one partial) against the whole batch in one
        var g = Conv2dGeometry.Create(5, 24, 7, 7, 40, 3, 3, (1, 1), (1, 1), (1, 1), 1);
        var rng = new Rng(41);
        using var x = Tensor.RandN([5, 24, 7, 7], rng);
        using var wt = Tensor.RandN([40, 24, 3, 3], rng, 0, 0.1);
        using var b = Tensor.RandN([40], rng);
        using var dy = Tensor.RandN([5, 40, 7, 7], rng);
        using var y = Tensor.Empty([5, 40, 7, 7]);
        using var yBlocked = Tensor.Empty([5, 40, 7, 7]);
        using var dx = Tensor.Empty([5, 24, 7, 7]);
        using var dxBlocked = Tensor.Empty([5, 24, 7, 7]);
        CpuBackend.WinogradForTests(x, wt, b, g, y, backwardData: false);
        CpuBackend.WinogradForTests(x, wt, b, g, yBlocked, backwardData: false, maxBlock);
        CpuBackend.WinogradForTests(dy, wt, null, g, dx, backwardData: true);
        CpuBackend.WinogradForTests(dy, wt, null, g, dxBlocked, backwardData: true, maxBlock);
        Assert.Equal(y.ToArray(), yBlocked.ToArray());
        Assert.Equal(dx.ToArray(), dxBlocked.ToArray());
        using var x64 = x.Cast(DType.Float64);
        using var w64 = wt.Cast(DType.Float64);
        using var b64 = b.Cast(DType.Float64);
        using var yRef = ConvOps.Conv2d(x64, w64, b64, (1, 1), (1, 1));
        Close($"y blocks of {maxBlock}", yRef.ToArray<double>(), yBlocked.ToArray());
    }

    // Every value within 1e-4 of the exact outputs' RMS (the direct convolution's error is about 2e-6 of it,
    // Winograd's about 3e-5: its transforms scale by up to 2⁶ before the sums cancel).
    private static void Close(string what, double[] exact, float[] got)
    {
        Assert.Equal(exact.Length, got.Length);
        double rms = Math.Sqrt(exact.Select(v => v * v).Average());
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(got[i] - exact[i]) <= 1e-4 * rms, $"{what}[{i}]: {got[i]} vs {exact[i]} (RMS {rms})");
    }
}
