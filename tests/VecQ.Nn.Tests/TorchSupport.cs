using System.Diagnostics;

namespace VecQ.Nn.Tests;

/// <summary>Running Debian's python3 with torch (and torchvision) from a test.</summary>
internal static class TorchSupport
{
    public const string Python = "/usr/bin/python3";

    /// <summary>True when python3 can import every module in <paramref name="modules"/>.</summary>
    public static bool Available(out string why, params string[] modules)
    {
        why = "";
        if (!File.Exists(Python)) why = $"{Python} not found";
        else
        {
            var (code, _, stderr) = Run(Python, "-c", "import " + string.Join(", ", modules.Length == 0 ? ["torch"] : modules));
            if (code != 0) why = $"python3 cannot import {string.Join(", ", modules)} ({stderr.Trim().Split('\n').Last()})";
        }
        return why.Length == 0;
    }

    public static (int Code, string Stdout, string Stderr) Run(string exe, params string[] args)
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

/// <summary>A fact reported as Skipped (never Passed) when VECQ_SKIP_TORCH=1 and PyTorch cannot be imported.</summary>
internal sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("VECQ_SKIP_TORCH") == "1" && !TorchSupport.Available(out string why, "torch"))
            Skip = $"VECQ_SKIP_TORCH=1 and PyTorch is not available: {why}";
    }
}

/// <summary>A fact reported as Skipped (never Passed) when VECQ_SKIP_TORCH=1 and torch (and torchvision) cannot be imported.</summary>
internal sealed class TorchVisionFactAttribute : FactAttribute
{
    public TorchVisionFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("VECQ_SKIP_TORCH") == "1" && !TorchSupport.Available(out string why, "torch", "torchvision"))
            Skip = $"VECQ_SKIP_TORCH=1 and PyTorch/torchvision is not available: {why}";
    }
}
