using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Quant;
using VecQ.Tensors;
using Tensor = VecQ.Tensors.Tensor;

namespace VecQ.Onnx.Tests;

/// <summary>
/// ResNet18, PreActResNet18, MobileNetV1 and MobileNetV2 (small widths, 32×32 inputs, 10 classes) exported as ONNX: float
/// graphs give our logits in ONNX Runtime, QDQ graphs from packed files our fake-quantized top-1, and onnx.checker accepts them.
/// </summary>
/// <remarks>
/// Why QDQ is compared by top-1 (and a coarse logit bound) and not logit by logit: the quantizers on conv outputs (this
/// family's placement) see sums of quantized inputs and weights, values on a lattice, and some land within float
/// rounding of a decision boundary (0 among them, where sums that cancel land with a residue of ±1e-9 whose sign depends
/// on the summation order). The two runtimes then pick neighbouring codes, and the step spreads. Measured on these
/// models: the QDQ operators give our quantizer's outputs on the same inputs (to 1 ulp), float-weight and
/// float-activation graphs agree to 1e-7, ResNet18 W4/A8 agrees to 2e-7, MobileNetV2 W8/A8 to 6–8% of the largest logit,
/// and MobileNetV2 W4/A4 lost top-1 agreement (21 of 32).
/// </remarks>
public sealed class ResidualExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vecq-onnx-residual-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int[] Batch(int n) => [n, 3, 32, 32];

    // n Gaussian images [n, 3, 32, 32] with per-channel means and scales, so the running statistics are far from 0 and 1,
    // and per-image brightness and contrast, so an untrained network tells them apart
    private static float[] Images(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 3 * 32 * 32];
        for (int i = 0; i < x.Length; i++)
        {
            int image = i / 3072, c = i / 1024 % 3;
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            double brightness = 0.6 * (image % 5 - 2), contrast = 0.5 + 0.5 * (image % 3);
            x[i] = (float)(0.5 * c - 0.3 + brightness + contrast * (1 + 0.5 * c) * g);
        }
        return x;
    }

    private static Module Small(string name, Func<ActivationSlot, Module?>? activations = null) => name switch
    {
        "resnet18" => new ResNet18(10, 3, width: 8, activations: activations, rng: new Rng(5)),
        "resnet18-preact" => new PreActResNet18(10, 3, width: 8, activations: activations, rng: new Rng(5)),
        "mobilenet-v1" => new MobileNetV1(10, 3, alpha: 0.25, dropout: 0.2, activations: activations, rng: new Rng(5)),
        "mobilenet-v2" => new MobileNetV2(10, 3, widthMult: 0.35, dropout: 0.2, activations: activations, rng: new Rng(5)),
        _ => throw new ArgumentException(name),
    };

    // random batch-norm γ and β, then training forwards (running statistics, activation-quantizer steps), then evaluation mode
    private static void Settle(Module model, int seed)
    {
        var rng = new Rng((ulong)seed);
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNorm bn)
            {
                if (bn.Weight is { } w) Init.Uniform(w.Data, rng, 0.5, 1.5);
                if (bn.Bias is { } b) Init.Uniform(b.Data, rng, -0.3, 0.3);
            }
        model.Train();
        for (int i = 0; i < 4; i++)
        {
            using var noGrad = Autograd.Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            model.Forward(new Variable(Tensor.FromArray(Images(16, seed + i), Batch(16))));
        }
        model.Eval();
    }

    public static TheoryData<string> Models => new() { "resnet18", "resnet18-preact", "mobilenet-v1", "mobilenet-v2" };

    /// <summary>Float models with trained-looking batch norms: ONNX Runtime's logits are ours within 1e-4 of the largest.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void FloatModel_RunsInOnnxRuntime_WithOurLogits(string name)
    {
        using var model = Small(name);
        Settle(model, 7);
        string path = Path.Combine(_dir, name + ".onnx");
        var r = OnnxExport.FromModel(model, path);
        Assert.Equal((0, 0), (r.QuantizedWeights, r.QuantizedActivations));
        var x = Images(8, 100);
        OnnxChecks.Close(OnnxChecks.Ours(model, x, Batch(8)), OnnxChecks.Ort(path, x, Batch(8)), name);
        OnnxChecks.Checker(path);
    }

    /// <summary>
    /// W4/A8 ResNet18 (width 8, per-channel activation steps) through FromPacked with the model: every weight an integer
    /// tensor, a QDQ pair in each of its 20 slots, and the fake-quantized model's top-1 on all 32 images.
    /// </summary>
    [Fact]
    public void QdqResNet18_FromPackedWithTheModel_RunsInOnnxRuntime_WithTheFakeQuantizedPredictions()
    {
        Module? Act(ActivationSlot s) => new ActivationQuantizer(8, channels: s.Channels);
        string packedPath = Path.Combine(_dir, "resnet18-w4a8.vecq"), path = Path.Combine(_dir, "resnet18-w4a8.onnx");
        using (var model = Small("resnet18", Act))
        {
            model.Quantize(new QuantizeConfig { WeightBits = 4 });
            Settle(model, 11);
            PackedModel.Export(model, packedPath);
        }
        using var packed = PackedModel.Load(packedPath);
        using var fake = (ResNet18)Small("resnet18", Act);
        var r = OnnxExport.FromPacked(fake, packed, path);
        Assert.Equal(21, packed.Quantized.Count);
        Assert.Equal((21, 20), (r.QuantizedWeights, r.QuantizedActivations));
        Assert.Equal(20, fake.ActivationSlots.Count);
        SameTop1(fake, path, 32);
        OnnxChecks.Checker(path);
    }

    /// <summary>
    /// W8/A8 MobileNetV2 at full width with per-channel weight scales (int32 codes behind DequantizeLinear on axis 0,
    /// depthwise included) and per-channel activation steps, rebuilt from the packed file's config as vecq export writes it:
    /// the fake-quantized model's top-1 on all 32 images.
    /// </summary>
    [Fact]
    public void QdqMobileNetV2_FromPackedFile_RunsInOnnxRuntime_WithTheFakeQuantizedPredictions()
    {
        Module? Act(ActivationSlot s) => new ActivationQuantizer(8, channels: s.Channels);
        string packedPath = Path.Combine(_dir, "mobilenet-v2-w8a8.vecq"), path = Path.Combine(_dir, "mobilenet-v2-w8a8.onnx");
        int slots;
        using (var model = new MobileNetV2(10, 3, activations: Act, rng: new Rng(9)))
        {
            // torchvision's classifier init (std 0.01) gives every untrained image the same top-1; a wider one does not
            Init.Normal(model.NamedParameters().First(p => p.Name == "classifier.1.weight").Parameter.Data, new Rng(10), 0, 0.2);
            model.Quantize(new QuantizeConfig { WeightBits = 8, Granularity = Granularity.PerChannel });
            Settle(model, 13);
            slots = model.ActivationSlots.Count;
            PackedModel.Export(model, packedPath, new Dictionary<string, string>
            {
                ["config"] = "{\"model\":\"mobilenet-v2\",\"sizes\":{\"classes\":10,\"channels\":3,\"image_size\":32}}", ["abits"] = "8", ["act_quant"] = "searched",
            });
        }
        var r = OnnxExport.FromPacked(packedPath, path);
        using var packed = PackedModel.Load(packedPath);
        Assert.Equal((packed.Quantized.Count, slots), (r.QuantizedWeights, r.QuantizedActivations));
        using var fake = new MobileNetV2(10, 3, activations: Act);
        packed.LoadInto(fake);
        fake.Eval();
        SameTop1(fake, path, 32);
        OnnxChecks.Checker(path);
    }

    private static void SameTop1(Module fake, string path, int n)
    {
        var x = Images(n, 300);
        float[] ours = OnnxChecks.Ours(fake, x, Batch(n)), ort = OnnxChecks.Ort(path, x, Batch(n));
        var want = OnnxChecks.Top1(ours, n);
        var got = OnnxChecks.Top1(ort, n);
        int differ = want.Zip(got).Count(p => p.First != p.Second);
        Assert.True(differ == 0, $"{differ} of {n} top-1 predictions differ between ONNX Runtime and the fake-quantized model");
        // coarse on purpose: codes that flip at a decision boundary move the logits by a few percent (ResidualExportTests
        // remarks); a wrong graph moves them by their own size
        double scale = ours.Max(Math.Abs), worst = ours.Zip(ort).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= 0.25 * scale, $"logits differ by up to {worst} (largest |logit| {scale})");
    }
}
