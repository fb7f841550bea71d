using VecQ.Tensors;
using static VecQ.Nn.Tests.OptimTestSupport;

namespace VecQ.Nn.Tests;

public class OptimScheduleTests
{
    private static double[] Lrs(string name) =>
        OptimFixture.Schedule(name).GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double[] Epochs(LrSchedule s, int n) => Enumerable.Range(0, n).Select(e => s.LrAt(e, 0, 10)).ToArray();

    [Fact]
    public void Optim_StepLR_MatchesTorch()
    {
        var torch = Lrs("step");
        Close(torch, Epochs(new StepLR(0.1, stepSize: 3, gamma: 0.5), torch.Length), 1e-15, 1e-12, "StepLR");
        Assert.Equal(0.1, new StepLR(0.1, 30).LrAt(29, 99, 100));
        Assert.Equal(0.1 * 0.1, new StepLR(0.1, 30).LrAt(30, 0, 100), 15);
    }

    [Fact]
    public void Optim_MultiStepLR_MatchesTorch()
    {
        var torch = Lrs("multistep");
        Close(torch, Epochs(new MultiStepLR(0.2, [9, 2, 5], gamma: 0.1), torch.Length), 1e-15, 1e-12, "MultiStepLR");
    }

    [Fact]
    public void Optim_CosineAnnealingLR_MatchesTorch_IncludingPastTMax()
    {
        var torch = Lrs("cosine");
        Close(torch, Epochs(new CosineAnnealingLR(0.1, tMax: 10, etaMin: 0.001), torch.Length), 1e-12, 1e-9, "CosineAnnealingLR");
        var s = new CosineAnnealingLR(0.1, tMax: 10, etaMin: 0.001);
        Assert.Equal(0.1, s.LrAt(0, 0, 4), 15);
        Assert.Equal(0.0505, s.LrAt(5, 0, 4), 12);
        Assert.Equal(0.001, s.LrAt(10, 0, 4), 12);
        Assert.Equal(s.LrAt(5, 0, 4), s.LrAt(5, 3, 4)); // per epoch: constant within the epoch
        var fine = new CosineAnnealingLR(0.1, tMax: 10, etaMin: 0.001, perStep: true);
        Assert.Equal(0.001 + (0.1 - 0.001) * (1 + Math.Cos(Math.PI * 5.5 / 10)) / 2, fine.LrAt(5, 2, 4), 14);
    }

    [Fact]
    public void Optim_ConstantAndLinearWarmup_Values()
    {
        Assert.Equal(0.3, new ConstantLR(0.3).LrAt(17, 5, 8));
        var w = new LinearWarmup(new ConstantLR(0.1), warmupSteps: 4);
        double[] expected = [0.025, 0.05, 0.075, 0.1, 0.1, 0.1];
        for (int g = 0; g < expected.Length; g++) Assert.Equal(expected[g], w.LrAt(g, stepsPerEpoch: 3), 15);
        // the global-step overload and (epoch, stepInEpoch) agree
        Assert.Equal(w.LrAt(1, 0, 3), w.LrAt(3L, 3));
        var w2 = new LinearWarmup(new StepLR(1.0, stepSize: 1, gamma: 0.5), warmupSteps: 10, startFactor: 0.5);
        Assert.Equal(0.5 * (0.5 + 0.5 * 6 / 10.0), w2.LrAt(1, 2, 3), 15); // global step 5 in epoch 1
        Assert.Equal(0.25, w2.LrAt(2, 1, 5), 15);                             // past warm-up
        Assert.Equal(0.1, new LinearWarmup(new ConstantLR(0.1), 0).LrAt(0, 0, 1));
    }

