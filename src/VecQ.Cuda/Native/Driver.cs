using System.Runtime.InteropServices;

namespace VecQ.Cuda.Native;

/// <summary>
/// The CUDA driver API (libcuda), the part we use: initialisation and devices, primary contexts, device memory and
/// asynchronous copies/sets, streams, events, modules (PTX) and kernel launches. Every function returns a
/// <c>CUresult</c> (an <see cref="int"/>, 0 = CUDA_SUCCESS) that callers pass to <see cref="Check"/>. Handles
/// (CUcontext, CUstream, CUevent, CUmodule, CUfunction) are <see cref="nint"/>; device pointers (CUdeviceptr, 64-bit on
/// every platform we support) are <see cref="ulong"/>; sizes (size_t) are <see cref="nuint"/>; a CUdevice is an
/// <see cref="int"/> ordinal handle. The library is found by <see cref="NativeLibraries"/>.
/// </summary>
internal static unsafe partial class Driver
{
    static Driver() => NativeLibraries.Install();

    private const string Lib = "cuda";

    /// <summary>CUDA_SUCCESS.</summary>
    public const int CUDA_SUCCESS = 0;
    /// <summary>CUDA_ERROR_OUT_OF_MEMORY: cuMemAlloc could not allocate.</summary>
    public const int CUDA_ERROR_OUT_OF_MEMORY = 2;
    /// <summary>CUDA_ERROR_NOT_INITIALIZED: cuInit was not called (or failed).</summary>
    public const int CUDA_ERROR_NOT_INITIALIZED = 3;
    /// <summary>CUDA_ERROR_NO_DEVICE: the driver sees no CUDA device.</summary>
    public const int CUDA_ERROR_NO_DEVICE = 100;
    /// <summary>CUDA_ERROR_NOT_READY: an event or stream has not completed (not a failure for queries).</summary>
    public const int CUDA_ERROR_NOT_READY = 600;

    /// <summary>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</summary>
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR.</summary>
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR.</summary>
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

    /// <summary>cuStreamCreate flag: the stream does not synchronise with the legacy default stream.</summary>
    public const uint CU_STREAM_NON_BLOCKING = 1;
    /// <summary>cuEventCreate flag: a host wait on the event blocks instead of spinning.</summary>
    public const uint CU_EVENT_BLOCKING_SYNC = 1;
    /// <summary>cuEventCreate flag: the event records no time (cheaper; cuEventElapsedTime refuses it).</summary>
    public const uint CU_EVENT_DISABLE_TIMING = 2;

    // ---- initialisation, version, devices ----

    /// <summary>Initialises the driver API; <paramref name="flags"/> must be 0.</summary>
    [LibraryImport(Lib)] public static partial int cuInit(uint flags);

    /// <summary>The driver's CUDA version, e.g. 12040 for 12.4 (1000 × major + 10 × minor).</summary>
    [LibraryImport(Lib)] public static partial int cuDriverGetVersion(int* driverVersion);

    /// <summary>The number of CUDA devices.</summary>
    [LibraryImport(Lib)] public static partial int cuDeviceGetCount(int* count);

    /// <summary>The device handle of an ordinal.</summary>
    [LibraryImport(Lib)] public static partial int cuDeviceGet(int* device, int ordinal);

    /// <summary>The device's name as a NUL-terminated ASCII string in <paramref name="name"/> (<paramref name="len"/> bytes).</summary>
    [LibraryImport(Lib)] public static partial int cuDeviceGetName(byte* name, int len, int device);

    /// <summary>One attribute of a device (CU_DEVICE_ATTRIBUTE_*).</summary>
    [LibraryImport(Lib)] public static partial int cuDeviceGetAttribute(int* value, int attribute, int device);

    /// <summary>The device's total memory in bytes.</summary>
    [LibraryImport(Lib)] public static partial int cuDeviceTotalMem_v2(nuint* bytes, int device);

    // ---- contexts ----

    /// <summary>Retains the device's primary context (the one the CUDA runtime and PyTorch share).</summary>
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRetain(nint* context, int device);

    /// <summary>Releases a reference taken by <see cref="cuDevicePrimaryCtxRetain"/>.</summary>
    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRelease_v2(int device);

