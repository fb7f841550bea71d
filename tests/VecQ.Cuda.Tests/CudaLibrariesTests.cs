using VecQ.Cuda.Native;

namespace VecQ.Cuda.Tests;

/// <summary>The `vecq doctor` report of NVIDIA's libraries.</summary>
public sealed class CudaLibrariesTests
{
    [Fact]
    public void Describe_DoesNotThrow_AndCoversTheDriverCublasAndNvrtc()
    {
        var lines = CudaLibraries.Describe();
        Assert.Contains(lines, l => l.StartsWith("CUDA driver: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("cuBLAS: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("NVRTC: ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(": error: ", StringComparison.Ordinal));
    }

    [WithoutDriverFact]
    public void Describe_WithoutADriver_SaysCudaIsNotAvailable()
    {
        var lines = CudaLibraries.Describe();
        Assert.Contains("no CUDA driver (libcuda.so.1 not found): --device cuda is not available on this machine", lines);
        Assert.Contains(lines, l => l.StartsWith("CUDA driver: not found (searched: ", StringComparison.Ordinal) && l.Contains("/usr/local/cuda/lib64"));
    }

    [NvrtcFact]
    public void Describe_NamesNvrtcsFileAndVersion()
    {
        var (major, minor) = KernelCompiler.NvrtcVersion!.Value;
        var line = Assert.Single(CudaLibraries.Describe(), l => l.StartsWith("NVRTC: ", StringComparison.Ordinal));
        Assert.Equal($"NVRTC: {NativeLibraries.PathOf("nvrtc")}, version {major}.{minor}", line);
    }
}
