namespace VecQ.Tensors.Tests;

// Convolution (forward, both backwards) over stride / padding / dilation / groups / depthwise, and pooling.
public partial class CpuBackendTests
{
    /// <summary>A convolution case: input [N, C, H, W], O output channels, kernel, stride, padding, dilation, groups, bias.</summary>
    public sealed record ConvCase(int N, int C, int H, int W, int O, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int Groups, bool Bias)
    {
        /// <inheritdoc/>
        public override string ToString() =>
            $"x[{N},{C},{H},{W}] o{O} k{KH}x{KW} s{SH},{SW} p{PH},{PW} d{DH},{DW} g{Groups}{(Bias ? " bias" : "")}";
    }

    public static TheoryData<ConvCase> ConvCases => new()
    {
        new(2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true),
        new(3, 4, 11, 8, 6, 3, 2, 2, 1, 0, 1, 1, 1, 1, false),       // rectangular kernel, mixed stride
        new(2, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1, true),         // dilation
        new(2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, true),         // groups 2
        new(2, 6, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, false),        // groups 2, stride 2
        new(2, 6, 7, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, true),         // depthwise, stride 2
        new(3, 5, 6, 6, 10, 3, 3, 1, 1, 1, 1, 1, 1, 5, false),       // depthwise, multiplier 2
        new(2, 4, 11, 10, 4, 3, 5, 1, 2, 2, 2, 2, 1, 4, true),       // depthwise, dilation, rect kernel
        new(2, 5, 6, 7, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, true),         // pointwise (direct GEMM)
        new(2, 6, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2, false),        // pointwise, grouped
        new(1, 3, 5, 5, 2, 1, 1, 2, 2, 0, 0, 1, 1, 1, false),        // 1×1 with stride: im2col path
        new(1, 2, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, true),         // 1×1 image
        new(5, 3, 13, 11, 7, 5, 3, 3, 2, 2, 1, 1, 2, 1, true),       // primes everywhere
        new(4, 1, 28, 28, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1, true),       // LeNet conv1-like
        new(6, 8, 14, 14, 16, 5, 5, 1, 1, 2, 2, 1, 1, 1, true),      // LeNet conv2-like (parallel over the batch)
        new(3, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, true),         // odd batch over two threads
        new(1, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, false),    // batch 1: threads inside the GEMM
        new(2, 3, 4, 6, 2, 4, 4, 1, 3, 2, 2, 1, 1, 1, true),         // windows mostly in the padding
        new(2, 3, 5, 6, 4, 3, 3, 1, 1, 3, 3, 1, 1, 1, true),         // padding beyond the kernel's reach (col2im backward)
        new(2, 24, 6, 5, 6, 3, 3, 1, 1, 1, 2, 2, 1, 2, false),       // groups, dilation, uneven padding: transposed backward
        new(3, 20, 7, 9, 5, 2, 3, 1, 1, 0, 1, 1, 1, 1, true),        // 20 input channels: transposed backward, edge tiles
        new(2, 25, 5, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, false),       // 25 input channels: transposed backward, partial tile
    };

