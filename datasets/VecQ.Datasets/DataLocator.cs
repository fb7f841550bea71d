using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;

namespace VecQ.Datasets;

/// <summary>Where a dataset's files were found.</summary>
public enum DatasetSource
{
    /// <summary>The folder given explicitly (the <c>--data DIR</c> option).</summary>
    Explicit,
    /// <summary>The folder named by the <c>VECQ_DATA</c> environment variable (DIR or DIR/&lt;name&gt;).</summary>
    Environment,
    /// <summary>The cache folder (<c>~/.cache/vecq/datasets/&lt;name&gt;</c>, or <c>$VECQ_CACHE/&lt;name&gt;</c>).</summary>
    Cache,
    /// <summary>The Debian dataset packages' folder (<c>/usr/share/datasets/&lt;name&gt;</c>).</summary>
    System,
    /// <summary>Downloaded just now from the dataset's official address into the cache folder.</summary>
    Download,
    /// <summary>The small sample embedded in VecQ.Datasets (Fashion-MNIST only), used when nothing else was found.</summary>
    EmbeddedSample,
}

/// <summary>One file a dataset needs, with the MD5 of the official download when it is known with certainty.</summary>
/// <param name="FileName">The official file name, e.g. "train-images-idx3-ubyte.gz". The locator also accepts the
/// same name without ".gz" (an uncompressed copy).</param>
/// <param name="Md5">Lower-case hex MD5 of the file at the official address, or null when not known.</param>
public sealed record DatasetFile(string FileName, string? Md5 = null);

/// <summary>What a dataset needs: its name (the folder name), its files, and where to download them.</summary>
/// <param name="Name">Folder name, e.g. "fashion-mnist" (also the Debian folder /usr/share/datasets/&lt;name&gt;).</param>
/// <param name="Files">Files that must all be present in one folder.</param>
/// <param name="BaseUrls">Official download addresses; file URL = base + file name. Tried in order.</param>
/// <param name="Verify">Optional full check of a downloaded file (e.g. parse it as IDX); throws when invalid.</param>
/// <example><code>
/// var spec = new DatasetSpec("cifar10", [new DatasetFile("test_batch.bin")], []) { Subfolders = ["cifar-10-batches-bin"] };
/// </code></example>
public sealed record DatasetSpec(string Name, IReadOnlyList<DatasetFile> Files, IReadOnlyList<Uri> BaseUrls, Action<string>? Verify = null)
{
    /// <summary>
    /// Folder names the files may sit in below each searched folder, tried after the folder itself, e.g.
    /// "cifar-10-batches-bin" (the folder the official archive unpacks to): then <c>--data DIR</c> may name that folder,
    /// its parent, or DIR/&lt;name&gt; holding it. Candidates that do not exist are skipped without a report line.
    /// </summary>
    public IReadOnlyList<string> Subfolders { get; init; } = [];

    /// <summary>
    /// A .tar.gz archive holding the files (at its top or in one of the <see cref="Subfolders"/>), as CIFAR is published;
    /// null: the files are downloaded one by one. When set, the download step fetches the archive from
    /// <see cref="BaseUrls"/>, checks its MD5 when known, unpacks its regular files into the cache folder (refusing
    /// absolute paths and "..") and deletes it.
    /// </summary>
    public DatasetFile? Archive { get; init; }

    /// <summary>
    /// A check of a candidate folder beyond <see cref="Files"/> (null: none): it returns null to accept the folder, or why it
    /// is not used (e.g. aclImdb's "no train/pos folder"). With it, <see cref="Files"/> may be empty: a dataset of many
    /// files in fixed folders (aclImdb, THUCNews) is recognised by its folders.
    /// </summary>
    public Func<string, string?>? AcceptFolder { get; init; }
}

/// <summary>Progress of one download: bytes received so far and the total when the server sent it.</summary>
public readonly record struct DownloadProgress(string FileName, Uri Url, long BytesReceived, long? TotalBytes);

