using VecQ.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Cli.Tests;

/// <summary>`vecq doctor`: the CPU and the SGEMM kernel and blocking chosen for it, as the library reports them.</summary>
[Collection("cli")]
public sealed class DoctorTests
{
    [Fact]
    public void Doctor_ReportsTheCpuAndTheKernelChosen()
    {
        var r = CliRunner.Run("doctor", "--no-peak", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var j = r.Json();
        var cpu = CpuInfo.Current;
        Assert.Equal(cpu.ToString(), j.GetProperty("cpu").GetString());
        Assert.Equal(cpu.L1Bytes, j.GetProperty("l1d_bytes").GetInt32());
        Assert.Equal(cpu.Avx512, j.GetProperty("avx512f").GetBoolean());
        Assert.Equal(CpuBackend.SgemmChoice, j.GetProperty("sgemm_kernel").GetString());
        Assert.Matches(@"kc \d+, kc small-M \d+, mc \d+, nc \d+", j.GetProperty("sgemm_kernel").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("fma_peak_gflops").ValueKind);
        Assert.Contains("sgemm:", r.Out);
        Assert.Contains(cpu.Brand, r.Out);
    }

    // The choice is made once per process, so a bad override is tried in a child process of the built vecq.
    [Theory]
    [InlineData("VECQ_SGEMM_KERNEL", "avx1024", "expected avx512x12, avx512, avx2 or portable")]
    [InlineData("VECQ_SGEMM_BLOCKING", "kc=0", "not name=positive integer")]
    [InlineData("VECQ_WINOGRAD", "7", "expected 3,5, 3, 5 or none")]
    public void BadKernelOverride_IsAClearOptionError(string variable, string value, string expected)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(typeof(Cli).Assembly.Location);
        psi.ArgumentList.Add("doctor");
        psi.ArgumentList.Add("--no-peak");
        psi.Environment[variable] = value;
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "vecq doctor did not finish");
        Assert.Equal(Cli.BadOptions, p.ExitCode);
        Assert.Contains($"vecq: {variable}", err);
        Assert.Contains(expected, err);
        Assert.DoesNotContain("Unhandled exception", err);
    }
}
