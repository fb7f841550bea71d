using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using VecQ.Cuda.Native;

namespace VecQ.Cuda;

/// <summary>
/// Compiles CUDA C source to PTX with NVRTC (no GPU or driver needed) and caches the result on disk, and reads the
/// kernel sources embedded in this assembly (Kernels/*.cu, Kernels/*.cuh). The cache folder is <see cref="CacheDirectory"/>
/// ($VECQ_CUDA_CACHE, else $XDG_CACHE_HOME/vecq/cuda, else ~/.cache/vecq/cuda); an entry's key is a SHA-256 over the
/// source, the program name, NVRTC's version, the architecture and the options, and each entry carries a SHA-256 of its
/// PTX, so a truncated or corrupted file is recompiled (and replaced) rather than trusted. Entries are written to a
/// temporary file and renamed into place, so concurrent processes never read half a file. A cache folder that cannot be
/// written only costs the caching. The cache is read on every call: callers keep the loaded modules themselves.
/// </summary>
/// <example><code>
/// string ptx = KernelCompiler.CompilePtx(KernelCompiler.EmbeddedSource("reduce.cu"), "reduce.cu", "compute_80");
/// foreach (var kernel in KernelCompiler.EntryPoints(ptx)) Console.WriteLine(kernel);
/// </code></example>
public static partial class KernelCompiler
{
    private const string ResourcePrefix = "VecQ.Cuda.Kernels.";
    private const string CacheMagic = "// vecq ptx cache v1";

    private static readonly Lazy<(int Major, int Minor)?> Version = new(ReadVersion);

    /// <summary>NVRTC's version, or null when NVRTC cannot be loaded on this machine.</summary>
    /// <example><code>if (KernelCompiler.NvrtcVersion is var (major, minor)) Console.WriteLine($"NVRTC {major}.{minor}");</code></example>
    public static (int Major, int Minor)? NvrtcVersion => Version.Value;

    /// <summary>Whether NVRTC can be loaded, so <see cref="CompilePtx"/> can work.</summary>
    /// <example><code>if (!KernelCompiler.NvrtcAvailable) Console.WriteLine("no NVRTC: CUDA kernels cannot be compiled here");</code></example>
    public static bool NvrtcAvailable => NvrtcVersion is not null;

