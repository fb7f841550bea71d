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
}
