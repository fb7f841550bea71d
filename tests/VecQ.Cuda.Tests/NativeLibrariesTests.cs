using VecQ.Cuda.Native;

namespace VecQ.Cuda.Tests;

/// <summary>The search for NVIDIA's libraries: places in the documented order, file names newest first, clear errors.</summary>
public sealed class NativeLibrariesTests
{
    private static SearchEnvironment Fake(Dictionary<string, string> vars, string? home = null, bool windows = false) =>
        new(name => vars.TryGetValue(name, out var v) ? v : null, home, windows);

    [Theory]
    [InlineData("cuda")]
    [InlineData("cublas")]
    [InlineData("nvrtc")]
    public void SearchedPlaces_CudaPathThenUsrLocalCudaThenLdLibraryPathThenPythonWheelsThenSystemLoader(string logical)
    {
        using var tmp = new TempDir();
        string cuda = tmp.Sub("cuda-12.4");
        string ld1 = tmp.Sub("ld", "one"), ld2 = tmp.Sub("ld", "two");
        string venv = tmp.Sub("venv");
        string cublasLib = tmp.Sub("venv", "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib");
        string nvrtcLib = tmp.Sub("venv", "lib", "python3.12", "site-packages", "nvidia", "cuda_nvrtc", "lib");
        tmp.Sub("venv", "lib", "python3.12", "site-packages", "nvidia", "cudnn");        // no lib folder: not listed
        string conda = tmp.Sub("conda");
        string condaLib = tmp.Sub("conda", "lib", "python3.11", "site-packages", "nvidia", "cu13", "lib");
        string home = tmp.Sub("home");
        string userLib = tmp.Sub("home", ".local", "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib");

        var places = NativeLibraries.SearchedPlaces(logical, Fake(new()
        {
            ["CUDA_PATH"] = cuda,
            ["LD_LIBRARY_PATH"] = $"{ld1}::{ld2}/",
            ["VIRTUAL_ENV"] = venv,
            ["CONDA_PREFIX"] = conda,
        }, home));

        Assert.Equal([Path.Combine(cuda, "lib64"), "/usr/local/cuda/lib64", ld1, ld2, cublasLib, nvrtcLib, condaLib], places.Take(7));
        Assert.Equal(NativeLibraries.SystemLoader, places[^1]);
        int user = places.ToList().IndexOf(userLib);
        Assert.True(user > 6 && user < places.Count - 1, $"~/.local's wheels come after the environments, before the loader: {string.Join(", ", places)}");
        Assert.Equal(places.Count, places.Distinct().Count());
    }

    [Fact]
    public void SearchedPlaces_WithoutVariables_StartsWithUsrLocalCudaAndEndsWithTheSystemLoader()
    {
        var places = NativeLibraries.SearchedPlaces("nvrtc", Fake(new()));
        Assert.Equal("/usr/local/cuda/lib64", places[0]);
        Assert.Equal(NativeLibraries.SystemLoader, places[^1]);
    }

    [Fact]
    public void SearchedPlaces_FindsAnInactiveVirtualEnvironmentThroughPath()
    {
        using var tmp = new TempDir();
        string venv = tmp.Sub("opt", "torch", ".venv");
        string bin = tmp.Sub("opt", "torch", ".venv", "bin");
        File.WriteAllText(Path.Combine(venv, "pyvenv.cfg"), "home = /usr/bin\n");
        string lib = tmp.Sub("opt", "torch", ".venv", "lib", "python3.12", "site-packages", "nvidia", "cu13", "lib");
        var places = NativeLibraries.SearchedPlaces("cublas", Fake(new() { ["PATH"] = $"{bin}:/usr/bin" }));
        Assert.Equal(["/usr/local/cuda/lib64", lib], places.Take(2));
    }

    [Fact]
    public void FileNames_NewestMajorVersionFirst()
    {
        Assert.Equal(["libcuda.so.1", "libcuda.so"], NativeLibraries.FileNames("cuda", windows: false));
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"], NativeLibraries.FileNames("cublas", windows: false));
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], NativeLibraries.FileNames("nvrtc", windows: false));
        Assert.Equal(["nvcuda.dll"], NativeLibraries.FileNames("cuda", windows: true));
        var e = Assert.Throws<ArgumentException>(() => NativeLibraries.FileNames("cudnn", windows: false));
        Assert.Contains("cudnn", e.Message);
    }

    [WithoutDriverFact]
    public void MissingDriver_PInvokeThrowsDllNotFoundNamingLibcudaAndThePlaces()
    {
        var e = Assert.Throws<DllNotFoundException>(() => { unsafe { int v; Driver.cuDriverGetVersion(&v); } });
        Assert.Contains("libcuda", e.Message);
        Assert.Contains("libcuda.so.1", e.Message);
        Assert.Contains("/usr/local/cuda/lib64", e.Message);
        Assert.Contains(NativeLibraries.SystemLoader, e.Message);
    }

    [NvrtcFact]
    public void PathOf_Nvrtc_IsALoadedFile()
    {
        string? path = NativeLibraries.PathOf("nvrtc");
        Assert.NotNull(path);
        Assert.StartsWith("libnvrtc", Path.GetFileName(path));
        Assert.True(File.Exists(path), path);
    }

    [Fact]
    public void Install_IsIdempotent()
    {
        NativeLibraries.Install();
        NativeLibraries.Install();
    }
}
