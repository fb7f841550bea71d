using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

/// <summary>The layers the model zoo added: ZeroPad2d, AdaptiveAvgPool2d, β-only batch norm, named Sequential entries.</summary>
public class ModelLayerTests
{
    [Theory]
    [InlineData(1, 1, false)]    // dense 3×3, no activation
    [InlineData(1, 2, true)]     // dense, stride 2, ReLU6
    [InlineData(6, 1, true)]     // depthwise, ReLU6
    [InlineData(6, 2, true)]     // depthwise, stride 2
    public void ConvNormActivationInEvaluationFusesAndGivesTheLayersValues(int groups, int stride, bool relu6)
    {
        // evaluation without gradients runs ConvOps.Conv2dBatchNorm; with an input that needs a gradient it runs the
        // layers one by one: the same values (up to float rounding), and a trace still lists conv, batch norm, activation
        var block = new ConvNormActivation(6, 6, 3, stride, groups, relu6 ? () => new ReLU6() : null, rng: new Rng(3));
        block.Norm.RunningMean!.Value.CopyFrom(RandN([6], 4, 0, 0.5));
        using (var v = RandN([6], 5, 0, 0.3)) using (var rv = v.Abs()) using (var r2 = rv.Add(0.5)) block.Norm.RunningVar!.Value.CopyFrom(r2);
        block.Norm.Weight!.Data.CopyFrom(RandN([6], 6, 0, 3));
        block.Eval();
        using var x0 = RandN([2, 6, 11, 13], 7);
        using var fast = new Variable(x0.Clone());
        using var slow = new Variable(x0.Clone(), requiresGrad: true);
        using var trace = ModuleTrace.Begin();
        var profiler = new ProfilingBackend(Backend.Cpu);
        Variable a;
        using (Backend.Use(profiler))
        using (VecQ.Autograd.Autograd.NoGrad()) a = block.Forward(fast);
        using var _a = a;
        Assert.Contains(profiler.Totals(), op => op.Op.StartsWith("Conv2dBatchNorm"));   // the fused op ran
        int fusedCalls = trace.Calls.Count;
        using var b = block.Forward(slow);
        AssertClose(F(b.Value).Select(v => (double)v).ToArray(), F(a.Value).Select(v => (double)v).ToArray(), 1e-5, 1e-5, "fused vs layers");
        Assert.Equal(relu6 ? 3 : 2, fusedCalls);
        Assert.Equal(2 * fusedCalls, trace.Calls.Count);
        if (relu6) Assert.Contains(F(a.Value), v => v == 6f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void BasicBlockInEvaluationGivesTheSameWithAndWithoutGradients(int stride)
    {
        // without gradients: conv → bn (→ ReLU) fused and the residual ReLU in place; with them: the layers one by one
        var block = new BasicBlock(4, 6, stride, rng: new Rng(8));
        foreach (var (_, m) in block.NamedModules())
            if (m is BatchNorm2d bn)
            {
                bn.RunningMean!.Value.CopyFrom(RandN([6], 9, 0, 0.5));
                using var v = RandN([6], 10, 0, 0.3); using var a = v.Abs(); using var r = a.Add(0.5);
                bn.RunningVar!.Value.CopyFrom(r);
            }
        block.Eval();
        using var x0 = RandN([2, 4, 9, 7], 11);
        using var fast = new Variable(x0.Clone());
        using var slow = new Variable(x0.Clone(), requiresGrad: true);
        var profiler = new ProfilingBackend(Backend.Cpu);
        Variable y1;
        using (Backend.Use(profiler))
        using (VecQ.Autograd.Autograd.NoGrad()) y1 = block.Forward(fast);
        using var _y1 = y1;
        Assert.Contains(profiler.Totals(), op => op.Op.StartsWith("Conv2dBatchNorm"));
        Assert.DoesNotContain(profiler.Totals(), op => op.Op == "Unary:Relu" && op.Calls > 1);   // only the in-place residual ReLU
        using var y2 = block.Forward(slow);
        AssertClose(F(y2.Value).Select(v => (double)v).ToArray(), F(y1.Value).Select(v => (double)v).ToArray(), 1e-5, 1e-5, "fused vs layers");
        Assert.Contains(F(y1.Value), v => v == 0f);
        Assert.False(y1.RequiresGrad);
        Assert.True(y2.RequiresGrad);
    }

    [Fact]
    public void ZeroPad2dShapesValuesAndGradient()
    {
        using var x = new Variable(Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [1, 1, 2, 3]), requiresGrad: true);
        var pad = new ZeroPad2d(0, 1, 0, 1);   // Keras's ((0, 1), (0, 1))
        using var y = pad.Forward(x);
        Assert.Equal([1, 1, 3, 4], y.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0 }, F(y.Value));
        using var s = Functions.Sum(Functions.Mul(y, y));
        s.Backward();
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12 }, F(x.Grad!));
        using var all = new ZeroPad2d(2).Forward(x);
        Assert.Equal([1, 1, 6, 7], all.Shape);
        Assert.Throws<ArgumentException>(() => new ZeroPad2d(0, -1, 0, 0));
        using var flat = Input([2, 3], 1);
        Assert.Throws<ArgumentException>(() => pad.Forward(flat));
        Assert.Empty(pad.NamedParameters());
    }

    [Fact]
    public void AdaptiveAvgPool2dMatchesPyTorch()
    {
        var file = Safetensors.Load(FixturePath("blocks.safetensors"));
        var t = file.Tensors;
        try
        {
            using var x = new Variable(t["adaptive.x"].Clone(), requiresGrad: true);   // [2, 3, 7, 5]
            using var y = new AdaptiveAvgPool2d((3, 2)).Forward(x);                      // [2, 3, 3, 2]
            AssertClose(t["adaptive.y"], y.Value, "adaptive_avg_pool2d");
            y.Backward(t["adaptive.r"]);
            AssertClose(t["adaptive.grad.x"], x.Grad!, "adaptive_avg_pool2d grad");
        }
        finally
        {
            foreach (var v in t.Values) v.Dispose();
        }
    }

    [Fact]
    public void AdaptiveAvgPool2dShapesAndSim()
    {
        using var x = Input([2, 3, 7, 7], 2);
        using var g = new AdaptiveAvgPool2d(1).Forward(x);
        Assert.Equal([2, 3, 1, 1], g.Shape);
        using var d = new AdaptiveAvgPool2d((7, 1)).Forward(x);
        Assert.Equal([2, 3, 7, 1], d.Shape);
        using var u = new AdaptiveAvgPool2d((3, 5)).Forward(x);
        Assert.Equal([2, 3, 3, 5], u.Shape);
        // the matrix form on the simulated accelerator gives the CPU's numbers
        using var xs = new Variable(x.Value.To(Device.Sim(0)));
        using var us = new AdaptiveAvgPool2d((3, 5)).Forward(xs);
        Assert.Equal(Device.Sim(0), us.Value.Device);
        Assert.Equal(F(u.Value), F(us.Value));
        Assert.Throws<ArgumentException>(() => new AdaptiveAvgPool2d((0, 1)));
    }

    [Fact]
    public void BatchNormWithoutScaleHasOnlyBeta()
    {
        var bn = new BatchNorm2d(3, eps: 2e-5, scale: false);
        Assert.False(bn.Scale);
        Assert.Null(bn.Weight);
        Assert.Equal(["bias"], bn.NamedParameters().Select(p => p.Name));
        using var x = Input([4, 3, 2, 2], 3, requiresGrad: true);
        bn.Bias!.Data.Fill(0.5);
        using var y = bn.Forward(x);
        using var mean = y.Value.Mean([0, 2, 3]);
        Assert.All(F(mean), m => Assert.Equal(0.5, m, 5));   // γ ≡ 1, β = 0.5
        bn.Eval();
        using var z = bn.Forward(x);
        Assert.Equal([4, 3, 2, 2], z.Shape);
    }

    [Fact]
    public void SequentialNamedEntriesKeepTheIndices()
    {
        var seq = new Sequential().Add(new Linear(4, 8, rng: new Rng(1))).Add("act", new ReLU6()).Add(new Linear(8, 2, rng: new Rng(2)));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], seq.NamedParameters().Select(p => p.Name));
        Assert.Equal(["", "0", "act", "1"], seq.NamedModules().Select(m => m.Name));
        using var x = Input([3, 4], 4);
        using var y = seq.Forward(x);
        Assert.Equal([3, 2], y.Shape);
    }
}
