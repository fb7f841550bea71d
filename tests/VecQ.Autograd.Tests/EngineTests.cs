using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

public class EngineTests
{
    [Fact]
    public void GradientsAccumulateAcrossBackwardCallsUntilZeroGrad()
    {
        using var _ = Reference();
        using var w = Leaf([1, 2, 3], [3], name: "w");
        for (int call = 1; call <= 2; call++)
        {
            using var loss = Functions.Sum(Functions.Mul(w, w)); // d/dw = 2w
            loss.Backward();
            AssertClose([2 * call, 4 * call, 6 * call], w.Grad!);
        }
        w.ZeroGrad();
        Assert.Null(w.Grad);
        using (var loss = Functions.Sum(Functions.Mul(w, 3.0))) loss.Backward();
        AssertClose([3, 3, 3], w.Grad!);
    }

    [Fact]
    public void LeafGradientsOwnTheirStorage_SoInPlaceUpdatesTouchNothingElse()
    {
        using var _ = Reference();
        // a straight-through node hands its incoming gradient on unchanged: the leaf must still get
        // a gradient that no other tensor shares
        using var x = Leaf([1, -2, 3], [3], name: "x");
        using var y = Functions.Mul(x, 2.0);
        using var st = Functions.StraightThrough(y, y.Value);
        using var z = Functions.Sum(Functions.Mul(st, st));   // dz/dx = 2·(2x)·2 = 8x
        z.Backward();
        Assert.True(x.Grad!.IsContiguous && x.Grad.Storage.IsExclusive);
        AssertClose([8, -16, 24], x.Grad);

        // a leaf root seeded by the caller: the caller's seed is copied, not shared
        using var leaf = Leaf([5, 6], [2], name: "leaf");
        using var seed = Tensor.FromArray(new[] { 1.0, 2.0 }, [2]);
        leaf.Backward(seed);
        Assert.True(leaf.Grad!.Storage.IsExclusive);
        Assert.NotSame(seed.Storage, leaf.Grad.Storage);
        leaf.Grad.Fill(0);
        AssertClose([1, 2], seed);
    }

