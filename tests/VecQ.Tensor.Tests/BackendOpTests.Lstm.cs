using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// One LSTM layer over a sequence (RnnOps.LstmForward / LstmBackward: GEMMs and the fused cell) on every backend
// column against the reference, and the op layer's fallback for a backend without IFusedLstmCell.
public partial class BackendOpTests
{
    public static TheoryData<int, int, int, int, bool, bool, bool> LstmCases() => new()
    {
        // steps, batch, input, hidden, reverse, bias, strided input
        { 1, 1, 1, 1, false, true, false },      // all size 1
        { 5, 3, 4, 7, false, true, false },      // odd hidden: SIMD body and scalar tail
        { 7, 2, 3, 13, true, true, true },       // reverse, a transposed (strided) input view
        { 3, 5, 17, 8, false, false, false },    // no bias, prime input size
        { 11, 64, 6, 32, true, true, false },    // rows in parallel
        { 4, 3, 5, 43, false, true, false },     // 16 + 16 + 8 + 3: the 512-bit, 256-bit and scalar parts of a row
        { 6, 30, 9, 70, true, true, false },     // with ≥ 2 threads, chunks of 8 rows and one of 6; 4H = 280, H = 70: partial column panels
        { 40, 13, 4, 33, false, true, true },    // with ≥ 2 threads, chunks of 8 and 5 rows: a full and a partial row panel
    };

    // Forward (outputs, cells, activations) and every gradient of one layer.
    internal static Tensor[] LstmLayer(BackendCase d, int steps, int batch, int input, int hidden, bool reverse, bool bias, bool strided)
    {
        Tensor x;
        if (strided) { using var xb = d.Rand(1, batch, steps, input); x = xb.Transpose(0, 1); }   // [T, B, In] view of [B, T, In]
        else x = d.Rand(1, steps, batch, input);
        using (x)
        using (var h0 = d.Rand(2, batch, hidden))
        using (var c0 = d.Rand(3, batch, hidden))
        using (var wIh = d.Rand(4, 4 * hidden, input))
        using (var wHh = d.Rand(5, 4 * hidden, hidden))
        using (var b = bias ? d.Rand(6, 4 * hidden) : null)
        using (var dy = d.Rand(7, steps, batch, hidden))
        using (var dcN = d.Rand(8, batch, hidden))
        {
            var seq = RnnOps.LstmForward(x, h0, c0, wIh, wHh, b, reverse);
            using var g = RnnOps.LstmBackward(seq, x, h0, wIh, wHh, dy, dcN, inputGrad: true, stateGrad: true, weightGrad: true, biasGrad: true);
            return [seq.Output, seq.Cells, seq.Acts, g.Dx!.Clone(), g.Dh0!.Clone(), g.Dc0!.Clone(), g.DWih!.Clone(), g.DWhh!.Clone(), g.DBias!.Clone()];
        }
    }

    [BackendTheory]
    [MemberData(nameof(LstmCases))]
    public void LstmLayerMatchesReference(BackendCase b, int steps, int batch, int input, int hidden, bool reverse, bool bias, bool strided)
    {
        SameAll(b, $"lstm T{steps} B{batch} In{input} H{hidden} reverse={reverse} bias={bias} strided={strided}",
            d => LstmLayer(d, steps, batch, input, hidden, reverse, bias, strided), 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(LstmCases))]
    public void LstmFallbackWithoutTheFusedCellMatchesTheFusedOp(BackendCase b, int steps, int batch, int input, int hidden, bool reverse, bool bias,
        bool strided)
    {
        string what = $"lstm fallback T{steps} B{batch} In{input} H{hidden}";
        var fused = Run(b, d => LstmLayer(d, steps, batch, input, hidden, reverse, bias, strided), what);
        var fallback = Run(b, d =>
        {
            using (Backend.Use(new PrimitivesOnlyBackend(d.Kernels)))
            {
                if (d.Device.Kind == DeviceKind.Cpu) Assert.IsNotAssignableFrom<IFusedLstmCell>(Backend.For(Device.Cpu));
                return LstmLayer(d, steps, batch, input, hidden, reverse, bias, strided);
            }
        }, what);
        string[] names = ["output", "cells", "acts", "dx", "dh0", "dc0", "dW_ih", "dW_hh", "dbias"];
        for (int i = 0; i < fused.Length; i++)
        {
            Assert.True(fused[i].Shape.SequenceEqual(fallback[i].Shape), $"{what} {names[i]}: shapes differ");
            TestUtil.AssertClose(fused[i].Values, fallback[i].Values, 1e-5, 1e-4, $"{what} {names[i]} on {b.Name}");
        }
    }

