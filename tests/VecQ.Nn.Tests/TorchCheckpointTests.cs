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
    private const string Python = "/usr/bin/python3";

    [TorchFact]
    public void PyTorchLoadsOurCheckpointAndAgrees()
    {
        if (!TorchAvailable(out string why)) Assert.Fail($"PyTorch checkpoint test: install Debian's PyTorch with `apt-get install python3-torch` (or set VECQ_SKIP_TORCH=1 to skip): {why}");

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
            var (code, stdout, stderr) = Run(Python, Script(), "--check-checkpoint", path, "--batch", "2");
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

    /// <summary>A fact reported as Skipped (never Passed) when VECQ_SKIP_TORCH=1 and PyTorch cannot be imported.</summary>
    private sealed class TorchFactAttribute : FactAttribute
    {
        public TorchFactAttribute()
        {
            if (Environment.GetEnvironmentVariable("VECQ_SKIP_TORCH") == "1" && !TorchAvailable(out string why))
                Skip = $"VECQ_SKIP_TORCH=1 and PyTorch is not available: {why}";
        }
    }

    // True when python3 and torch are there.
    private static bool TorchAvailable(out string why)
    {
        why = "";
        if (!File.Exists(Python)) why = $"{Python} not found";
        else
        {
            var (code, _, stderr) = Run(Python, "-c", "import torch");
            if (code != 0) why = $"python3 cannot import torch ({stderr.Trim().Split('\n').Last()})";
        }
        return why.Length == 0;
    }

    private static (int Code, string Stdout, string Stderr) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{exe} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
