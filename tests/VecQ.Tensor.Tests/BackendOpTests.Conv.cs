using Xunit.Abstractions;
using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Convolution (forward, both backwards) over stride / padding / dilation / groups / depthwise, and pooling, on every backend column.
public partial class BackendOpTests
{
    /// <summary>A convolution case: input [N, C, H, W], O output channels, kernel, stride, padding, dilation, groups, bias (serializable: one test case per row).</summary>
    public sealed class ConvCase : IXunitSerializable
    {
        private int[] _p = new int[15];

        /// <summary>For xunit's deserializer.</summary>
        public ConvCase() { }

        public ConvCase(int n, int c, int h, int w, int o, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups, bool bias) =>
            _p = [n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias ? 1 : 0];

        public int N => _p[0];
        public int C => _p[1];
        public int H => _p[2];
        public int W => _p[3];
        public int O => _p[4];
        public int KH => _p[5];
        public int KW => _p[6];
        public int SH => _p[7];
        public int SW => _p[8];
        public int PH => _p[9];
        public int PW => _p[10];
        public int DH => _p[11];
        public int DW => _p[12];
        public int Groups => _p[13];
        public bool Bias => _p[14] != 0;

        public void Serialize(IXunitSerializationInfo info) => info.AddValue("p", _p);
        public void Deserialize(IXunitSerializationInfo info) => _p = info.GetValue<int[]>("p");

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
        new(2, 3, 22, 45, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1, true),       // a ResNet-like 7×7/2 stem: stride-2 column groups in the B panels
        new(1, 4, 9, 40, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, false),       // 3×3/2, rows of 20 outputs
        new(5, 120, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, true),       // small planes, deep kernel: explicit im2col + one SGEMM
        new(9, 128, 9, 8, 7, 3, 3, 2, 2, 1, 1, 2, 1, 1, false),      // the same, strided and dilated
        new(2, 3, 9, 45, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, true),        // depthwise rows of eight, stride 1
        new(1, 4, 8, 61, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4, false),       // stride 2: groups, an overlapping last one, border columns
        new(1, 2, 7, 40, 4, 5, 5, 1, 2, 2, 2, 2, 1, 2, true),        // 5×5, multiplier 2, row dilation 2
        new(1, 3, 5, 23, 3, 3, 3, 2, 2, 0, 0, 1, 1, 3, true),        // stride 2 unpadded (Keras's "valid" after ZeroPad2d)
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
        new(7, 12, 7, 7, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, true),       // small outputs: samples side by side, a partial last block
        new(5, 9, 7, 6, 11, 3, 3, 1, 1, 1, 1, 2, 1, 1, true),        // side by side with dilation
    };

    private static (int, int) Pair(int a, int b) => (a, b);

