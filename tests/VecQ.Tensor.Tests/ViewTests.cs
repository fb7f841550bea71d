using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

/// <summary>Views (shared storage, new layout), copies, creation and host transfer, on every backend column.</summary>
public class ViewTests
{
    [BackendTheory]
    public void ViewInfersMinusOneAndSharesStorage(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(6);
        using var v = x.View(2, -1);
        AssertShape([2, 3], v);
        Assert.Same(x.Storage, v.Storage);
        Assert.Equal([0f, 1, 2, 3, 4, 5], v.ToArray());
        using var r = x.Reshape(-1, 1, 2);
        AssertShape([3, 1, 2], r);
    }

    [BackendTheory]
    public void ViewOfNonContiguousTensorThrowsButReshapeCopies(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3);
        using var t = x.T(); // [3, 2], strides [1, 3]
        var e = Assert.Throws<ArgumentException>(() => t.View(6));
        Assert.Contains("cannot be viewed as [6] without a copy", e.Message);
        using var r = t.Reshape(6);
        Assert.NotSame(x.Storage, r.Storage);
        Assert.Equal([0f, 3, 1, 4, 2, 5], r.ToArray());
    }

    [BackendTheory]
    public void ViewSplitsAndMergesCompatibleDimensionsOfANarrowedTensor(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(4, 6);
        using var n = x.Narrow(1, 0, 3); // [4, 3], strides [6, 1]
        using var v = n.View(2, 2, 3);   // splits the outer dimension only: still a view
        Assert.Same(x.Storage, v.Storage);
        Assert.Equal(new[] { 12, 6, 1 }, v.Strides);
        Assert.Equal(n.ToArray(), v.ToArray());
        Assert.Throws<ArgumentException>(() => n.View(12));
    }

    [BackendTheory]
    public void ReshapeRejectsBadShapes(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3, 4);
        Assert.Contains("more than one -1", Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1)).Message);
        Assert.Contains("cannot infer -1", Assert.Throws<ArgumentException>(() => x.Reshape(-1, 5)).Message);
        Assert.Contains("(24 elements) cannot take shape [5, 5] (25 elements)", Assert.Throws<ArgumentException>(() => x.Reshape(5, 5)).Message);
    }

    [BackendTheory]
    public void TransposeAndPermuteReorderElements(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3, 4);
        using var t = x.Transpose(0, 2); // [4, 3, 2]
        AssertShape([4, 3, 2], t);
        Assert.Equal(new[] { 1, 4, 12 }, t.Strides);
        Assert.False(t.IsContiguous);
        var tv = t.ToArray();
        var xv = x.ToArray();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 2; k++)
                    Assert.Equal(xv[k * 12 + j * 4 + i], tv[i * 6 + j * 2 + k]);
        using var p = x.Permute(1, 2, 0); // [3, 4, 2]
        AssertShape([3, 4, 2], p);
        Assert.Equal(xv[1 * 12 + 2 * 4 + 3], p.ToArray()[2 * 8 + 3 * 2 + 1]);
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0, 1));
    }

    [BackendTheory]
    public void NarrowSliceAndSelectPickRanges(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(3, 5);
        using var n = x.Narrow(1, 1, 3);
        Assert.Equal([1f, 2, 3, 6, 7, 8, 11, 12, 13], n.ToArray());
        using var s = x.Slice(1, 0, 5, 2); // columns 0, 2, 4
        Assert.Equal([0f, 2, 4, 5, 7, 9, 10, 12, 14], s.ToArray());
        using var neg = x.Slice(1, -2, 5); // columns 3, 4
        Assert.Equal([3f, 4, 8, 9, 13, 14], neg.ToArray());
        using var stepRows = x.Slice(0, 1, 3, 2); // row 1 only
        Assert.Equal([5f, 6, 7, 8, 9], stepRows.ToArray());
        using var row = x.Select(0, -1);
        Assert.Equal([10f, 11, 12, 13, 14], row.ToArray());
        Assert.Throws<ArgumentException>(() => x.Narrow(1, 3, 3));
    }

    [BackendTheory]
    public void ExpandMakesStrideZeroBroadcastViews(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var col = dev.T([1f, 2, 3], 3, 1);
        using var e = col.Expand(2, 3, 4);
        AssertShape([2, 3, 4], e);
        Assert.Equal(new[] { 0, 1, 0 }, e.Strides);
        Assert.Same(col.Storage, e.Storage);
        var v = e.ToArray();
        Assert.Equal(24, v.Length);
        Assert.Equal(3f, v[23]);
        Assert.Equal(2f, v[12 + 4 + 1]);
        using var keep = col.Expand(-1, 2);
        Assert.Equal([1f, 1, 2, 2, 3, 3], keep.ToArray());
        using var c = e.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.Equal(v, c.ToArray());
        Assert.Throws<ArgumentException>(() => col.Expand(4, 4));
    }

    [BackendTheory]
    public void SqueezeUnsqueezeAndFlattenChangeOnlyTheShape(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 1, 3, 1);
        using (var s = x.Squeeze()) AssertShape([2, 3], s);
        using (var s1 = x.Squeeze(1)) AssertShape([2, 3, 1], s1);
        using (var s0 = x.Squeeze(0)) AssertShape([2, 1, 3, 1], s0); // size 2: unchanged
        using (var u = x.Unsqueeze(0)) AssertShape([1, 2, 1, 3, 1], u);
        using (var u = x.Unsqueeze(-1)) AssertShape([2, 1, 3, 1, 1], u);
        using var y = dev.Iota(2, 3, 4);
        using (var f = y.Flatten(1)) AssertShape([2, 12], f);
        using (var f = y.Flatten()) AssertShape([24], f);
        using (var f = y.Flatten(0, 1)) { AssertShape([6, 4], f); Assert.Same(y.Storage, f.Storage); }
    }

    [BackendTheory]
    public void ContiguousCopiesOnlyWhenNeeded(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 3);
        using var same = x.Contiguous();
        Assert.Same(x.Storage, same.Storage);
        using var t = x.T();
        using var c = t.Contiguous();
        Assert.NotSame(x.Storage, c.Storage);
        Assert.True(c.IsContiguous);
        Assert.Equal([0f, 3, 1, 4, 2, 5], c.ToArray());
    }

    [BackendTheory]
    public void WritingThroughAViewChangesTheBase(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Zeros([3, 4]);
        using (var row = x.Select(0, 1)) row.CopyFrom(dev.T([1f, 2, 3, 4]));
        using (var col = x.Narrow(1, 3, 1)) col.Fill(9);
        using (var t = x.T())
        using (var firstRow = t.Narrow(0, 0, 1))
        using (var corner = firstRow.Narrow(1, 2, 1)) // element x[2, 0]
            corner.CopyFrom(dev.T([7f], 1, 1));
        Assert.Equal([0f, 0, 0, 9, 1, 2, 3, 9, 7, 0, 0, 9], x.ToArray());
        using (var bcast = x.Narrow(0, 0, 1)) bcast.CopyFrom(dev.Scalar(5)); // scalar broadcast into a row
        Assert.Equal([5f, 5, 5, 5], x.ToArray()[..4]);
    }

    [BackendTheory]
    public void CloneOwnsItsStorage(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 2);
        using var c = x.Clone();
        Assert.NotSame(x.Storage, c.Storage);
        c.Fill(1);
        Assert.Equal([0f, 1, 2, 3], x.ToArray());
        Assert.Equal([1f, 1, 1, 1], c.ToArray());
    }

    [BackendTheory]
    public void CastConvertsAndTruncatesTowardZero(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([-1.7f, -0.5f, 0.5f, 2.9f, 3f]);
        using var i = x.Cast(DType.Int32);
        Assert.Equal(DType.Int32, i.DType);
        Assert.Equal([-1, 0, 0, 2, 3], i.ToArray<int>());
        using var back = i.Cast(DType.Float32);
        Assert.Equal([-1f, 0, 0, 2, 3], back.ToArray());
        using var d = x.Cast(DType.Float64);
        Assert.Equal((double)-1.7f, d.ToArray<double>()[0]);
        using var f = d.Cast(DType.Float32);
        Assert.Equal(x.ToArray(), f.ToArray());
    }

    [BackendTheory]
    public void ToSameDeviceSharesStorage(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(3);
        using var y = x.To(dev.Device);
        Assert.Same(x.Storage, y.Storage);
        Assert.Equal(dev.Device, y.Device);
    }

    [BackendTheory]
    public void ItemReadsTheSingleValue(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var s = dev.Scalar(2.5);
        AssertShape([], s);
        Assert.Equal(2.5, s.Item());
        using var one = dev.T([7], 1, 1);
        Assert.Equal(7.0, one.Item());
        using var d = dev.Scalar(0.1, DType.Float64);
        Assert.Equal(0.1, d.Item());
        using var two = dev.Iota(2);
        Assert.Contains("has 2 elements; expected exactly 1", Assert.Throws<ArgumentException>(() => two.Item()).Message);
    }

    [BackendTheory]
    public void ToArrayFollowsOffsetAndStrides(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(3, 4);
        using var t = x.T();                 // [4, 3]
        using var part = t.Narrow(0, 1, 2);   // rows 1..2 of the transpose = columns 1..2 of x
        Assert.Equal(1, part.Offset);
        Assert.Equal([1f, 5, 9, 2, 6, 10], part.ToArray());
        Assert.Throws<ArgumentException>(() => x.ToArray<int>());
    }

    [BackendTheory]
    public void ArangeAndFullBuildValues(BackendCase dev)
    {
        using var scope = dev.Enter();
        using (var a = Tensor.Arange(0, 5, device: dev.Device)) Assert.Equal([0f, 1, 2, 3, 4], a.ToArray());
        using (var a = Tensor.Arange(1, 2, 0.25, device: dev.Device)) Assert.Equal([1f, 1.25f, 1.5f, 1.75f], a.ToArray());
        using (var a = Tensor.Arange(3, 0, -1, DType.Int32, device: dev.Device)) Assert.Equal([3, 2, 1], a.ToArray<int>());
        using (var a = Tensor.Arange(0, 3, 1, DType.Float64, device: dev.Device)) Assert.Equal([0.0, 1, 2], a.ToArray<double>());
        using (var a = Tensor.Arange(5, 0, device: dev.Device)) Assert.Empty(a.ToArray());
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0, 1, 0, device: dev.Device));
        using (var f = dev.Full([2, 2], -3.5)) Assert.Equal([-3.5f, -3.5f, -3.5f, -3.5f], f.ToArray());
        using (var f = dev.Full([3], 4.9, DType.Int32)) Assert.Equal([4, 4, 4], f.ToArray<int>());
        using (var o = dev.Ones([2], DType.Float64)) Assert.Equal([1.0, 1.0], o.ToArray<double>());
    }

    [BackendTheory]
    public void FromArrayChecksTheShape(BackendCase dev)
    {
        using var scope = dev.Enter();
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], [2, 3], dev.Device));
        Assert.Equal("from_array: 5 values cannot fill shape [2, 3] (6 elements)", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[4], [-2, -2], dev.Device));
        using var ok = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, [3, 2], dev.Device);
        Assert.Equal(DType.Int32, ok.DType);
        Assert.Equal([1, 2, 3, 4, 5, 6], ok.ToArray<int>());
    }

    [BackendTheory]
    public void ViewsKeepStorageAliveAfterTheBaseIsDisposed(BackendCase dev)
    {
        using var scope = dev.Enter();
        var x = dev.Iota(4);
        var v = x.Narrow(0, 2, 2);
        x.Dispose();
        Assert.False(v.Storage.IsReleased);
        Assert.Equal([2f, 3], v.ToArray());
        v.Dispose();
        Assert.True(v.Storage.IsReleased);
    }
}
