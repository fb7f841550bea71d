namespace VecQ.Cuda;

/// <summary>
/// The embedded kernel sources (Kernels/*.cu) as NVRTC compiles them: each module's text after the shared prelude
/// (Kernels/common.cuh), since NVRTC sees one file and no include path.
/// </summary>
/// <example><code>string src = KernelSources.Module("reduce"); // common.cuh + reduce.cu</code></example>
public static class KernelSources
{
    /// <summary>The modules, in file-name order: conv, data, index, norm, pool, quant, random, reduce, softmax.</summary>
    public static IReadOnlyList<string> Modules { get; } =
        KernelCompiler.EmbeddedSources().Where(f => f.EndsWith(".cu", StringComparison.Ordinal)).Select(f => f[..^3]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The compilable text of module <paramref name="name"/> (the prelude, then Kernels/<paramref name="name"/>.cu).</summary>
    /// <exception cref="ArgumentException">No such module.</exception>
    public static string Module(string name)
    {
        if (!Modules.Contains(name)) throw new ArgumentException($"cuda kernels: no module '{name}' (have {string.Join(", ", Modules)})");
        return KernelCompiler.EmbeddedSource("common.cuh") + "\n" + KernelCompiler.EmbeddedSource(name + ".cu");
    }
}
