using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

// Init.DefaultRng is process-wide state; run the tests of this assembly one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

public class LeNet5Tests
{
    private static readonly string[] Keys =
    [
        "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias",
        "fc1.weight", "fc1.bias", "bn3.weight", "bn3.bias", "fc2.weight", "fc2.bias",
        "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
        "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
        "bn3.running_mean", "bn3.running_var", "bn3.num_batches_tracked",
    ];

    [Fact]
    public void NamesShapesAndParameterCount()
    {
        var model = new LeNet5(rng: new Rng(0));
        var state = model.StateDict();
        Assert.Equal(Keys.Order(), state.Select(kv => kv.Key).Order());
        Assert.Equal(Keys.Take(14), model.NamedParameters().Select(p => p.Name));   // registration order
        var shapes = state.ToDictionary(kv => kv.Key, kv => kv.Value.Dims);
        Assert.Equal([32, 1, 5, 5], shapes["conv1.weight"]);
        Assert.Equal([64, 32, 5, 5], shapes["conv2.weight"]);
        Assert.Equal([512, 3136], shapes["fc1.weight"]);
        Assert.Equal([10, 512], shapes["fc2.weight"]);
        Assert.Equal([512], shapes["bn3.running_var"]);
        Assert.Empty(shapes["bn1.num_batches_tracked"]);

        // conv1 832 + conv2 51,264 + fc1 1,606,144 + fc2 5,130 = 1,663,370 conv/dense weights and biases;
        // plus batch-norm γ/β 2·(32 + 64 + 512) = 1,216 → 1,664,586 trainable parameters.
        Assert.Equal(1_664_586, model.ParameterCount());
        long convDense = model.NamedParameters().Where(p => !p.Name.StartsWith("bn", StringComparison.Ordinal)).Sum(p => (long)p.Parameter.Data.Numel);
        Assert.Equal(1_663_370, convDense);
        Assert.Equal(14, model.Parameters().Count());
    }

