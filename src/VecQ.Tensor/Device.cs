namespace VecQ.Tensors;

/// <summary>Kind of device a storage lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through the CUDA backend.</summary>
    Cuda,
}

/// <summary>Where a tensor's storage lives: <c>Device.Cpu</c> or <c>Device.Cuda(i)</c>.</summary>
/// <example><code>var d = Device.Parse("cuda:0"); // Device.Cuda(0)</code></example>
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

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda(0);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out int i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"device '{text}': expected 'cpu', 'cuda' or 'cuda:N'", nameof(text));
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
