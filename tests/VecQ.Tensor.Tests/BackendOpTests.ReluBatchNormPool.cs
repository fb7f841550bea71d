using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// The fused conv-block tail ReLU → batch norm → max pool on every backend column: against the reference, the
// unfused ops, and the op layer's fallback for a backend without the fused kernel (ConvOps.UnfusedTail).
public partial class BackendOpTests
{
    public static TheoryData<int, int, int, int, int, int, int, bool> TailCases() => new()
    {
        // n, c, h, w, kernel, stride, padding, affine
        { 2, 3, 8, 8, 2, 2, 0, true },       // 2×2 fast path, 4 windows per row
        { 3, 5, 14, 14, 2, 2, 0, true },     // 7 windows per row: a vector step and an overlapping one
        { 1, 7, 28, 28, 2, 2, 0, false },    // LeNet5 conv1's plane, no affine
        { 2, 2, 7, 13, 2, 2, 0, true },      // odd sizes: the last row and column unused
        { 1, 1, 2, 2, 2, 2, 0, true },       // one window
        { 3, 2, 5, 6, 2, 2, 0, true },       // 3 windows per row: scalar rows
        { 2, 3, 9, 11, 3, 2, 1, true },      // general path: overlapping padded windows
        { 1, 4, 6, 5, 3, 3, 0, false },
        { 13, 11, 6, 6, 2, 2, 0, true },     // prime batch and channels
    };

