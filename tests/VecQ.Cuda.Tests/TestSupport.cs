using VecQ.Cuda;

// The tests set VECQ_CUDA_CACHE (process-wide) and load native libraries: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace VecQ.Cuda.Tests;

/// <summary>Why an NVRTC test cannot run here, or null: NVRTC loads, or this is CI (CI=true), which installs it
/// (Debian's libnvrtc11.2) and must run these tests rather than skip them.</summary>
internal static class NvrtcRequirement
{
    public static string? SkipReason =>
        KernelCompiler.NvrtcAvailable || Environment.GetEnvironmentVariable("CI") == "true" ? null : "NVRTC (libnvrtc) is not installed on this machine";
}

/// <summary>A fact reported as Skipped where NVRTC (libnvrtc) cannot be loaded (except under CI).</summary>
internal sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute() => Skip = NvrtcRequirement.SkipReason;
}

/// <summary>A theory reported as Skipped where NVRTC (libnvrtc) cannot be loaded (except under CI).</summary>
internal sealed class NvrtcTheoryAttribute : TheoryAttribute
{
    public NvrtcTheoryAttribute() => Skip = NvrtcRequirement.SkipReason;
}

/// <summary>A fact for machines without the CUDA driver, reported as Skipped where libcuda loads.</summary>
internal sealed class WithoutDriverFactAttribute : FactAttribute
{
    public WithoutDriverFactAttribute()
    {
        if (VecQ.Cuda.Native.NativeLibraries.PathOf("cuda") is { } path) Skip = $"this machine has a CUDA driver ({path})";
    }
}

/// <summary>A temporary folder made for one test and deleted after it.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("vecq-cuda-").FullName;

    public string Sub(params string[] parts)
    {
        var p = System.IO.Path.Combine([Path, .. parts]);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Sets an environment variable for one test and restores it after.</summary>
internal sealed class EnvironmentVariable : IDisposable
{
    private readonly string _name;
    private readonly string? _old;

    public EnvironmentVariable(string name, string? value)
    {
        _name = name;
        _old = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(_name, _old);
}
