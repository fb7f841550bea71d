using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

public class ReduceShapeGradTests
{
    public static TheoryData<int[]?, bool> AxesCases => new()
    {
        { null, false },
        { [1], false },
        { [1], true },
        { [0, 2], false },
        { [-1], true },
    };

    [Theory, MemberData(nameof(AxesCases))]
    public void Sum(int[]? axes, bool keepDim) => Check(v => Functions.Sum(v[0], axes, keepDim), RandN([3, 4, 2], 1));

    [Theory, MemberData(nameof(AxesCases))]
    public void Mean(int[]? axes, bool keepDim) => Check(v => Functions.Mean(v[0], axes, keepDim), RandN([3, 4, 2], 2));

    [Theory, MemberData(nameof(AxesCases))]
    public void MaxAndMin(int[]? axes, bool keepDim)
    {
        Check(v => Functions.Max(v[0], axes, keepDim), RandN([3, 4, 2], 3));
        Check(v => Functions.Min(v[0], axes, keepDim), RandN([3, 4, 2], 4));
    }

    [Fact]
    public void MaxSplitsTiesEqually()
    {
        using var _ = Reference();
        using var x = Leaf([1, 3, 3, 2], [4]);
        using var m = Functions.Max(x);
        m.Backward();
        AssertClose([0, 0.5, 0.5, 0], x.Grad!);
    }

    [Fact]
    public void ReshapeViewFlatten()
    {
        Check(v => Functions.Reshape(v[0], 4, -1), RandN([2, 3, 2], 5));
        Check(v => Functions.View(v[0], 6, 2), RandN([2, 3, 2], 6));
        Check(v => Functions.Flatten(v[0], 1), RandN([2, 3, 2], 7));
        // reshape of a non-contiguous view (copies forward; backward must still map back)
        Check(v => Functions.Reshape(Functions.Transpose(v[0], 0, 1), -1), RandN([3, 4], 8));
    }

    [Fact]
    public void TransposePermute()
    {
        Check(v => Functions.Transpose(v[0], 0, 2), RandN([2, 3, 4], 9));
        Check(v => Functions.Permute(v[0], 2, 0, 1), RandN([2, 3, 4], 10));
    }

    [Fact]
    public void NarrowSliceSelect()
    {
        Check(v => Functions.Narrow(v[0], 1, 1, 2), RandN([3, 4], 11));
        Check(v => Functions.Slice(v[0], 0, 1, 5, 2), RandN([6, 2], 12));
        Check(v => Functions.Slice(v[0], 1, -3, -1), RandN([2, 5], 13));
        Check(v => Functions.Select(v[0], 1, -1), RandN([2, 3, 4], 14));
    }

    [Fact]
    public void ExpandBroadcastTo()
    {
        Check(v => Functions.Expand(v[0], 4, 3), RandN([3], 15));
        Check(v => Functions.Expand(v[0], 2, -1, 5), RandN([3, 1], 16));
        Check(v => Functions.BroadcastTo(v[0], [2, 3, 4]), RandN([1, 4], 17));
    }

    [Fact]
    public void SqueezeUnsqueeze()
    {
        Check(v => Functions.Squeeze(v[0]), RandN([3, 1, 2, 1], 18));
        Check(v => Functions.Squeeze(v[0], 1), RandN([3, 1, 2], 19));
        Check(v => Functions.Unsqueeze(v[0], 0), RandN([3, 2], 20));
        Check(v => Functions.Unsqueeze(v[0], -1), RandN([3, 2], 21));
    }

    [Fact]
    public void ConcatStack()
    {
        Check(v => Functions.Concat([v[0], v[1], v[2]], 1), RandN([2, 3], 22), RandN([2, 1], 23), RandN([2, 4], 24));
        Check(v => Functions.Stack([v[0], v[1]], 0), RandN([2, 3], 25), RandN([2, 3], 26));
        Check(v => Functions.Stack([v[0], v[1], v[0]], 2), RandN([2, 3], 27), RandN([2, 3], 28));
    }

    [Fact]
    public void SplitChunk()
    {
        // weight the pieces differently so a mix-up shows in the gradient
        Check(v =>
        {
            var parts = Functions.Split(v[0], [1, 3, 2], 1);
            using var a = Functions.Mul(parts[0], 2.0);
            using var c = Functions.Exp(parts[2]);
            using var sa = Functions.Sum(a);
            using var sb = Functions.Sum(Functions.Mul(parts[1], parts[1]));
            using var sc = Functions.Sum(c);
            return Functions.Add(Functions.Add(sa, sb), sc);
        }, RandN([2, 6], 29));
        Check(v => Functions.Chunk(v[0], 2, 0)[1], RandN([5, 2], 30));
    }

    [Fact]
    public void SumToShapeUndoesBroadcasting()
    {
        using var _ = Reference();
        using var g = Tensor.Ones([2, 3, 4], DType.Float64);
        using var a = Broadcast.SumToShape(g, [3, 1]);
        Assert.Equal([3, 1], a.Dims);
        AssertClose([8, 8, 8], a);
        using var b = Broadcast.SumToShape(g, []);
        AssertClose([24], b);
        using var c = Broadcast.SumToShape(g, [2, 3, 4]);
        Assert.Equal(24, c.Numel);
        Assert.Throws<ArgumentException>(() => Broadcast.SumToShape(g, [5]));
    }
}