    // Statistics of ReLU(x), the fused forward (y, indices, picked) and its backward (dx, dgamma, dbeta).
    internal static Tensor[] Tail(BackendCase d, int n, int c, int h, int w, int k, int s, int p, bool affine, int seed = 1)
    {
        using var x = d.Rand(seed, n, c, h, w);                         // about half the values ≤ 0
        using var gamma = affine ? d.Rand(seed + 1, c) : null;           // mixed signs: a negative γ flips the max
        using var beta = affine ? d.Rand(seed + 2, c) : null;
        var (mean, var) = NnOps.BatchNormStats(x, relu: true);
        using var varEps = var.Add(1e-5);
        using var std = varEps.Sqrt();
        using var invStd = 1.0 / std;
        var (y, idx, picked) = ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (k, k), (s, s), (p, p));
        using var dy = d.Rand(seed + 3, y.Dims);
        var (dx, dg, db) = ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx, picked, x, mean, invStd, gamma, (k, k), (s, s), (p, p),
            gammaGrad: affine, betaGrad: affine);
        var all = new List<Tensor> { mean, var, y, idx, picked, dx };
        if (affine) all.AddRange([dg!, db!]);
        return all.ToArray();
    }

    [BackendTheory]
    [MemberData(nameof(TailCases))]
    public void ReluBatchNormMaxPoolMatchesReference(BackendCase b, int n, int c, int h, int w, int k, int s, int p, bool affine)
    {
        SameAll(b, $"relu_batch_norm_max_pool2d [{n}, {c}, {h}, {w}] k{k} s{s} p{p} affine={affine}",
            d => Tail(d, n, c, h, w, k, s, p, affine), 1e-4, 1e-4);
    }

    [BackendTheory]
    [MemberData(nameof(TailCases))]
    public void ReluBatchNormMaxPoolFallbackWithoutTheFusedKernelMatchesTheFusedOp(BackendCase b, int n, int c, int h, int w, int k, int s, int p,
        bool affine)
    {
        // The same op on a backend without IFusedConvTail: the op layer (or, on the sim, its backend) composes it from
        // primitives (ConvOps.UnfusedTail / UnfusedTailBackward). The forward is the same arithmetic (exact); the
        // backward's channel sums are added in another order.
        string what = $"relu_batch_norm_max_pool2d fallback [{n}, {c}, {h}, {w}] k{k} s{s} p{p} affine={affine}";
        var fused = Run(b, d => Tail(d, n, c, h, w, k, s, p, affine), what);
        var fallback = Run(b, d =>
        {
            using (Backend.Use(new PrimitivesOnlyBackend(d.Kernels)))
            {
                if (d.Device.Kind == DeviceKind.Cpu) Assert.IsNotAssignableFrom<IFusedConvTail>(Backend.For(Device.Cpu));
                return Tail(d, n, c, h, w, k, s, p, affine);
            }
        }, what);
        string[] names = ["mean", "var", "y", "indices", "picked", "dx", "dgamma", "dbeta"];
        Assert.Equal(fused.Length, fallback.Length);
        for (int i = 0; i < fused.Length; i++)
        {
            Assert.True(fused[i].Shape.SequenceEqual(fallback[i].Shape), $"{what} {names[i]}: shapes differ");
            bool forward = i < 5;
            TestUtil.AssertClose(fused[i].Values, fallback[i].Values, forward ? 0 : 1e-5, forward ? 0 : 1e-4, $"{what} {names[i]} on {b.Name}");
        }

        // and ConvOps.UnfusedTail called directly with the column's backend, against the fused op
        using var scope = b.Enter();
        using var x = b.Rand(1, n, c, h, w);
        using var gamma = affine ? b.Rand(2, c) : null;
        using var beta = affine ? b.Rand(3, c) : null;
        using var mean = b.Rand(4, c);
        using var invStd0 = b.Rand(5, c);
        using var invStd = invStd0.Abs();
        var g = Pool2dGeometry.Create("tail", n, c, h, w, (k, k), (s, s), (p, p));
        var (y1, idx1, picked1) = ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (k, k), (s, s), (p, p));
        using var y0 = b.Empty(y1.Dims);
        using var idx0 = b.Empty(y1.Dims, DType.Int32);
        using var picked0 = b.Empty(y1.Dims);
        ConvOps.UnfusedTail(b.Backend, x, mean, invStd, gamma, beta, g, y0, idx0, picked0);
        using (y1) using (idx1) using (picked1)
        {
            TestUtil.AssertClose(y1.ToArray(), y0.ToArray(), 0, 0, "UnfusedTail y");
            Assert.Equal(idx1.ToArray<int>(), idx0.ToArray<int>());
            TestUtil.AssertClose(picked1.ToArray(), picked0.ToArray(), 0, 0, "UnfusedTail picked");
            using var dy = b.Rand(6, y1.Dims);
            var (dx1, dg1, db1) = ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx1, picked1, x, mean, invStd, gamma, (k, k), (s, s), (p, p), affine, affine);
            using var dx0 = b.Empty(x.Dims);
            using var dg0 = affine ? b.Empty([c]) : null;
            using var db0 = affine ? b.Empty([c]) : null;
            ConvOps.UnfusedTailBackward(b.Backend, dy, idx0, x, mean, invStd, gamma, g, dx0, dg0, db0);
            using (dx1) using (dg1) using (db1)
            {
                TestUtil.AssertClose(dx1.ToArray(), dx0.ToArray(), 1e-5, 1e-4, "UnfusedTailBackward dx");
                if (affine)
                {
                    TestUtil.AssertClose(dg1!.ToArray(), dg0!.ToArray(), 1e-5, 1e-4, "UnfusedTailBackward dgamma");
                    TestUtil.AssertClose(db1!.ToArray(), db0!.ToArray(), 1e-5, 1e-4, "UnfusedTailBackward dbeta");
                }
            }
        }
    }

    [BackendTheory]
    [MemberData(nameof(TailCases))]
    public void ReluBatchNormMaxPoolEqualsTheUnfusedOps(BackendCase b, int n, int c, int h, int w, int k, int s, int p, bool affine)
    {
        // On the column's backend: the fused op against ReLU → BatchNormForward → MaxPool2d and their gradients.
        // The forward is the same arithmetic (exact); the backward's channel sums are added in another order.
        using var scope = b.Enter();
        using var x = b.Rand(1, n, c, h, w);
        using var gamma = affine ? b.Rand(2, c) : null;
        using var beta = affine ? b.Rand(3, c) : null;
        using var u = x.Map(new Relu());
        var (m0, v0) = NnOps.BatchNormStats(u);
        var (m1, v1) = NnOps.BatchNormStats(x, relu: true);
        using (m0) using (v0) using (m1) using (v1)
        {
            TestUtil.AssertClose(m0.ToArray(), m1.ToArray(), 0, 0, "mean of ReLU(x)");
            TestUtil.AssertClose(v0.ToArray(), v1.ToArray(), 0, 0, "variance of ReLU(x)");
        }
        var (mean, var) = NnOps.BatchNormStats(u);
        using var _m = mean;
        using var _v = var;
        using var varEps = var.Add(1e-5);
        using var std = varEps.Sqrt();
        using var invStd = 1.0 / std;
        using var t = NnOps.BatchNormForward(u, mean, invStd, gamma, beta);
        var (y0, idx0) = ConvOps.MaxPool2d(t, (k, k), (s, s), (p, p));
        var (y1, idx1, picked) = ConvOps.ReluBatchNormMaxPool2d(x, mean, invStd, gamma, beta, (k, k), (s, s), (p, p));
        using (y0) using (idx0) using (y1) using (idx1) using (picked)
        {
            TestUtil.AssertClose(y0.ToArray(), y1.ToArray(), 0, 0, "pooled output");
            Assert.Equal(idx0.ToArray<int>(), idx1.ToArray<int>());
            float[] uv = u.ToArray(), pv = picked.ToArray();
            int[] iv = idx1.ToArray<int>();
            int hw = h * w, q = y1.Dims[2] * y1.Dims[3];
            for (int i = 0; i < iv.Length; i++) Assert.Equal(uv[i / q * hw + iv[i]], pv[i]);

            using var dy = b.Rand(4, y0.Dims);
            using var d = ConvOps.MaxPool2dBackward(dy, idx0, x.Dims, (k, k), (s, s), (p, p));
            var (du, dg0, db0) = NnOps.BatchNormBackward(d, u, mean, invStd, gamma, affine, affine);
            using var dx0 = Tensor.Zip(new ReluGrad(), du, x);
            var (dx1, dg1, db1) = ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx1, picked, x, mean, invStd, gamma, (k, k), (s, s), (p, p), affine, affine);
            using (du) using (dg0) using (db0) using (dx1) using (dg1) using (db1)
            {
                TestUtil.AssertClose(dx0.ToArray(), dx1.ToArray(), 1e-5, 1e-4, "dx");
                if (affine)
                {
                    TestUtil.AssertClose(dg0!.ToArray(), dg1!.ToArray(), 1e-5, 1e-4, "dgamma");
                    TestUtil.AssertClose(db0!.ToArray(), db1!.ToArray(), 1e-5, 1e-4, "dbeta");
                }
            }
        }
    }

    [BackendTheory]
    public void ReluBatchNormMaxPoolBackwardOfAnEmptyBatchGivesZeroParameterGradients(BackendCase b)
    {
        SameAll(b, "relu_batch_norm_max_pool2d_backward of [0, 3, 4, 4]", d =>
        {
            using var x = d.Zeros([0, 3, 4, 4]);
            using var dy = d.Zeros([0, 3, 2, 2]);
            using var picked = d.Zeros([0, 3, 2, 2]);
            using var idx = d.Zeros([0, 3, 2, 2], DType.Int32);
            using var mean = d.Rand(1, 3);
            using var invStd = d.Rand(2, 3);
            using var gamma = d.Rand(3, 3);
            var (dx, dg, db) = ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx, picked, x, mean, invStd, gamma, (2, 2), gammaGrad: true, betaGrad: true);
            Assert.Equal(new float[3], dg!.ToArray());
            Assert.Equal(new float[3], db!.ToArray());
            return [dx, dg, db];
        }, 0, 0);
    }

    [BackendTheory]
    public void ReluBatchNormMaxPoolBackwardRejectsBadIndicesAndShapes(BackendCase b)
    {
        using var scope = b.Enter();
        using var x = b.Rand(1, 2, 3, 4, 4);
        using var mean = b.Zeros([3]);
        using var invStd = b.Ones([3]);
        using var dy = b.Rand(2, 2, 3, 2, 2);
        using var picked = b.Zeros([2, 3, 2, 2]);
        var iv = new int[2 * 3 * 2 * 2];
        iv[17] = 16;   // [1, 1, 0, 1]: outside a 4x4 plane
        using var idx = b.T(iv, 2, 3, 2, 2);
        var e = Fails<ArgumentException>(b, () => Dispose(ConvOps.ReluBatchNormMaxPool2dBackward(dy, idx, picked, x, mean, invStd, null, (2, 2))));
        Assert.Contains("index 16 at [1, 1, 0, 1]", e.Message);
        Assert.Contains("[0, 16)", e.Message);

        using var wrong = b.Rand(3, 2, 3, 3, 2);
        var e2 = Assert.Throws<ArgumentException>(() => Dispose(ConvOps.ReluBatchNormMaxPool2dBackward(wrong, idx, picked, x, mean, invStd, null, (2, 2))));
        Assert.Contains("relu_batch_norm_max_pool2d_backward", e2.Message);
        Assert.Contains("[2, 3, 3, 2]", e2.Message);
        using var badMean = b.Zeros([4]);
        var e3 = Assert.Throws<ArgumentException>(() => ConvOps.ReluBatchNormMaxPool2d(x, badMean, invStd, null, null, (2, 2)));
        Assert.Contains("relu_batch_norm_max_pool2d", e3.Message);
        Assert.Contains("mean", e3.Message);
    }

    private static void Dispose((Tensor Dx, Tensor? DGamma, Tensor? DBeta) r)
    {
        r.Dx.Dispose();
        r.DGamma?.Dispose();
        r.DBeta?.Dispose();
    }
}
