using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Matrix products: 1-D/2-D promotion, batches with broadcasting, transposed views, alpha/beta.
public partial class HandCheckedOpTests
{
    [BackendTheory]
    public void MatMulPromotesOneDimensionalOperands(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var v = dev.T([1f, 2, 3]);
        using var w = dev.T([4f, 5, 6]);
        using (var dot = v.MatMul(w)) AssertClose([32f], [], dot);
        using var a = dev.T([1f, 2, 3, 4], 2, 2);
        using var b = dev.T([5f, 6, 7, 8], 2, 2);
        using (var c = a.MatMul(b)) AssertClose([19f, 22, 43, 50], [2, 2], c);
        using var u = dev.T([1f, 2]);
        using (var c = u.MatMul(b)) AssertClose([19f, 22], [2], c);
        using var z = dev.T([5f, 6]);
        using (var c = a.MatMul(z)) AssertClose([17f, 39], [2], c);
    }

    [BackendTheory]
    public void MatMulReadsTransposedViews(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a0 = dev.T(Values(6, 1), 3, 2);
        using var b0 = dev.T(Values(12, 2), 4, 3);
        using var a = a0.T(); // [2, 3], column-major
        using var b = b0.T(); // [3, 4], column-major
        using var ac = a.Contiguous();
        using var bc = b.Contiguous();
        using var c = a.MatMul(b);
        AssertClose(Naive(ac.ToArray(), bc.ToArray(), 1, 2, 3, 4), [2, 4], c, what: "a.T x b.T");
    }

    [BackendTheory]
    public void MatMulBroadcastsBatchDimensions(BackendCase dev)
    {
        using var scope = dev.Enter();
        float[] av = Values(2 * 2 * 3, 3), bv = Values(3 * 3 * 2, 4);
        using var a = dev.T(av, 2, 1, 2, 3);
        using var b = dev.T(bv, 3, 3, 2);
        using var c = a.MatMul(b); // [2, 1] and [3] batches → [2, 3]
        var expected = new List<float>();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                expected.AddRange(Naive(av[(i * 6)..(i * 6 + 6)], bv[(j * 6)..(j * 6 + 6)], 1, 2, 3, 2));
        AssertClose(expected.ToArray(), [2, 3, 2, 2], c, what: "broadcast batch");

        using var w = dev.T(bv[..6], 3, 2); // one matrix shared by every batch entry (batch stride 0)
        using var c2 = a.MatMul(w);
        var expected2 = new List<float>();
        for (int i = 0; i < 2; i++) expected2.AddRange(Naive(av[(i * 6)..(i * 6 + 6)], bv[..6], 1, 2, 3, 2));
        AssertClose(expected2.ToArray(), [2, 1, 2, 2], c2, what: "shared weight");
    }

    [BackendTheory]
    public void MatMulInFloat64(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1.0, 1e-10, 0, 1], 2, 2);
        using var b = dev.T([1.0, 0, 1e-10, 1], 2, 2);
        using var c = a.MatMul(b);
        Assert.Equal(DType.Float64, c.DType);
        Assert.Equal([1.0 + 1e-20, 1e-10, 1e-10, 1.0], c.ToArray<double>());
    }

    [BackendTheory]
    public void BackendMatMulAppliesAlphaAndBeta(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1f, 2, 3, 4], 1, 2, 2);
        using var b = dev.T([1f, 0, 0, 1], 1, 2, 2);
        using var c = dev.T([10f, 20, 30, 40], 1, 2, 2);
        dev.Backend.MatMul(a, b, c, 2f, 0.5f);
        Assert.Equal([7f, 14, 21, 28], c.ToArray());
        c.Fill(float.NaN);
        dev.Backend.MatMul(a, b, c, 1f, 0f); // beta = 0 overwrites, never reads c
        Assert.Equal([1f, 2, 3, 4], c.ToArray());
    }

    // c[p] = a[p] × b[p] for contiguous [B, M, K] and [B, K, N] arrays.
    private static float[] Naive(float[] a, float[] b, int batch, int m, int k, int n)
    {
        var c = new float[batch * m * n];
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int q = 0; q < k; q++) s += (double)a[(p * m + i) * k + q] * b[(p * k + q) * n + j];
                    c[(p * m + i) * n + j] = (float)s;
                }
        return c;
    }
}
