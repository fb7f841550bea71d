using System.CommandLine;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>The `--device` option of the commands that compute: cpu, sim[:N] (and cuda[:N] once its backend exists).</summary>
internal static class DeviceOption
{
    /// <summary>A new `--device` option (default cpu).</summary>
    public static Option<string> Create() => new("--device")
    {
        Description = "where to compute: cpu, or sim / sim:N (the simulated accelerator; cuda[:N] once the CUDA backend exists)",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>The device named by <paramref name="text"/>, or an <see cref="OptionException"/> that says what is accepted.</summary>
    public static Device Parse(string text)
    {
        Device d;
        try { d = Device.Parse(text); }
        catch (ArgumentException) { throw new OptionException($"--device '{text}': expected cpu, sim, sim:N, cuda or cuda:N"); }
        if (d.Kind == DeviceKind.Cuda)
            throw new OptionException($"--device {text}: this build has no CUDA backend (no CUDA device can be used); use --device cpu or --device sim");
        return d;
    }
}