    /// <summary>Binds a context to the calling thread (0 unbinds).</summary>
    [LibraryImport(Lib)] public static partial int cuCtxSetCurrent(nint context);

    /// <summary>Waits until all work of the current context has finished.</summary>
    [LibraryImport(Lib)] public static partial int cuCtxSynchronize();

    // ---- memory ----

    /// <summary>Allocates device memory.</summary>
    [LibraryImport(Lib)] public static partial int cuMemAlloc_v2(ulong* devicePointer, nuint bytes);

    /// <summary>Frees device memory from <see cref="cuMemAlloc_v2"/>.</summary>
    [LibraryImport(Lib)] public static partial int cuMemFree_v2(ulong devicePointer);

    /// <summary>Free and total device memory of the current context's device, in bytes.</summary>
    [LibraryImport(Lib)] public static partial int cuMemGetInfo_v2(nuint* free, nuint* total);

    /// <summary>Copies host memory to the device on a stream (pageable host memory makes it synchronous).</summary>
    [LibraryImport(Lib)] public static partial int cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, nint stream);

    /// <summary>Copies device memory to the host on a stream.</summary>
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, nint stream);

    /// <summary>Copies device memory to device memory on a stream.</summary>
    [LibraryImport(Lib)] public static partial int cuMemcpyDtoDAsync_v2(ulong dst, ulong src, nuint bytes, nint stream);

    /// <summary>Sets <paramref name="count"/> 32-bit words to <paramref name="value"/> on a stream.</summary>
    [LibraryImport(Lib)] public static partial int cuMemsetD32Async(ulong dst, uint value, nuint count, nint stream);

    /// <summary>Sets <paramref name="count"/> bytes to <paramref name="value"/> on a stream.</summary>
    [LibraryImport(Lib)] public static partial int cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream);

    // ---- streams and events ----

    /// <summary>Creates a stream (flags: 0 or <see cref="CU_STREAM_NON_BLOCKING"/>).</summary>
    [LibraryImport(Lib)] public static partial int cuStreamCreate(nint* stream, uint flags);

    /// <summary>Destroys a stream (its pending work still completes).</summary>
    [LibraryImport(Lib)] public static partial int cuStreamDestroy_v2(nint stream);

    /// <summary>Waits until all work queued on a stream has finished.</summary>
    [LibraryImport(Lib)] public static partial int cuStreamSynchronize(nint stream);

    /// <summary>Creates an event (flags: CU_EVENT_*).</summary>
    [LibraryImport(Lib)] public static partial int cuEventCreate(nint* @event, uint flags);

    /// <summary>Records an event on a stream.</summary>
    [LibraryImport(Lib)] public static partial int cuEventRecord(nint @event, nint stream);

    /// <summary>Waits until an event has completed.</summary>
    [LibraryImport(Lib)] public static partial int cuEventSynchronize(nint @event);

    /// <summary>Milliseconds between two recorded, completed events.</summary>
    [LibraryImport(Lib)] public static partial int cuEventElapsedTime(float* milliseconds, nint start, nint end);

    /// <summary>Destroys an event.</summary>
    [LibraryImport(Lib)] public static partial int cuEventDestroy_v2(nint @event);

    // ---- modules and launches ----

    /// <summary>Loads a module from an image in memory: a NUL-terminated PTX text (JIT-compiled by the driver) or a cubin.</summary>
    [LibraryImport(Lib)] public static partial int cuModuleLoadData(nint* module, void* image);

    /// <summary>Unloads a module.</summary>
    [LibraryImport(Lib)] public static partial int cuModuleUnload(nint module);

    /// <summary>Finds a kernel of a module by its (extern "C", so unmangled) name, a NUL-terminated UTF-8 string.</summary>
    [LibraryImport(Lib)] public static partial int cuModuleGetFunction(nint* function, nint module, byte* name);

    /// <summary>Queues a kernel launch. <paramref name="kernelParams"/> points to one pointer per kernel parameter, each to
    /// the parameter's value; <paramref name="extra"/> is null.</summary>
    [LibraryImport(Lib)]
    public static partial int cuLaunchKernel(nint function, uint gridDimX, uint gridDimY, uint gridDimZ,
        uint blockDimX, uint blockDimY, uint blockDimZ, uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    // ---- errors ----

    /// <summary>The status's enum name (e.g. "CUDA_ERROR_OUT_OF_MEMORY"), a static string; fails for unknown codes.</summary>
    [LibraryImport(Lib)] public static partial int cuGetErrorName(int error, byte** name);

    /// <summary>The status's description (e.g. "out of memory"), a static string; fails for unknown codes.</summary>
    [LibraryImport(Lib)] public static partial int cuGetErrorString(int error, byte** description);

    // ---- helpers ----

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="result"/> is not
    /// CUDA_SUCCESS: "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".</summary>
    public static void Check(int result, string call)
    {
        if (result != CUDA_SUCCESS) throw new CudaException(call, result, $"{call} failed: {Describe(result)}");
    }

    /// <summary>"CUDA_ERROR_OUT_OF_MEMORY (out of memory)": the driver's name and description of a status, or a built-in
    /// name (and then the number) when the driver cannot say.</summary>
    public static string Describe(int result)
    {
        string? name = null, description = null;
        try
        {
            byte* p = null;
            if (cuGetErrorName(result, &p) == CUDA_SUCCESS && p != null) name = Marshal.PtrToStringUTF8((nint)p);
            p = null;
            if (cuGetErrorString(result, &p) == CUDA_SUCCESS && p != null) description = Marshal.PtrToStringUTF8((nint)p);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        name ??= KnownNames.TryGetValue(result, out var n) ? n : $"CUresult {result}";
        return description is null ? name : $"{name} ({description})";
    }

    /// <summary>The device's name (e.g. "NVIDIA H200").</summary>
    public static string DeviceName(int device)
    {
        byte* buffer = stackalloc byte[256];
        Check(cuDeviceGetName(buffer, 256, device), "cuDeviceGetName");
        buffer[255] = 0;
        return Marshal.PtrToStringUTF8((nint)buffer) ?? "";
    }

    /// <summary>One attribute of a device (CU_DEVICE_ATTRIBUTE_*), checked.</summary>
    public static int DeviceAttribute(int device, int attribute)
    {
        int value;
        Check(cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }

    /// <summary>Finds a kernel of a module by name, checked; the exception names the kernel.</summary>
    public static nint ModuleFunction(nint module, string name)
    {
        int bytes = System.Text.Encoding.UTF8.GetByteCount(name);
        Span<byte> utf8 = bytes < 512 ? stackalloc byte[bytes + 1] : new byte[bytes + 1];
        System.Text.Encoding.UTF8.GetBytes(name, utf8);
        utf8[bytes] = 0;
        nint function;
        fixed (byte* p = utf8)
            Check(cuModuleGetFunction(&function, module, p), $"cuModuleGetFunction({name})");
        return function;
    }

    private static readonly Dictionary<int, string> KnownNames = new()
    {
        [0] = "CUDA_SUCCESS", [1] = "CUDA_ERROR_INVALID_VALUE", [2] = "CUDA_ERROR_OUT_OF_MEMORY",
        [3] = "CUDA_ERROR_NOT_INITIALIZED", [4] = "CUDA_ERROR_DEINITIALIZED", [34] = "CUDA_ERROR_STUB_LIBRARY",
        [46] = "CUDA_ERROR_DEVICE_UNAVAILABLE", [100] = "CUDA_ERROR_NO_DEVICE", [101] = "CUDA_ERROR_INVALID_DEVICE",
        [200] = "CUDA_ERROR_INVALID_IMAGE", [201] = "CUDA_ERROR_INVALID_CONTEXT", [209] = "CUDA_ERROR_NO_BINARY_FOR_GPU",
        [218] = "CUDA_ERROR_INVALID_PTX", [222] = "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", [400] = "CUDA_ERROR_INVALID_HANDLE",
        [500] = "CUDA_ERROR_NOT_FOUND", [600] = "CUDA_ERROR_NOT_READY", [700] = "CUDA_ERROR_ILLEGAL_ADDRESS",
        [701] = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", [702] = "CUDA_ERROR_LAUNCH_TIMEOUT", [719] = "CUDA_ERROR_LAUNCH_FAILED",
        [999] = "CUDA_ERROR_UNKNOWN",
    };
}
