using static VecQ.Tensors.Tests.TestUtil;

namespace VecQ.Tensors.Tests;

// Joining (concat/stack/split/chunk) and indexing (index_select/index_add_/gather/scatter_add_).
public partial class HandCheckedOpTests
{
    [BackendTheory]
    public void ConcatAndStackJoinAlongAnAxis(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var a = dev.T([1f, 2, 3, 4], 2, 2);
        using var b = dev.T([5f, 6], 1, 2);
        using (var c = Tensor.Concat([a, b], 0)) AssertClose([1f, 2, 3, 4, 5, 6], [3, 2], c);
        using var bt = b.T();
        using (var c = Tensor.Concat([a, bt], 1)) AssertClose([1f, 2, 5, 3, 4, 6], [2, 3], c);
        using var d = dev.T([7f, 8, 9, 10], 2, 2);
        using (var s = Tensor.Stack([a, d], 0)) AssertClose([1f, 2, 3, 4, 7, 8, 9, 10], [2, 2, 2], s);
        using (var s = Tensor.Stack([a, d], -1)) AssertClose([1f, 7, 2, 8, 3, 9, 4, 10], [2, 2, 2], s);
    }

    [BackendTheory]
    public void SplitAndChunkReturnViews(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(2, 5);
        var parts = x.Split([2, 3], 1);
        try
        {
            AssertClose([0f, 1, 5, 6], [2, 2], parts[0]);
            AssertClose([2f, 3, 4, 7, 8, 9], [2, 3], parts[1]);
            Assert.Same(x.Storage, parts[1].Storage);
        }
        finally { foreach (var p in parts) p.Dispose(); }
        var chunks = x.Chunk(2, 1); // 5 → 3 + 2
        try
        {
            Assert.Equal(2, chunks.Length);
            AssertClose([0f, 1, 2, 5, 6, 7], [2, 3], chunks[0]);
            AssertClose([3f, 4, 8, 9], [2, 2], chunks[1]);
        }
        finally { foreach (var c in chunks) c.Dispose(); }
    }

    [BackendTheory]
    public void IndexSelectPicksSlicesWithRepeats(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.Iota(3, 4);
        using var rows = dev.T([2, 0, 2]);
        using (var y = x.IndexSelect(0, rows)) AssertClose([8f, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11], [3, 4], y);
        using var cols = dev.T([3, 1]);
        using (var y = x.IndexSelect(-1, cols)) AssertClose([3f, 1, 7, 5, 11, 9], [3, 2], y);
        using var t = x.T(); // strided source
        using (var y = t.IndexSelect(0, cols)) AssertClose([3f, 7, 11, 1, 5, 9], [2, 3], y);
    }

    [BackendTheory]
    public void IndexAddAccumulatesDuplicates(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var dst = dev.Zeros([3, 2]);
        using var index = dev.T([1, 1, 0]);
        using var src = dev.T([1f, 2, 3, 4, 5, 6], 3, 2);
        dst.IndexAdd_(0, index, src);
        Assert.Equal([5f, 6, 4, 6, 0, 0], dst.ToArray());
        using var cols = dev.Ones([2, 3]);
        using var colIndex = dev.T([2, 2]);
        using var colSrc = dev.T([1f, 2, 3, 4], 2, 2);
        cols.IndexAdd_(1, colIndex, colSrc);
        Assert.Equal([1f, 1, 4, 1, 1, 8], cols.ToArray());
    }

    [BackendTheory]
    public void GatherPicksOneElementPerIndex(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var x = dev.T([1f, 2, 3, 4, 5, 6], 2, 3);
        using var index = dev.T([2, 0, 1, 1], 2, 2);
        using (var y = x.Gather(1, index)) AssertClose([3f, 1, 5, 5], [2, 2], y);
        using var rowIndex = dev.T([1, 0, 1], 1, 3);
        using (var y = x.Gather(0, rowIndex)) AssertClose([4f, 2, 6], [1, 3], y);
        using var labels = dev.T([2, 0], 2, 1); // the cross-entropy pattern: one column per row
        using (var y = x.Gather(1, labels)) AssertClose([3f, 4], [2, 1], y);
    }

    [BackendTheory]
    public void ScatterAddAccumulatesDuplicates(BackendCase dev)
    {
        using var scope = dev.Enter();
        using var dst = dev.Zeros([2, 3]);
        using var index = dev.T([0, 0, 2, 1, 1, 1], 2, 3);
        using var src = dev.T([1f, 2, 3, 4, 5, 6], 2, 3);
        dst.ScatterAdd_(1, index, src);
        Assert.Equal([3f, 0, 3, 0, 15, 0], dst.ToArray());
        using var dst0 = dev.Zeros([3, 2]);
        using var index0 = dev.T([2, 2], 1, 2);
        using var src0 = dev.T([7f, 8], 1, 2);
        dst0.ScatterAdd_(0, index0, src0);
        Assert.Equal([0f, 0, 0, 0, 7, 8], dst0.ToArray());
    }
}
