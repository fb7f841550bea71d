using System.Runtime.InteropServices;

namespace VecQ.Cuda.Native;

/// <summary>
/// cuBLAS (libcublas, the v2 API), the part we use: handles, streams, math mode, version, and single/double GEMM (plain
/// and strided-batched). cuBLAS is column-major: a row-major C = A·B is computed as Cᵀ = Bᵀ·Aᵀ, i.e. with the operands
/// swapped. α and β are passed by host pointer (the default CUBLAS_POINTER_MODE_HOST). Every function returns a
/// <c>cublasStatus_t</c> (an <see cref="int"/>, 0 = CUBLAS_STATUS_SUCCESS) that callers pass to <see cref="Check"/>.
/// Handles and streams are <see cref="nint"/>, device pointers <see cref="ulong"/>, strides <see cref="long"/>.
/// The library is found by <see cref="NativeLibraries"/>.
/// </summary>
internal static unsafe partial class Cublas
{
    static Cublas() => NativeLibraries.Install();

    private const string Lib = "cublas";

    /// <summary>CUBLAS_STATUS_SUCCESS.</summary>
    public const int CUBLAS_STATUS_SUCCESS = 0;

    /// <summary>cublasOperation_t: no transpose.</summary>
    public const int CUBLAS_OP_N = 0;
    /// <summary>cublasOperation_t: transpose.</summary>
    public const int CUBLAS_OP_T = 1;

    /// <summary>cublasMath_t: the default (full FP32 for SGEMM; no TF32).</summary>
    public const int CUBLAS_DEFAULT_MATH = 0;
    /// <summary>cublasMath_t: only the exact compute type, no reduced-precision shortcuts (reference results).</summary>
    public const int CUBLAS_PEDANTIC_MATH = 2;
    /// <summary>cublasMath_t: FP32 GEMMs may use TF32 tensor cores (faster on Ampere and later, 10-bit mantissa inputs).</summary>
    public const int CUBLAS_TF32_TENSOR_OP_MATH = 3;

    /// <summary>libraryPropertyType for <see cref="cublasGetProperty"/>: MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL.</summary>
    public const int MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2;

    /// <summary>Creates a handle (allocates on the current context's device).</summary>
    [LibraryImport(Lib)] public static partial int cublasCreate_v2(nint* handle);

    /// <summary>Destroys a handle.</summary>
    [LibraryImport(Lib)] public static partial int cublasDestroy_v2(nint handle);

    /// <summary>The stream the handle's calls are queued on.</summary>
    [LibraryImport(Lib)] public static partial int cublasSetStream_v2(nint handle, nint stream);

    /// <summary>The handle's math mode (CUBLAS_*_MATH).</summary>
    [LibraryImport(Lib)] public static partial int cublasSetMathMode(nint handle, int mode);

    /// <summary>The library's version (major × 10000 + minor × 100 + patch for cuBLAS 11 and later).</summary>
    [LibraryImport(Lib)] public static partial int cublasGetVersion_v2(nint handle, int* version);

    /// <summary>One part of the library's version without a handle (<see cref="MAJOR_VERSION"/>, …).</summary>
    [LibraryImport(Lib)] public static partial int cublasGetProperty(int type, int* value);

    /// <summary>The description of a status (cuBLAS 11.4.2 and later), a static string.</summary>
    [LibraryImport(Lib)] public static partial byte* cublasGetStatusString(int status);

    /// <summary>C = α·op(A)·op(B) + β·C in FP32, column-major: op(A) is m×k, op(B) k×n, C m×n.</summary>
    [LibraryImport(Lib)]
    public static partial int cublasSgemm_v2(nint handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    /// <summary><see cref="cublasSgemm_v2"/> over <paramref name="batchCount"/> matrices at fixed element strides.</summary>
    [LibraryImport(Lib)]
    public static partial int cublasSgemmStridedBatched(nint handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC,
        int batchCount);

    /// <summary>C = α·op(A)·op(B) + β·C in FP64, column-major.</summary>
    [LibraryImport(Lib)]
    public static partial int cublasDgemm_v2(nint handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);

    /// <summary><see cref="cublasDgemm_v2"/> over <paramref name="batchCount"/> matrices at fixed element strides.</summary>
    [LibraryImport(Lib)]
    public static partial int cublasDgemmStridedBatched(nint handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC,
        int batchCount);

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="status"/> is not
    /// CUBLAS_STATUS_SUCCESS: "cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (an invalid numeric value was used as an argument)".</summary>
    public static void Check(int status, string call)
    {
        if (status != CUBLAS_STATUS_SUCCESS) throw new CudaException(call, status, $"{call} failed: {Describe(status)}");
    }

    /// <summary>"CUBLAS_STATUS_ALLOC_FAILED (resource allocation failed)": the status's name and, where the library has
    /// cublasGetStatusString, its description.</summary>
    public static string Describe(int status)
    {
        string name = StatusNames.TryGetValue(status, out var n) ? n : $"cublasStatus_t {status}";
        string? description = null;
        try
        {
            byte* p = cublasGetStatusString(status);
            if (p != null) description = Marshal.PtrToStringUTF8((nint)p);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return string.IsNullOrEmpty(description) || description == name ? name : $"{name} ({description})";
    }

    /// <summary>The cuBLAS version without a handle (cublasGetProperty; cublasGetVersion_v2 needs one), or null when the
    /// library cannot say or cannot be loaded.</summary>
    public static (int Major, int Minor, int Patch)? Version()
    {
        try
        {
            int major, minor, patch;
            if (cublasGetProperty(MAJOR_VERSION, &major) == 0 && cublasGetProperty(MINOR_VERSION, &minor) == 0
                && cublasGetProperty(PATCH_LEVEL, &patch) == 0)
                return (major, minor, patch);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return null;
    }

    private static readonly Dictionary<int, string> StatusNames = new()
    {
        [0] = "CUBLAS_STATUS_SUCCESS", [1] = "CUBLAS_STATUS_NOT_INITIALIZED", [3] = "CUBLAS_STATUS_ALLOC_FAILED",
        [7] = "CUBLAS_STATUS_INVALID_VALUE", [8] = "CUBLAS_STATUS_ARCH_MISMATCH", [11] = "CUBLAS_STATUS_MAPPING_ERROR",
        [13] = "CUBLAS_STATUS_EXECUTION_FAILED", [14] = "CUBLAS_STATUS_INTERNAL_ERROR", [15] = "CUBLAS_STATUS_NOT_SUPPORTED",
        [16] = "CUBLAS_STATUS_LICENSE_ERROR",
    };
}
