using VecQ.Cuda.Native;

namespace VecQ.Cuda.Tests;

/// <summary>NVRTC through <see cref="KernelCompiler"/>: version, PTX for several architectures, compile errors, the disk
/// cache, entry points and the embedded sources.</summary>
public sealed class KernelCompilerTests
{
    private const string Saxpy = """
        extern "C" __global__ void vecq_saxpy(int n, float a, const float* x, float* y)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = a * x[i] + y[i];
        }
        extern "C" __global__ void vecq_fill(float* y, float v) { y[threadIdx.x] = v; }
        """;

    [NvrtcFact]
    public void NvrtcVersion_Is11Point8OrLater()
    {
        var v = KernelCompiler.NvrtcVersion;
        Assert.NotNull(v);
        Assert.True(v.Value.CompareTo((11, 8)) >= 0, $"NVRTC {v.Value.Major}.{v.Value.Minor} is older than 11.8");
        Assert.True(KernelCompiler.NvrtcAvailable);
    }

    [NvrtcTheory]
    [InlineData("compute_70")]
    [InlineData("compute_80")]
    [InlineData("compute_90")]
    public void CompilePtx_SmallKernel_TargetsTheArchitectureAndNamesItsEntryPoints(string arch)
    {
        using var cache = new TempDir();
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", cache.Path);
        string ptx = KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", arch);
        Assert.Contains(".target sm_" + arch["compute_".Length..], ptx);
        Assert.Equal(["vecq_saxpy", "vecq_fill"], KernelCompiler.EntryPoints(ptx));
    }

    [NvrtcFact]
    public void CompilePtx_PassesTheOptions()
    {
        using var cache = new TempDir();
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", cache.Path);
        const string src = "extern \"C\" __global__ void k(float* y) { y[0] = VECQ_VALUE; }";
        string ptx = KernelCompiler.CompilePtx(src, "defined.cu", "compute_80", ["-DVECQ_VALUE=2.5f"]);
        Assert.Contains("1075838976", ptx);                          // the bits of 2.5f, as NVVM stores the constant
        var e = Assert.Throws<CudaException>(() => KernelCompiler.CompilePtx(src, "undefined.cu", "compute_80"));
        Assert.Contains("VECQ_VALUE", e.Message);
    }

    [NvrtcFact]
    public void CompilePtx_SyntaxError_ThrowsCudaExceptionNamingTheProgramWithTheLog()
    {
        using var cache = new TempDir();
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", cache.Path);
        const string broken = "extern \"C\" __global__ void broken(float* y) { y[0] = 1.0f  }";
        var e = Assert.Throws<CudaException>(() => KernelCompiler.CompilePtx(broken, "broken_kernel.cu", "compute_80"));
        Assert.Equal("nvrtcCompileProgram", e.Call);
        Assert.Equal(Nvrtc.NVRTC_ERROR_COMPILATION, e.Code);
        Assert.Contains("broken_kernel.cu", e.Message);
        Assert.Contains("NVRTC_ERROR_COMPILATION", e.Message);
        Assert.Contains("error", e.Message);                          // the log: broken_kernel.cu(1): error: expected a ";"
        Assert.Contains("expected", e.Message);
        Assert.Empty(Directory.GetFiles(cache.Path));                  // failures are not cached
    }

    [NvrtcFact]
    public void CompilePtx_SecondCallReadsTheCache_CorruptEntriesAreRecompiled()
    {
        using var cache = new TempDir();
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", cache.Path);
        string ptx = KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_80", ["--fmad=false"]);
        string file = Assert.Single(Directory.GetFiles(cache.Path));
        Assert.EndsWith(".ptx", file);
        Assert.Equal(ptx, KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_80", ["--fmad=false"]));
        Assert.Single(Directory.GetFiles(cache.Path));                 // no temporary file left behind

        // The second call is served from the file: a valid entry with other text is returned as it is.
        KernelCompiler.TryWriteCached(cache.Path, file, ptx + "// planted\n");
        Assert.Equal(ptx + "// planted\n", KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_80", ["--fmad=false"]));

        // Corrupt entries (a flipped byte, a truncation, garbage, an empty file) are recompiled and replaced.
        byte[] good = File.ReadAllBytes(file);
        byte[] flipped = (byte[])good.Clone();
        flipped[^10] ^= 0x20;
        foreach (var bad in new[] { flipped, good[..(good.Length / 2)], "not a cache entry\n"u8.ToArray(), [] })
        {
            File.WriteAllBytes(file, bad);
            Assert.Equal(ptx, KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_80", ["--fmad=false"]));
            Assert.Equal(ptx, KernelCompiler.TryReadCached(file));
        }

        // Another architecture or other options are other entries.
        KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_90", ["--fmad=false"]);
        KernelCompiler.CompilePtx(Saxpy, "saxpy.cu", "compute_80");
        Assert.Equal(3, Directory.GetFiles(cache.Path).Length);
    }

    [Fact]
    public void CacheKey_DependsOnEveryInput()
    {
        string k = KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_80", ["-x"]);
        Assert.Equal(64, k.Length);
        Assert.Equal(k, KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_80", ["-x"]));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src2", "a.cu", "11.8", "compute_80", ["-x"]));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", "a.cu", "12.4", "compute_80", ["-x"]));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_90", ["-x"]));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_80", []));
        Assert.NotEqual(KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_80", ["-a", "b"]),
                        KernelCompiler.CacheKey("src", "a.cu", "11.8", "compute_80", ["-a b"]));
    }