    [Fact]
    public void DiamondGraphSumsBothPaths()
    {
        using var _ = Reference();
        using var x = Leaf([2], []);
        using var a = Functions.Mul(x, 3.0);                 // 3x
        using var b = Functions.Exp(a);                      // e^{3x}
        using var c = Functions.Mul(a, a);                   // 9x²
        using var y = Functions.Add(b, c);                   // dy/dx = 3e^{3x} + 18x
        y.Backward();
        AssertClose([3 * Math.Exp(6) + 36], x.Grad!, 1e-9);
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        using var _ = Reference();
        using var w = Leaf([1, 2], [2]);
        Assert.True(Autograd.IsGradEnabled);
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsGradEnabled);
            using var y = Functions.Sum(Functions.Exp(w));
            Assert.Null(y.Node);
            Assert.False(y.RequiresGrad);
            var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
            Assert.Contains("does not require grad", e.Message);
            using (Autograd.EnableGrad())
            {
                using var z = Functions.Exp(w);
                Assert.NotNull(z.Node);
            }
            Assert.False(Autograd.IsGradEnabled);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.Null(w.Grad);
    }

    [Fact]
    public async Task NoGradFlowsIntoAsyncCode()
    {
        using var _ = Reference();
        using var w = Leaf([1], [1]);
        using (Autograd.NoGrad())
        {
            bool inner = await Task.Run(() => Autograd.IsGradEnabled);
            Assert.False(inner);
        }
        Assert.True(await Task.Run(() => Autograd.IsGradEnabled));
    }

    [Fact]
    public void DetachStopsGradients()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2], [2]);
        using var y = Functions.Mul(x, x);                   // x²
        using var d = y.Detach();
        Assert.True(d.IsLeaf);
        Assert.False(d.RequiresGrad);
        AssertClose([1, 4], d.Value);
        using var loss = Functions.Sum(Functions.Add(Functions.Mul(d, x), y)); // d·x + x², d constant → d + 2x
        loss.Backward();
        AssertClose([1 + 2, 4 + 4], x.Grad!);
    }

    [Fact]
    public void SecondBackwardThroughAFreedGraphThrows()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2], [2]);
        using var loss = Functions.Sum(Functions.Exp(x));
        loss.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("Trying to backward through the graph a second time", e.Message);
        Assert.Contains("retainGraph", e.Message);
        AssertClose([Math.Exp(1), Math.Exp(2)], x.Grad!, 1e-12); // nothing accumulated by the failed call
    }

    [Fact]
    public void RetainGraphAllowsASecondBackward()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2], [2]);
        using var loss = Functions.Sum(Functions.Exp(x));
        loss.Backward(retainGraph: true);
        loss.Backward();
        AssertClose([2 * Math.Exp(1), 2 * Math.Exp(2)], x.Grad!, 1e-12);
        Assert.True(loss.Node!.IsReleased);
    }

    [Fact]
    public void BackwardOfNonScalarNeedsAGradient()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2, 3], [3]);
        using var y = Functions.Mul(x, 2.0);
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("scalar", e.Message);
        using var dy = Tensor.FromArray(new double[] { 1, 10, 100 });
        y.Backward(dy);
        AssertClose([2, 20, 200], x.Grad!);
        Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones([2], DType.Float64)));
    }

    [Fact]
    public void BackwardOnALeafSeedsItsGradient()
    {
        using var _ = Reference();
        using var x = Leaf([5], []);
        x.Backward();
        AssertClose([1], x.Grad!);
    }

    [Fact]
    public void OnlyInputsThatRequireGradReceiveGradients()
    {
        using var _ = Reference();
        using var a = Leaf([1, 2], [2]);
        using var b = Leaf([3, 4], [2], requiresGrad: false);
        using var loss = Functions.Sum(Functions.Mul(a, b));
        loss.Backward();
        AssertClose([3, 4], a.Grad!);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void DeepGraphsDoNotOverflowTheStack()
    {
        using var _ = Reference();
        using var x = Leaf([1], [1]);
        var h = Functions.Mul(x, 1.0);
        for (int i = 0; i < 20_000; i++)
        {
            var next = Functions.Add(h, 0.0);
            h.Dispose();                                     // disposing intermediates keeps the graph valid
            h = next;
        }
        using var loss = Functions.Sum(h);
        h.Dispose();
        loss.Backward();
        AssertClose([1], x.Grad!);
    }

    [Fact]
    public void SavedTensorsAreReleasedAfterBackward()
    {
        using var _ = Reference();
        using var x = Leaf([1, 2], [2]);
        using var e = Functions.Exp(x);
        using var loss = Functions.Sum(e);
        var expNode = e.Node!;
        Assert.False(expNode.IsReleased);
        loss.Backward();
        Assert.True(expNode.IsReleased);
        AssertClose([Math.Exp(1), Math.Exp(2)], e.Value, 1e-12); // the value itself is untouched
    }

    [Fact]
    public void GradIsAnOwnedContiguousTensor()
    {
        using var _ = Reference();
        using var b = Leaf([1, 2, 3], [3]);
        using var x = Leaf(new double[12], [4, 3], requiresGrad: false);
        using var loss = Functions.Sum(Functions.Add(x, b));
        loss.Backward();
        Assert.True(b.Grad!.IsContiguous);
        AssertClose([4, 4, 4], b.Grad!);
        b.Grad!.Fill(0);                                     // in place, as an optimizer would
        AssertClose([0, 0, 0], b.Grad!);
    }

    [Fact]
    public void LeavesCannotRequireGradForIntegers()
    {
        using var _ = Reference();
        using var ids = Tensor.FromArray(new[] { 1, 2 });
        Assert.Throws<ArgumentException>(() => new Variable(ids.Clone(), requiresGrad: true));
        using var x = Leaf([1], [1]);
        using var y = Functions.Exp(x);
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
    }

    [Fact]
    public void GradCheckReportsAWrongGradient()
    {
        using var _ = Reference();
        // an op whose backward is off by a factor 2 at every element
        static Variable BadSquare(Variable x) =>
            Graph.Record("bad_square", x.Value.Mul(x.Value), [x], [x.Value], (g, ctx) => [g.Mul(ctx.Saved[0])]);
        using var input = RandN([2, 3], 1);
        var e = Assert.Throws<GradCheckException>(() => GradCheck.Check(v => BadSquare(v[0]), [input]));
        Assert.Contains("input 0", e.Message);
        Assert.Contains("element", e.Message);
        var r = GradCheck.Run(v => BadSquare(v[0]), [input]);
        Assert.False(r.Passed);
        Assert.Equal(0, r.WorstInput);
        var ok = GradCheck.Check(v => Functions.Mul(v[0], v[0]), [input]);
        Assert.True(ok.Passed);
        Assert.True(ok.MaxAbsError < 1e-6);
    }

    [Fact]
    public void GradCheckCastsFloat32InputsToFloat64()
    {
        using var _ = Reference();
        using var x = Tensor.FromArray(new float[] { 0.5f, -1.5f, 2 });
        var r = GradCheck.Check(v =>
        {
            Assert.Equal(DType.Float64, v[0].Value.DType);
            return Functions.Tanh(v[0]);
        }, [x]);
        Assert.True(r.Passed);
    }
}
