using VecQ.Tensors;

namespace VecQ.Autograd.Tests;

/// <summary>The ownership rule: a scope disposes every variable made inside it, except those kept or made while suspended.</summary>
public sealed class TensorScopeTests
{
    [Fact]
    public void Scope_DisposesEveryVariableMadeInside_AfterBackward_AndLeavesGradientsAlone()
    {
        var device = Device.Sim(5);
        long start = Backend.MemoryStats(device).LiveBytes;
        using var w = new Variable(Tensor.Ones([3, 4], device: device), requiresGrad: true, name: "w");
        Variable h, y;
        using (var scope = TensorScope.Begin())
        {
            var x = new Variable(Tensor.Full([2, 3], 0.5, device: device));
            h = Functions.Relu(Functions.MatMul(x, w));            // [2, 4]
            y = Functions.Sum(Functions.Mul(h, h));
            y.Backward();
            Assert.True(scope.Count >= 5, $"the scope owns {scope.Count} variables");
        }
        Assert.True(h.Value.IsDisposed && y.Value.IsDisposed);
        Assert.False(w.Value.IsDisposed);
        Assert.Equal(new float[] { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 }, w.Grad!.ToArray());   // 2·Σ_r x·h = 2·2·0.5·1.5 per entry
        w.ZeroGrad();
        w.Dispose();
        Assert.Equal(start, Backend.MemoryStats(device).LiveBytes);
    }

    [Fact]
    public void Keep_MovesAResultToTheEnclosingScope_AndSuspendMakesUnownedVariables()
    {
        Variable kept, free;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                kept = inner.Keep(Functions.Exp(new Variable(Tensor.Zeros([2]))));
                using (TensorScope.Suspend()) free = new Variable(Tensor.Ones([2]));
                Assert.Throws<ArgumentException>(() => inner.Keep(free));
            }
            Assert.False(kept.Value.IsDisposed);
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.Value.IsDisposed);
        Assert.False(free.Value.IsDisposed);
        free.Dispose();
    }

    [Fact]
    public void WithoutAScope_NothingIsOwned()
    {
        using var a = new Variable(Tensor.Ones([2]));
        using var b = Functions.Exp(a);
        Assert.False(b.Value.IsDisposed);
    }
}