/// <summary>
/// Downloads <paramref name="url"/> into <paramref name="destination"/>, reporting progress.
/// Throws on any failure (no network, HTTP error …). Inject one into <see cref="DataLocator.Downloader"/>
/// so tests never touch the network.
/// </summary>
public delegate void DatasetDownloader(Uri url, Stream destination, Action<long, long?>? progress);

/// <summary>The outcome of <see cref="DataLocator.Locate"/>: the folder and the path of each required file.</summary>
public sealed class DatasetLocation
{
    internal DatasetLocation(string name, DatasetSource source, string directory, IReadOnlyDictionary<string, string> files, IReadOnlyList<string> steps)
    {
        Name = name;
        Source = source;
        Directory = directory;
        Files = files;
        Steps = steps;
    }

    /// <summary>The dataset's name.</summary>
    public string Name { get; }
    /// <summary>Which search step found it.</summary>
    public DatasetSource Source { get; }
    /// <summary>The folder that holds the files.</summary>
    public string Directory { get; }
    /// <summary>Official file name (as in <see cref="DatasetFile.FileName"/>) → the path found (maybe the uncompressed variant).</summary>
    public IReadOnlyDictionary<string, string> Files { get; }
    /// <summary>The outcome of each step tried, in order (the same lines sent to <see cref="DataLocator.Report"/>).</summary>
    public IReadOnlyList<string> Steps { get; }

    /// <summary>The path of required file <paramref name="fileName"/>.</summary>
    public string PathOf(string fileName) => Files.TryGetValue(fileName, out var p)
        ? p
        : throw new KeyNotFoundException($"{Name}: {fileName} is not one of this location's files ({string.Join(", ", Files.Keys)})");
}

/// <summary>
/// Finds a dataset's folder (DESIGN §6), in this order:
/// <list type="number">
/// <item>an explicit folder (<see cref="ExplicitDirectory"/>, the <c>--data DIR</c> option): DIR, then DIR/&lt;name&gt;;</item>
/// <item>the <c>VECQ_DATA</c> environment variable: DIR, then DIR/&lt;name&gt;;</item>
/// <item>the cache folder <c>~/.cache/vecq/datasets/&lt;name&gt;</c> (root overridable with <c>VECQ_CACHE</c>);</item>
/// <item>the Debian dataset packages' folder <c>/usr/share/datasets/&lt;name&gt;</c> (e.g. package dataset-fashion-mnist);</item>
/// <item>a download from the dataset's official address into the cache folder, with progress and verification.</item>
/// </list>
/// A folder counts only when it holds every required file (gzip or uncompressed). Every step's outcome
/// is kept: the one that succeeded is sent to <see cref="Report"/> (default: standard error; once per folder), so it
/// is always visible which path was used, and all of them are in the error when nothing is found. An explicit
/// folder (<c>--data</c>) that lacks the files is an error naming what is missing; nothing else is searched then.
/// </summary>
/// <example><code>
/// var locator = new DataLocator { ExplicitDirectory = options.DataDir };   // from --data, may be null
/// var ds = MnistDataset.Load("fashion-mnist", DatasetSplit.Train, locator);
/// // stderr: "fashion-mnist: using /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)"
/// </code></example>
public sealed class DataLocator
{
    /// <summary>Environment variable naming a data folder (DIR or DIR/&lt;name&gt;).</summary>
    public const string DataEnvironmentVariable = "VECQ_DATA";
    /// <summary>Environment variable overriding the cache root (the dataset goes to $VECQ_CACHE/&lt;name&gt;).</summary>
    public const string CacheEnvironmentVariable = "VECQ_CACHE";
    /// <summary>Where Debian's dataset-* packages install data.</summary>
    public const string DebianDatasetsDirectory = "/usr/share/datasets";

    /// <summary>The folder given by <c>--data DIR</c> (null: not given). Searched first.</summary>
    public string? ExplicitDirectory { get; init; }

    /// <summary>The root searched in step 4 (default <see cref="DebianDatasetsDirectory"/>; tests point it elsewhere).</summary>
    public string SystemDirectory { get; init; } = DebianDatasetsDirectory;

    /// <summary>Whether step 5 may download (default true).</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Performs downloads (default: <see cref="HttpDownloader(HttpClient)"/> over a shared client with short timeouts).</summary>
    public DatasetDownloader? Downloader { get; init; }