    private static (int, int) Pair(int a, int b) => (a, b);

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dForwardMatches(ConvCase c)
    {
        Same($"conv2d {c}", () =>
        {
            using var x = Rand(1, c.N, c.C, c.H, c.W);
            using var w = Rand(2, c.O, c.C / c.Groups, c.KH, c.KW);
            using var b = c.Bias ? Rand(3, c.O) : null;
            return ConvOps.Conv2d(x, w, b, Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
        }, 1e-4, 1e-4);
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dBackwardDataMatches(ConvCase c)
    {
        var g = Conv2dGeometry.Create(c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, (c.SH, c.SW), (c.PH, c.PW), (c.DH, c.DW), c.Groups);
        Same($"conv2d dx {c}", () =>
        {
            using var dy = Rand(4, c.N, c.O, g.OH, g.OW);
            using var w = Rand(2, c.O, c.C / c.Groups, c.KH, c.KW);
            return ConvOps.Conv2dBackwardData(dy, w, [c.N, c.C, c.H, c.W], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
        }, 1e-4, 1e-4);
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dBackwardWeightAndBiasMatch(ConvCase c)
    {
        // dw, and the bias gradient taken in the same pass over dy: CPU vs reference; db equal to Σ dy over
        // (N, OH, OW), dw the same with or without it
        var g = Conv2dGeometry.Create(c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, (c.SH, c.SW), (c.PH, c.PW), (c.DH, c.DW), c.Groups);
        SameAll($"conv2d dw, db {c}", () =>
        {
            using var x = Rand(1, c.N, c.C, c.H, c.W);
            using var dy = Rand(4, c.N, c.O, g.OH, g.OW);
            var (dw, db) = ConvOps.Conv2dBackwardWeightAndBias(x, dy, [c.O, c.C / c.Groups, c.KH, c.KW], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
            using var sum = dy.Sum([0, 2, 3]);
            using var dw0 = ConvOps.Conv2dBackwardWeight(x, dy, [c.O, c.C / c.Groups, c.KH, c.KW], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
            TestUtil.AssertClose(sum.ToArray(), db.ToArray(), 1e-5, 1e-5, $"db = Σ dy {c}");
            TestUtil.AssertClose(dw0.ToArray(), dw.ToArray(), 0, 0, $"dw with and without db {c}");
            return [dw, db];
        }, 2e-4, 1e-4);
    }

    [Fact]
    public void Conv2dReadsNonContiguousInputs()
    {
        Same("conv2d of a permuted input", () =>
        {
            using var x0 = Rand(1, 2, 9, 8, 3);          // NHWC
            using var x = x0.Permute(0, 3, 1, 2);         // viewed as NCHW
            using var w0 = Rand(2, 5, 3, 3, 3);
            using var wk = w0.Transpose(2, 3);            // kernel transposed in place: not contiguous
            return ConvOps.Conv2d(x, wk, null, (1, 1), (1, 1));
        }, 1e-4, 1e-4);
    }

    [Fact]
    public void LeNetConvLayersMatch()
    {
        // the shapes the fast path is tuned for, conv1 [N,1,28,28] * [32,1,5,5] and conv2 [N,32,14,14] * [64,32,5,5], pad 2,
        // at a batch of 2 (100 in training; the scalar reference would take a minute)
        const int N = 2;
        foreach (var (c, o, hw) in new[] { (1, 32, 28), (32, 64, 14) })
        {
            var g = Conv2dGeometry.Create(N, c, hw, hw, o, 5, 5, (1, 1), (2, 2), (1, 1), 1);
            // conv2 runs by Winograd F(4×4, 5×5) (WinogradTests): its rounding is ~3e-5 of the outputs' RMS (~13 here)
            double atol = c >= 16 ? 1e-3 : 1e-4;
            Same($"lenet conv c{c} y", () =>
            {
                using var x = Rand(1, N, c, hw, hw);
                using var w = Rand(2, o, c, 5, 5);
                using var b = Rand(3, o);
                return ConvOps.Conv2d(x, w, b, (1, 1), (2, 2));
            }, atol, 1e-4);
            Same($"lenet conv c{c} dx", () =>
            {
                using var dy = Rand(4, N, o, g.OH, g.OW);
                using var w = Rand(2, o, c, 5, 5);
                return ConvOps.Conv2dBackwardData(dy, w, [N, c, hw, hw], (1, 1), (2, 2));
            }, atol, 1e-4);
            Same($"lenet conv c{c} dw", () =>
            {
                using var x = Rand(1, N, c, hw, hw);
                using var dy = Rand(4, N, o, g.OH, g.OW);
                return ConvOps.Conv2dBackwardWeight(x, dy, [o, c, 5, 5], (1, 1), (2, 2));
            }, 1e-3, 1e-4);
        }
    }

    /// <summary>A pooling case: input [N, C, H, W], kernel, stride, padding.</summary>
    public sealed record PoolCase(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW)
    {
        /// <inheritdoc/>
        public override string ToString() => $"x[{N},{C},{H},{W}] k{KH}x{KW} s{SH},{SW} p{PH},{PW}";
    }

    public static TheoryData<PoolCase> PoolCases => new()
    {
        new(2, 3, 8, 8, 2, 2, 2, 2, 0, 0),
        new(2, 3, 7, 9, 2, 2, 2, 2, 0, 0),     // odd sizes: the last row/column is dropped
        new(2, 2, 9, 7, 3, 3, 2, 2, 1, 1),     // overlapping windows with padding
        new(1, 4, 6, 6, 3, 3, 1, 1, 1, 1),
        new(3, 2, 5, 8, 3, 2, 2, 1, 1, 0),     // rectangular
        new(2, 2, 5, 5, 2, 2, 1, 1, 0, 0),     // stride 1 overlap
        new(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
        new(2, 3, 4, 4, 4, 4, 1, 1, 2, 2),     // windows half in the padding
        new(20, 32, 28, 28, 2, 2, 2, 2, 0, 0),  // LeNet pool1 (parallel over planes)
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void MaxPoolForwardIndicesAndBackwardMatch(PoolCase c)
    {
        var (k, s, p) = (Pair(c.KH, c.KW), Pair(c.SH, c.SW), Pair(c.PH, c.PW));
        SameAll($"max_pool2d {c}", () =>
        {
            using var x = Rand(1, c.N, c.C, c.H, c.W);
            var (y, idx) = ConvOps.MaxPool2d(x, k, s, p);
            using var dy = Rand(2, y.Dims);
            var dx = ConvOps.MaxPool2dBackward(dy, idx, x.Dims, k, s, p);
            return [y, idx, dx];
        }, 1e-6, 1e-5);
    }

    [Fact]
    public void MaxPoolTiesNaNAndInfinityMatch()
    {
        foreach (var (name, values) in new (string, float[])[]
        {
            ("constant", Enumerable.Repeat(0.5f, 36).ToArray()),
            ("all -inf", Enumerable.Repeat(float.NegativeInfinity, 36).ToArray()),
            ("NaN", Enumerable.Range(0, 36).Select(i => i % 7 == 3 ? float.NaN : i % 5).Select(v => (float)v).ToArray()),
        })
            SameAll($"max_pool2d {name}", () =>
            {
                using var x = Tensor.FromArray(values, [1, 1, 6, 6]);
                var (y, idx) = ConvOps.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
                return [y, idx];
            }, 0, 0);
    }

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void AvgPoolForwardAndBackwardMatch(PoolCase c)
    {
        var (k, s, p) = (Pair(c.KH, c.KW), Pair(c.SH, c.SW), Pair(c.PH, c.PW));
        SameAll($"avg_pool2d {c}", () =>
        {
            using var x = Rand(1, c.N, c.C, c.H, c.W);
            var y = ConvOps.AvgPool2d(x, k, s, p);
            using var dy = Rand(2, y.Dims);
            var dx = ConvOps.AvgPool2dBackward(dy, x.Dims, k, s, p);
            return [y, dx];
        }, 1e-6, 1e-5);
    }

    [Fact]
    public void MaxPoolBackwardRejectsBadIndices()
    {
        using var scope = Backend.Use(Backend.Cpu);
        using var dy = Tensor.Ones([1, 1, 2, 2]);
        using var idx = Tensor.FromArray(new[] { 0, 1, 99, 3 }, [1, 1, 2, 2]);
        var e = Assert.Throws<ArgumentException>(() => ConvOps.MaxPool2dBackward(dy, idx, [1, 1, 4, 4], (2, 2)));
        Assert.Contains("99", e.Message);
    }
}
