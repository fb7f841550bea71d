using System.Runtime.InteropServices;

namespace VecQ.Cuda.Native;

/// <summary>
/// NVRTC (libnvrtc), the CUDA C++ runtime compiler: CUDA C source in, PTX out. It needs no GPU and no driver. Every
/// function returns an <c>nvrtcResult</c> (an <see cref="int"/>, 0 = NVRTC_SUCCESS) that callers pass to
/// <see cref="Check"/>; a program handle is an <see cref="nint"/>; strings are NUL-terminated UTF-8. The library is
/// found by <see cref="NativeLibraries"/>. <see cref="KernelCompiler"/> is the managed front end.
/// </summary>
internal static unsafe partial class Nvrtc
{
    static Nvrtc() => NativeLibraries.Install();

    private const string Lib = "nvrtc";

    /// <summary>NVRTC_SUCCESS.</summary>
    public const int NVRTC_SUCCESS = 0;
    /// <summary>NVRTC_ERROR_COMPILATION: the source did not compile (the log says why).</summary>
    public const int NVRTC_ERROR_COMPILATION = 6;

    /// <summary>NVRTC's version (e.g. 11, 8).</summary>
    [LibraryImport(Lib)] public static partial int nvrtcVersion(int* major, int* minor);

    /// <summary>Creates a program from source; <paramref name="name"/> is the file name used in messages (may be null);
    /// the headers are optional in-memory includes (0, null, null for none).</summary>
    [LibraryImport(Lib)]
    public static partial int nvrtcCreateProgram(nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    /// <summary>Compiles a program with the given options (e.g. "--gpu-architecture=compute_80").</summary>
    [LibraryImport(Lib)] public static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);

    /// <summary>The size of the PTX, its terminating NUL included.</summary>
    [LibraryImport(Lib)] public static partial int nvrtcGetPTXSize(nint program, nuint* size);

    /// <summary>Copies the PTX (NUL-terminated) into a buffer of <see cref="nvrtcGetPTXSize"/> bytes.</summary>
    [LibraryImport(Lib)] public static partial int nvrtcGetPTX(nint program, byte* ptx);

    /// <summary>The size of the compile log, its terminating NUL included.</summary>
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLogSize(nint program, nuint* size);

    /// <summary>Copies the compile log (NUL-terminated) into a buffer of <see cref="nvrtcGetProgramLogSize"/> bytes.</summary>
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLog(nint program, byte* log);

    /// <summary>Destroys a program and sets the handle to 0.</summary>
    [LibraryImport(Lib)] public static partial int nvrtcDestroyProgram(nint* program);

    /// <summary>The name of a result (e.g. "NVRTC_ERROR_COMPILATION"), a static string.</summary>
    [LibraryImport(Lib)] public static partial byte* nvrtcGetErrorString(int result);

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="result"/> is not
    /// NVRTC_SUCCESS: "nvrtcCreateProgram failed: NVRTC_ERROR_OUT_OF_MEMORY".</summary>
    public static void Check(int result, string call)
    {
        if (result != NVRTC_SUCCESS) throw new CudaException(call, result, $"{call} failed: {Describe(result)}");
    }

    /// <summary>NVRTC's name for a result ("NVRTC_ERROR_INVALID_OPTION"), or the number when the library cannot say.</summary>
    public static string Describe(int result)
    {
        try
        {
            byte* p = nvrtcGetErrorString(result);
            if (p != null && Marshal.PtrToStringUTF8((nint)p) is { Length: > 0 } s) return s;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return $"nvrtcResult {result}";
    }
}
