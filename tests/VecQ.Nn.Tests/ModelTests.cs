using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

/// <summary>The model zoo: parameter counts at the documented sizes, forward shapes, input checks, activation slots.</summary>
public class ModelTests
{
    // Weights and biases of the conv and dense layers only (the paper's count of "weights").
    private static long ConvDense(Module m) =>
        m.NamedModules().Where(x => x.Module is Conv2d or Linear).Sum(x => x.Module.NamedParameters().Sum(p => (long)p.Parameter.Data.Numel));

    private static long BatchNormBuffers(Module m) =>
        m.NamedBuffers().Where(b => b.Name.EndsWith(".running_mean", StringComparison.Ordinal) || b.Name.EndsWith(".running_var", StringComparison.Ordinal))
            .Sum(b => (long)b.Buffer.Value.Numel);

    public static TheoryData<string, long, long> Counts => new()
    {
        // model, all parameters, conv/dense weights and biases (references: VECQ.md §6; torchvision and the
        // pre-activation net by tools/fixtures/make_model_fixtures.py --counts; MobileNetV1 Keras's trainable count)
        { "vgg-like", 5_354_826, 5_350_986 },
        { "alexnet", 50_863_144, 50_844_008 },
        { "resnet18", 11_689_512, 11_679_912 },
        { "resnet18-preact", 11_691_947, 11_684_008 },
        { "mobilenet-v1", 4_231_976, 4_210_088 },
        { "mobilenet-v2", 3_504_872, 3_470_760 },
    };

