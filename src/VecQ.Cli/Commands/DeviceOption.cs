using System.CommandLine;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>The `--device` option of the commands that compute: cpu, sim[:N], cuda[:N].</summary>
internal static class DeviceOption
{
    /// <summary>A new `--device` option (default cpu).</summary>
    public static Option<string> Create() => new("--device")
    {
        Description = "where to compute: cpu, sim / sim:N (the simulated accelerator) or cuda / cuda:N (an NVIDIA GPU)",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>The device named by <paramref name="text"/>, or an <see cref="OptionException"/> that says what is accepted.</summary>
    public static Device Parse(string text)
    {
        Device d;
        try { d = Device.Parse(text); }
        catch (ArgumentException) { throw new OptionException($"--device '{text}': expected cpu, sim, sim:N, cuda or cuda:N"); }
        if (d.Kind == DeviceKind.Cuda)
        {
            // start the device now, so a machine without a driver or GPU gets one line instead of a failure deep in an op;
            // registered explicitly (not only by name) so the trimmed publish of scripts/gpu-check.sh keeps the backend
            try { VecQ.Cuda.CudaBackend.Register(); Backend.For(d); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new OptionException($"--device {text}: {e.Message}");
            }
        }
        return d;
    }
}
