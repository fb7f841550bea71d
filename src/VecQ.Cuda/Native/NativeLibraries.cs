using System.Reflection;
using System.Runtime.InteropServices;

namespace VecQ.Cuda.Native;

/// <summary>
/// The environment the library search reads: environment variables, the home folder and the operating system. The
/// search is a pure function of it (plus which folders exist), so tests give it fake values.
/// </summary>
/// <param name="GetVariable">Reads an environment variable (null when unset).</param>
/// <param name="Home">The user's home folder (null when unknown).</param>
/// <param name="IsWindows">Whether to use Windows file names, folders and the <c>;</c> list separator.</param>
internal sealed record SearchEnvironment(Func<string, string?> GetVariable, string? Home, bool IsWindows)
{
    /// <summary>This process's environment.</summary>
    public static SearchEnvironment Current => new(Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } h ? h : Environment.GetEnvironmentVariable("HOME"),
        OperatingSystem.IsWindows());
}

/// <summary>
/// Finds and loads NVIDIA's shared libraries for the <c>[LibraryImport]</c> declarations of this assembly, which name
/// them by the logical names <c>"cuda"</c> (the driver API), <c>"cublas"</c> and <c>"nvrtc"</c>.
/// <see cref="Install"/> registers a <see cref="NativeLibrary.SetDllImportResolver"/> for the assembly that tries the
/// versioned file names (newest first: libcublas.so.13, .so.12, .so.11, .so) in each place of
/// <see cref="SearchedPlaces(string)"/> in order: <c>$CUDA_PATH/lib64</c>, <c>/usr/local/cuda/lib64</c>, each
/// <c>LD_LIBRARY_PATH</c> entry, the <c>nvidia/*/lib</c> folders of Python environments (NVIDIA's pip wheels, which
/// PyTorch installs: nvidia/cublas/lib, nvidia/cuda_nvrtc/lib, nvidia/cu13/lib), then the system loader. A file that
/// exists but does not load (a missing dependency, the wrong architecture) is noted and the search goes on. The result
/// is cached per library; when nothing loads, the P/Invoke call throws a <see cref="DllNotFoundException"/> whose message
/// names the library, the file names and every place searched.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The last entry of <see cref="SearchedPlaces(string)"/>: loading by bare file name (ld.so's cache, the default folders).</summary>
    public const string SystemLoader = "the system loader";

    /// <summary>The logical library names this class resolves.</summary>
    public static readonly IReadOnlyList<string> Logical = ["cuda", "cublas", "nvrtc"];

    private static readonly object Gate = new();
    private static bool _installed;
    private static readonly Dictionary<string, LoadResult> Loaded = new(StringComparer.Ordinal);

    /// <summary>What a search found: the handle and the file (both empty when nothing loaded), the places it searched,
    /// and the files that were found but failed to load, with the loader's reason.</summary>
    internal sealed record LoadResult(nint Handle, string? Path, IReadOnlyList<string> Places, IReadOnlyList<string> Failures);

    /// <summary>Registers the resolver for this assembly; calling it again does nothing.</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (_installed) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
            _installed = true;
        }
    }

    /// <summary>The file that was loaded for a logical library (loading it now if it was not yet), or null when none loads.</summary>
    /// <param name="logical"><c>"cuda"</c>, <c>"cublas"</c> or <c>"nvrtc"</c>.</param>
    public static string? PathOf(string logical) => Load(logical).Path;

    /// <summary>The places searched for a logical library, in order; the last is <see cref="SystemLoader"/>.</summary>
    /// <param name="logical"><c>"cuda"</c>, <c>"cublas"</c> or <c>"nvrtc"</c>.</param>
    public static IReadOnlyList<string> SearchedPlaces(string logical) => SearchedPlaces(logical, SearchEnvironment.Current);

    /// <summary>The places searched for a logical library under the given environment, in order, ending with
    /// <see cref="SystemLoader"/>. Fixed folders (CUDA_PATH, /usr/local/cuda, LD_LIBRARY_PATH entries) are listed whether
    /// or not they exist; the Python environments' <c>nvidia/*/lib</c> folders only when they exist.</summary>
    internal static IReadOnlyList<string> SearchedPlaces(string logical, SearchEnvironment env)
    {
        FileNames(logical, env.IsWindows); // validates the name
        var places = new List<string>();
        var seen = new HashSet<string>(env.IsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        void Add(string? dir)
        {
            if (string.IsNullOrWhiteSpace(dir)) return;
            string full;
            try { full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)); }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return; }
            if (seen.Add(full)) places.Add(full);
        }
        char sep = env.IsWindows ? ';' : ':';
        IEnumerable<string> List(string? variable) =>
            env.GetVariable(variable ?? "") is { Length: > 0 } v ? v.Split(sep, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];

        if (env.IsWindows)
        {
            foreach (var root in new[] { env.GetVariable("CUDA_PATH"), env.GetVariable("CUDA_HOME") })
                if (!string.IsNullOrWhiteSpace(root)) { Add(Path.Combine(root, "bin", "x64")); Add(Path.Combine(root, "bin")); }
            foreach (var dir in PythonLibraryFolders(env)) Add(dir);
            foreach (var dir in List("PATH")) Add(dir);
        }
        else
        {
            foreach (var root in new[] { env.GetVariable("CUDA_PATH"), env.GetVariable("CUDA_HOME") })
                if (!string.IsNullOrWhiteSpace(root)) Add(Path.Combine(root, "lib64"));
            Add("/usr/local/cuda/lib64");
            foreach (var dir in List("LD_LIBRARY_PATH")) Add(dir);
            foreach (var dir in PythonLibraryFolders(env)) Add(dir);
        }
        places.Add(SystemLoader);
        return places;
    }

    /// <summary>The file names tried for a logical library, in order (newest major version first).</summary>
    internal static IReadOnlyList<string> FileNames(string logical, bool windows) => (logical, windows) switch
    {
        ("cuda", false) => ["libcuda.so.1", "libcuda.so"],
        ("cuda", true) => ["nvcuda.dll"],
        ("cublas", false) => ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        ("cublas", true) => ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"],
        ("nvrtc", false) => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        ("nvrtc", true) => ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"],
        _ => throw new ArgumentException($"unknown CUDA library '{logical}': expected one of {string.Join(", ", Logical)}", nameof(logical)),
    };

    /// <summary>The library's file stem for messages: <c>libcuda</c>, <c>libcublas</c>, <c>libnvrtc</c>.</summary>
    internal static string Stem(string logical) => logical switch
    {
        "cuda" => "libcuda",
        "cublas" => "libcublas",
        "nvrtc" => "libnvrtc",
        _ => throw new ArgumentException($"unknown CUDA library '{logical}': expected one of {string.Join(", ", Logical)}", nameof(logical)),
    };

    /// <summary>Finds and loads a logical library (once; the result, success or not, is cached).</summary>
    internal static LoadResult Load(string logical)
    {
        FileNames(logical, OperatingSystem.IsWindows());
        lock (Gate)
        {
            if (!Loaded.TryGetValue(logical, out var r)) Loaded[logical] = r = Search(logical, SearchEnvironment.Current);
            return r;
        }
    }

    /// <summary>The exception for a library that could not be loaded: names it, the file names tried, the files that
    /// failed to load and why, and every place searched.</summary>
    internal static DllNotFoundException NotFound(string logical)
    {
        var r = Load(logical);
        var names = FileNames(logical, OperatingSystem.IsWindows());
        string failures = r.Failures.Count == 0 ? "" : $"; found but not loadable: {string.Join("; ", r.Failures)}";
        return new DllNotFoundException(
            $"{Stem(logical)} ({What(logical)}) could not be loaded: tried {string.Join(", ", names)} in {string.Join(", ", r.Places)}{failures}. " +
            Hint(logical));
    }

    /// <summary>What a logical library is, for messages.</summary>
    internal static string What(string logical) => logical switch
    {
        "cuda" => "the CUDA driver",
        "cublas" => "cuBLAS",
        _ => "NVRTC, the CUDA runtime compiler",
    };

    private static string Hint(string logical) => logical switch
    {
        "cuda" => "Install NVIDIA's GPU driver (it provides libcuda.so.1); without a GPU, use the CPU backends.",
        "cublas" => "Install the CUDA toolkit's cuBLAS (or `pip install nvidia-cublas-cu12`), or set CUDA_PATH or LD_LIBRARY_PATH to its folder.",
        _ => "Install NVRTC (Debian: libnvrtc11.2 from non-free; the CUDA toolkit; or `pip install nvidia-cuda-nvrtc-cu12`), or set CUDA_PATH or LD_LIBRARY_PATH to its folder.",
    };

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName is not ("cuda" or "cublas" or "nvrtc")) return 0;
        var r = Load(libraryName);
        if (r.Handle != 0) return r.Handle;
        throw NotFound(libraryName);
    }

    private static LoadResult Search(string logical, SearchEnvironment env)
    {
        var names = FileNames(logical, env.IsWindows);
        var failures = new List<string>();
        var places = SearchedPlaces(logical, env);
        foreach (var place in places)
        {
            if (place == SystemLoader) break;
            foreach (var name in names)
            {
                string file = Path.Combine(place, name);
                if (!File.Exists(file)) continue;
                try { return new LoadResult(NativeLibrary.Load(file), file, places, failures); }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException) { failures.Add($"{file}: {e.Message}"); }
            }
        }
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle))
                return new LoadResult(handle, MappedFile(name) ?? name, places, failures);
        return new LoadResult(0, null, places, failures);
    }

    /// <summary>The file the system loader mapped for a bare name (Linux: read from /proc/self/maps), or null.</summary>
    private static string? MappedFile(string name)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int so = name.IndexOf(".so", StringComparison.Ordinal);
        if (so < 0) return null;
        string prefix = name[..(so + 3)]; // "libnvrtc.so": excludes libnvrtc-builtins.so, libcublasLt.so
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                string path = line[slash..];
                if (Path.GetFileName(path).StartsWith(prefix, StringComparison.Ordinal)) return path;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>The <c>nvidia/*/lib</c> (Windows: <c>nvidia/*/bin</c>) folders of the Python environments that exist:
    /// $VIRTUAL_ENV, $CONDA_PREFIX, environments whose bin folder is on PATH, /usr/local/lib/python3*/dist-packages,
    /// /usr/lib/python3/dist-packages, ~/.local/lib/python3*/site-packages, then site-packages under those prefixes.</summary>
    private static IEnumerable<string> PythonLibraryFolders(SearchEnvironment env)
    {
        var sites = new List<string>();
        if (env.IsWindows)
        {
            foreach (var prefix in new[] { env.GetVariable("VIRTUAL_ENV"), env.GetVariable("CONDA_PREFIX") })
                if (!string.IsNullOrWhiteSpace(prefix)) sites.Add(Path.Combine(prefix, "Lib", "site-packages"));
        }
        else
        {
            var prefixes = new List<string>();
            foreach (var prefix in new[] { env.GetVariable("VIRTUAL_ENV"), env.GetVariable("CONDA_PREFIX") })
                if (!string.IsNullOrWhiteSpace(prefix)) prefixes.Add(prefix);
            // A virtual environment or conda environment whose bin folder is on PATH but that is not activated
            // (e.g. /opt/torch/.venv/bin): its pip wheels count too.
            if (env.GetVariable("PATH") is { Length: > 0 } path)
                foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
                    if (Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)) == "bin" && Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(dir)) is { } p
                        && (File.Exists(Path.Combine(p, "pyvenv.cfg")) || Directory.Exists(Path.Combine(p, "conda-meta"))))
                        prefixes.Add(p);
            foreach (var prefix in prefixes) sites.AddRange(Matching(Path.Combine(prefix, "lib"), "python3*", "site-packages"));
            sites.AddRange(Matching("/usr/local/lib", "python3*", "dist-packages"));
            sites.Add("/usr/lib/python3/dist-packages");
            if (!string.IsNullOrEmpty(env.Home)) sites.AddRange(Matching(Path.Combine(env.Home, ".local", "lib"), "python3*", "site-packages"));
            sites.AddRange(Matching("/usr/local/lib", "python3*", "site-packages"));
            sites.AddRange(Matching("/usr/lib", "python3*", "site-packages"));
            sites.AddRange(Matching("/opt/conda/lib", "python3*", "site-packages"));
        }
        string leaf = env.IsWindows ? "bin" : "lib";
        foreach (var site in sites)
            foreach (var package in Matching(Path.Combine(site, "nvidia"), "*", leaf))
                yield return package;
    }

    /// <summary>The folders <c>root/&lt;pattern&gt;/leaf</c> that exist, sorted by name (newest Python last is fine: one
    /// environment rarely holds two).</summary>
    private static IEnumerable<string> Matching(string root, string pattern, string leaf)
    {
        string[] dirs;
        try { dirs = Directory.Exists(root) ? Directory.GetDirectories(root, pattern) : []; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { dirs = []; }
        Array.Sort(dirs, StringComparer.Ordinal);
        foreach (var d in dirs)
        {
            string full = Path.Combine(d, leaf);
            if (Directory.Exists(full)) yield return full;
        }
    }
}
