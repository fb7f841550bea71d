using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.OptimTestSupport;

namespace VecQ.Nn.Tests;

/// <summary>y = x·Wᵀ + b, plus two buffers it updates in training (like batch norm's statistics).</summary>
internal sealed class CheckpointLinear : Module
{
    private readonly Parameter _w, _b;
    private readonly Buffer _mean, _count;

    public CheckpointLinear(int inF, int outF, Rng init)
    {
        _w = RegisterParameter("weight", Tensor.RandN([outF, inF], init, 0, 0.5));
        _b = RegisterParameter("bias", Tensor.RandN([outF], init, 0, 0.1));
        _mean = RegisterBuffer("running_mean", Tensor.Zeros([inF]));
        _count = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int32));
    }

    public override Variable Forward(Variable x)
    {
        if (Training)
        {
            using var m = x.Value.Mean([0]);
            using var a = _mean.Value.Mul(0.9);
            using var b = m.Mul(0.1);
            using var n = a.Add(b);
            _mean.Value.CopyFrom(n);
            _count.Value.Fill(_count.Value.Item() + 1);
        }
        return Functions.Linear(x, _w.Value(Training), _b.Value(Training));
    }
}

/// <summary>fc1 → relu → dropout → fc2: dotted names, buffers, and a generator used in the forward pass.</summary>
internal sealed class CheckpointNet : Module
{
    private readonly CheckpointLinear _fc1, _fc2;
    private readonly Rng _dropout;

    public CheckpointNet(Rng init, Rng dropout, int hidden = 5)
    {
        _fc1 = Register("fc1", new CheckpointLinear(4, hidden, init));
        _fc2 = Register("fc2", new CheckpointLinear(hidden, 3, init));
        _dropout = dropout;
    }

