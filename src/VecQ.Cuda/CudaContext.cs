using System.Text;
using VecQ.Cuda.Native;

namespace VecQ.Cuda;

/// <summary>
/// One GPU as the backend drives it: its primary context, one stream (every kernel, copy and cuBLAS call is issued on it,
/// so they run in call order), the cuBLAS handle, the kernels (compiled by NVRTC for this device's architecture on first
/// use, cached in memory per module and on disk by <see cref="KernelCompiler"/>), and the error slot kernels report a
/// bad index through (read at the next synchronisation).
/// </summary>
internal sealed unsafe class CudaContext : IDisposable
{
    /// <summary>NVRTC options of every kernel: no FMA contraction, so each operation is rounded as the CPU rounds it.</summary>
    internal static readonly string[] CompileOptions = ["--fmad=false", "-std=c++14"];

    private readonly nint _context;
    private readonly Dictionary<string, nint> _modules = new();
    private readonly Dictionary<(string Module, string Kernel), nint> _functions = new();
    private readonly ulong _errorSlot;
    private const int UnsupportedPtxVersion = 222;   // CUDA_ERROR_UNSUPPORTED_PTX_VERSION

    public CudaContext(int index)
    {
        Index = index;
        try { Driver.Check(Driver.cuInit(0), "cuInit"); }
        catch (DllNotFoundException e)
        {
            throw new CudaException("cuInit", -1, $"cuda:{index}: no CUDA driver on this machine (libcuda.so.1 not found; searched {string.Join(", ", NativeLibraries.SearchedPlaces("cuda"))}); use --device cpu", e);
        }
        int count;
        Driver.Check(Driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (index >= count) throw new ArgumentException($"cuda:{index}: this machine has {count} CUDA device(s) (cuda:0 … cuda:{count - 1})");
        int dev;
        Driver.Check(Driver.cuDeviceGet(&dev, index), "cuDeviceGet");
        Ordinal = dev;
        nint ctx;
        Driver.Check(Driver.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
        _context = ctx;
        MakeCurrent();
        nint stream;
        Driver.Check(Driver.cuStreamCreate(&stream, Driver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        Stream = stream;
        nint blas;
        Cublas.Check(Cublas.cublasCreate_v2(&blas), "cublasCreate_v2");
        Blas = blas;
        Cublas.Check(Cublas.cublasSetStream_v2(blas, stream), "cublasSetStream_v2");
        Cublas.Check(Cublas.cublasSetMathMode(blas, Cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");   // no TF32 unless asked
        int major = Driver.DeviceAttribute(dev, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = Driver.DeviceAttribute(dev, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        Architecture = $"compute_{major}{minor}";
        Name = Driver.DeviceName(dev);
        _errorSlot = Allocate(32);
        Driver.Check(Driver.cuMemsetD32Async(_errorSlot, 0, 8, Stream), "cuMemsetD32Async");
    }

    public int Index { get; }
    public int Ordinal { get; }
    public string Name { get; }
    /// <summary>NVRTC's name for this device's virtual architecture ("compute_90").</summary>
    public string Architecture { get; }
    public nint Stream { get; }
    public nint Blas { get; }
    /// <summary>The error slot's address (an int flag, then the bad index and its bound as two longs).</summary>
    public ulong ErrorSlot => _errorSlot;

    /// <summary>Makes this device's context current on the calling thread (every entry point calls this first).</summary>
    public void MakeCurrent() => Driver.Check(Driver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");

    public bool TryAllocate(long bytes, out ulong ptr)
    {
        ulong p;
        int r = Driver.cuMemAlloc_v2(&p, (nuint)bytes);
        if (r == Driver.CUDA_ERROR_OUT_OF_MEMORY) { ptr = 0; return false; }
        Driver.Check(r, "cuMemAlloc_v2");
        ptr = p;
        return true;
    }

    public ulong Allocate(long bytes)
    {
        ulong p;
        Driver.Check(Driver.cuMemAlloc_v2(&p, (nuint)bytes), $"cuMemAlloc_v2({bytes} bytes on cuda:{Index})");
        return p;
    }

    public void Free(ulong ptr) => Driver.Check(Driver.cuMemFree_v2(ptr), "cuMemFree_v2");

    /// <summary>Waits for every operation on the stream (without reading the error slot).</summary>
    public void WaitForStream() => Driver.Check(Driver.cuStreamSynchronize(Stream), "cuStreamSynchronize");

    /// <summary>Waits for the stream, then throws if a kernel reported a bad index since the last check.</summary>
    public void Synchronize()
    {
        Driver.Check(Driver.cuStreamSynchronize(Stream), "cuStreamSynchronize");
        long* slot = stackalloc long[3];
        Driver.Check(Driver.cuMemcpyDtoHAsync_v2(slot, _errorSlot, 24, Stream), "cuMemcpyDtoHAsync_v2");
        Driver.Check(Driver.cuStreamSynchronize(Stream), "cuStreamSynchronize");
        if ((int)slot[0] != 0)
        {
            Driver.Check(Driver.cuMemsetD32Async(_errorSlot, 0, 8, Stream), "cuMemsetD32Async");
            throw new IndexOutOfRangeException($"cuda:{Index}: a kernel read index {slot[1]}, outside [0, {slot[2]}) (reported at this synchronisation; the op that used it ran earlier)");
        }
    }

    /// <summary>The kernel <paramref name="kernel"/> of the embedded source <paramref name="module"/> (Kernels/<paramref name="module"/>.cu).</summary>
    public nint Function(string module, string kernel)
    {
        lock (_functions)
        {
            if (_functions.TryGetValue((module, kernel), out var f)) return f;
            if (!_modules.TryGetValue(module, out var m))
                _modules[module] = m = Load(module, KernelSources.Module(module));
            f = Driver.ModuleFunction(m, kernel);
            _functions[(module, kernel)] = f;
            return f;
        }
    }

    /// <summary>A generated kernel (elementwise ops): compiled from <paramref name="source"/> once per <paramref name="key"/>.</summary>
    public nint Generated(string key, string kernel, Func<string> source)
    {
        lock (_functions)
        {
            if (_functions.TryGetValue((key, kernel), out var f)) return f;
            if (!_modules.TryGetValue(key, out var m)) _modules[key] = m = Load(key, source());
            f = Driver.ModuleFunction(m, kernel);
            _functions[(key, kernel)] = f;
            return f;
        }
    }

    private nint Load(string name, string source)
    {
        string ptx = KernelCompiler.CompilePtx(source, name + ".cu", Architecture, CompileOptions);
        byte[] image = Encoding.UTF8.GetBytes(ptx + "\0");
        nint module;
        int r;
        fixed (byte* p = image) r = Driver.cuModuleLoadData(&module, p);
        if (r == UnsupportedPtxVersion)
            throw new CudaException("cuModuleLoadData", r, $"cuModuleLoadData({name}): the driver cannot load PTX from NVRTC {KernelCompiler.NvrtcVersion} " +
                $"({NativeLibraries.PathOf("nvrtc")}): NVRTC is newer than the driver; use the NVRTC of the driver's CUDA version (CUDA_PATH or LD_LIBRARY_PATH)");
        Driver.Check(r, $"cuModuleLoadData({name})");
        return module;
    }

    /// <summary>Launches <paramref name="function"/> on the stream.</summary>
    public void Launch(nint function, long grid, int block, KernelArgs args, int sharedBytes = 0)
    {
        if (grid <= 0) return;
        uint gx = (uint)Math.Min(grid, int.MaxValue);
        Driver.Check(Driver.cuLaunchKernel(function, gx, 1, 1, (uint)block, 1, 1, (uint)sharedBytes, Stream, args.Pointers, null), "cuLaunchKernel");
    }

    public void Dispose()
    {
        MakeCurrent();
        Cublas.cublasDestroy_v2(Blas);
        Driver.cuStreamDestroy_v2(Stream);
        Driver.cuDevicePrimaryCtxRelease_v2(Ordinal);
    }
}
