using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>The activation quantizer of VECQ.md §4: batch step and scale, EMA, running values in eval.</summary>
public sealed class ActivationQuantizerTests
{
    // The documented formulas, in double on the host.
    private static (double Step, double Scale, float[] Y) Reference(float[] x, int bits, double? step = null, double? scale = null)
    {
        double lambda = VecQTheory.OptimalLambda(bits);
        double mean = x.Average(v => (double)v);
        double std = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Length);
        double s = step ?? lambda * std + 1e-7;
        float fs = (float)s;
        var v = new float[x.Length];
        double xx = 0, vv = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float r = MathF.Round(x[i] / fs - 0.5f, MidpointRounding.ToEven);
            v[i] = Math.Clamp(r, -(1 << (bits - 1)), (1 << (bits - 1)) - 1) + 0.5f;
            xx += (double)x[i] * x[i];
            vv += (double)v[i] * v[i];
        }
        double a = scale ?? Math.Sqrt(xx) / Math.Sqrt(vv);
        return (s, a, v.Select(e => (float)(e * (float)a)).ToArray());
    }

    private static void AssertClose(float[] expected, float[] actual, double rtol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= rtol * scale, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Training_UsesBatchStepAndScale_AndTracksThemWithMomentum09()
    {
        var q = new ActivationQuantizer(bits: 4, lambdaMode: LambdaMode.Gaussian);
        double lambda = VecQTheory.OptimalLambda(4);
        Assert.Equal(lambda, q.RunningStep, 6);
        Assert.Equal(lambda, q.RunningScale, 6);
        Assert.Equal(["step", "scale", "lambda", "num_batches_tracked"], q.NamedBuffers().Select(b => b.Name));
        Assert.All(q.NamedBuffers(), b => Assert.Equal(0, b.Buffer.Value.Rank));

        var x1 = TestData.Gaussian(2 * 3 * 5 * 5, 1, 2.0);
        var x2 = TestData.Gaussian(2 * 3 * 5 * 5, 2, 0.5).Select(v => Math.Max(v, 0)).ToArray();   // post-ReLU
        var r1 = Reference(x1, 4);
        using (var xv = new Variable(Tensor.FromArray(x1, [2, 3, 5, 5])))
        using (var y = q.Forward(xv))
        {
            Assert.Equal([2, 3, 5, 5], y.Shape);
            AssertClose(r1.Y, y.Value.ToArray(), 1e-5);
        }
        Assert.Equal(r1.Step, q.LastStep, r1.Step * 1e-5);
        Assert.Equal(r1.Scale, q.LastScale, r1.Scale * 1e-5);
        double step1 = 0.9 * lambda + 0.1 * r1.Step, scale1 = 0.9 * lambda + 0.1 * r1.Scale;
        Assert.Equal(step1, q.RunningStep, step1 * 1e-5);
        Assert.Equal(scale1, q.RunningScale, scale1 * 1e-5);

        var r2 = Reference(x2, 4);
        using (var xv = new Variable(Tensor.FromArray(x2, [2, 3, 5, 5])))
        using (var y = q.Forward(xv))
            AssertClose(r2.Y, y.Value.ToArray(), 1e-5);
        double step2 = 0.9 * step1 + 0.1 * r2.Step, scale2 = 0.9 * scale1 + 0.1 * r2.Scale;
        Assert.Equal(step2, q.RunningStep, step2 * 1e-5);
        Assert.Equal(scale2, q.RunningScale, scale2 * 1e-5);

        // evaluation: the running values, buffers untouched
        q.Eval();
        var re = Reference(x1, 4, step: q.RunningStep, scale: q.RunningScale);
        using (var xv = new Variable(Tensor.FromArray(x1, [2, 3, 5, 5])))
        using (var y = q.Forward(xv))
            AssertClose(re.Y, y.Value.ToArray(), 1e-5);
        Assert.Equal(step2, q.RunningStep, step2 * 1e-5);
        Assert.Equal(q.RunningStep, q.LastStep);
        Assert.Equal(q.RunningScale, q.LastScale);
    }

    [Fact]
    public void Gradient_IsStraightThrough()
    {
        var q = new ActivationQuantizer(bits: 2);
        using var x = new Variable(Tensor.FromArray(TestData.Gaussian(40, 3), [4, 10]), requiresGrad: true);
        using (var y = q.Forward(x))
        using (var s = Functions.Sum(y))
            s.Backward();
        Assert.Equal(Enumerable.Repeat(1f, 40), x.Grad!.ToArray());
    }

    [Fact]
    public void Output_IsOnTheGridTimesScale()
    {
        var q = new ActivationQuantizer(bits: 3, lambdaMode: LambdaMode.Gaussian);
        using var x = new Variable(Tensor.FromArray(TestData.Gaussian(5000, 4), [5000]));
        using var y = q.Forward(x);
        var levels = y.Value.ToArray().Select(v => Math.Round(v / q.LastScale, 4)).Distinct().OrderBy(v => v).ToArray();
        Assert.Equal(VecQTheory.Levels(3), levels);
    }

    [Fact]
    public void LeNet5_WithActivationQuantizers_HasTheirBuffers_AndRuns()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, activations: slot => new ActivationQuantizer(8), rng: new Rng(3));
        var keys = model.StateDict().Select(kv => kv.Key).ToList();
        foreach (var slot in LeNet5.ActivationSlots)
        {
            Assert.Contains(slot + ".step", keys);
            Assert.Contains(slot + ".scale", keys);
        }
        using var x = new Variable(Tensor.RandN([3, 1, 28, 28], new Rng(5)));
        using (var y = model.Forward(x)) Assert.Equal([3, 10], y.Shape);
        model.Eval();
        using (var y = model.Forward(x)) Assert.Equal([3, 10], y.Shape);
    }

    [Fact]
    public void ExactMode_SearchesLambdaOnTheBatch_OnTheFirstForwardAndEverySearchEvery()
    {
        // one-sided, heavy-tailed like post-ReLU activations: the searched λ differs from λ_k
        var x1 = TestData.Gaussian(3000, 7).Select(v => MathF.Max(0, v * MathF.Abs(v))).ToArray();
        var x2 = TestData.Gaussian(3000, 8).Select(v => MathF.Max(0, 3 * v)).ToArray();
        double step8 = Math.Min(0.001, VecQTheory.OptimalLambda(8) / 50);
        double l1 = VecQTheory.GridSearch(x1, 8, step8).Lambda, l2 = VecQTheory.GridSearch(x2, 8, step8).Lambda;
        Assert.NotEqual(l1, l2, 3);
        Assert.True(l1 > 1.5 * VecQTheory.OptimalLambda(8), $"searched λ {l1} should exceed λ_8 on heavy-tailed data");

        var every2 = new ActivationQuantizer(8, searchEvery: 2);
        Assert.Equal(LambdaMode.Exact, every2.LambdaMode);
        var lambdas = new List<double>();
        foreach (var x in new[] { x1, x2, x2 })
        {
            using var v = new Variable(Tensor.FromArray(x, [3000]));
            using var y = every2.Forward(v);
            lambdas.Add(every2.Lambda);
        }
        Assert.Equal(l1, lambdas[0], 5);   // forward 0: searched on x1
        Assert.Equal(l1, lambdas[1], 5);   // forward 1: kept
        Assert.Equal(l2, lambdas[2], 5);   // forward 2: searched on x2
        Assert.Equal(3, (int)every2.TrackedBuffer.Value.Item());

        // the searched step loses much less than λ_k's on such data
        double Error(ActivationQuantizer q)
        {
            using var v = new Variable(Tensor.FromArray(x1, [3000]));
            using var y = q.Forward(v);
            var yv = y.Value.ToArray();
            return Math.Sqrt(x1.Select((e, i) => (double)(yv[i] - e) * (yv[i] - e)).Sum() / x1.Sum(e => (double)e * e));
        }
        double exact = Error(new ActivationQuantizer(8)), gaussian = Error(new ActivationQuantizer(8, lambdaMode: LambdaMode.Gaussian));
        Assert.True(exact < 0.5 * gaussian, $"relative error: exact λ {exact}, λ_k {gaussian}");
    }

    [Fact]
    public void PerChannel_UsesEachChannelsStd_KeepsSmallChannelsAlive_AndTracksPerChannelBuffers()
    {
        // x: [N = 4, C = 3, 5] with channel scales 1, 100 and 0.01 (post-ReLU)
        int n = 4, c = 3, s = 5;
        float[] chScale = [1f, 100f, 0.01f];
        var g = TestData.Gaussian(n * c * s, 9);
        var x = new float[n * c * s];
        for (int i = 0; i < x.Length; i++) x[i] = MathF.Max(0, g[i]) * chScale[i / s % c];
        var q = new ActivationQuantizer(4, lambdaMode: LambdaMode.Gaussian, channels: c);
        Assert.Equal([c], q.StepBuffer.Value.Dims);
        using var xv = new Variable(Tensor.FromArray(x, [n, c, s]));
        using var y = q.Forward(xv);
        var yv = y.Value.ToArray();
        double lambda = VecQTheory.OptimalLambda(4);
        var steps = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            // the documented per-channel formulas, on the channel's own elements
            var idx = Enumerable.Range(0, x.Length).Where(i => i / s % c == ch).ToArray();
            var xc = idx.Select(i => x[i]).ToArray();
            var r = Reference(xc, 4, step: lambda * Std(xc) + 1e-7);
            steps[ch] = r.Step;
            AssertClose(r.Y, idx.Select(i => yv[i]).ToArray(), 1e-5);
            // every channel keeps some variation (one step for the whole tensor would put channel 2 in one bin)
            Assert.True(idx.Select(i => yv[i]).Distinct().Count() > 1, $"channel {ch} collapsed to one level");
        }
        var running = q.StepBuffer.Value.ToArray();
        for (int ch = 0; ch < c; ch++) Assert.Equal(0.9 * lambda + 0.1 * steps[ch], running[ch], 1e-4 * running[ch] + 1e-9);

        var perTensor = new ActivationQuantizer(4, lambdaMode: LambdaMode.Gaussian);
        using var yt = perTensor.Forward(xv);
        var ytv = yt.Value.ToArray();
        Assert.Single(Enumerable.Range(0, x.Length).Where(i => i / s % c == 2).Select(i => ytv[i]).Distinct());

        // evaluation uses the running per-channel values; a wrong channel count is named
        q.Eval();
        using (var ye = q.Forward(xv)) Assert.Equal([n, c, s], ye.Shape);
        var e = Assert.Throws<ArgumentException>(() => q.Forward(new Variable(Tensor.Zeros([2, 4, 5]))));
        Assert.Contains("[N, 3, …]", e.Message);
    }

    private static double Std(float[] x)
    {
        double mean = x.Average(v => (double)v);
        return Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Length);
    }
}