    public override Variable Forward(Variable x)
    {
        using var h = _fc1.Forward(x);
        using var r = Functions.Relu(h);
        using var d = Functions.Dropout(r, 0.25, _dropout, Training);
        return _fc2.Forward(d);
    }
}

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = TempDir("checkpoint");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Dictionary<string, long[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => Bits(kv.Value));

    private static void AssertSameState(Dictionary<string, long[]> expected, Module actual)
    {
        var got = Snapshot(actual);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (k, v) in expected) Assert.True(v.SequenceEqual(got[k]), $"tensor '{k}' differs");
    }

    private static void Train(CheckpointNet model, Optimizer opt, Rng data, LrSchedule schedule, long fromStep, int steps, int stepsPerEpoch)
    {
        for (long g = fromStep; g < fromStep + steps; g++)
        {
            opt.Lr = schedule.LrAt(g, stepsPerEpoch);
            using var x = new Variable(Tensor.RandN([8, 4], data));
            var labels = new int[8];
            for (int i = 0; i < labels.Length; i++) labels[i] = data.NextInt(3);
            using var y = Tensor.FromArray(labels);
            opt.ZeroGrad();
            using (var logits = model.Forward(x))
            using (var loss = Functions.SoftmaxCrossEntropy(logits, y))
                loss.Backward();
            GradClip.ClipByNorm(model.Parameters(), 0.5).Dispose();
            opt.Step();
        }
    }

    private static Optimizer MakeOptimizer(string kind, Module model) => kind switch
    {
        "sgd" => new Sgd(model, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true),
        "adam" => new Adam(model, lr: 0.01, weightDecay: 0.001),
        "adamw" => new AdamW(model, lr: 0.01, weightDecay: 0.05),
        _ => new Sgd(model, lr: 0.1),
    };

    [Theory]
    [InlineData("sgd")]
    [InlineData("sgd_plain")]
    [InlineData("adam")]
    [InlineData("adamw")]
    public void Checkpoint_ResumeAfterThreeSteps_MatchesSixStraightSteps_BitForBit(string kind)
    {
        const int stepsPerEpoch = 2;
        var schedule = new LinearWarmup(new CosineAnnealingLR(0.1, tMax: 3, etaMin: 0.01, perStep: true), warmupSteps: 2);

        // six steps straight
        var straightRngs = new { Init = new Rng(1), Data = new Rng(2), Dropout = new Rng(3) };
        var straight = new CheckpointNet(straightRngs.Init, straightRngs.Dropout);
        using (var opt = MakeOptimizer(kind, straight)) Train(straight, opt, straightRngs.Data, schedule, 0, 6, stepsPerEpoch);
        var expected = Snapshot(straight);

        // three steps, save, drop everything
        string path = PathOf($"resume-{kind}.safetensors");
        {
            var init = new Rng(1);
            var data = new Rng(2);
            var dropout = new Rng(3);
            var model = new CheckpointNet(init, dropout);
            using var opt = MakeOptimizer(kind, model);
            Train(model, opt, data, schedule, 0, 3, stepsPerEpoch);
            var rngs = new Dictionary<string, Rng> { ["init"] = init, ["data"] = data, ["dropout"] = dropout };
            Checkpoint.Save(path, model, new CheckpointMetadata { Model = "checkpoint-net", Epoch = 1, Step = 3 },
                new TrainingState(opt, rngs, Epoch: 3 / stepsPerEpoch, StepInEpoch: 3 % stepsPerEpoch, BestAccuracy: 0.5));
        }

        // fresh objects (different initialisation), load, three more steps
        {
            var init = new Rng(1);
            var data = new Rng(2);
            var dropout = new Rng(3);
            var model = new CheckpointNet(new Rng(777), dropout);
            using var opt = MakeOptimizer(kind, model);
            var rngs = new Dictionary<string, Rng> { ["init"] = init, ["data"] = data, ["dropout"] = dropout };
            var at = Checkpoint.LoadTraining(path, model, opt, rngs);
            Assert.Equal((1, 1, 0.5), (at.Epoch, at.StepInEpoch, at.BestAccuracy));
            Assert.Equal("checkpoint-net", at.Metadata.Model);
            Assert.Equal(3, opt.StepCount);
            Assert.NotEqual(0UL, data.Counter);
            Train(model, opt, data, schedule, (long)at.Epoch * stepsPerEpoch + at.StepInEpoch, 3, stepsPerEpoch);
            AssertSameState(expected, model);
        }
    }

    [Fact]
    public void Checkpoint_SaveThenLoadIntoFreshModel_GivesIdenticalTensorsAndMetadata()
    {
        var model = new CheckpointNet(new Rng(10), new Rng(11));
        using (var opt = new Sgd(model, 0.1)) Train(model, opt, new Rng(12), new ConstantLR(0.1), 0, 2, 10); // buffers move too
        string path = PathOf("model.safetensors");
        var meta = new CheckpointMetadata
        {
            Model = "checkpoint-net",
            Config = "{\"hidden\": 5, \"name\": \"tiny \\\"net\\\"\"}",
            Epoch = 7,
            Step = 12345678901,
            Extra = new Dictionary<string, string> { ["dataset"] = "mnist", ["note"] = "ü" },
        };
        Checkpoint.Save(path, model, meta);
        Assert.False(File.Exists(Checkpoint.TrainingStatePath(path)));

        var fresh = new CheckpointNet(new Rng(99), new Rng(11));
        Assert.NotEqual(Snapshot(model)["fc1.weight"], Snapshot(fresh)["fc1.weight"]);
        var loaded = Checkpoint.LoadInto(path, fresh);
        AssertSameState(Snapshot(model), fresh);
        Assert.Equal(meta.Model, loaded.Model);
        Assert.Equal(meta.Config, loaded.Config);
        Assert.Equal(meta.Epoch, loaded.Epoch);
        Assert.Equal(meta.Step, loaded.Step);
        Assert.Equal(meta.Extra, loaded.Extra);
        Assert.Equal(32, loaded.CheckpointId.Length);
        Assert.Equal(2, (int)fresh.StateDict().First(kv => kv.Key == "fc1.num_batches_tracked").Value.Item());
    }

    [Fact]
    public void Checkpoint_ModelFile_IsPlainSafetensorsWithPyTorchNamesAndShapes()
    {
        var model = new CheckpointNet(new Rng(1), new Rng(2), hidden: 6);
        string path = PathOf("plain.safetensors");
        Checkpoint.Save(path, model, new CheckpointMetadata { Model = "net" });
        var file = Safetensors.Load(path);
        Assert.Equal(
            ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc1.running_mean", "fc1.num_batches_tracked", "fc2.running_mean", "fc2.num_batches_tracked"],
            file.Order);
        Assert.Equal([6, 4], file.Tensors["fc1.weight"].Dims);
        Assert.Equal(DType.Int32, file.Tensors["fc1.num_batches_tracked"].DType);
        Assert.Empty(file.Tensors["fc1.num_batches_tracked"].Dims);
        Assert.Equal(Checkpoint.ModelFormat, file.Metadata["format"]);
        Assert.Equal("net", file.Metadata["model"]);
        foreach (var t in file.Tensors.Values) t.Dispose();

        using var ckpt = Checkpoint.Load(path);
        Assert.Equal(8, ckpt.Tensors.Count);
        Assert.Equal("net", ckpt.Metadata.Model);
    }

    [Fact]
    public void Checkpoint_Load_FileWithoutVecQMetadata_ReadsDefaults()
    {
        string path = PathOf("foreign.safetensors");
        using var w = Tensor.Ones([2, 2]);
        Safetensors.Save(path, [new("weight", w)], new Dictionary<string, string> { ["producer"] = "torch" });
        using var ckpt = Checkpoint.Load(path);
        Assert.Equal("", ckpt.Metadata.Model);
        Assert.Equal(0, ckpt.Metadata.Epoch);
        Assert.Equal(0, ckpt.Metadata.Step);
        Assert.Equal("torch", ckpt.Metadata.Extra["producer"]);
        Assert.Equal([1f, 1f, 1f, 1f], ckpt.Tensors["weight"].ToArray<float>());
    }

    [Fact]
    public void Checkpoint_TrainingStatePath_ReplacesExtension()
    {
        Assert.Equal(Path.Combine("a", "b.train.safetensors"), Checkpoint.TrainingStatePath(Path.Combine("a", "b.safetensors")));
        Assert.Equal("b.ckpt.train.safetensors", Checkpoint.TrainingStatePath("b.ckpt"));
    }

    [Fact]
    public void Checkpoint_Save_RejectsReservedExtraKeys()
    {
        var model = new CheckpointNet(new Rng(1), new Rng(2));
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(PathOf("r.safetensors"), model,
            new CheckpointMetadata { Extra = new Dictionary<string, string> { ["epoch"] = "3" } }));
        Assert.Contains("'epoch'", e.Message);
        Assert.False(File.Exists(PathOf("r.safetensors")));
    }

    // ------------------------------------------------------------------ errors

    private (string Path, CheckpointNet Model, Optimizer Opt, Dictionary<string, Rng> Rngs) SaveTrained(string name, string kind = "adam")
    {
        var rngs = new Dictionary<string, Rng> { ["data"] = new Rng(2), ["dropout"] = new Rng(3) };
        var model = new CheckpointNet(new Rng(1), rngs["dropout"]);
        var opt = MakeOptimizer(kind, model);
        Train(model, opt, rngs["data"], new ConstantLR(0.01), 0, 2, 4);
        string path = PathOf(name);
        Checkpoint.Save(path, model, new CheckpointMetadata { Model = "net", Step = 2 }, new TrainingState(opt, rngs, 0, 2, double.NaN));
        return (path, model, opt, rngs);
    }

    private static Dictionary<string, Rng> FreshRngs() => new() { ["data"] = new Rng(2), ["dropout"] = new Rng(3) };

    [Fact]
    public void Checkpoint_LoadTraining_MissingSidecar_ThrowsNamingIt()
    {
        var model = new CheckpointNet(new Rng(1), new Rng(2));
        string path = PathOf("nosidecar.safetensors");
        Checkpoint.Save(path, model, new CheckpointMetadata());
        using var opt = new Sgd(model, 0.1);
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.LoadTraining(path, model, opt, FreshRngs()));
        Assert.Contains(Checkpoint.TrainingStatePath(path), e.Message);
        Assert.Contains("cannot resume", e.Message);
    }

    [Fact]
    public void Checkpoint_LoadTraining_RestoresNaNBestAccuracyAndCounters()
    {
        var (path, _, opt, rngs) = SaveTrained("nan.safetensors");
        opt.Dispose();
        var fresh = FreshRngs();
        var model = new CheckpointNet(new Rng(5), fresh["dropout"]);
        using var o = MakeOptimizer("adam", model);
        var at = Checkpoint.LoadTraining(path, model, o, fresh);
        Assert.True(double.IsNaN(at.BestAccuracy));
        Assert.Equal(rngs["data"].Counter, fresh["data"].Counter);
        Assert.Equal(rngs["dropout"].Counter, fresh["dropout"].Counter);
    }

    [Fact]
    public void Checkpoint_LoadTraining_WrongOptimizerKind_NamesSidecarAndKinds_AndChangesNothing()
    {
        var (path, _, opt, _) = SaveTrained("kind.safetensors");
        opt.Dispose();
        var fresh = FreshRngs();
        var model = new CheckpointNet(new Rng(5), fresh["dropout"]);
        var before = Snapshot(model);
        using var sgd = new Sgd(model, 0.1, momentum: 0.9);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, model, sgd, fresh));
        Assert.Contains(Checkpoint.TrainingStatePath(path), e.Message);
        Assert.Contains("Adam", e.Message);
        AssertSameState(before, model);
        Assert.Equal(0UL, fresh["data"].Counter);
        Assert.Equal(0, sgd.StepCount);
    }

    [Fact]
    public void Checkpoint_LoadTraining_ModelShapeMismatch_NamesFileAndKey()
    {
        var (path, _, opt, _) = SaveTrained("shape.safetensors");
        opt.Dispose();
        var fresh = FreshRngs();
        var wide = new CheckpointNet(new Rng(5), fresh["dropout"], hidden: 7);
        var before = Snapshot(wide);
        using var o = MakeOptimizer("adam", wide);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, wide, o, fresh));
        Assert.Contains(path, e.Message);
        Assert.Contains("'fc1.weight' has shape [5, 4] in the file, the model expects [7, 4]", e.Message);
        AssertSameState(before, wide);

        var e2 = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadInto(path, wide));
        Assert.Contains("'fc2.weight'", e2.Message);
    }

    [Fact]
    public void Checkpoint_LoadTraining_SeedMismatchOrMissingGenerator_Throws()
    {
        var (path, _, opt, _) = SaveTrained("seed.safetensors");
        opt.Dispose();
        var model = new CheckpointNet(new Rng(5), new Rng(3));
        using var o = MakeOptimizer("adam", model);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, model, o,
            new Dictionary<string, Rng> { ["data"] = new Rng(42), ["dropout"] = new Rng(3) }));
        Assert.Contains("generator 'data' was saved with seed 2", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, model, o,
            new Dictionary<string, Rng> { ["augment"] = new Rng(1) }));
        Assert.Contains("'rng.augment.seed'", e.Message);
    }

    [Fact]
    public void Checkpoint_LoadTraining_SidecarFromAnotherSave_Throws()
    {
        var (pathA, _, optA, _) = SaveTrained("a.safetensors");
        var (pathB, _, optB, _) = SaveTrained("b.safetensors");
        optA.Dispose();
        optB.Dispose();
        File.Copy(Checkpoint.TrainingStatePath(pathB), Checkpoint.TrainingStatePath(pathA), overwrite: true);
        var fresh = FreshRngs();
        var model = new CheckpointNet(new Rng(5), fresh["dropout"]);
        using var o = MakeOptimizer("adam", model);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(pathA, model, o, fresh));
        Assert.Contains("different save", e.Message);
    }

    [Fact]
    public void Checkpoint_CorruptFiles_PropagateValidatorErrorsWithFileName()
    {
        var (path, _, opt, _) = SaveTrained("corrupt.safetensors");
        opt.Dispose();
        string sidecar = Checkpoint.TrainingStatePath(path);
        var fresh = FreshRngs();
        var model = new CheckpointNet(new Rng(5), fresh["dropout"]);
        using var o = MakeOptimizer("adam", model);

        var sideBytes = File.ReadAllBytes(sidecar);
        File.WriteAllBytes(sidecar, sideBytes[..^3]);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, model, o, fresh));
        Assert.Contains(sidecar, e.Message);
        Assert.Contains("truncated", e.Message);

        var bytes = File.ReadAllBytes(path);
        bytes[8] = (byte)'#'; // the JSON header's opening brace
        File.WriteAllBytes(path, bytes);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e.Message);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadTraining(path, model, o, fresh));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Checkpoint_SidecarHoldsOptimizerStateUnderTorchLikeNames()
    {
        var (path, _, opt, rngs) = SaveTrained("names.safetensors", kind: "sgd");
        var file = Safetensors.Load(Checkpoint.TrainingStatePath(path));
        Assert.Equal(
            ["optim.fc1.weight.momentum_buffer", "optim.fc1.bias.momentum_buffer", "optim.fc2.weight.momentum_buffer", "optim.fc2.bias.momentum_buffer"],
            file.Order);
        var m = file.Metadata;
        Assert.Equal(Checkpoint.TrainingFormat, m["format"]);
        Assert.Equal("Sgd", m["optim.kind"]);
        Assert.Equal("2", m["optim.step_count"]);
        Assert.Equal("2", m["optim.fc1.weight.step"]);
        Assert.Equal("0.01", m["optim.lr"]);
        Assert.Equal("2", m["rng.data.seed"]);
        Assert.Equal(rngs["data"].Counter.ToString(System.Globalization.CultureInfo.InvariantCulture), m["rng.data.counter"]);
        Assert.Equal("0", m["epoch"]);
        Assert.Equal("2", m["step_in_epoch"]);
        Assert.Equal("NaN", m["best_accuracy"]);
        Assert.Equal("names.safetensors", m["model_file"]);
        foreach (var t in file.Tensors.Values) t.Dispose();
        opt.Dispose();
    }
}
