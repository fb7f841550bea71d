namespace VecQ.Cli.Tests;

/// <summary>
/// `--device sim`: the simulated accelerator trains, evaluates, checkpoints and resumes exactly as the CPU
/// does, and its host traffic per step is a constant that does not grow with the model.
/// </summary>
[Collection("cli")]
public sealed class DeviceTests
{
    private static readonly string[] Issue =
        ["--epochs", "1", "--seed", "3", "--limit-train", "3000", "--limit-test", "1000", "--threads", "2", "--json"];

    [Theory]
    [InlineData("32", "32")]
    [InlineData("2", "8")]
    public void Sim_GivesTheCpuAccuracy_WithAConstantTrafficPerStep(string wbits, string abits)
    {
        TrainEvalTests.RequireSystemData();
        var cpu = CliRunner.Run(["train", .. Issue, "--wbits", wbits, "--abits", abits, "--out", CliRunner.TempDir(), "--device", "cpu"]);
        var sim = CliRunner.Run(["train", .. Issue, "--wbits", wbits, "--abits", abits, "--out", CliRunner.TempDir(), "--device", "sim"]);
        Assert.True(cpu.ExitCode == 0 && sim.ExitCode == 0, cpu.Err + sim.Err);
        var c = cpu.Json();
        var s = sim.Json();
        Assert.Equal("sim:0", s.GetProperty("device").GetString());
        Assert.Equal(c.GetProperty("test_accuracy").GetDouble(), s.GetProperty("test_accuracy").GetDouble(), 6);
        Assert.Equal(c.GetProperty("test_loss").GetDouble(), s.GetProperty("test_loss").GetDouble(), 6);
        Assert.Equal(0, c.GetProperty("host_transfers_per_step").GetDouble());

        // a step moves the batch up (images, labels) and the loss and predictions down: 4 transfers; the
        // first step also reads each batch norm's and activation quantizer's counter once, and an exact-λ
        // activation search downloads its input every 100 steps. LeNet5 has 10 weight tensors and 10 more
        // parameters: anything per parameter would break these bounds.
        double perStep = s.GetProperty("host_transfers_per_step").GetDouble();
        long maxStep = s.GetProperty("host_transfers_max_step").GetInt64();
        Assert.InRange(perStep, 4, 4.5);
        Assert.InRange(maxStep, 4, 13);
        double bytes = s.GetProperty("host_bytes_per_step").GetDouble();
        double batchBytes = 50 * 28 * 28 * 4 + 50 * 4 + 4 + 50 * 4;   // images, labels up; loss, predictions down
        Assert.InRange(bytes, batchBytes, abits == "32" ? batchBytes * 1.05 : batchBytes * 2.5);
    }

    [Fact]
    public void Sim_Resume_AfterAKill_EndsBitIdenticalToTheCpuRun()
    {
        TrainEvalTests.RequireSystemData();
        string[] run = ["train", "--limit-train", "1000", "--limit-test", "500", "--batch-size", "50", "--seed", "3", "--threads", "2",
            "--epochs", "2", "--checkpoint-every", "7", "--wbits", "2", "--abits", "8", "--optimizer", "adamw", "--schedule", "multistep",
            "--milestones", "1", "--warmup-steps", "3", "--json"];
        var straight = CliRunner.Run([.. run, "--out", CliRunner.TempDir(), "--device", "cpu"]);
        Assert.True(straight.ExitCode == 0, straight.Err);
        var dir = CliRunner.TempDir();
        Assert.Equal(1, CliRunner.Run([.. run, "--out", dir, "--device", "sim", "--stop-after-steps", "31"]).ExitCode);
        var resumed = CliRunner.Run([.. run, "--out", dir, "--device", "sim", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Contains("resuming", resumed.Err);
        Assert.Equal(straight.Json().GetProperty("test_loss").GetDouble(), resumed.Json().GetProperty("test_loss").GetDouble());

        var e = CliRunner.Run("eval", "--checkpoint", Path.Combine(dir, "last.safetensors"), "--limit-test", "500", "--device", "sim", "--json");
        Assert.True(e.ExitCode == 0, e.Err);
        Assert.Equal(resumed.Json().GetProperty("test_accuracy").GetDouble(), e.Json().GetProperty("test_accuracy").GetDouble(), 6);
    }

    [Theory]
    [InlineData("sgd", "cosine")]
    [InlineData("sgd", "step")]
    [InlineData("adam", "constant")]
    [InlineData("adamw", "multistep")]
    public void EveryOptimizerAndSchedule_RunsOnSim_AsOnCpu(string optimizer, string schedule)
    {
        TrainEvalTests.RequireSystemData();
        string[] run = ["train", "--limit-train", "300", "--limit-test", "200", "--batch-size", "50", "--seed", "5", "--epochs", "2",
            "--optimizer", optimizer, "--schedule", schedule, "--milestones", "1", "--momentum", "0.9", "--json"];
        var cpu = CliRunner.Run([.. run, "--out", CliRunner.TempDir(), "--device", "cpu"]);
        var sim = CliRunner.Run([.. run, "--out", CliRunner.TempDir(), "--device", "sim:1"]);
        Assert.True(cpu.ExitCode == 0 && sim.ExitCode == 0, cpu.Err + sim.Err);
        Assert.Equal(cpu.Json().GetProperty("test_loss").GetDouble(), sim.Json().GetProperty("test_loss").GetDouble());
        Assert.Equal("sim:1", sim.Json().GetProperty("device").GetString());
    }

    [Theory]
    [InlineData("gpu", "--device 'gpu': expected cpu, sim, sim:N, cuda or cuda:N")]
    [InlineData("sim:-1", "--device 'sim:-1': expected")]
    public void BadDevice_IsAnOptionError(string device, string message)
    {
        var r = CliRunner.Run("train", "--device", device, "--out", CliRunner.TempDir());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Err);
    }

    [NoCudaDriverFact]
    public void CudaWithoutADriver_IsOneOptionError()
    {
        var r = CliRunner.Run("train", "--device", "cuda", "--out", CliRunner.TempDir());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--device cuda: cuda:0: no CUDA driver on this machine (libcuda.so.1 not found", r.Err);
    }
}

/// <summary>A fact for machines where the CUDA driver cannot be loaded (Skipped where libcuda.so.1 loads).</summary>
internal sealed class NoCudaDriverFactAttribute : FactAttribute
{
    public NoCudaDriverFactAttribute()
    {
        if (System.Runtime.InteropServices.NativeLibrary.TryLoad("libcuda.so.1", out _)) Skip = "this machine has a CUDA driver";
    }
}
