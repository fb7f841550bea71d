namespace VecQ.Cuda;

/// <summary>
/// A failed call into NVIDIA's libraries: the CUDA driver API (<c>cu…</c>), cuBLAS (<c>cublas…</c>) or NVRTC
/// (<c>nvrtc…</c>). <see cref="Call"/> names the function, <see cref="Code"/> is the status it returned, and the message
/// gives both with the library's own name and description of the status, e.g.
/// "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)". When a kernel does not compile, the message names the
/// program and holds NVRTC's compile log. When a library cannot be loaded at all, <see cref="Code"/> is
/// <see cref="LibraryMissing"/>, the message names the library and the places searched, and
/// <see cref="Exception.InnerException"/> is the <see cref="DllNotFoundException"/>.
/// </summary>
/// <example><code>
/// try { KernelCompiler.CompilePtx("__global__ void k( {}", "broken.cu", "compute_80"); }
/// catch (CudaException e) { Console.WriteLine($"{e.Call} returned {e.Code}: {e.Message}"); }
/// </code></example>
public sealed class CudaException : Exception
{
    /// <summary>The <see cref="Code"/> of an exception raised because a library could not be loaded (no status exists).</summary>
    /// <example><code>bool missing = e.Code == CudaException.LibraryMissing;</code></example>
    public const int LibraryMissing = -1;

    /// <summary>Creates the exception for a call that returned a status other than success.</summary>
    /// <param name="call">The function that failed, e.g. <c>cuMemAlloc_v2</c>.</param>
    /// <param name="code">The status it returned (<c>CUresult</c>, <c>cublasStatus_t</c> or <c>nvrtcResult</c>).</param>
    /// <param name="message">The whole message.</param>
    /// <param name="inner">The exception that caused this one, if any.</param>
    /// <example><code>throw new CudaException("cuInit", 100, "cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");</code></example>
    public CudaException(string call, int code, string message, Exception? inner = null) : base(message, inner)
    {
        Call = call;
        Code = code;
    }

    /// <summary>The function that failed (<c>cuMemAlloc_v2</c>, <c>cublasSgemm_v2</c>, <c>nvrtcCompileProgram</c>), or the
    /// library (<c>libnvrtc</c>) when it could not be loaded.</summary>
    /// <example><code>if (e.Call == "cuMemAlloc_v2") allocator.EmptyCache();</code></example>
    public string Call { get; }

    /// <summary>The status the call returned, or <see cref="LibraryMissing"/>.</summary>
    /// <example><code>const int CUDA_ERROR_OUT_OF_MEMORY = 2; bool oom = e.Code == CUDA_ERROR_OUT_OF_MEMORY;</code></example>
    public int Code { get; }
}