    [Fact]
    public void ForwardShapesAndInputCheck()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, numClasses: 7, rng: new Rng(1));
        using var x = Input([3, 1, 28, 28], 2);
        using var y = model.Forward(x);
        Assert.Equal([3, 7], y.Shape);
        using var bad = Input([3, 1, 32, 32], 2);
        Assert.Throws<ArgumentException>(() => model.Forward(bad));
    }

    [Fact]
    public void ActivationSlotsSitBetweenReluAndBatchNorm()
    {
        var seen = new List<(string Slot, int[] Shape, float Min)>();
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(1),
            activations: slot => slot == "act2" ? null : new Probe(slot, seen));
        var keys = model.StateDict().Select(kv => kv.Key).ToList();
        Assert.Contains("act1.count", keys);
        Assert.Contains("act3.count", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("act2", StringComparison.Ordinal));
        Assert.True(keys.IndexOf("act1.count") < keys.IndexOf("bn1.running_mean"));
        using var x = Input([2, 1, 28, 28], 3);
        using (model.Forward(x)) { }
        Assert.Equal(["act1", "act3"], seen.Select(s => s.Slot));
        Assert.Equal([2, 4, 28, 28], seen[0].Shape);
        Assert.Equal([2, 16], seen[1].Shape);
        Assert.All(seen, s => Assert.True(s.Min >= 0));   // after the ReLU
    }

    private sealed class Probe : Module
    {
        private readonly string _slot;
        private readonly List<(string, int[], float)> _seen;

        public Probe(string slot, List<(string, int[], float)> seen)
        {
            _slot = slot;
            _seen = seen;
            RegisterBuffer("count", Tensor.Zeros([]));
        }

        public override Variable Forward(Variable x)
        {
            _seen.Add((_slot, x.Shape, F(x.Value).Min()));
            return Functions.Mul(x, 1.0);
        }
    }

    [Fact]
    public void MatchesPyTorchFixture()
    {
        var file = Safetensors.Load(FixturePath("lenet5.safetensors"));
        var t = file.Tensors;
        try
        {
            var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(99));
            var state = t.Where(kv => kv.Key.StartsWith("state.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["state.".Length..], kv => kv.Value);
            Assert.Equal(Keys.Order(), state.Keys.Order());
            model.LoadStateDict(state);   // strict

            using var x = new Variable(t["x"].Clone());
            using var logits = model.Forward(x);                                   // train mode: batch statistics
            AssertClose(t["logits"], logits.Value, "train logits");
            using var loss = new CrossEntropyLoss().Forward(logits, t["labels"]);
            Assert.Equal(t["loss"].Item(), loss.Value.Item(), 5);
            loss.Backward();
            foreach (var (name, p) in model.NamedParameters())
            {
                Assert.NotNull(p.Grad);
                AssertClose(t["grad." + name], p.Grad!, "grad " + name, rtol: 1e-3, scaleAtol: 5e-4);   // BN backward over m = N·H·W cancels: ~1e-4 of scale in float32
            }
            foreach (var (name, b) in model.NamedBuffers())
                if (b.Value.DType == DType.Int32) Assert.Equal(t["after." + name].Item(), b.Value.Item());
                else AssertClose(t["after." + name], b.Value, "after step " + name);
            Assert.Equal(4, model.NamedBuffers().First(b => b.Name == "bn1.num_batches_tracked").Buffer.Value.Item());

            model.Eval();
            using (Autograd.NoGrad())
            {
                using var evalLogits = model.Forward(x);                         // running statistics
                AssertClose(t["eval_logits"], evalLogits.Value, "eval logits");
            }
        }
        finally
        {
            foreach (var v in t.Values) v.Dispose();
        }
    }

    [Fact]
    public void LoadStateDictStrictErrorsNameTheKeys()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(1));
        var source = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(2));
        var state = source.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state.Remove("bn1.running_mean");
        using var extra = Tensor.Zeros([3]);
        state["extra.weight"] = extra;
        using var wrongBias = Tensor.Zeros([11]);
        state["fc2.bias"] = wrongBias;

        var e = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("missing 'bn1.running_mean'", e.Message);
        Assert.Contains("unexpected 'extra.weight'", e.Message);
        Assert.Contains("'fc2.bias' has shape [11]", e.Message);
        Assert.Contains("[10]", e.Message);

        // Non-strict: everything that matches is loaded; missing and mismatched entries keep their values.
        var fc2BiasBefore = F(model.StateDict().First(kv => kv.Key == "fc2.bias").Value);
        model.LoadStateDict(state, strict: false);
        var loaded = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(F(state["conv1.weight"]), F(loaded["conv1.weight"]));
        Assert.Equal(fc2BiasBefore, F(loaded["fc2.bias"]));
        Assert.Equal(new float[4], F(loaded["bn1.running_mean"]));
    }

    [Fact]
    public void CheckpointRoundTripThroughSafetensors()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(5));
        using (var x = Input([4, 1, 28, 28], 6))
        using (Autograd.NoGrad())
        using (model.Forward(x)) { }   // running stats move, num_batches_tracked = 1
        string path = Path.Combine(Path.GetTempPath(), $"vecq-lenet5-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, model.StateDict());
            var file = Safetensors.Load(path);
            var copy = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(6));
            copy.LoadStateDict(file.Tensors);
            foreach (var ((name, a), (_, b)) in model.StateDict().Zip(copy.StateDict()))
                Assert.Equal(ToDoubles(a), ToDoubles(b));
            foreach (var v in file.Tensors.Values) v.Dispose();
            model.Eval();
            copy.Eval();
            using var probe = new Variable(SineInput(2));
            using var ya = model.Forward(probe);
            using var yb = copy.Forward(probe);
            Assert.Equal(F(ya.Value), F(yb.Value));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TrainStepReducesTheLoss()
    {
        // A few plain SGD steps on one batch: the loss must drop (forward, backward and the graph wiring work end to end).
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(7));
        using var x = Input([8, 1, 28, 28], 8);
        using var labels = Tensor.FromArray(new[] { 0, 1, 2, 3, 4, 5, 6, 7 });
        var ce = new CrossEntropyLoss();
        double first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            model.ZeroGrad();
            using var logits = model.Forward(x);
            using var loss = ce.Forward(logits, labels);
            if (step == 0) first = loss.Value.Item();
            last = loss.Value.Item();
            loss.Backward();
            foreach (var p in model.Parameters())
            {
                using var delta = p.Grad!.Mul(0.05);
                using var next = p.Data.Sub(delta);
                p.Data.CopyFrom(next);
            }
        }
        Assert.True(last < first, $"loss went from {first} to {last}");
    }
}
