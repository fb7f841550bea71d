using VecQ.Nn;
using VecQ.Quant;

namespace VecQ.Onnx;

/// <summary>
/// The residual and depthwise image models (<see cref="ResNet18"/>, <see cref="PreActResNet18"/>,
/// <see cref="MobileNetV1"/>, <see cref="MobileNetV2"/>) as ONNX nodes. Their layers are read through the state-dict
/// names their classes document (torchvision's, MXNet's, Keras's: "layer2.0.downsample.0", "features.3.conv.1",
/// "conv_dw_4_bn"), and each method follows its model's or block's Forward in evaluation mode. A slot registered under
/// one name at either of two points (a block's "act1": on conv1's output or after its ReLU) is placed by the model's
/// <see cref="ActivationPlacement"/>, as the model placed it. The input is [batch, C, height, width] with symbolic
/// sizes: global average pooling makes every one of these models run at any input size.
/// </summary>
internal sealed class ResidualGraph
{
    private const ActivationPlacement ConvOutput = ActivationPlacement.ConvOutput, AfterRelu = ActivationPlacement.AfterRelu;

    private enum Act { None, Relu, Relu6 }

    private readonly OnnxGraph _g;
    private readonly ActivationPlacement _placement;

    private ResidualGraph(OnnxGraph g, ActivationPlacement placement)
    {
        _g = g;
        _placement = placement;
    }

    /// <summary>True for the models <see cref="Write"/> writes.</summary>
    public static bool Writes(Module model) => model is ResNet18 or PreActResNet18 or MobileNetV1 or MobileNetV2;

    public static void Write(OnnxGraph g, Module model)
    {
        var (channels, classes, slots) = model switch
        {
            ResNet18 m => (m.InChannels, m.NumClasses, m.ActivationSlots),
            PreActResNet18 m => (m.InChannels, m.NumClasses, m.ActivationSlots),
            MobileNetV1 m => (m.InChannels, m.NumClasses, m.ActivationSlots),
            MobileNetV2 m => (m.InChannels, m.NumClasses, m.ActivationSlots),
            _ => throw new InvalidDataException($"{g.Source}: {model.GetType().Name} is not a residual or MobileNet model"),
        };
        // every slot a model opens has the model's placement; with none opened, no slot is filled and either reads the same
        var w = new ResidualGraph(g, slots.Count > 0 ? slots[0].Placement : ConvOutput);
        string x = g.Input(channels, "height", "width");                     // [N, C, H, W]
        x = model switch
        {
            ResNet18 m => w.WriteResNet18(m, x),
            PreActResNet18 m => w.WritePreActResNet18(m, x),
            MobileNetV1 m => w.WriteMobileNetV1(m, x),
            _ => w.WriteMobileNetV2((MobileNetV2)model, x),
        };
        g.Output(x, classes);                                                // [N, classes]
    }

    private string WriteResNet18(ResNet18 m, string x)
    {
        x = ConvBnAct(m, "", "conv1", "act1", "bn1", Act.Relu, x);          // [N, w, H/2, W/2]
        var pool = Get<MaxPool2d>(m, "", "maxpool");
        x = _g.MaxPool("maxpool", pool.Kernel, pool.Stride, pool.Padding, x);   // [N, w, H/4, W/4]
        for (int s = 1; s <= 4; s++) x = Layer(Get<Sequential>(m, "", $"layer{s}"), $"layer{s}", x);   // [N, 8w, H/32, W/32]
        return Head(m, "avgpool", x);
    }

    private string WritePreActResNet18(PreActResNet18 m, string x)
    {
        x = _g.BatchNorm("bn_data", Get<BatchNorm2d>(m, "", "bn_data"), x);  // [N, C, H, W]
        x = ConvBnAct(m, "", "conv0", "act0", "bn0", Act.Relu, x);          // [N, w, H/2, W/2]
        x = _g.MaxPool("maxpool", 3, 2, 1, x);                               // [N, w, H/4, W/4] (Forward's fixed 3/2, pad 1)
        for (int s = 1; s <= 4; s++) x = Layer(Get<Sequential>(m, "", $"layer{s}"), $"layer{s}", x);   // [N, 8w, H/32, W/32]
        x = BnAct(m, "", "bn_final", Act.Relu, "act_final", x);
        return Head(m, "avgpool", x);
    }

