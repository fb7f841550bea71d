namespace VecQ.Tensors;

/// <summary>Kind of device a storage lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through the CUDA backend.</summary>
    Cuda,
    /// <summary>
    /// The simulated accelerator: private buffers that the host reaches only through its backend's
    /// Upload/Download, computed on by the CPU kernels, with every transfer counted (<see cref="SimBackend"/>).
    /// </summary>
    Sim,
}

/// <summary>Where a tensor's storage lives: <c>Device.Cpu</c>, <c>Device.Sim(i)</c> or <c>Device.Cuda(i)</c>.</summary>
/// <example><code>var d = Device.Parse("sim:1"); // Device.Sim(1)</code></example>
public readonly record struct Device(DeviceKind Kind, int Index)
{
    /// <summary>The host.</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu, 0);

    /// <summary>The CUDA device with ordinal <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "CUDA device index must be >= 0");
        return new(DeviceKind.Cuda, index);
    }

    /// <summary>The simulated accelerator number <paramref name="index"/> (each index has its own memory and counters).</summary>
    /// <example><code>using var t = Tensor.Zeros([4], device: Device.Sim()); // lives in sim:0's private memory</code></example>
    public static Device Sim(int index = 0)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "sim device index must be >= 0");
        return new(DeviceKind.Sim, index);
    }

    /// <summary>True for devices whose memory the host cannot address (everything but the CPU).</summary>
    public bool IsAccelerator => Kind != DeviceKind.Cpu;

    /// <summary>Parses "cpu", "sim", "sim:N", "cuda" or "cuda:N".</summary>
    /// <exception cref="ArgumentException">Any other text (the message names it and the accepted forms).</exception>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda(0);
        if (s == "sim") return Sim(0);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out int i) && i >= 0) return Cuda(i);
        if (s.StartsWith("sim:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(4), out int j) && j >= 0) return Sim(j);
        throw new ArgumentException($"device '{text}': expected 'cpu', 'sim', 'sim:N', 'cuda' or 'cuda:N'", nameof(text));
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.Sim => $"sim:{Index}",
        _ => $"cuda:{Index}",
    };
}