    private static Module Full(string name) => name switch
    {
        "vgg-like" => new VggLike(rng: new Rng(1)),
        "alexnet" => new AlexNet(rng: new Rng(1)),
        "resnet18" => new ResNet18(rng: new Rng(1)),
        "resnet18-preact" => new PreActResNet18(rng: new Rng(1)),
        "mobilenet-v1" => new MobileNetV1(rng: new Rng(1)),
        "mobilenet-v2" => new MobileNetV2(rng: new Rng(1)),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Counts))]
    public void ParameterCountsAtTheDocumentedSizes(string name, long parameters, long convDense)
    {
        using var model = Full(name);
        Assert.Equal(parameters, model.ParameterCount());
        Assert.Equal(convDense, ConvDense(model));
        // every batch norm's γ/β pair has its running mean and variance (β only for the scale-free input BN)
        long bnParams = parameters - convDense;
        long bnBuffers = BatchNormBuffers(model);
        Assert.Equal(name == "resnet18-preact" ? bnParams + 3 : bnParams, bnBuffers);
    }

    // Small widths: the structures, cheap enough for a forward.
    public static Module Small(string name, int inputSize = 32, int classes = 10, Func<ActivationSlot, Module?>? activations = null, Device? device = null) => name switch
    {
        "vgg-like" => new VggLike(classes, width: 4, hidden: 16, inputSize: inputSize, activations: activations, rng: new Rng(2), device: device),
        "alexnet" => new AlexNet(classes, inputSize: inputSize, hidden: 16, channels: [4, 8, 8, 8, 8], activations: activations, rng: new Rng(2), device: device),
        "resnet18" => new ResNet18(classes, width: 4, activations: activations, rng: new Rng(2), device: device),
        "resnet18-preact" => new PreActResNet18(classes, width: 4, activations: activations, rng: new Rng(2), device: device),
        "mobilenet-v1" => new MobileNetV1(classes, alpha: 0.125, activations: activations, rng: new Rng(2), device: device),
        "mobilenet-v2" => new MobileNetV2(classes, widthMult: 0.1, activations: activations, rng: new Rng(2), device: device),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, int> Shapes => new()
    {
        { "vgg-like", 32 }, { "resnet18", 32 }, { "resnet18-preact", 32 }, { "mobilenet-v1", 32 }, { "mobilenet-v2", 32 },
        { "alexnet", 67 },   // the smallest AlexNet input
        { "resnet18", 224 }, { "resnet18-preact", 224 }, { "mobilenet-v1", 224 }, { "mobilenet-v2", 224 }, { "alexnet", 224 },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void ForwardShapes(string name, int size)
    {
        using var model = Small(name, size, classes: 7);
        int batch = size == 224 ? 1 : 2;
        if (batch == 1) model.Eval();   // one sample: no batch statistics for the 1×1 maps at the end
        using var scope = TensorScope.Begin();
        var y = model.Forward(new Variable(RandN([batch, 3, size, size], 3)));
        Assert.Equal([batch, 7], y.Shape);
        Assert.All(F(y.Value), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void VggLikeAndAlexNetCheckTheirInputSize()
    {
        var e = Assert.Throws<ArgumentException>(() => new AlexNet(inputSize: 66));
        Assert.Contains("66×66", e.Message);
        Assert.Contains("67×67", e.Message);
        Assert.Throws<ArgumentException>(() => new VggLike(inputSize: 36));
        using var vgg = Small("vgg-like");
        using var x = Input([1, 3, 28, 28], 4);
        Assert.Contains("[N, 3, 32, 32]", Assert.Throws<ArgumentException>(() => vgg.Forward(x)).Message);
        using var alex = Small("alexnet", 99);   // 99 → conv 23 → pools 11, 5, 2
        Assert.Equal(2, ((AlexNet)alex).FinalSide);
        using var wrongChannels = Input([1, 1, 32, 32], 5);
        using var resnet = Small("resnet18");
        Assert.Throws<ArgumentException>(() => resnet.Forward(wrongChannels));
    }

    [Fact]
    public void TorchvisionNames()
    {
        using var resnet = new ResNet18(numClasses: 10, width: 4, rng: new Rng(1));
        var keys = resnet.StateDict().Select(kv => kv.Key).ToHashSet();
        foreach (var k in new[] { "conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.num_batches_tracked", "layer2.0.downsample.0.weight",
                     "layer2.0.downsample.1.running_mean", "layer4.1.conv2.weight", "fc.weight", "fc.bias" })
            Assert.Contains(k, keys);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", keys);
        Assert.Equal(122, keys.Count);   // torchvision's resnet18 state dict: 20 convs, 20 batch norms × 5, fc weight and bias

        using var mnv2 = new MobileNetV2(numClasses: 10, widthMult: 0.1, rng: new Rng(1));
        var names = mnv2.StateDict().Select(kv => kv.Key).ToHashSet();
        foreach (var k in new[] { "features.0.0.weight", "features.0.1.bias", "features.1.conv.0.0.weight", "features.1.conv.1.weight", "features.1.conv.2.running_var",
                     "features.2.conv.0.0.weight", "features.2.conv.1.0.weight", "features.2.conv.2.weight", "features.2.conv.3.weight", "features.17.conv.3.bias",
                     "features.18.0.weight", "features.18.1.weight", "classifier.1.weight", "classifier.1.bias" })
            Assert.Contains(k, names);
        Assert.DoesNotContain(names, k => k.StartsWith("features.19", StringComparison.Ordinal));
        Assert.Equal(314, names.Count);   // torchvision's mobilenet_v2: 52 convs, 52 batch norms × 5, classifier.1 weight and bias

        using var v1 = new MobileNetV1(numClasses: 10, alpha: 0.125, rng: new Rng(1));
        var kn = v1.StateDict().Select(kv => kv.Key).ToHashSet();
        foreach (var k in new[] { "conv1.weight", "conv1_bn.running_mean", "conv_dw_1.weight", "conv_dw_1_bn.bias", "conv_pw_13.weight", "conv_pw_13_bn.weight", "conv_preds.weight", "conv_preds.bias" })
            Assert.Contains(k, kn);
        Assert.Equal([4, 1, 3, 3], v1.StateDict().First(kv => kv.Key == "conv_dw_1.weight").Value.Dims);   // depthwise: [C, 1, 3, 3]

        using var pre = new PreActResNet18(numClasses: 10, width: 4, rng: new Rng(1));
        var pk = pre.StateDict().Select(kv => kv.Key).ToHashSet();
        foreach (var k in new[] { "bn_data.bias", "bn_data.running_var", "conv0.weight", "bn0.weight", "layer1.0.bn1.weight", "layer1.0.shortcut.weight",
                     "layer2.1.conv2.weight", "bn_final.weight", "fc.weight" })
            Assert.Contains(k, pk);
        Assert.DoesNotContain("bn_data.weight", pk);
        Assert.DoesNotContain("layer1.1.shortcut.weight", pk);
    }
    [Fact]
    public void MobileNetV2KerasPaddingKeepsNamesAndShapes()
    {
        using var torchvision = new MobileNetV2(10, widthMult: 0.1, rng: new Rng(4));
        using var keras = new MobileNetV2(10, widthMult: 0.1, kerasPadding: true, rng: new Rng(4));
        Assert.Equal(torchvision.StateDict().Select(kv => kv.Key), keras.StateDict().Select(kv => kv.Key));
        Assert.Contains(keras.NamedModules(), m => m.Name == "features.0.pad" && m.Module is ZeroPad2d { Left: 0, Right: 1, Top: 0, Bottom: 1 });
        Assert.Contains(keras.NamedModules(), m => m.Name == "features.2.conv.1.pad");
        Assert.DoesNotContain(keras.NamedModules(), m => m.Name == "features.1.conv.0.pad");   // stride 1: symmetric "same"
        Assert.DoesNotContain(torchvision.NamedModules(), m => m.Module is ZeroPad2d);
        keras.LoadStateDict(torchvision.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value));
        torchvision.Eval();
        keras.Eval();
        using var scope = TensorScope.Begin();
        var x = new Variable(RandN([1, 3, 32, 32], 6));
        var a = torchvision.Forward(x);
        var b = keras.Forward(x);
        Assert.Equal(a.Shape, b.Shape);
        Assert.NotEqual(F(a.Value), F(b.Value));   // same weights, other padding
    }
}
