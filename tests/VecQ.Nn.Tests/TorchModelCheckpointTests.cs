using System.Globalization;
using System.Text.Json;
using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

/// <summary>
/// A ResNet18 and a MobileNetV2 checkpoint written by <see cref="Checkpoint.Save"/> load strictly into torchvision's
/// resnet18 / mobilenet_v2 and give the same eval logits. Needs /usr/bin/python3 with torch and torchvision (Debian:
/// apt-get install python3-torch python3-torchvision); VECQ_SKIP_TORCH=1 skips where they cannot be installed.
/// </summary>
public class TorchModelCheckpointTests
{
    private const int Size = 64;   // a small input keeps both sides fast

    [TorchVisionFact]
    public void ResNet18LoadsIntoTorchvision() => Check("resnet18");

    [TorchVisionFact]
    public void MobileNetV2LoadsIntoTorchvision() => Check("mobilenet-v2");

    private static void Check(string name)
    {
        if (!TorchSupport.Available(out string why, "torch", "torchvision"))
            Assert.Fail($"torchvision checkpoint test: install `apt-get install python3-torch python3-torchvision` (or set VECQ_SKIP_TORCH=1 to skip): {why}");

        // full widths (torchvision's), 10 classes to keep the file small
        double eps = name == "resnet18" ? 1e-5 : 1e-3;
        using Module model = name == "resnet18" ? new ResNet18(numClasses: 10, rng: new Rng(2024)) : new MobileNetV2(numClasses: 10, rng: new Rng(2024));
        // move the running statistics (and γ/β, from a constant) away from their defaults
        using (Autograd.NoGrad())
        {
            foreach (var (n, p) in model.NamedParameters())
                if (p.Shape.Length == 1 && !n.StartsWith("fc", StringComparison.Ordinal) && !n.StartsWith("classifier", StringComparison.Ordinal))
                {
                    using var noise = Tensor.Rand(p.Shape, new Rng(7), 0.5, 1.5);
                    p.Data.CopyFrom(noise);
                }
            for (ulong i = 0; i < 2; i++)
            {
                using var scope = TensorScope.Begin();
                model.Forward(new Variable(RandN([4, 3, Size, Size], 100 + i)));
            }
        }
        model.Eval();
        float[] ours;
        using (Autograd.NoGrad())
        using (var scope = TensorScope.Begin())
            ours = F(model.Forward(new Variable(SineImage(Size))).Value);

        string path = Path.Combine(Path.GetTempPath(), $"vecq-{name}-torch-{Guid.NewGuid():N}.safetensors");
        try
        {
            Checkpoint.Save(path, model, new CheckpointMetadata { Model = name });
            var (code, stdout, stderr) = TorchSupport.Run(TorchSupport.Python, Script(), "--check-checkpoint", path, "--model", name,
                "--bn-eps", eps.ToString("R", CultureInfo.InvariantCulture), "--size", Size.ToString(CultureInfo.InvariantCulture));
            Assert.True(code == 0, $"make_model_fixtures.py --check-checkpoint failed ({code}):\n{stderr}\n{stdout}");
            using var doc = JsonDocument.Parse(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
            Assert.Equal([1, 10], doc.RootElement.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            double[] theirs = doc.RootElement.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double scale = theirs.Max(Math.Abs);
            AssertClose(theirs, ours.Select(v => (double)v).ToArray(), 1e-4 * scale, 1e-4, $"{name} eval logits: torchvision vs VecQ");
        }
        finally { File.Delete(path); }
    }

    // x.flat[i] = float32(sin(0.37·i)), x: [1, 3, size, size]: the fixed input of make_model_fixtures.py --check-checkpoint.
    private static Tensor SineImage(int size)
    {
        var v = new float[3 * size * size];
        for (int i = 0; i < v.Length; i++) v[i] = (float)Math.Sin(0.37 * i);
        return Tensor.FromArray(v, [1, 3, size, size]);
    }

    private static string Script() => Path.Combine(RepoRoot(), "tools", "fixtures", "make_model_fixtures.py");
}