    [Fact]
    public void LstmCellBackwardOnCpuFlushesVanishedGradients()
    {
        // The CPU cell's backward sets gradients below 2^−100 to zero (Intel cores slow down ~100× on subnormal
        // operands); gradients above it are the reference's. hidden = 27: three 256-bit vectors and a tail of three.
        int hidden = 27;
        var rng = new Random(5);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        var acts = R(4 * hidden, 1).Select(v => 0.5f + 0.4f * v).ToArray();   // gate activations in (0.1, 0.9)
        var cPrev = R(hidden, 1); var c = R(hidden, 1);
        (float[] Dg, float[] Dc) Run(IBackend backend, float[] dh, float[] dc)
        {
            using var scope = Backend.Use(backend);
            using var a = Tensor.FromArray(acts, [1, 4 * hidden]); using var cp = Tensor.FromArray(cPrev, [1, hidden]);
            using var ct = Tensor.FromArray(c, [1, hidden]); using var dht = Tensor.FromArray(dh, [1, hidden]);
            using var dct = Tensor.FromArray(dc, [1, hidden]);
            using var dg = Tensor.Empty([1, 4 * hidden]); using var dcp = Tensor.Empty([1, hidden]);
            RnnOps.LstmCellBackward(a, cp, ct, dht, dct, dg, dcp);
            return (dg.ToArray(), dcp.ToArray());
        }
        // normal gradients: the reference's values
        var dh1 = R(hidden, 1e-3); var dc1 = R(hidden, 1e-3);
        var (gCpu, cCpu) = Run(Backend.Cpu, dh1, dc1);
        var (gRef, cRef) = Run(Backend.Reference, dh1, dc1);
        TestUtil.AssertClose(gRef.Select(v => (double)v).ToArray(), gCpu.Select(v => (double)v).ToArray(), 1e-9, 1e-5, "dgates");
        TestUtil.AssertClose(cRef.Select(v => (double)v).ToArray(), cCpu.Select(v => (double)v).ToArray(), 1e-9, 1e-5, "dcPrev");
        // vanished gradients (1e−32, and subnormal 1e−40): exactly zero on the CPU, tiny but not zero on the reference
        var (gTiny, cTiny) = Run(Backend.Cpu, R(hidden, 1e-32), R(hidden, 1e-40));
        Assert.All(gTiny, v => Assert.Equal(0f, v));
        Assert.All(cTiny, v => Assert.Equal(0f, v));
        var (gTinyRef, _) = Run(Backend.Reference, R(hidden, 1e-32), R(hidden, 1e-40));
        Assert.Contains(gTinyRef, v => v != 0f);
        // just above the bound (2^−99 ≈ 1.6e−30 and more) the values are kept
        var dhEdge = Enumerable.Repeat(MathF.ScaleB(1f, -90), hidden).ToArray();
        var (gEdge, _) = Run(Backend.Cpu, dhEdge, new float[hidden]);
        Assert.Contains(gEdge, v => v != 0f);
    }

    [Fact]
    public void LstmCellSaturatesLikeTheReferenceAndKeepsNaN()
    {
        // the CPU cell's own exp (clamped, polynomial) at the extremes: ±∞ and huge pre-activations saturate σ to 0/1
        // and tanh to ±1 as the reference's exact functions do; a NaN gate stays NaN (training's divergence check sees it)
        int hidden = 27;   // one 512-bit vector, one 256-bit vector and a scalar tail of three
        float[] special = [float.PositiveInfinity, float.NegativeInfinity, 1e4f, -1e4f, 88f, -88f, 30f, -30f, 1e-6f, -1e-6f, 0f];
        var g = new float[4 * hidden];
        for (int k = 0; k < g.Length; k++) g[k] = special[(k * 7 + k / hidden) % special.Length];
        var cPrev = Enumerable.Range(0, hidden).Select(k => (float)(k - 5) / 3).ToArray();
        float[] Run(IBackend backend, float[] gates, out float[] h)
        {
            using var scope = Backend.Use(backend);
            using var gt = Tensor.FromArray(gates, [1, 4 * hidden]); using var cp = Tensor.FromArray(cPrev, [1, hidden]);
            using var a = Tensor.Empty([1, 4 * hidden]); using var c = Tensor.Empty([1, hidden]); using var ht = Tensor.Empty([1, hidden]);
            RnnOps.LstmCell(gt, null, cp, a, c, ht);
            h = ht.ToArray();
            return a.ToArray();
        }
        var aCpu = Run(Backend.Cpu, g, out var hCpu);
        var aRef = Run(Backend.Reference, g, out var hRef);
        TestUtil.AssertClose(aRef.Select(v => (double)v).ToArray(), aCpu.Select(v => (double)v).ToArray(), 1e-6, 1e-5, "saturated gate activations");
        TestUtil.AssertClose(hRef.Select(v => (double)v).ToArray(), hCpu.Select(v => (double)v).ToArray(), 1e-6, 1e-5, "h");
        g[3] = float.NaN;          // the input gate of the fourth unit (in the 512-bit part)
        g[3 * hidden + 20] = float.NaN; // the output gate of unit 20 (in the 256-bit part)
        g[hidden + 26] = float.NaN; // the forget gate of the last unit (the scalar tail)
        var aNan = Run(Backend.Cpu, g, out var hNan);
        Assert.True(float.IsNaN(aNan[3]) && float.IsNaN(hNan[3]), "NaN input gate");
        Assert.True(float.IsNaN(aNan[3 * hidden + 20]) && float.IsNaN(hNan[20]), "NaN output gate");
        Assert.True(float.IsNaN(aNan[hidden + 26]) && float.IsNaN(hNan[26]), "NaN forget gate in the tail");
    }

    [Fact]
    public void LstmRejectsMismatchedShapesNamingThem()
    {
        using var x = Tensor.Zeros([4, 2, 3]);
        using var h0 = Tensor.Zeros([2, 5]);
        using var wIh = Tensor.Zeros([20, 4]);   // input size 4, but x has 3 features
        using var wHh = Tensor.Zeros([20, 5]);
        var e = Assert.Throws<ArgumentException>(() => RnnOps.LstmForward(x, h0, h0, wIh, wHh, null, reverse: false));
        Assert.Contains("weight_ih [20, 4] must be [20, 3]", e.Message);
        using var hBad = Tensor.Zeros([3, 5]);
        using var w2 = Tensor.Zeros([20, 3]);
        e = Assert.Throws<ArgumentException>(() => RnnOps.LstmForward(x, hBad, h0, w2, wHh, null, reverse: false));
        Assert.Contains("h0 [3, 5] must be [2, 5]", e.Message);
    }
}
