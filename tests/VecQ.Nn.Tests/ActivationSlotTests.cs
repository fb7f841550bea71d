using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

/// <summary>The activation-quantizer slots: one placement rule per family (VECQ.md §4), names, channels, where the quantizer sees the tensor.</summary>
public class ActivationSlotTests
{
    // Records what each slot sees; the identity (times 1) otherwise.
    private sealed class Probe : Module
    {
        private readonly ActivationSlot _slot;
        private readonly List<(ActivationSlot Slot, int[] Shape, float Min)> _seen;

        public Probe(ActivationSlot slot, List<(ActivationSlot, int[], float)> seen)
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

    public static TheoryData<string, ActivationPlacement, int> Families => new()
    {
        { "vgg-like", ActivationPlacement.AfterRelu, 7 },
        { "alexnet", ActivationPlacement.AfterRelu, 7 },
        { "resnet18", ActivationPlacement.ConvOutput, 1 + 16 + 3 },
        { "resnet18-preact", ActivationPlacement.ConvOutput, 1 + 16 + 4 },
        { "mobilenet-v1", ActivationPlacement.ConvOutput, 1 + 26 },
        { "mobilenet-v2", ActivationPlacement.ConvOutput, 1 + 2 + 16 * 3 + 1 },
    };

    [Theory, MemberData(nameof(Families))]
    public void EverySlotIsSeenOnceWithItsChannels(string name, ActivationPlacement placement, int slots)
    {
        var seen = new List<(ActivationSlot Slot, int[] Shape, float Min)>();
        var offered = new List<ActivationSlot>();
        using var model = ModelTests.Small(name, name == "alexnet" ? 67 : 32, activations: s => { offered.Add(s); return new Probe(s, seen); });
        Assert.Equal(slots, offered.Count);
        Assert.All(offered, s => Assert.Equal(placement, s.Placement));
        Assert.Equal(offered.Select(s => s.Name).Distinct(), offered.Select(s => s.Name));
        // each slot's module is registered under its name: its buffer shows up as "<slot>.count"
        var keys = model.StateDict().Select(kv => kv.Key).ToHashSet();
        Assert.All(offered, s => Assert.Contains(s.Name + ".count", keys));
        using (var scope = TensorScope.Begin())
            model.Forward(new Variable(RandN([2, 3, name == "alexnet" ? 67 : 32, name == "alexnet" ? 67 : 32], 7)));
        Assert.Equal(offered.Select(s => s.Name), seen.Select(s => s.Slot.Name));            // forward order = construction order
        Assert.All(seen, s => Assert.Equal(s.Slot.Channels, s.Shape[1]));
        if (placement == ActivationPlacement.AfterRelu) Assert.All(seen, s => Assert.True(s.Min >= 0, $"{s.Slot} sees a negative value"));
        else Assert.Contains(seen, s => s.Min < 0);                                           // conv outputs, before any ReLU
    }

    [Fact]
    public void SlotNamesFollowTheLayers()
    {
        var names = new List<string>();
        using (new ResNet18(10, width: 4, activations: s => { names.Add(s); return null; }, rng: new Rng(1)))
            Assert.Equal(["act1", "layer1.0.act1", "layer1.0.act2", "layer1.1.act1", "layer1.1.act2", "layer2.0.act1", "layer2.0.act2", "layer2.0.downsample.act"],
                names.Take(8));
        names.Clear();
        using (new MobileNetV2(10, widthMult: 0.1, activations: s => { names.Add(s); return null; }, rng: new Rng(1)))
            Assert.Equal(["features.0.act", "features.1.conv.0.act", "features.1.conv.act", "features.2.conv.0.act", "features.2.conv.1.act", "features.2.conv.act"],
                names.Take(6));
        Assert.Equal("features.18.act", names[^1]);
        names.Clear();
        using (new PreActResNet18(10, width: 4, activations: s => { names.Add(s); return null; }, rng: new Rng(1)))
            Assert.Equal(["act0", "layer1.0.act1", "layer1.0.act2", "layer1.0.shortcut_act", "layer1.1.act1"], names.Take(5));
        names.Clear();
        using (new MobileNetV1(10, alpha: 0.125, activations: s => { names.Add(s); return null; }, rng: new Rng(1)))
            Assert.Equal(["conv1_act", "conv_dw_1_act", "conv_pw_1_act", "conv_dw_2_act"], names.Take(4));
        names.Clear();
        using (new VggLike(width: 4, hidden: 8, activations: s => { names.Add(s); return null; }, rng: new Rng(1)))
            Assert.Equal(["act1", "act2", "act3", "act4", "act5", "act6", "act7"], names);
    }

    [Fact]
    public void EmptySlotsLeaveTheModelUnchanged()
    {
        using var plain = new ResNet18(10, width: 4, rng: new Rng(3));
        using var empty = new ResNet18(10, width: 4, activations: _ => null, rng: new Rng(3));
        Assert.Equal(plain.StateDict().Select(kv => kv.Key), empty.StateDict().Select(kv => kv.Key));
        Assert.Equal(20, empty.ActivationSlots.Count);
        Assert.Equal(empty.ActivationSlots, plain.ActivationSlots);   // offered (and listed) with or without a factory
        using var x = Input([2, 3, 32, 32], 4);
        using var scope = TensorScope.Begin();
        Assert.Equal(F(plain.Forward(x).Value), F(empty.Forward(x).Value));
    }

    [Fact]
    public void ThePlacementCanBeChosen()
    {
        // the family default can be overridden: ResNet with the after-ReLU rule quantizes the block's ReLU outputs
        var seen = new List<(ActivationSlot Slot, int[] Shape, float Min)>();
        using var model = new ResNet18(10, width: 4, activations: s => new Probe(s, seen), placement: ActivationPlacement.AfterRelu, rng: new Rng(1));
        Assert.Equal(1 + 16, model.ActivationSlots.Count);   // no ReLU after the downsample
        using var scope = TensorScope.Begin();
        model.Forward(new Variable(RandN([2, 3, 32, 32], 5)));
        Assert.All(seen, s => Assert.True(s.Min >= 0));
    }
}