    /// <summary>Receives one line per search step and the final choice (default: written to standard error).</summary>
    public Action<string>? Report { get; init; } = static line => Console.Error.WriteLine(line);

    /// <summary>Receives download progress (default: none; the CLI draws a progress bar from it).</summary>
    public Action<DownloadProgress>? Progress { get; init; }

    /// <summary>The cache root: $VECQ_CACHE, else ~/.cache/vecq/datasets.</summary>
    public static string CacheRoot
    {
        get
        {
            var env = System.Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(env)) return env;
            var home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) home = System.Environment.GetEnvironmentVariable("HOME") ?? ".";
            return Path.Combine(home, ".cache", "vecq", "datasets");
        }
    }

    /// <summary>The cache folder of dataset <paramref name="name"/>.</summary>
    public static string CacheDirectory(string name) => Path.Combine(CacheRoot, name);

    /// <summary>The same search without the download step (to look for another form of a dataset before downloading one).</summary>
    public DataLocator WithoutDownload() => new()
    {
        ExplicitDirectory = ExplicitDirectory,
        SystemDirectory = SystemDirectory,
        AllowDownload = false,
        Downloader = Downloader,
        Report = Report,
        Progress = Progress,
    };

    /// <summary>Sends <paramref name="line"/> to <see cref="Report"/> (used by loaders for their own notices).</summary>
    public void Notify(string line) => Report?.Invoke(line);

    /// <summary>Finds (or downloads) the dataset; throws <see cref="DatasetNotFoundException"/> listing every step when that fails.</summary>
    public DatasetLocation Locate(DatasetSpec spec) =>
        TryLocate(spec, out var location, out var steps) ? location : throw new DatasetNotFoundException(spec.Name, steps);

    /// <summary>Like <see cref="Locate"/> but returns false (with the outcome of every step) instead of throwing.</summary>
    public bool TryLocate(DatasetSpec spec, [NotNullWhen(true)] out DatasetLocation? location, out IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Files.Count == 0 && spec.AcceptFolder is null) throw new ArgumentException($"{spec.Name}: a dataset spec needs at least one file or a folder check", nameof(spec));
        var log = new List<string>();
        steps = log;
        string name = spec.Name;

        // 1. --data DIR
        // (an explicit folder that lacks the files is the answer, not a reason to look elsewhere)
        if (string.IsNullOrWhiteSpace(ExplicitDirectory))
            Probe(log, $"{name}: --data not given");
        else if (TryFolders(spec, log, "--data", DatasetSource.Explicit, ExplicitDirectory, out location))
            return true;
        else
        {
            location = null;
            return false;
        }

        // 2. VECQ_DATA
        var env = System.Environment.GetEnvironmentVariable(DataEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env))
            Probe(log, $"{name}: {DataEnvironmentVariable} not set");
        else if (TryFolders(spec, log, DataEnvironmentVariable, DatasetSource.Environment, env, out location))
            return true;

        // 3. cache
        string cache = CacheDirectory(name);
        if (TryFolderAndSubfolders(spec, log, "cache", DatasetSource.Cache, cache, out location)) return true;

        // 4. Debian's /usr/share/datasets/<name>
        string system = Path.Combine(SystemDirectory, name);
        if (TryFolderAndSubfolders(spec, log, $"system folder (Debian package dataset-{name})", DatasetSource.System, system, out location)) return true;

        // 5. download into the cache
        if (!AllowDownload)
            Probe(log, $"{name}: download disabled");
        else if (spec.BaseUrls.Count == 0)
            Probe(log, $"{name}: no download address known");
        else if (TryDownload(spec, cache, log, out location))
            return true;

        location = null;
        return false;
    }

    private bool TryFolders(DatasetSpec spec, List<string> log, string what, DatasetSource source, string dir, [NotNullWhen(true)] out DatasetLocation? location)
    {
        // DIR itself, then DIR/<name>, each also with the spec's subfolders (DIR/sub, DIR/<name>/sub).
        if (TryFolder(spec, log, what, source, dir, out location)) return true;
        if (TrySubfolders(spec, log, what, source, dir, out location)) return true;
        return TryFolderAndSubfolders(spec, log, what, source, Path.Combine(dir, spec.Name), out location);
    }

    private bool TryFolderAndSubfolders(DatasetSpec spec, List<string> log, string what, DatasetSource source, string dir, [NotNullWhen(true)] out DatasetLocation? location) =>
        TryFolder(spec, log, what, source, dir, out location) || TrySubfolders(spec, log, what, source, dir, out location);

    private bool TrySubfolders(DatasetSpec spec, List<string> log, string what, DatasetSource source, string dir, [NotNullWhen(true)] out DatasetLocation? location)
    {
        location = null;
        foreach (var sub in spec.Subfolders)
        {
            var candidate = Path.Combine(dir, sub);
            if (Directory.Exists(candidate) && TryFolder(spec, log, what, source, candidate, out location)) return true;
        }
        return false;
    }

    private bool TryFolder(DatasetSpec spec, List<string> log, string what, DatasetSource source, string dir, [NotNullWhen(true)] out DatasetLocation? location)
    {
        location = null;
        if (!Directory.Exists(dir))
        {
            Probe(log, $"{spec.Name}: {what} {dir}: no such folder");
            return false;
        }
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var f in spec.Files)
        {
            var path = FindFile(dir, f.FileName);
            if (path is null) missing.Add(f.FileName);
            else found[f.FileName] = path;
        }
        if (missing.Count > 0)
        {
            Probe(log, $"{spec.Name}: {what} {dir}: missing {string.Join(", ", missing)}");
            return false;
        }
        if (spec.AcceptFolder?.Invoke(dir) is { } refused)
        {
            Probe(log, $"{spec.Name}: {what} {dir}: {refused}");
            return false;
        }
        Step(log, $"{spec.Name}: using {dir} ({Describe(source)})");
        location = new DatasetLocation(spec.Name, source, dir, found, log);
        return true;
    }

    /// <summary>The file itself, or its uncompressed variant (name without ".gz").</summary>
    private static string? FindFile(string dir, string fileName)
    {
        var p = Path.Combine(dir, fileName);
        if (File.Exists(p)) return p;
        if (fileName.EndsWith(".gz", StringComparison.Ordinal))
        {
            var raw = Path.Combine(dir, fileName[..^3]);
            if (File.Exists(raw)) return raw;
        }
        return null;
    }

    private bool TryDownload(DatasetSpec spec, string cache, List<string> log, [NotNullWhen(true)] out DatasetLocation? location)
    {
        if (spec.Archive is not null) return TryDownloadArchive(spec, spec.Archive, cache, log, out location);
        location = null;
        if (spec.Files.Count == 0)
        {
            Step(log, $"{spec.Name}: no files or archive to download");
            return false;
        }
        var download = Downloader ?? DefaultDownloader;
        if (!CreateCache(spec, cache, log, out bool created)) return false;
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in spec.Files)
        {
            var target = FindFile(cache, f.FileName);
            if (target is not null)
            {
                found[f.FileName] = target; // an earlier partial run already fetched this one
                continue;
            }
            target = Path.Combine(cache, f.FileName);
            if (!FromMirrors(spec, f.FileName, log, url => DownloadOne(spec, f, url, target, download)))
            {
                if (created) RemoveIfEmpty(cache);
                return false;
            }
            found[f.FileName] = target;
        }
        Step(log, $"{spec.Name}: using {cache} ({Describe(DatasetSource.Download)})");
        location = new DatasetLocation(spec.Name, DatasetSource.Download, cache, found, log);
        return true;
    }

    // Creates the cache folder (created: it did not exist before); a failure is a step saying why.
    private bool CreateCache(DatasetSpec spec, string cache, List<string> log, out bool created)
    {
        created = !Directory.Exists(cache);
        try
        {
            Directory.CreateDirectory(cache);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Step(log, $"{spec.Name}: download: cannot create the cache folder {cache}: {e.Message}");
            return false;
        }
    }

    // Fetches fileName from each base address in turn until one works (fetch returns null or an error); each failure
    // is a step, and when every address failed a last step says what to do instead.
    private bool FromMirrors(DatasetSpec spec, string fileName, List<string> log, Func<Uri, string?> fetch)
    {
        foreach (var baseUrl in spec.BaseUrls)
        {
            var url = new Uri(baseUrl, fileName);
            string? error = fetch(url);
            if (error is null) return true;
            Step(log, $"{spec.Name}: download {url} failed: {error}");
        }
        Step(log, $"{spec.Name}: could not download {fileName}; put the files in one of the folders above (or pass --data DIR)");
        return false;
    }

    private bool TryDownloadArchive(DatasetSpec spec, DatasetFile archive, string cache, List<string> log, [NotNullWhen(true)] out DatasetLocation? location)
    {
        location = null;
        var download = Downloader ?? DefaultDownloader;
        if (!CreateCache(spec, cache, log, out bool created)) return false;
        if (!FromMirrors(spec, archive.FileName, log, url => DownloadArchive(spec, archive, url, cache, download)))
        {
            if (created) RemoveIfEmpty(cache);
            return false;
        }
        if (TryFolderAndSubfolders(spec, log, "downloaded archive", DatasetSource.Download, cache, out location)) return true;
        Step(log, $"{spec.Name}: {archive.FileName} did not hold the files listed above");
        return false;
    }

    /// <summary>Downloads the archive to a temp file, checks its MD5, unpacks it into <paramref name="cache"/>. Returns null or the error.</summary>
    private string? DownloadArchive(DatasetSpec spec, DatasetFile archive, Uri url, string cache, DatasetDownloader download)
    {
        string temp = Path.Combine(cache, $"{archive.FileName}.{Guid.NewGuid():N}.part");
        string staging = Path.Combine(cache, $".unpack-{Guid.NewGuid():N}");
        try
        {
            Notify($"{spec.Name}: downloading {url}");
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                download(url, output, (got, total) => Progress?.Invoke(new DownloadProgress(archive.FileName, url, got, total)));
            }
            if (archive.Md5 is not null)
            {
                string md5 = Md5Hex(temp);
                if (!string.Equals(md5, archive.Md5, StringComparison.OrdinalIgnoreCase))
                    return $"checksum mismatch: MD5 {md5}, expected {archive.Md5}";
            }
            Notify($"{spec.Name}: unpacking {archive.FileName} into {cache}");
            Directory.CreateDirectory(staging);
            UnpackTarGz(temp, staging);
            // Move what was unpacked into place, replacing leftovers of an earlier attempt.
            foreach (var entry in new DirectoryInfo(staging).EnumerateFileSystemInfos())
            {
                string target = Path.Combine(cache, entry.Name);
                if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
                else if (File.Exists(target)) File.Delete(target);
                if (entry is DirectoryInfo d) d.MoveTo(target);
                else ((FileInfo)entry).MoveTo(target);
            }
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e switch
            {
                DatasetException d => $"downloaded archive is invalid: {d.Problem}",
                HttpRequestException { InnerException: System.Net.Sockets.SocketException } => $"{e.Message} (no network connection?)",
                TaskCanceledException => $"timed out ({e.Message})",
                InvalidDataException => $"downloaded archive is invalid: {e.Message}",
                _ => e.Message,
            };
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Unpacks the regular files and folders of a .tar.gz into <paramref name="destination"/>; an absolute path or ".." is an error, links and devices are skipped.</summary>
    internal static void UnpackTarGz(string archive, string destination)
    {
        using var file = File.OpenRead(archive);
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
        using var tar = new System.Formats.Tar.TarReader(gzip);
        string root = Path.GetFullPath(destination) + Path.DirectorySeparatorChar;
        System.Formats.Tar.TarEntry? entry;
        while ((entry = tar.GetNextEntry()) is not null)
        {
            string name = entry.Name.Replace('\\', '/');
            if (name.StartsWith('/') || name.Split('/').Contains(".."))
                throw new DatasetException(archive, $"unsafe path in the archive: {entry.Name}");
            string target = Path.GetFullPath(Path.Combine(destination, name));
            if (!target.StartsWith(root, StringComparison.Ordinal) && target + Path.DirectorySeparatorChar != root)
                throw new DatasetException(archive, $"unsafe path in the archive: {entry.Name}");
            switch (entry.EntryType)
            {
                case System.Formats.Tar.TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    entry.ExtractToFile(target, overwrite: true);
                    break;
                default:
                    break; // links, devices, global headers: not needed for data files
            }
        }
    }

    /// <summary>Downloads one file to a temp file beside <paramref name="target"/>, verifies it, then renames it. Returns null or the error.</summary>
    private string? DownloadOne(DatasetSpec spec, DatasetFile file, Uri url, string target, DatasetDownloader download)
    {
        string temp = $"{target}.{Guid.NewGuid():N}.part";
        try
        {
            Notify($"{spec.Name}: downloading {url}");
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                download(url, output, (got, total) => Progress?.Invoke(new DownloadProgress(file.FileName, url, got, total)));
            }
            if (file.Md5 is not null)
            {
                string md5 = Md5Hex(temp);
                if (!string.Equals(md5, file.Md5, StringComparison.OrdinalIgnoreCase))
                    return $"checksum mismatch: MD5 {md5}, expected {file.Md5}";
            }
            // Besides the MD5 (when known), the file must parse completely (e.g. as an IDX file).
            spec.Verify?.Invoke(temp);
            File.Move(temp, target, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any failure of this one address (network, HTTP status, disk, a bad file) is reported and the next address tried.
            return e switch
            {
                DatasetException d => $"downloaded file is invalid: {d.Problem}",
                HttpRequestException { InnerException: System.Net.Sockets.SocketException } => $"{e.Message} (no network connection?)",
                TaskCanceledException => $"timed out ({e.Message})",
                _ => e.Message,
            };
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void RemoveIfEmpty(string dir)
    {
        try
        {
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string Md5Hex(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(f));
    }

    // Every step is kept for the error; what happened (the folder used, a download and its failures) is also
    // reported, once per locator (a train and a test split found in the same place say so once).
    private void Step(List<string> log, string line)
    {
        log.Add(line);
        if (_reported.Add(line)) Report?.Invoke(line);
    }

    // A place looked at and not used: kept for the error only.
    private static void Probe(List<string> log, string line) => log.Add(line);

    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    private static string Describe(DatasetSource source) => source switch
    {
        DatasetSource.Explicit => "--data",
        DatasetSource.Environment => DataEnvironmentVariable,
        DatasetSource.Cache => "cache folder",
        DatasetSource.System => "Debian dataset package folder",
        DatasetSource.Download => "downloaded from the official address",
        DatasetSource.EmbeddedSample => "embedded sample",
        _ => source.ToString(),
    };

    private static readonly Lazy<HttpClient> SharedClient = new(() => new HttpClient(new SocketsHttpHandler
    {
        // Fail fast without a network: DNS or connect errors surface within seconds, not minutes.
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None, // keep .gz files byte-exact for the checksum
    })
    {
        Timeout = TimeSpan.FromMinutes(10),
    });

    private static void DefaultDownloader(Uri url, Stream destination, Action<long, long?>? progress) =>
        HttpDownloader(SharedClient.Value)(url, destination, progress);

    /// <summary>A downloader over <paramref name="client"/> (synchronous; streams the body in 80 KB chunks, reporting progress).</summary>
    /// <example><code>var locator = new DataLocator { Downloader = DataLocator.HttpDownloader(myClient) };</code></example>
    public static DatasetDownloader HttpDownloader(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (url, destination, progress) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = client.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            long? total = response.Content.Headers.ContentLength;
            using var body = response.Content.ReadAsStream();
            var buffer = new byte[81920];
            long got = 0;
            int n;
            progress?.Invoke(0, total);
            while ((n = body.Read(buffer, 0, buffer.Length)) > 0)
            {
                destination.Write(buffer, 0, n);
                got += n;
                progress?.Invoke(got, total);
            }
            if (total is long t && got != t) throw new IOException($"connection closed after {got} of {t} bytes");
        };
    }
}