    private string WriteMobileNetV1(MobileNetV1 m, string x)
    {
        // "conv1", then the depthwise-separable blocks i = 1, 2, … as long as there are any ("conv_dw_i", "conv_pw_i")
        x = ConvBnAct(m, "", "conv1", "conv1_act", "conv1_bn", Act.Relu6, x, "conv1_pad");            // [N, 32α, H/2, W/2]
        for (int i = 1; Find(m, $"conv_dw_{i}") != null; i++)
        {
            x = ConvBnAct(m, "", $"conv_dw_{i}", $"conv_dw_{i}_act", $"conv_dw_{i}_bn", Act.Relu6, x, $"conv_pad_{i}");
            x = ConvBnAct(m, "", $"conv_pw_{i}", $"conv_pw_{i}_act", $"conv_pw_{i}_bn", Act.Relu6, x);
        }
        x = _g.GlobalAveragePool("avgpool", x);                              // [N, last, 1, 1]; dropout: the identity
        x = _g.Conv("conv_preds", Get<Conv2d>(m, "", "conv_preds"), x);      // [N, classes, 1, 1]
        return _g.Flatten("flatten", x);                                     // [N, classes]
    }

    private string WriteMobileNetV2(MobileNetV2 m, string x)
    {
        x = Layer(Get<Sequential>(m, "", "features"), "features", x);        // [N, last, H/32, W/32]
        x = _g.Flatten("avgpool.flatten", _g.GlobalAveragePool("avgpool", x));   // [N, last]
        return Layer(Get<Sequential>(m, "", "classifier"), "classifier", x);     // [N, classes]: dropout (the identity), linear
    }

    // global average pooling → fc: [N, C, H, W] → [N, classes]
    private string Head(Module m, string pool, string x) =>
        _g.Gemm("fc", Get<Linear>(m, "", "fc"), _g.Flatten(pool + ".flatten", _g.GlobalAveragePool(pool, x)));

    // a child that runs in order as its type says (a Sequential's layers, a block)
    private string Layer(Module m, string name, string x) => m switch
    {
        Sequential s => s.Children().Aggregate(x, (h, c) => Layer(c.Module, Join(name, c.Name), h)),
        BasicBlock b => WriteBasicBlock(b, name, x),
        PreActBlock u => WritePreActBlock(u, name, x),
        InvertedResidual r => WriteInvertedResidual(r, name, x),
        ConvNormActivation c => WriteConvNormActivation(c, name, x),
        Conv2d c => _g.Conv(name, c, x),
        BatchNorm2d bn => _g.BatchNorm(name, bn, x),
        ActivationQuantizer q => _g.Slot(name, q, x),
        Dropout => x,                                                        // the identity in evaluation
        Linear fc => _g.Gemm(name, fc, x),
        _ => throw new InvalidDataException($"{_g.Source}: {name}: {m.GetType().Name} has no ONNX form"),
    };

    // conv1 → bn1 → ReLU → conv2 → bn2, + (downsample or x), ReLU: [N, in, H, W] → [N, planes, OH, OW]
    private string WriteBasicBlock(BasicBlock b, string p, string x)
    {
        var h = ConvBnAct(b, p, "conv1", "act1", "bn1", Act.Relu, x);
        h = ConvBnAct(b, p, "conv2", "act2", "bn2", Act.None, h);
        string identity = Find(b, "downsample") is { } d ? Layer(d, Join(p, "downsample"), x) : x;
        h = _g.Relu(Join(p, "add.relu"), _g.Add(Join(p, "add"), h, identity));
        return Slot(b, p, "act2", AfterRelu, h);
    }

