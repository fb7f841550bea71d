using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Hand-checked small cases for every op family (expected values worked out by hand), run on every backend
/// column (<see cref="BackendCase"/>: reference, cpu, sim; cuda when a CUDA backend is registered, Skipped otherwise).
/// The class is split by family over HandCheckedOpTests.*.cs; this file holds the elementwise ops.
/// </summary>
public partial class HandCheckedOpTests
{
    [BackendTheory]
    public void AddAndMulBroadcast(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1f, 2, 3, 4, 5, 6], 2, 3);
        using var row = dev.T([10f, 20, 30]);
        using (var y = a + row) AssertClose([11f, 22, 33, 14, 25, 36], [2, 3], y);
        using var col = dev.T([1f, 2], 2, 1);
        using var r = dev.T([1f, 10, 100], 1, 3);
        using (var outer = col * r) AssertClose([1f, 10, 100, 2, 20, 200], [2, 3], outer);
        using (var y = a.Sub(row)) AssertClose([-9f, -18, -27, -6, -15, -24], [2, 3], y);
        using (var y = a / col) AssertClose([1f, 2, 3, 2, 2.5f, 3], [2, 3], y);
        using (var y = 1.0 - a) AssertClose([0f, -1, -2, -3, -4, -5], [2, 3], y);
        using (var y = 12.0 / a) AssertClose([12f, 6, 4, 3, 2.4f, 2], [2, 3], y);
        using (var y = a * 0.5) AssertClose([0.5f, 1, 1.5f, 2, 2.5f, 3], [2, 3], y);
        using var floor = dev.T([3f, 4, 5]);
        using (var y = a.Maximum(floor)) AssertClose([3f, 4, 5, 4, 5, 6], [2, 3], y);
        using (var y = a.Minimum(floor)) AssertClose([1f, 2, 3, 3, 4, 5], [2, 3], y);
        using (var y = a.Pow(dev.T([2f]))) AssertClose([1f, 4, 9, 16, 25, 36], [2, 3], y);
    }

    [BackendTheory]
    public void ElementwiseReadsStridedViews(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1f, 2, 3, 4, 5, 6], 2, 3);
        using var at = a.T();                    // [3, 2], strides [1, 3]
        using var b = dev.T([100f, 200, 300], 3, 1);   // broadcast along the columns
        using (var y = at + b) AssertClose([101f, 104, 202, 205, 303, 306], [3, 2], y);
        using var eight = dev.T([0f, 1, 2, 3, 4, 5, 6, 7]);
        using var every2 = eight.Slice(0, 1, 8, 2); // 1, 3, 5, 7 (offset 1, stride 2)
        using (var y = every2.Neg()) AssertClose([-1f, -3, -5, -7], [4], y);
    }

    [BackendTheory]
    public void ComparisonsGiveOnesAndZeros(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1f, 2, 3]);
        using var b = dev.T([2f, 2, 2]);
        using (var y = a.Eq(b)) Assert.Equal([0f, 1, 0], y.ToArray());
        using (var y = a.Ne(b)) Assert.Equal([1f, 0, 1], y.ToArray());
        using (var y = a.Lt(b)) Assert.Equal([1f, 0, 0], y.ToArray());
        using (var y = a.Le(b)) Assert.Equal([1f, 1, 0], y.ToArray());
        using (var y = a.Gt(b)) Assert.Equal([0f, 0, 1], y.ToArray());
        using (var y = a.Ge(b)) Assert.Equal([0f, 1, 1], y.ToArray());
        using (var y = a.Gt(1.5)) Assert.Equal([0f, 1, 1], y.ToArray());
        using var col = dev.T([1f, 3], 2, 1);
        using (var y = col.Lt(a)) Assert.Equal([0f, 1, 1, 0, 0, 0], y.ToArray()); // [2, 1] vs [3] → [2, 3]
    }

    [BackendTheory]
    public void WhereSelectsWithBroadcasting(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([-2f, -1, 0, 1, 2, 3], 2, 3);
        using var cond = x.Gt(0);
        using var zero = dev.Scalar(0);
        using (var y = Tensor.Where(cond, x, zero)) AssertClose([0f, 0, 0, 1, 2, 3], [2, 3], y);
        using var rowCond = dev.T([1f, 0, 1]);
        using var other = dev.T([10f, 20], 2, 1);
        using (var y = Tensor.Where(rowCond, x, other)) AssertClose([-2f, 10, 0, 1, 20, 3], [2, 3], y);
    }

    [BackendTheory]
    public void RoundIsHalfToEven(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 0.49f, 2.6f, -1.5f]);
        using var y = x.Round();
        Assert.Equal([0f, 2, 2, -2, 0, 0, 3, -2], y.ToArray());
    }

    [BackendTheory]
    public void UnaryFunctionsMatchTheirDefinitions(BackendCase dev)
    {
        using var scope = dev.Enter();
        float[] v = [-2f, -0.5f, 0f, 0.5f, 3f, 7f];
        using var x = dev.T(v);
        using (var y = x.Clamp(-1, 1)) Assert.Equal([-1f, -0.5f, 0, 0.5f, 1, 1], y.ToArray());
        using (var y = x.Relu()) Assert.Equal([0f, 0, 0, 0.5f, 3, 7], y.ToArray());
        using (var y = x.Relu6()) Assert.Equal([0f, 0, 0, 0.5f, 3, 6], y.ToArray());
        using (var y = x.Abs()) Assert.Equal([2f, 0.5f, 0, 0.5f, 3, 7], y.ToArray());
        using (var y = x.Sign()) Assert.Equal([-1f, -1, 0, 1, 1, 1], y.ToArray());
        using (var y = x.Exp()) AssertClose(v.Select(MathF.Exp).ToArray(), y.ToArray(), what: "exp");
        using (var y = x.Sigmoid()) AssertClose(v.Select(t => 1 / (1 + MathF.Exp(-t))).ToArray(), y.ToArray(), what: "sigmoid");
        using (var y = x.Tanh()) AssertClose(v.Select(MathF.Tanh).ToArray(), y.ToArray(), what: "tanh");
        using (var y = x.Pow(2)) Assert.Equal(v.Select(t => t * t).ToArray(), y.ToArray());
        using var pos = dev.T([0.25f, 1, 4]);
        using (var y = pos.Sqrt()) Assert.Equal([0.5f, 1, 2], y.ToArray());
        using (var y = pos.Log()) AssertClose([MathF.Log(0.25f), 0, MathF.Log(4)], y.ToArray(), what: "log");
        using (var y = x.Map(new Affine(2, 1))) Assert.Equal(v.Select(t => 2 * t + 1).ToArray(), y.ToArray());
    }

    [BackendTheory]
    public void Float64ElementwiseKeepsDoublePrecision(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([0.1, 0.2], 2);
        using var b = dev.T([1e-12, 1e-12], 2);
        using var y = a + b;
        Assert.Equal(DType.Float64, y.DType);
        Assert.Equal([0.1 + 1e-12, 0.2 + 1e-12], y.ToArray<double>());
        using var e = a.Exp();
        Assert.Equal(Math.Exp(0.1), e.ToArray<double>()[0], 15);
    }
}
