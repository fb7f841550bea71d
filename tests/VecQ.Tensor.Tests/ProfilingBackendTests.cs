namespace VecQ.Tensors.Tests;

/// <summary><see cref="ProfilingBackend"/> forwards every call unchanged and counts each operation.</summary>
public class ProfilingBackendTests
{
    [Fact]
    public void CountsCallsAndLeavesResultsUnchanged()
    {
        var rng = new Rng(5);
        using var x = Tensor.RandN([2, 3, 6, 6], rng);
        using var w = Tensor.RandN([4, 3, 3, 3], rng);
        using var plain = ConvOps.Conv2d(x, w, null, (1, 1), (1, 1));
        var profiler = new ProfilingBackend(Backend.Cpu);
        Tensor profiled;
        using (Backend.Use(profiler))
        {
            using var y = ConvOps.Conv2d(x, w, null, (1, 1), (1, 1));
            profiled = y + y;
        }
        using (profiled)
        {
            Assert.Equal(plain.ToArray<float>().Select(v => 2 * v), profiled.ToArray<float>());
            var totals = profiler.Totals().ToDictionary(o => o.Op);
            Assert.Equal(1, totals["Conv2d:3x3"].Calls);
            Assert.Equal(1, totals["Binary:Add"].Calls);
            Assert.True(totals["Conv2d:3x3"].Milliseconds > 0);
            Assert.Equal("profiling(cpu)", profiler.Name);
        }
        profiler.Reset();
        Assert.Empty(profiler.Totals());
    }
}