    [BackendTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dForwardMatches(BackendCase b, ConvCase c)
    {
        Same(b, $"conv2d {c}", d =>
        {
            using var x = d.Rand(1, c.N, c.C, c.H, c.W);
            using var w = d.Rand(2, c.O, c.C / c.Groups, c.KH, c.KW);
            using var bias = c.Bias ? d.Rand(3, c.O) : null;
            return ConvOps.Conv2d(x, w, bias, Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
        }, 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dBatchNormMatchesConvThenBatchNorm(BackendCase b, ConvCase c)
    {
        // the evaluation-mode conv → batch norm (→ ReLU / ReLU6) against the reference, and against the two ops on the
        // same backend (the depthwise epilogue and the per-image path normalise with BatchNormForward's roundings)
        foreach (FusedActivation? act in new FusedActivation?[] { null, FusedActivation.Relu, FusedActivation.Relu6 })
            SameAll(b, $"conv2d_batch_norm {act} {c}", d =>
            {
                using var x = d.Rand(1, c.N, c.C, c.H, c.W);
                using var w = d.Rand(2, c.O, c.C / c.Groups, c.KH, c.KW);
                using var bias = c.Bias ? d.Rand(3, c.O) : null;
                using var mean = d.Rand(5, c.O);
                using var inv0 = d.Rand(6, c.O);
                using var invStd = inv0.Abs().Add(0.5);
                using var g0 = d.Rand(7, c.O);
                using var gamma = g0.Mul(4.0);
                using var beta = d.Rand(8, c.O);
                var fused = ConvOps.Conv2dBatchNorm(x, w, bias, Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups, mean, invStd, gamma, beta, act);
                using var conv = ConvOps.Conv2d(x, w, bias, Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
                var plain = act is { } a ? NnOps.BatchNormForward(conv, mean, invStd, gamma, beta, a) : NnOps.BatchNormForward(conv, mean, invStd, gamma, beta);
                TestUtil.AssertClose(plain.ToArray<float>(), fused.ToArray<float>(), 1e-5, 1e-5, $"fused vs two ops {act} {c}");
                return [fused, plain];
            }, 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dBackwardDataMatches(BackendCase b, ConvCase c)
    {
        var g = Conv2dGeometry.Create(c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, (c.SH, c.SW), (c.PH, c.PW), (c.DH, c.DW), c.Groups);
        Same(b, $"conv2d dx {c}", d =>
        {
            using var dy = d.Rand(4, c.N, c.O, g.OH, g.OW);
            using var w = d.Rand(2, c.O, c.C / c.Groups, c.KH, c.KW);
            return ConvOps.Conv2dBackwardData(dy, w, [c.N, c.C, c.H, c.W], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
        }, 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dBackwardWeightAndBiasMatch(BackendCase b, ConvCase c)
    {
        // dw, and the bias gradient taken in the same pass over dy: CPU vs reference; db equal to Σ dy over
        // (N, OH, OW), dw the same with or without it
        var g = Conv2dGeometry.Create(c.N, c.C, c.H, c.W, c.O, c.KH, c.KW, (c.SH, c.SW), (c.PH, c.PW), (c.DH, c.DW), c.Groups);
        SameAll(b, $"conv2d dw, db {c}", d =>
        {
            using var x = d.Rand(1, c.N, c.C, c.H, c.W);
            using var dy = d.Rand(4, c.N, c.O, g.OH, g.OW);
            var (dw, db) = ConvOps.Conv2dBackwardWeightAndBias(x, dy, [c.O, c.C / c.Groups, c.KH, c.KW], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
            using var sum = dy.Sum([0, 2, 3]);
            using var dw0 = ConvOps.Conv2dBackwardWeight(x, dy, [c.O, c.C / c.Groups, c.KH, c.KW], Pair(c.SH, c.SW), Pair(c.PH, c.PW), Pair(c.DH, c.DW), c.Groups);
            TestUtil.AssertClose(sum.ToArray(), db.ToArray(), 1e-5, 1e-5, $"db = Σ dy {c}");
            TestUtil.AssertClose(dw0.ToArray(), dw.ToArray(), 0, 0, $"dw with and without db {c}");
            return [dw, db];
        }, 2e-4, 1e-4);
    }

    [BackendTheory]
    public void Conv2dReadsNonContiguousInputs(BackendCase b)
    {
        Same(b, "conv2d of a permuted input", d =>
        {
            using var x0 = d.Rand(1, 2, 9, 8, 3);          // NHWC
            using var x = x0.Permute(0, 3, 1, 2);         // viewed as NCHW
            using var w0 = d.Rand(2, 5, 3, 3, 3);
            using var wk = w0.Transpose(2, 3);            // kernel transposed in place: not contiguous
            return ConvOps.Conv2d(x, wk, null, (1, 1), (1, 1));
        }, 1e-4, 1e-4);
    }

    [BackendTheory]
    public void LeNetConvLayersMatch(BackendCase b)
    {
        // the shapes the fast path is tuned for, conv1 [N,1,28,28] * [32,1,5,5] and conv2 [N,32,14,14] * [64,32,5,5], pad 2,
        // at a batch of 2 (100 in training; the scalar reference would take a minute)
        const int N = 2;
        foreach (var (c, o, hw) in new[] { (1, 32, 28), (32, 64, 14) })
        {
            var g = Conv2dGeometry.Create(N, c, hw, hw, o, 5, 5, (1, 1), (2, 2), (1, 1), 1);
            // conv2 runs by Winograd F(4×4, 5×5) (WinogradTests): its rounding is ~3e-5 of the outputs' RMS (~13 here)
            double atol = c >= 16 ? 1e-3 : 1e-4;
            Same(b, $"lenet conv c{c} y", d =>
            {
                using var x = d.Rand(1, N, c, hw, hw);
                using var w = d.Rand(2, o, c, 5, 5);
                using var bias = d.Rand(3, o);
                return ConvOps.Conv2d(x, w, bias, (1, 1), (2, 2));
            }, atol, 1e-4);
            Same(b, $"lenet conv c{c} dx", d =>
            {
                using var dy = d.Rand(4, N, o, g.OH, g.OW);
                using var w = d.Rand(2, o, c, 5, 5);
                return ConvOps.Conv2dBackwardData(dy, w, [N, c, hw, hw], (1, 1), (2, 2));
            }, atol, 1e-4);
            Same(b, $"lenet conv c{c} dw", d =>
            {
                using var x = d.Rand(1, N, c, hw, hw);
                using var dy = d.Rand(4, N, o, g.OH, g.OW);
                return ConvOps.Conv2dBackwardWeight(x, dy, [o, c, 5, 5], (1, 1), (2, 2));
            }, 1e-3, 1e-4);
        }
    }

    /// <summary>A pooling case: input [N, C, H, W], kernel, stride, padding (serializable: one test case per row).</summary>
    public sealed class PoolCase : IXunitSerializable
    {
        private int[] _p = new int[10];

        /// <summary>For xunit's deserializer.</summary>
        public PoolCase() { }

        public PoolCase(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw) => _p = [n, c, h, w, kh, kw, sh, sw, ph, pw];

        public int N => _p[0];
        public int C => _p[1];
        public int H => _p[2];
        public int W => _p[3];
        public int KH => _p[4];
        public int KW => _p[5];
        public int SH => _p[6];
        public int SW => _p[7];
        public int PH => _p[8];
        public int PW => _p[9];

        public void Serialize(IXunitSerializationInfo info) => info.AddValue("p", _p);
        public void Deserialize(IXunitSerializationInfo info) => _p = info.GetValue<int[]>("p");

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
        new(2, 3, 9, 37, 3, 3, 2, 2, 1, 1),     // ResNet's stem pool, wide enough for eight-column gathers
        new(1, 2, 6, 29, 3, 2, 1, 3, 0, 1),     // stride 3 across, 2-wide windows
        new(2, 2, 7, 61, 3, 3, 2, 2, 1, 1),     // stride-2 loads: several groups, an overlapping last one, a scalar tail
        new(1, 3, 5, 40, 3, 3, 2, 2, 0, 0),     // unpadded (AlexNet's pools)
        new(1, 2, 4, 37, 2, 3, 1, 1, 1, 1),     // stride-1 loads
        new(1, 1, 3, 32, 1, 4, 1, 2, 0, 2),     // a 1×4 window half in the padding
    };

    [BackendTheory]
    [MemberData(nameof(PoolCases))]
    public void MaxPoolForwardIndicesAndBackwardMatch(BackendCase b, PoolCase c)
    {
        var (k, s, p) = (Pair(c.KH, c.KW), Pair(c.SH, c.SW), Pair(c.PH, c.PW));
        SameAll(b, $"max_pool2d {c}", d =>
        {
            using var x = d.Rand(1, c.N, c.C, c.H, c.W);
            var (y, idx) = ConvOps.MaxPool2d(x, k, s, p);
            using var dy = d.Rand(2, y.Dims);
            var dx = ConvOps.MaxPool2dBackward(dy, idx, x.Dims, k, s, p);
            return [y, idx, dx];
        }, 1e-6, 1e-5);
    }

    [BackendTheory]
    public void MaxPoolTiesNaNAndInfinityMatch(BackendCase b)
    {
        foreach (var (name, values) in new (string, float[])[]
        {
            ("constant", Enumerable.Repeat(0.5f, 36).ToArray()),
            ("all -inf", Enumerable.Repeat(float.NegativeInfinity, 36).ToArray()),
            ("NaN", Enumerable.Range(0, 36).Select(i => i % 7 == 3 ? float.NaN : i % 5).Select(v => (float)v).ToArray()),
            ("wide ties", Enumerable.Range(0, 120).Select(i => (float)(i % 3 == 0 ? 1 : 0)).ToArray()),
            ("wide all -inf", Enumerable.Repeat(float.NegativeInfinity, 120).ToArray()),
            ("wide NaN", Enumerable.Range(0, 120).Select(i => i % 7 == 3 ? float.NaN : i % 5).Select(v => (float)v).ToArray()),
            ("wider ties", Enumerable.Range(0, 366).Select(i => (float)(i % 3 == 0 ? 1 : 0)).ToArray()),   // 6×61: stride-2 loads
            ("wider NaN", Enumerable.Range(0, 366).Select(i => i % 7 == 3 ? float.NaN : i % 5).Select(v => (float)v).ToArray()),
        })
            SameAll(b, $"max_pool2d {name}", d =>
            {
                using var x = d.T(values, 1, 1, 6, values.Length / 6);
                var (y, idx) = ConvOps.MaxPool2d(x, (3, 3), (2, 2), (1, 1));
                return [y, idx];
            }, 0, 0);
    }

    [BackendTheory]
    [MemberData(nameof(PoolCases))]
    public void AvgPoolForwardAndBackwardMatch(BackendCase b, PoolCase c)
    {
        var (k, s, p) = (Pair(c.KH, c.KW), Pair(c.SH, c.SW), Pair(c.PH, c.PW));
        SameAll(b, $"avg_pool2d {c}", d =>
        {
            using var x = d.Rand(1, c.N, c.C, c.H, c.W);
            var y = ConvOps.AvgPool2d(x, k, s, p);
            using var dy = d.Rand(2, y.Dims);
            var dx = ConvOps.AvgPool2dBackward(dy, x.Dims, k, s, p);
            return [y, dx];
        }, 1e-6, 1e-5);
    }

    [BackendTheory]
    public void MaxPoolBackwardRejectsBadIndices(BackendCase b)
    {
        using var scope = b.Enter();
        using var dy = b.Ones([1, 1, 2, 2]);
        using var idx = b.T([0, 1, 99, 3], 1, 1, 2, 2);
        var e = Fails<ArgumentException>(b, () => ConvOps.MaxPool2dBackward(dy, idx, [1, 1, 4, 4], (2, 2)).Dispose());
        Assert.Contains("99", e.Message);
    }
}
