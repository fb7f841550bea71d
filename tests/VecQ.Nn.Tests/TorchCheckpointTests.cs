using System.Diagnostics;
using System.Text.Json;
using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

/// <summary>
/// A checkpoint written by <see cref="Safetensors.Save"/> loads into PyTorch's LeNet5 (strict) and gives
/// the same eval logits. Needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch);
/// set VECQ_SKIP_TORCH=1 to skip where PyTorch cannot be installed.
/// </summary>
public class TorchCheckpointTests
{

    [TorchFact]
    public void PyTorchLoadsOurCheckpointAndAgrees()
    {
        if (!TorchSupport.Available(out string why)) Assert.Fail($"PyTorch checkpoint test: install Debian's PyTorch with `apt-get install python3-torch` (or set VECQ_SKIP_TORCH=1 to skip): {why}");

        var model = new LeNet5(rng: new Rng(2024));   // the full-size model
        // Move the running statistics away from their defaults with a few training-mode batches.
        using (Autograd.NoGrad())
            for (ulong i = 0; i < 3; i++)
            {
                using var batch = Input([8, 1, 28, 28], 100 + i);
                using (model.Forward(batch)) { }
            }
        model.Eval();
        using var probe = new Variable(SineInput(2));
        float[] ours;
        using (Autograd.NoGrad())
        using (var logits = model.Forward(probe))
            ours = F(logits.Value);

        string path = Path.Combine(Path.GetTempPath(), $"vecq-lenet5-torch-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, model.StateDict(), new Dictionary<string, string> { ["model"] = "LeNet5" });
            var (code, stdout, stderr) = TorchSupport.Run(TorchSupport.Python, Script(), "--check-checkpoint", path, "--batch", "2");
            Assert.True(code == 0, $"make_lenet5_fixture.py --check-checkpoint failed ({code}):\n{stderr}\n{stdout}");
            string line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
            using var doc = JsonDocument.Parse(line);
            int[] shape = doc.RootElement.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal([2, 10], shape);
            double[] theirs = doc.RootElement.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double scale = theirs.Max(Math.Abs);
            AssertClose(theirs, ours.Select(v => (double)v).ToArray(), 1e-4 * scale + 1e-6, 1e-4, "eval logits: PyTorch vs VecQ");
        }
        finally { File.Delete(path); }
    }

    private static string Script() => Path.Combine(RepoRoot(), "tools", "fixtures", "make_lenet5_fixture.py");
}