    /// <summary>The folder of the PTX cache: $VECQ_CUDA_CACHE, else $XDG_CACHE_HOME/vecq/cuda, else ~/.cache/vecq/cuda
    /// (Windows: %LOCALAPPDATA%\vecq\cuda). Read from the environment on every use.</summary>
    /// <example><code>Console.WriteLine(KernelCompiler.CacheDirectory); // /home/me/.cache/vecq/cuda</code></example>
    public static string CacheDirectory => CacheDirectoryFor(Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), OperatingSystem.IsWindows());

    /// <summary>
    /// Compiles CUDA C source to PTX for a virtual architecture with NVRTC, or returns the cached PTX of an identical
    /// earlier compilation. NVRTC gets <c>--gpu-architecture=&lt;arch&gt;</c> followed by <paramref name="options"/>.
    /// </summary>
    /// <param name="source">The CUDA C source; kernels should be <c>extern "C"</c> so their PTX names are unmangled.</param>
    /// <param name="programName">The program's name (usually the .cu file name), used in NVRTC's messages and ours.</param>
    /// <param name="arch">A virtual architecture: <c>compute_70</c>, <c>compute_80</c>, <c>compute_90</c>, <c>compute_90a</c>…</param>
    /// <param name="options">More NVRTC options (e.g. <c>--use_fast_math</c>, <c>-default-device</c>); not the architecture.</param>
    /// <returns>The PTX text.</returns>
    /// <exception cref="ArgumentException">An empty program name, an architecture that is not compute_NN, or an
    /// architecture among the options.</exception>
    /// <exception cref="CudaException">NVRTC cannot be loaded (<see cref="CudaException.Code"/> is
    /// <see cref="CudaException.LibraryMissing"/>; the message names libnvrtc and the places searched), the source does
    /// not compile (the message names the program and holds the compile log), or another NVRTC call fails.</exception>
    /// <example><code>
    /// string ptx = KernelCompiler.CompilePtx("extern \"C\" __global__ void fill(float* x, float v) { x[threadIdx.x] = v; }",
    ///     "fill.cu", "compute_80", ["--use_fast_math"]);
    /// </code></example>
    public static string CompilePtx(string source, string programName, string arch, IReadOnlyList<string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (string.IsNullOrWhiteSpace(programName)) throw new ArgumentException("CompilePtx: the program name is empty", nameof(programName));
        if (arch is null || !ArchPattern().IsMatch(arch))
            throw new ArgumentException($"CompilePtx({programName}): architecture '{arch}' is not a virtual architecture like compute_80 " +
                                        "(PTX is made for compute_NN; the driver compiles it for the GPU's sm_NN)", nameof(arch));
        options ??= [];
        foreach (var o in options)
        {
            if (o is null) throw new ArgumentException($"CompilePtx({programName}): an option is null", nameof(options));
            if (o.StartsWith("--gpu-architecture", StringComparison.Ordinal) || o.StartsWith("-arch", StringComparison.Ordinal))
                throw new ArgumentException($"CompilePtx({programName}): option '{o}' sets the architecture, which is the arch argument ('{arch}')", nameof(options));
        }
        var (major, minor) = RequireNvrtc();
        string key = CacheKey(source, programName, $"{major}.{minor}", arch, options);
        string dir = CacheDirectory;
        string file = Path.Combine(dir, key + ".ptx");
        if (TryReadCached(file) is { } cached) return cached;
        string ptx = Compile(source, programName, arch, options, $"{major}.{minor}");
        TryWriteCached(dir, file, ptx);
        return ptx;
    }

    /// <summary>The names of the kernels (<c>.entry</c> and <c>.visible .entry</c> functions) a PTX text defines, in order.</summary>
    /// <param name="ptx">A PTX text, e.g. from <see cref="CompilePtx"/>.</param>
    /// <example><code>IReadOnlyList&lt;string&gt; kernels = KernelCompiler.EntryPoints(ptx); // ["fill"]</code></example>
    public static IReadOnlyList<string> EntryPoints(string ptx)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        var names = new List<string>();
        foreach (Match m in EntryPattern().Matches(ptx))
            if (!names.Contains(m.Groups[1].Value)) names.Add(m.Groups[1].Value);
        return names;
    }

    /// <summary>The text of an embedded kernel source, by file name (<c>"reduce.cu"</c>, <c>"common.cuh"</c>; a leading
    /// <c>Kernels/</c> may be given, and <c>.cu</c> left off).</summary>
    /// <exception cref="FileNotFoundException">No such source is embedded (the message lists those that are).</exception>
    /// <example><code>string cu = KernelCompiler.EmbeddedSource("reduce.cu");</code></example>
    public static string EmbeddedSource(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        string name = fileName.Replace('\\', '/');
        if (name.StartsWith("Kernels/", StringComparison.Ordinal)) name = name["Kernels/".Length..];
        if (Path.GetExtension(name).Length == 0) name += ".cu";
        string resource = ResourcePrefix + name;
        using var stream = typeof(KernelCompiler).Assembly.GetManifestResourceStream(resource);
        if (stream is null)
        {
            var all = EmbeddedSources();
            throw new FileNotFoundException($"no kernel source '{fileName}' is embedded in VecQ.Cuda (resource {resource}); " +
                                            $"embedded: {(all.Count == 0 ? "none" : string.Join(", ", all))}", fileName);
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>The file names of the embedded kernel sources (src/VecQ.Cuda/Kernels/*.cu and the shared *.cuh headers),
    /// sorted.</summary>
    /// <example><code>foreach (var f in KernelCompiler.EmbeddedSources().Where(f => f.EndsWith(".cu"))) Console.WriteLine(f);</code></example>
    public static IReadOnlyList<string> EmbeddedSources()
    {
        var names = typeof(KernelCompiler).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..])
            .ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>The cache folder for the given environment (see <see cref="CacheDirectory"/>).</summary>
    internal static string CacheDirectoryFor(Func<string, string?> getVariable, string? home, bool windows)
    {
        if (getVariable("VECQ_CUDA_CACHE") is { Length: > 0 } explicitDir) return explicitDir;
        if (!windows && getVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "vecq", "cuda");
        if (windows && getVariable("LOCALAPPDATA") is { Length: > 0 } local) return Path.Combine(local, "vecq", "cuda");
        if (string.IsNullOrEmpty(home)) home = getVariable("HOME");
        return string.IsNullOrEmpty(home) ? Path.Combine(Path.GetTempPath(), "vecq", "cuda") : Path.Combine(home, ".cache", "vecq", "cuda");
    }

    /// <summary>The cache key: a SHA-256 (hex) over the length-prefixed source, program name, NVRTC version,
    /// architecture and options.</summary>
    internal static string CacheKey(string source, string programName, string nvrtcVersion, string arch, IReadOnlyList<string> options)
    {
        var text = new StringBuilder("vecq-ptx-key-v1\n");
        void Field(string s) => text.Append(s.Length).Append(':').Append(s).Append('\n');
        Field(source);
        Field(programName);
        Field(nvrtcVersion);
        Field(arch);
        text.Append(options.Count).Append('\n');
        foreach (var o in options) Field(o);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The PTX of a cache file, or null when the file is missing, unreadable, or fails its checksum (then it is
    /// deleted, so the compilation that follows replaces it).</summary>
    internal static string? TryReadCached(string file)
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(file)) return null;
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (ParseCached(bytes) is { } ptx) return ptx;
        try { File.Delete(file); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>The PTX of a cache entry's bytes when its header's length and SHA-256 match, else null.</summary>
    private static string? ParseCached(byte[] bytes)
    {
        int newline = Array.IndexOf(bytes, (byte)'\n');
        if (newline < 0 || newline > 256) return null;
        var header = Encoding.ASCII.GetString(bytes, 0, newline).Split(' ');
        // "// vecq ptx cache v1 sha256=<hex> bytes=<n>"
        if (header.Length != 7 || string.Join(' ', header[..5]) != CacheMagic) return null;
        if (!header[5].StartsWith("sha256=", StringComparison.Ordinal) || !header[6].StartsWith("bytes=", StringComparison.Ordinal)) return null;
        if (!int.TryParse(header[6].AsSpan("bytes=".Length), out int length) || length != bytes.Length - newline - 1 || length == 0) return null;
        var body = bytes.AsSpan(newline + 1);
        if (Convert.ToHexStringLower(SHA256.HashData(body)) != header[5]["sha256=".Length..]) return null;
        return Encoding.UTF8.GetString(body);
    }

    /// <summary>Writes a cache entry (header with length and SHA-256, then the PTX) to a temporary file in the cache
    /// folder and renames it into place; any failure leaves no file behind and is otherwise ignored.</summary>
    internal static void TryWriteCached(string dir, string file, string ptx)
    {
        string? temp = null;
        try
        {
            Directory.CreateDirectory(dir);
            byte[] body = Encoding.UTF8.GetBytes(ptx);
            byte[] header = Encoding.ASCII.GetBytes($"{CacheMagic} sha256={Convert.ToHexStringLower(SHA256.HashData(body))} bytes={body.Length}\n");
            temp = Path.Combine(dir, $"{Path.GetFileName(file)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            using (var s = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                s.Write(header);
                s.Write(body);
            }
            File.Move(temp, file, overwrite: true);
            temp = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        finally
        {
            if (temp is not null) try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static unsafe (int Major, int Minor)? ReadVersion()
    {
        try
        {
            int major, minor;
            return Nvrtc.nvrtcVersion(&major, &minor) == Nvrtc.NVRTC_SUCCESS ? (major, minor) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException) { return null; }
    }

    private static (int Major, int Minor) RequireNvrtc()
    {
        if (NvrtcVersion is { } v) return v;
        var missing = NativeLibraries.NotFound("nvrtc");
        throw new CudaException("libnvrtc", CudaException.LibraryMissing, missing.Message, missing);
    }

    private static unsafe string Compile(string source, string programName, string arch, IReadOnlyList<string> options, string version)
    {
        var all = new List<string>(options.Count + 1) { $"--gpu-architecture={arch}" };
        all.AddRange(options);
        var utf8 = new List<nint>();
        nint Utf8(string s) { nint p = Marshal.StringToCoTaskMemUTF8(s); utf8.Add(p); return p; }
        nint program = 0;
        try
        {
            byte* src = (byte*)Utf8(source), name = (byte*)Utf8(programName);
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(&program, src, name, 0, null, null), $"nvrtcCreateProgram({programName})");
            var opts = new byte*[all.Count];
            for (int i = 0; i < all.Count; i++) opts[i] = (byte*)Utf8(all[i]);
            int result;
            fixed (byte** o = opts) result = Nvrtc.nvrtcCompileProgram(program, opts.Length, o);
            if (result != Nvrtc.NVRTC_SUCCESS)
            {
                string log = Log(program);
                throw new CudaException("nvrtcCompileProgram", result,
                    $"nvrtcCompileProgram failed: {Nvrtc.Describe(result)}: {programName} did not compile for {arch} " +
                    $"(NVRTC {version}, options: {string.Join(' ', all)}):\n{(log.Length == 0 ? "(empty compile log)" : log)}");
            }
            nuint size;
            Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(program, &size), $"nvrtcGetPTXSize({programName})");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) Nvrtc.Check(Nvrtc.nvrtcGetPTX(program, p), $"nvrtcGetPTX({programName})");
            int length = Array.IndexOf(ptx, (byte)0);
            return Encoding.UTF8.GetString(ptx, 0, length < 0 ? ptx.Length : length);
        }
        finally
        {
            if (program != 0) Nvrtc.nvrtcDestroyProgram(&program);
            foreach (var p in utf8) Marshal.FreeCoTaskMem(p);
        }
    }

    private static unsafe string Log(nint program)
    {
        nuint size;
        if (Nvrtc.nvrtcGetProgramLogSize(program, &size) != Nvrtc.NVRTC_SUCCESS || size <= 1) return "";
        var log = new byte[(int)size];
        fixed (byte* p = log)
            if (Nvrtc.nvrtcGetProgramLog(program, p) != Nvrtc.NVRTC_SUCCESS) return "";
        int length = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, length < 0 ? log.Length : length).TrimEnd();
    }

    [GeneratedRegex(@"^compute_[0-9]{2,3}[af]?$")]
    private static partial Regex ArchPattern();

    [GeneratedRegex(@"^[ \t]*(?:\.(?:visible|weak|extern)[ \t]+)*\.entry[ \t]+([A-Za-z_$%][A-Za-z0-9_$]*)", RegexOptions.Multiline)]
    private static partial Regex EntryPattern();
}