    [Fact]
    public void Optim_Schedules_ValidateArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiStepLR(0.1, [0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLR(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(new ConstantLR(1), 5, startFactor: 2));
        var s = new ConstantLR(0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.LrAt(0, 5, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.LrAt(-1, 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.LrAt(0, 0, 0));
    }

    // ------------------------------------------------------------------ gradient clipping

    // The clip with its norm read back (what these tests compare).
    private static double Clip(IEnumerable<Parameter> ps, double maxNorm, bool errorIfNonfinite = false)
    {
        using var norm = GradClip.ClipByNorm(ps, maxNorm, errorIfNonfinite);
        return norm.Item();
    }

    [Fact]
    public void Optim_ClipByNorm_OnSim_ReadsNothingBack_AndMatchesTheCpu()
    {
        var device = Device.Sim(4);
        var cpu = new[] { Param([0f, 0f], [2], "a"), Param([0f, 0f, 0f], [3], "b") };
        SetGrad(cpu[0], [3f, 0f]);
        SetGrad(cpu[1], [0f, 4f, 12f]);
        var sim = new[] { Param([0f, 0f], [2], "a"), Param([0f, 0f, 0f], [3], "b") };
        SetGrad(sim[0], [3f, 0f]);
        SetGrad(sim[1], [0f, 4f, 12f]);
        foreach (var p in sim) p.MoveTo(device);
        var before = Backend.Transfers(device);
        using var norm = GradClip.ClipByNorm(sim, 6.5);
        Assert.Equal(0, (Backend.Transfers(device) - before).Calls);
        Assert.Equal(device, norm.Device);
        Assert.Equal(Clip(cpu, 6.5), norm.Item());
        for (int i = 0; i < 2; i++) Assert.Equal(cpu[i].Grad!.ToArray<float>(), sim[i].Grad!.ToArray<float>());
        foreach (var p in cpu.Concat(sim)) p.Variable.Dispose();
    }

    [Fact]
    public void Optim_ClipByNorm_MatchesTorchClipGradNorm()
    {
        foreach (var c in OptimFixture.Root.GetProperty("clip").EnumerateArray())
        {
            double maxNorm = c.GetProperty("max_norm").GetDouble();
            var grads = c.GetProperty("grads").EnumerateArray().Select(OptimFixture.Tensor).ToArray();
            var clipped = c.GetProperty("clipped").EnumerateArray().Select(OptimFixture.Tensor).ToArray();
            var ps = grads.Select(g => Param(new float[g.Data.Length], g.Shape)).ToArray();
            for (int i = 0; i < ps.Length; i++) SetGrad(ps[i], grads[i].Data);
            double norm = Clip(ps, maxNorm);
            Close([c.GetProperty("total_norm").GetDouble()], [norm], 0, 1e-6, $"total norm (max {maxNorm})");
            for (int i = 0; i < ps.Length; i++)
                Close(clipped[i].Data, ps[i].Grad!.ToArray<float>(), 1e-7, 1e-6, $"clipped grad {i} (max {maxNorm})");
            foreach (var p in ps) p.Variable.Dispose();
        }
    }

    [Fact]
    public void Optim_ClipByNorm_HandComputed_SkipsNullGradsAndLeavesSmallNormsAlone()
    {
        var a = Param([0f, 0f], [2], "a");
        var b = Param([0f, 0f, 0f], [3], "b");
        var none = Param([0f], [1], "none");
        SetGrad(a, [3f, 0f]);
        SetGrad(b, [0f, 4f, 12f]); // global norm 13
        double norm = Clip([a, b, none], 6.5);
        Assert.Equal(13.0, norm, 12);
        double coef = 6.5 / (13 + 1e-6);
        Close([3 * coef, 0], D(a.Grad!), 1e-7, 1e-6, "a");
        Close([0, 4 * coef, 12 * coef], D(b.Grad!), 1e-7, 1e-6, "b");
        Assert.Null(none.Grad);

        SetGrad(a, [0.3f, 0.4f]);
        Assert.Equal(0.5, Clip([a], 1.0), 7);
        Assert.Equal([0.3f, 0.4f], a.Grad!.ToArray<float>()); // untouched when below the limit

        Assert.Equal(0, Clip([none], 1.0));
        SetGrad(a, [float.NaN, 1f]);
        Assert.Throws<InvalidOperationException>(() => Clip([a], 1.0, errorIfNonfinite: true));
        foreach (var p in new[] { a, b, none }) p.Variable.Dispose();
    }

    [Fact]
    public void Optim_ClipByNorm_LargeTensor_ParallelSumMatchesDouble()
    {
        int n = 5 * 32768 + 7; // above the CPU backend's parallel threshold of 2·32768 (fixed chunks of 32768)
        using var g = Tensor.RandN([n], new Rng(3));
        var values = g.ToArray<float>();
        double expected = Math.Sqrt(values.Sum(v => (double)v * v));
        var p = Param(new float[n], [n]);
        SetGrad(p, values);
        double norm = Clip([p], 1.0);
        Assert.Equal(expected, norm, 9);
        double coef = 1.0 / (expected + 1e-6);
        var clipped = p.Grad!.ToArray<float>();
        for (int i = 0; i < n; i += 997) Assert.Equal((float)(values[i] * (float)coef), clipped[i]);
        p.Variable.Dispose();
    }
}
