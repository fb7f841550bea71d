using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>model.Quantize(config): which parameters get which quantizer; configuration errors.</summary>
public sealed class QuantizeConfigTests
{
    private static LeNet5 SmallLeNet(ulong seed = 1) => new(c1: 4, c2: 8, hidden: 16, rng: new Rng(seed));

    [Fact]
    public void Quantize_AttachesToConvAndLinearWeights_InRegistrationOrder()
    {
        var model = SmallLeNet();
        var attached = model.Quantize(new QuantizeConfig { WeightBits = 3 });
        Assert.Equal(["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"], attached.Select(a => a.Name));
        Assert.All(attached, a => Assert.IsType<VecQQuantizer>(a.Quantizer));
        Assert.All(attached, a => Assert.Equal(3, a.Quantizer.Bits));
        var byName = model.NamedParameters().ToDictionary(e => e.Name, e => e.Parameter);
        foreach (var (name, q) in attached) Assert.Same(q, byName[name].Transform);
        // biases and batch-norm γ/β untouched
        foreach (var n in new[] { "conv1.bias", "bn1.weight", "bn1.bias", "fc2.bias", "bn3.weight" }) Assert.Null(byName[n].Transform);
        Assert.Equal(attached.Select(a => a.Name), model.WeightQuantizers().Select(a => a.Name));
        Assert.Equal(4, model.RemoveQuantizers());
        Assert.All(model.Parameters(), p => Assert.Null(p.Transform));
    }