    // bn1 → ReLU → conv1 → bn2 → ReLU → conv2, + (shortcut of the pre-activated input, or x): no ReLU after the add
    private string WritePreActBlock(PreActBlock u, string p, string x)
    {
        var pre = BnAct(u, p, "bn1", Act.Relu, "act1", x);                   // [N, in, H, W]
        var h = ConvSlot(u, p, "conv1", "act1", pre);                        // [N, planes, OH, OW]
        h = BnAct(u, p, "bn2", Act.Relu, "act2", h);
        h = ConvSlot(u, p, "conv2", "act2", h);
        string shortcut = Find(u, "shortcut") != null ? ConvSlot(u, p, "shortcut", "shortcut_act", pre) : x;
        return _g.Add(Join(p, "add"), h, shortcut);
    }

    // its "conv" layers in order (expansion, depthwise, projection [→ "act"] → BN), + x when it keeps the shape
    private string WriteInvertedResidual(InvertedResidual r, string p, string x)
    {
        var h = Layer(Get<Sequential>(r, p, "conv"), Join(p, "conv"), x);   // [N, oup, OH, OW]
        return r.UseResidual ? _g.Add(Join(p, "add"), x, h) : h;
    }

    // ["pad" →] "0" conv → "1" BN → ["2" ReLU/ReLU6], the slot "act" where the placement puts it
    private string WriteConvNormActivation(ConvNormActivation c, string p, string x)
    {
        var act = Find(c, "2") switch
        {
            null => Act.None,
            ReLU => Act.Relu,
            ReLU6 => Act.Relu6,
            var other => throw new InvalidDataException($"{_g.Source}: {Join(p, "2")}: the activation {other.GetType().Name} has no ONNX form here (ReLU or ReLU6)"),
        };
        return ConvBnAct(c, p, "0", "act", "1", act, x, "pad");
    }

    // [pad →] conv → [slot] → BN → [activation → slot]: [N, C, H, W] → [N, out, OH, OW]
    private string ConvBnAct(Module parent, string p, string conv, string slot, string bn, Act act, string x, string? pad = null) =>
        BnAct(parent, p, bn, act, slot, ConvSlot(parent, p, conv, slot, x, pad));

    // [pad →] conv → [the slot on its output]
    private string ConvSlot(Module parent, string p, string conv, string slot, string x, string? pad = null)
    {
        var zeros = pad is null || Find(parent, pad) is null ? null : Get<ZeroPad2d>(parent, p, pad);
        return Slot(parent, p, slot, ConvOutput, _g.Conv(Join(p, conv), Get<Conv2d>(parent, p, conv), x, zeros));
    }

    // BN → [activation → the slot after it]
    private string BnAct(Module parent, string p, string bn, Act act, string slot, string x)
    {
        string name = Join(p, bn);
        x = _g.BatchNorm(name, Get<BatchNorm2d>(parent, p, bn), x);
        if (act == Act.None) return x;
        x = act == Act.Relu ? _g.Relu(name + ".relu", x) : _g.Relu6(name + ".relu6", x);
        return Slot(parent, p, slot, AfterRelu, x);
    }

    // x through the quantizer registered as `slot` when the model's placement puts it at `point`
    private string Slot(Module parent, string p, string slot, ActivationPlacement point, string x) =>
        point == _placement ? _g.Slot(Join(p, slot), Find(parent, slot), x) : x;

    private T Get<T>(Module parent, string p, string child) where T : Module =>
        Find(parent, child) as T ?? throw new InvalidDataException(
            $"{_g.Source}: {Join(p, child)}: expected a {typeof(T).Name}, found {Find(parent, child)?.GetType().Name ?? "no such layer"}");

    private static Module? Find(Module parent, string child) => parent.Children().FirstOrDefault(c => c.Name == child).Module;

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