    [Fact]
    public void CacheDirectory_VecqCudaCacheThenXdgCacheHomeThenHomeCache()
    {
        Func<string, string?> Env(params (string, string)[] vars) => n => vars.FirstOrDefault(v => v.Item1 == n).Item2;
        Assert.Equal("/c", KernelCompiler.CacheDirectoryFor(Env(("VECQ_CUDA_CACHE", "/c"), ("XDG_CACHE_HOME", "/x")), "/h", windows: false));
        Assert.Equal(Path.Combine("/x", "vecq", "cuda"), KernelCompiler.CacheDirectoryFor(Env(("XDG_CACHE_HOME", "/x")), "/h", windows: false));
        Assert.Equal(Path.Combine("/h", ".cache", "vecq", "cuda"), KernelCompiler.CacheDirectoryFor(Env(), "/h", windows: false));
        using var _ = new EnvironmentVariable("VECQ_CUDA_CACHE", "/tmp/vecq-cache-test");
        Assert.Equal("/tmp/vecq-cache-test", KernelCompiler.CacheDirectory);
    }

    [Fact]
    public void CompilePtx_RejectsBadArguments()
    {
        Assert.Contains("compute_", Assert.Throws<ArgumentException>(() => KernelCompiler.CompilePtx("", "a.cu", "sm_80")).Message);
        Assert.Contains("a.cu", Assert.Throws<ArgumentException>(() => KernelCompiler.CompilePtx("", "a.cu", "80")).Message);
        Assert.Throws<ArgumentException>(() => KernelCompiler.CompilePtx("", " ", "compute_80"));
        Assert.Contains("--gpu-architecture=compute_90", Assert.Throws<ArgumentException>(
            () => KernelCompiler.CompilePtx("", "a.cu", "compute_80", ["--gpu-architecture=compute_90"])).Message);
    }

    [Fact]
    public void EntryPoints_FindsVisibleAndPlainEntries()
    {
        const string ptx = """
            .version 7.8
            .target sm_80
            .address_size 64

            	// .globl	first
            .visible .entry first(
            	.param .u64 first_param_0
            )
            { ret; }
            .entry second_$1()
            { ret; }
            .func helper() { ret; }
            .weak .entry third() { ret; }
            """;
        Assert.Equal(["first", "second_$1", "third"], KernelCompiler.EntryPoints(ptx));
        Assert.Empty(KernelCompiler.EntryPoints(".version 7.8\n.func f() { ret; }\n"));
    }

    [Fact]
    public void EmbeddedSources_AreTheKernelsFolder()
    {
        string kernels = Path.Combine(RepositoryRoot(), "src", "VecQ.Cuda", "Kernels");
        var onDisk = Directory.GetFiles(kernels).Select(f => Path.GetFileName(f))
            .Where(f => f.EndsWith(".cu", StringComparison.Ordinal) || f.EndsWith(".cuh", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(onDisk, KernelCompiler.EmbeddedSources());
        foreach (var f in onDisk) Assert.Equal(File.ReadAllText(Path.Combine(kernels, f)), KernelCompiler.EmbeddedSource(f));
        var e = Assert.Throws<FileNotFoundException>(() => KernelCompiler.EmbeddedSource("no_such_kernel.cu"));
        Assert.Contains("no_such_kernel.cu", e.Message);
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "VecQ.sln"))) return d.FullName;
        throw new InvalidOperationException($"no VecQ.sln above {AppContext.BaseDirectory}");
    }
}