    [Fact]
    public void Quantize_ImdbModel_EveryWeightIncludingTheLstmsKernels_BiasesWhenAsked_ActivationSlotsAroundTheLstm()
    {
        // VECQ.md §4, the LSTM rule: embedding, conv1d, W_ih, W_hh (and the biases when asked) get weight quantizers;
        // activation quantizers on the LSTM's input features and its output, nothing inside the recurrence
        var slots = new List<ActivationSlot>();
        using var model = new ImdbCnnLstm(vocabularySize: 50, sequenceLength: 16, activations: s => { slots.Add(s); return new ActivationQuantizer(8); },
            rng: new Rng(3));
        Assert.Equal(["lstm_in_act", "lstm_out_act"], slots.Select(s => s.Name));
        Assert.Equal([64, 70], slots.Select(s => s.Channels));
        var attached = model.Quantize(new QuantizeConfig { WeightBits = 4 });
        Assert.Equal(["embedding.weight", "conv.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "fc.weight"], attached.Select(a => a.Name));
        var withBiases = model.Quantize(new QuantizeConfig { WeightBits = 4, QuantizeBiases = true }).Select(a => a.Name).ToList();
        Assert.Contains("lstm.bias_ih_l0", withBiases);
        Assert.Contains("lstm.bias_hh_l0", withBiases);
        // a quantized training step runs through every transform and both activation quantizers
        using var ids = Tensor.FromArray(Enumerable.Range(0, 3 * 16).Select(i => i % 50).ToArray(), [3, 16]);
        using var logits = model.Forward(new Variable(ids));
        Assert.Equal([3, 2], logits.Shape);
        using var loss = Functions.SoftmaxCrossEntropy(logits, Tensor.FromArray(new[] { 0, 1, 1 }), 0);
        loss.Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void Quantize_FirstAndLastLayerOverrides_KeepFloat_AndBiases()
    {
        var model = SmallLeNet();
        var attached = model.Quantize(new QuantizeConfig { WeightBits = 2, FirstLayerBits = 8, LastLayerBits = 6, QuantizeBiases = true, Method = QuantMethod.MuL2Q, Granularity = Granularity.PerChannel });
        var bits = attached.ToDictionary(a => a.Name, a => a.Quantizer.Bits);
        Assert.Equal(new Dictionary<string, int>
        {
            ["conv1.weight"] = 8, ["conv1.bias"] = 8,
            ["conv2.weight"] = 2, ["conv2.bias"] = 2,
            ["fc1.weight"] = 2, ["fc1.bias"] = 2,
            ["fc2.weight"] = 6, ["fc2.bias"] = 6,
        }, bits);
        Assert.All(attached, a => Assert.IsType<MuL2QQuantizer>(a.Quantizer));
        Assert.All(attached, a => Assert.Equal(a.Name.EndsWith("bias") ? Granularity.PerTensor : Granularity.PerChannel, a.Quantizer.Granularity));

        var keep = SmallLeNet().Quantize(new QuantizeConfig { WeightBits = 2, Method = QuantMethod.Twn, FirstLayerBits = QuantizeConfig.KeepFloat, LastLayerBits = QuantizeConfig.KeepFloat });
        Assert.Equal(["conv2.weight", "fc1.weight"], keep.Select(a => a.Name));
        Assert.All(keep, a => Assert.IsType<TwnQuantizer>(a.Quantizer));
    }

    [Fact]
    public void Quantize_ExactModeAndEveryMethodBuildTheRightQuantizer()
    {
        var exact = SmallLeNet().Quantize(new QuantizeConfig { WeightBits = 4, LambdaMode = LambdaMode.Exact, ExactEvery = 7 });
        Assert.All(exact, a => Assert.Equal(7, Assert.IsType<VecQQuantizer>(a.Quantizer).ExactEvery));
        Assert.All(exact, a => Assert.Equal(LambdaMode.Exact, ((VecQQuantizer)a.Quantizer).LambdaMode));
        foreach (var m in Enum.GetValues<QuantMethod>())
        {
            var a = SmallLeNet().Quantize(new QuantizeConfig { Method = m, WeightBits = m.FixedBits() ?? 5 });
            Assert.All(a, e => Assert.Equal(m, e.Quantizer.Method));
        }
    }

    [Fact]
    public void QuantizedModel_TrainsThroughTheTransforms()
    {
        var model = SmallLeNet(4);
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        using var x = new Variable(Tensor.RandN([4, 1, 28, 28], new Rng(9)));
        using var labels = Tensor.FromArray(new[] { 1, 2, 3, 4 });
        using (var logits = model.Forward(x))
        using (var loss = Functions.SoftmaxCrossEntropy(logits, labels))
            loss.Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        foreach (var (_, q) in model.WeightQuantizers())
        {
            Assert.Equal(1, q.ForwardCount);
            Assert.InRange(q.NormalizedDql, 0, 1);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void BadBits_ThrowArgumentException_NamingTheValue(int bits)
    {
        var e = Assert.Throws<ArgumentException>(() => SmallLeNet().Quantize(new QuantizeConfig { WeightBits = bits }));
        Assert.Contains($"bits {bits}", e.Message);
        e = Assert.Throws<ArgumentException>(() => new QuantizeConfig { WeightBits = 4, FirstLayerBits = bits }.Validate());
        Assert.Contains($"bits {bits}", e.Message);
        Assert.Contains("first layer", e.Message);
        e = Assert.Throws<ArgumentException>(() => new QuantizeConfig { WeightBits = 4, LastLayerBits = bits }.Validate());
        Assert.Contains("last layer", e.Message);
    }

    [Fact]
    public void Twn_WithThreeBits_Throws_NamingTheValue()
    {
        var model = SmallLeNet();
        var e = Assert.Throws<ArgumentException>(() => model.Quantize(new QuantizeConfig { Method = QuantMethod.Twn, WeightBits = 3 }));
        Assert.Contains("bits 3", e.Message);
        Assert.Contains("twn", e.Message);
        Assert.All(model.Parameters(), p => Assert.Null(p.Transform));   // nothing attached on error
        e = Assert.Throws<ArgumentException>(() => new QuantizeConfig { Method = QuantMethod.Binary, WeightBits = 1, FirstLayerBits = 8 }.Validate());
        Assert.Contains("bits 8", e.Message);
        Assert.Throws<ArgumentException>(() => new QuantizeConfig { ExactEvery = 0 }.Validate());
    }
}
