using System.Text.Json;
using VecQ.Tensors;
using static VecQ.Nn.Tests.OptimTestSupport;

namespace VecQ.Nn.Tests;

public class OptimizerTests
{
    private static readonly float[] P0 = [0.5f, -1.25f, 2f, 0.1f];
    private static readonly float[][] Grads =
    [
        [0.3f, -0.7f, 1.1f, 0.05f],
        [-0.2f, 0.4f, 0.9f, -0.6f],
        [0.8f, 0.1f, -0.5f, 0.25f],
    ];

    // ------------------------------------------------------------------ hand-computed references (PyTorch's formulas in double)

    private static double[] SgdReference(double lr, double mu, double damp, double wd, bool nesterov)
    {
        var p = Array.ConvertAll(P0, v => (double)v);
        double[]? buf = null;
        foreach (var gs in Grads)
        {
            var g = Array.ConvertAll(gs, v => (double)v);
            for (int i = 0; i < p.Length; i++) g[i] += wd * p[i];
            if (mu != 0)
            {
                if (buf == null) buf = (double[])g.Clone();
                else for (int i = 0; i < p.Length; i++) buf[i] = mu * buf[i] + (1 - damp) * g[i];
                for (int i = 0; i < p.Length; i++) g[i] = nesterov ? g[i] + mu * buf[i] : buf[i];
            }
            for (int i = 0; i < p.Length; i++) p[i] -= lr * g[i];
        }
        return p;
    }

    private static double[] AdamReference(double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        var p = Array.ConvertAll(P0, v => (double)v);
        var m = new double[p.Length];
        var v = new double[p.Length];
        int t = 0;
        foreach (var gs in Grads)
        {
            t++;
            var g = Array.ConvertAll(gs, x => (double)x);
            for (int i = 0; i < p.Length; i++)
            {
                if (decoupled) p[i] *= 1 - lr * wd;
                else g[i] += wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                // PyTorch's arrangement: p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
                p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
            }
        }
        return p;
    }

    private static float[] RunThreeSteps(Func<Parameter, Optimizer> make, bool fused = true)
    {
        var p = Param(P0, [2, 2]);
        using var opt = make(p);
        opt.UseFusedKernels = fused;
        foreach (var g in Grads)
        {
            SetGrad(p, g);
            opt.Step();
        }
        var result = p.Data.ToArray<float>();
        p.Variable.Dispose();
        return result;
    }

    public static TheoryData<string, bool> HandCases()
    {
        var d = new TheoryData<string, bool>();
        foreach (var name in new[] { "sgd", "sgd_momentum", "sgd_dampening", "sgd_nesterov", "sgd_wd", "sgd_all", "adam", "adam_wd", "adamw", "adamw_default" })
        {
            d.Add(name, true);
            d.Add(name, false);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(HandCases))]
    public void Optim_MatchesHandComputedUpdates_OverThreeSteps(string name, bool fused)
    {
        (Func<Parameter, Optimizer> make, double[] expected) = name switch
        {
            "sgd" => ((Func<Parameter, Optimizer>)(p => new Sgd([p], lr: 0.1)), SgdReference(0.1, 0, 0, 0, false)),
            "sgd_momentum" => (p => new Sgd([p], lr: 0.1, momentum: 0.9), SgdReference(0.1, 0.9, 0, 0, false)),
            "sgd_dampening" => (p => new Sgd([p], lr: 0.1, momentum: 0.9, dampening: 0.5), SgdReference(0.1, 0.9, 0.5, 0, false)),
            "sgd_nesterov" => (p => new Sgd([p], lr: 0.1, momentum: 0.9, nesterov: true), SgdReference(0.1, 0.9, 0, 0, true)),
            "sgd_wd" => (p => new Sgd([p], lr: 0.1, weightDecay: 0.01), SgdReference(0.1, 0, 0, 0.01, false)),
            "sgd_all" => (p => new Sgd([p], lr: 0.05, momentum: 0.8, weightDecay: 0.1, nesterov: true), SgdReference(0.05, 0.8, 0, 0.1, true)),
            "adam" => (p => new Adam([p], lr: 0.01), AdamReference(0.01, 0.9, 0.999, 1e-8, 0, false)),
            "adam_wd" => (p => new Adam([p], lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1), AdamReference(0.01, 0.8, 0.99, 1e-6, 0.1, false)),
            "adamw" => (p => new AdamW([p], lr: 0.02, weightDecay: 0.1), AdamReference(0.02, 0.9, 0.999, 1e-8, 0.1, true)),
            "adamw_default" => (p => new AdamW([p]), AdamReference(1e-3, 0.9, 0.999, 1e-8, 0.01, true)),
            _ => throw new ArgumentException(name),
        };
        var actual = RunThreeSteps(make, fused);
        Close(expected, Array.ConvertAll(actual, v => (double)v), 1e-6, 1e-6, name);
    }

