using System.Globalization;
using VecQ.Cuda.Native;

namespace VecQ.Cuda;

/// <summary>
/// What this machine offers the CUDA backend, for <c>vecq doctor</c>: where NVIDIA's libraries were found (the CUDA
/// driver, cuBLAS, NVRTC) and their versions, and the CUDA devices the driver sees.
/// </summary>
/// <example><code>foreach (var line in CudaLibraries.Describe()) Console.WriteLine(line);</code></example>
public static class CudaLibraries
{
    /// <summary>
    /// One line per finding: for the driver, cuBLAS and NVRTC the file loaded and its version, or "not found (searched:
    /// …)"; when the driver loads, cuInit's result and, per device, its name, compute capability, multiprocessors and
    /// memory. Without a driver it says so in one line ("no CUDA driver (libcuda.so.1 not found): --device cuda is not
    /// available on this machine"). Loads the libraries it finds but creates no CUDA context. Never throws: a failure
    /// becomes a line.
    /// </summary>
    /// <example><code>
    /// // CUDA driver: /usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05, CUDA 13.0
    /// // cuInit: CUDA_SUCCESS, 1 device
    /// // device 0: NVIDIA H200, compute capability 9.0, 132 multiprocessors, 139.8 GiB
    /// // cuBLAS: /opt/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13, version 13.1.0
    /// // NVRTC: /opt/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13, version 13.0
    /// IReadOnlyList&lt;string&gt; lines = CudaLibraries.Describe();
    /// </code></example>
    public static IReadOnlyList<string> Describe()
    {
        var lines = new List<string>();
        Guard(lines, "CUDA driver", () => DescribeDriver(lines));
        Guard(lines, "cuBLAS", () =>
        {
            if (Found(lines, "cuBLAS", "cublas") is not { } path) return;
            lines.Add(Cublas.Version() is var (major, minor, patch)
                ? $"cuBLAS: {path}, version {major}.{minor}.{patch}"
                : $"cuBLAS: {path} (version unknown: cublasGetProperty failed)");
        });
        Guard(lines, "NVRTC", () =>
        {
            if (Found(lines, "NVRTC", "nvrtc") is not { } path) return;
            lines.Add(KernelCompiler.NvrtcVersion is var (major, minor)
                ? $"NVRTC: {path}, version {major}.{minor}"
                : $"NVRTC: {path} (version unknown: nvrtcVersion failed)");
        });
        return lines;
    }

    private static unsafe void DescribeDriver(List<string> lines)
    {
        if (Found(lines, "CUDA driver", "cuda") is not { } path)
        {
            string file = NativeLibraries.FileNames("cuda", OperatingSystem.IsWindows())[0];
            lines.Add($"no CUDA driver ({file} not found): --device cuda is not available on this machine");
            return;
        }
        int version = 0;
        int r = Driver.cuDriverGetVersion(&version);
        lines.Add(r == Driver.CUDA_SUCCESS
            ? $"CUDA driver: {path}, CUDA {version / 1000}.{version % 1000 / 10}"
            : $"CUDA driver: {path} (cuDriverGetVersion failed: {Driver.Describe(r)})");
        r = Driver.cuInit(0);
        if (r != Driver.CUDA_SUCCESS)
        {
            lines.Add($"cuInit failed: {Driver.Describe(r)}: --device cuda is not available on this machine");
            return;
        }
        int count = 0;
        r = Driver.cuDeviceGetCount(&count);
        if (r != Driver.CUDA_SUCCESS)
        {
            lines.Add($"cuInit: CUDA_SUCCESS; cuDeviceGetCount failed: {Driver.Describe(r)}");
            return;
        }
        lines.Add($"cuInit: CUDA_SUCCESS, {count} device{(count == 1 ? "" : "s")}");
        for (int i = 0; i < count; i++)
        {
            try
            {
                int device;
                Driver.Check(Driver.cuDeviceGet(&device, i), "cuDeviceGet");
                string name = Driver.DeviceName(device);
                int major = Driver.DeviceAttribute(device, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
                int minor = Driver.DeviceAttribute(device, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
                int sms = Driver.DeviceAttribute(device, Driver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
                nuint bytes;
                Driver.Check(Driver.cuDeviceTotalMem_v2(&bytes, device), "cuDeviceTotalMem_v2");
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"device {i}: {name}, compute capability {major}.{minor}, {sms} multiprocessors, {bytes / (double)(1L << 30):F1} GiB"));
            }
            catch (CudaException e) { lines.Add($"device {i}: {e.Message}"); }
        }
    }

    /// <summary>The file loaded for a library, or null after adding the "not found (searched: …)" line.</summary>
    private static string? Found(List<string> lines, string what, string logical)
    {
        var r = NativeLibraries.Load(logical);
        if (r.Path is { } path) return path;
        string failures = r.Failures.Count == 0 ? "" : $"; found but not loadable: {string.Join("; ", r.Failures)}";
        lines.Add($"{what}: not found (searched: {string.Join(", ", r.Places)}){failures}");
        return null;
    }

    private static void Guard(List<string> lines, string what, Action describe)
    {
        try { describe(); }
        catch (Exception e) { lines.Add($"{what}: error: {e.GetType().Name}: {e.Message}"); }
    }
}