    [Fact]
    public void Optim_Float64Parameters_MatchHandComputedUpdatesTightly()
    {
        foreach (bool adam in new[] { false, true })
        {
            var p = new Parameter(Tensor.FromArray(Array.ConvertAll(P0, v => (double)v), [2, 2]), "p");
            using Optimizer opt = adam ? new Adam([p], lr: 0.01, weightDecay: 0.05) : new Sgd([p], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
            foreach (var g in Grads)
            {
                SetGrad(p, Array.ConvertAll(g, v => (double)v));
                opt.Step();
            }
            var expected = adam ? AdamReference(0.01, 0.9, 0.999, 1e-8, 0.05, false) : SgdReference(0.1, 0.9, 0, 0.01, true);
            Close(expected, p.Data.ToArray<double>(), 1e-12, 1e-12, adam ? "adam f64" : "sgd f64");
            p.Variable.Dispose();
        }
    }

    // ------------------------------------------------------------------ PyTorch fixture

    private static Optimizer Make(JsonElement c, IEnumerable<(string, Parameter)> ps)
    {
        var h = c.GetProperty("hyper");
        double lr = h.GetProperty("lr").GetDouble();
        double wd = OptimFixture.Number(h, "weight_decay", -1);
        double b1 = 0.9, b2 = 0.999;
        if (h.TryGetProperty("betas", out var betas)) { b1 = betas[0].GetDouble(); b2 = betas[1].GetDouble(); }
        double eps = OptimFixture.Number(h, "eps", 1e-8);
        return c.GetProperty("kind").GetString() switch
        {
            "Sgd" => new Sgd(ps, lr, OptimFixture.Number(h, "momentum", 0), OptimFixture.Number(h, "dampening", 0), Math.Max(wd, 0),
                h.TryGetProperty("nesterov", out var n) && n.GetBoolean()),
            "Adam" => new Adam(ps, lr, b1, b2, eps, Math.Max(wd, 0)),
            "AdamW" => wd < 0 ? new AdamW(ps, lr, b1, b2, eps) : new AdamW(ps, lr, b1, b2, eps, wd),
            var k => throw new ArgumentException(k),
        };
    }

    public static TheoryData<string, bool, bool> FixtureCases()
    {
        var d = new TheoryData<string, bool, bool>();
        foreach (var name in new[] { "sgd_plain", "sgd_momentum", "sgd_momentum_dampening", "sgd_nesterov", "sgd_weight_decay", "sgd_all",
                                     "adam", "adam_betas_eps", "adam_weight_decay", "adamw", "adamw_weight_decay" })
        {
            d.Add(name, true, false);
            d.Add(name, false, false);
            d.Add(name, true, true);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void Optim_MatchesTorchOptimOverFiveSteps(string name, bool fused, bool float64)
    {
        var c = OptimFixture.Case(name);
        var init = c.GetProperty("init");
        var ps = new Dictionary<string, Parameter>();
        foreach (var key in new[] { "p0", "p1" })
        {
            var (shape, data) = OptimFixture.Tensor(init.GetProperty(key));
            ps[key] = float64
                ? new Parameter(Tensor.FromArray(Array.ConvertAll(data, v => (double)v), shape), key)
                : new Parameter(Tensor.FromArray(data, shape), key);
        }
        using var opt = Make(c, ps.Select(kv => (kv.Key, kv.Value)));
        opt.UseFusedKernels = fused;
        var grads = c.GetProperty("grads").EnumerateArray().ToArray();
        var after = c.GetProperty("params").EnumerateArray().ToArray();
        for (int step = 0; step < grads.Length; step++)
        {
            foreach (var (key, p) in ps)
            {
                var g = grads[step].GetProperty(key);
                if (g.ValueKind == JsonValueKind.Null) SetGrad(p, (float[]?)null);
                else if (float64) SetGrad(p, Array.ConvertAll(OptimFixture.Tensor(g).Data, v => (double)v));
                else SetGrad(p, OptimFixture.Tensor(g).Data);
            }
            opt.Step();
            foreach (var (key, p) in ps)
            {
                var expected = Array.ConvertAll(OptimFixture.Tensor(after[step].GetProperty(key)).Data, v => (double)v);
                Close(expected, D(p.Data), 1e-6, 1e-6, $"{name} step {step + 1} {key}");
            }
        }

        // state tensors and per-parameter step counts, by PyTorch's names
        var state = opt.StateDict();
        var tensors = state.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        int expectedTensors = 0;
        foreach (var key in new[] { "p0", "p1" })
        {
            var st = c.GetProperty("state").GetProperty(key);
            foreach (var slot in st.EnumerateObject())
            {
                if (slot.Name == "step")
                {
                    Assert.Equal(slot.Value.GetInt32(), state.Scalars[$"{key}.step"]);
                    continue;
                }
                expectedTensors++;
                Assert.True(tensors.TryGetValue($"{key}.{slot.Name}", out var t), $"{name}: state has no '{key}.{slot.Name}'");
                Close(Array.ConvertAll(OptimFixture.Tensor(slot.Value).Data, v => (double)v), D(t), 1e-6, 1e-6, $"{name} {key}.{slot.Name}");
            }
        }
        Assert.Equal(expectedTensors, tensors.Count);
        Assert.Equal(grads.Length, state.Scalars["step_count"]);
        foreach (var p in ps.Values) p.Variable.Dispose();
    }

    // ------------------------------------------------------------------ behaviour

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    public void Optim_FusedAndTensorOpPathsAgree_OnLargeParallelTensor(string kind)
    {
        int n = 3 * 32768 + 13; // above the CPU backend's parallel threshold of 2·32768 (fixed chunks of 32768)
        var rng = new Rng(5);
        using var init = Tensor.RandN([n], rng);
        var grads = Enumerable.Range(0, 3).Select(_ => Tensor.RandN([n], rng)).ToArray();
        float[] Run(bool fused)
        {
            var p = new Parameter(init.Clone(), "w");
            using Optimizer opt = kind switch
            {
                "sgd" => new Sgd([p], 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true),
                "adam" => new Adam([p], 0.01, weightDecay: 0.01),
                _ => new AdamW([p], 0.01, weightDecay: 0.1),
            };
            opt.UseFusedKernels = fused;
            foreach (var g in grads)
            {
                p.ZeroGrad();
                p.Variable.Grad = g.Clone();
                opt.Step();
            }
            var r = p.Data.ToArray<float>();
            p.Variable.Dispose();
            return r;
        }
        var fusedResult = Run(true);
        var opsResult = Run(false);
        Close(opsResult, fusedResult, 1e-6, 1e-6, kind);
        foreach (var g in grads) g.Dispose();
    }

    [Fact]
    public void Optim_SkipsParametersWithoutGradientOrFrozen()
    {
        var a = Param([1f, 2f], [2], "a");
        var b = Param([3f, 4f], [2], "b");
        var c = Param([5f, 6f], [2], "c");
        using var opt = new Adam([a, b, c], lr: 0.1);
        SetGrad(a, [1f, 1f]);
        SetGrad(c, [1f, 1f]);
        c.RequiresGrad = false;
        opt.Step();
        Assert.NotEqual([1f, 2f], a.Data.ToArray<float>());
        Assert.Equal([3f, 4f], b.Data.ToArray<float>());
        Assert.Equal([5f, 6f], c.Data.ToArray<float>());
        var state = opt.StateDict();
        Assert.Equal(1, state.Scalars["0.step"]);
        Assert.False(state.Scalars.ContainsKey("1.step"));
        Assert.False(state.Scalars.ContainsKey("2.step"));
        Assert.Equal(["0.exp_avg", "0.exp_avg_sq"], state.Tensors.Select(t => t.Key).ToArray());
        foreach (var p in new[] { a, b, c }) p.Variable.Dispose();
    }

    [Fact]
    public void Optim_ZeroGradDropsGradients_AndLrIsSettable()
    {
        var a = Param([1f, 2f], [2], "a");
        using var opt = new Sgd([a], lr: 0.5);
        SetGrad(a, [1f, -1f]);
        opt.Lr = 0.25;
        opt.Step();
        Assert.Equal([0.75f, 2.25f], a.Data.ToArray<float>());
        Assert.Equal(1, opt.StepCount);
        opt.ZeroGrad();
        Assert.Null(a.Grad);
        opt.Step(); // no gradient: nothing changes
        Assert.Equal([0.75f, 2.25f], a.Data.ToArray<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Lr = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Lr = double.NaN);
        a.Variable.Dispose();
    }

    [Fact]
    public void Optim_InvalidHyperparameters_Throw()
    {
        var a = Param([1f], [1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([a], lr: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([a], lr: 0.1, momentum: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([a], lr: 0.1, weightDecay: -1));
        var e = Assert.Throws<ArgumentException>(() => new Sgd([a], lr: 0.1, nesterov: true));
        Assert.Contains("Nesterov", e.Message);
        Assert.Throws<ArgumentException>(() => new Sgd([a], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([a], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([a], beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], eps: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], weightDecay: double.NaN));
        var b = Param([1f], [1]);
        var dup = Assert.Throws<ArgumentException>(() => new Sgd([("x", a), ("x", b)], lr: 0.1));
        Assert.Contains("'x'", dup.Message);
        a.Variable.Dispose();
        b.Variable.Dispose();
    }

    [Fact]
    public void Optim_FromModule_UsesDottedNames_AndDeduplicatesParameters()
    {
        var net = new OptimTinyNet();
        using var opt = new Sgd(net, lr: 0.1, momentum: 0.9);
        Assert.Equal(net.NamedParameters().Select(p => p.Name).ToArray(), opt.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal(["inner.bias", "inner.weight", "scale"], opt.Parameters.Select(p => p.Name).Order().ToArray());
        var w = net.NamedParameters().First().Parameter;
        using var twice = new Sgd([w, w], lr: 0.1);
        Assert.Single(twice.Parameters);
    }

    [Fact]
    public void Optim_StateDictRoundTrip_ContinuesBitForBit()
    {
        foreach (var kind in new[] { "sgd", "adam", "adamw" })
        {
            Optimizer Make(Parameter p) => kind switch
            {
                "sgd" => new Sgd([("w", p)], 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
                "adam" => new Adam([("w", p)], 0.01, weightDecay: 0.01),
                _ => new AdamW([("w", p)], 0.01),
            };
            var a = Param(P0, [2, 2], "w");
            var b = Param(P0, [2, 2], "w");
            using var optA = Make(a);
            for (int i = 0; i < 2; i++) { SetGrad(a, Grads[i]); optA.Step(); }
            b.Data.CopyFrom(a.Data);
            using var optB = Make(b);
            optB.Lr = 123; // overwritten by the load
            optB.LoadStateDict(optA.StateDict());
            Assert.Equal(optA.Lr, optB.Lr);
            Assert.Equal(optA.StepCount, optB.StepCount);
            SetGrad(a, Grads[2]); optA.Step();
            SetGrad(b, Grads[2]); optB.Step();
            Assert.Equal(Bits(a.Data), Bits(b.Data));
            a.Variable.Dispose();
            b.Variable.Dispose();
        }
    }

    [Fact]
    public void Optim_LoadStateDict_RejectsMismatches_AndChangesNothing()
    {
        var a = Param(P0, [2, 2], "w");
        using var adam = new Adam([("w", a)], 0.01);
        SetGrad(a, Grads[0]);
        adam.Step();
        var saved = adam.StateDict();

        var b = Param(P0, [2, 2], "w");
        using var sgd = new Sgd([("w", b)], 0.1, momentum: 0.9);
        var e = Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(saved));
        Assert.Contains("Adam", e.Message);

        var c = Param([1f, 2f, 3f], [3], "w");
        using var other = new Adam([("w", c)], 0.5);
        e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(saved));
        Assert.Contains("'w.exp_avg' has shape [2, 2]", e.Message);
        Assert.Equal(0.5, other.Lr);
        Assert.Equal(0, other.StepCount);
        Assert.Empty(other.StateDict().Tensors);

        var d = Param(P0, [2, 2], "v");
        using var renamed = new Adam([("v", d)], 0.5);
        e = Assert.Throws<ArgumentException>(() => renamed.LoadStateDict(saved));
        Assert.Contains("no parameter named 'w'", e.Message);

        // a parameter that stepped must have all its slots
        var partial = new OptimizerState("Adam", saved.Tensors.Take(1).ToList(), saved.Scalars);
        var f = Param(P0, [2, 2], "w");
        using var fresh = new Adam([("w", f)], 0.5);
        e = Assert.Throws<ArgumentException>(() => fresh.LoadStateDict(partial));
        Assert.Contains("'w.exp_avg_sq' is missing", e.Message);
        foreach (var p in new[] { a, b, c, d, f }) p.Variable.Dispose();
    }

    [Fact]
    public void Optim_StepAllocatesNoManagedMemory_OnSmallTensors()
    {
        foreach (var kind in new[] { "adam", "sgd" })
        {
            var a = Param(P0, [2, 2], "a");
            var b = Param([1f, 2f, 3f], [3], "b");
            using Optimizer opt = kind == "adam" ? new Adam([a, b], 0.01, weightDecay: 0.01) : new Sgd([a, b], 0.01, momentum: 0.9, weightDecay: 0.01);
            SetGrad(a, Grads[0]);
            SetGrad(b, [0.1f, 0.2f, 0.3f]);
            for (int i = 0; i < 50; i++) opt.Step(); // warm up (state tensors are created on the first step)
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) opt.Step();
            long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
            Assert.True(perStep < 16, $"{kind}: Step allocated {perStep} managed bytes per step");
            a.Variable.Dispose();
            b.Variable.Dispose();
        }
    }
}

/// <summary>A two-level module for optimizer naming tests.</summary>
internal sealed class OptimTinyNet : Module
{
    public OptimTinyNet()
    {
        Register("inner", new OptimTinyLeaf());
        RegisterParameter("scale", Tensor.Ones([1]));
    }

    public override Autograd.Variable Forward(Autograd.Variable x) => throw new NotSupportedException();

    private sealed class OptimTinyLeaf : Module
    {
        public OptimTinyLeaf()
        {
            RegisterParameter("weight", Tensor.Zeros([2, 2]));
            RegisterParameter("bias", Tensor.Zeros([2]));
        }

        public override Autograd.Variable Forward(Autograd.Variable x) => throw new NotSupportedException();
    }
}
