using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using VecQ.Datasets;

namespace VecQ.Datasets.Tests;

[Collection(EnvironmentCollection.Name)]
public class DataLocatorTests
{
    private const string Name = "mnist";

    /// <summary>A test spec: the MNIST train files, with no checksums (the fakes differ from the official files).</summary>
    private static DatasetSpec Spec(params string[] baseUrls) => MnistDataset.Spec(Name, DatasetSplit.Train) with
    {
        Files = MnistDataset.Spec(Name, DatasetSplit.Train).Files.Select(f => f with { Md5 = null }).ToList(),
        BaseUrls = baseUrls.Length == 0 ? [new Uri("https://example.test/mnist/")] : baseUrls.Select(u => new Uri(u)).ToList(),
    };

    /// <summary>A downloader serving fake MNIST files from memory, counting calls.</summary>
    private sealed class FakeServer
    {
        private readonly Dictionary<string, byte[]> _files = new();
        public List<Uri> Requests { get; } = [];

        public FakeServer(int count = 9)
        {
            _files["train-images-idx3-ubyte.gz"] = IdxWriter.ToBytes(IdxArray.Create(FakeMnist.Images(count), count, 28, 28), gzip: true);
            _files["train-labels-idx1-ubyte.gz"] = IdxWriter.ToBytes(IdxArray.Create(FakeMnist.Labels(count)), gzip: true);
        }

        public byte[] this[string file] { get => _files[file]; set => _files[file] = value; }

        public void Download(Uri url, Stream destination, Action<long, long?>? progress)
        {
            Requests.Add(url);
            var body = _files[url.Segments[^1]];
            for (int at = 0; at < body.Length; at += 100)
            {
                int n = Math.Min(100, body.Length - at);
                destination.Write(body, at, n);
                progress?.Invoke(at + n, body.Length);
            }
        }
    }

    private sealed class Places : IDisposable
    {
        public TempDir Root { get; } = new();
        public string Explicit => Path.Combine(Root.Path, "explicit");
        public string Env => Path.Combine(Root.Path, "env");
        public string CacheRoot => Path.Combine(Root.Path, "cache");
        public string Cache => Path.Combine(CacheRoot, Name);
        public string SystemRoot => Path.Combine(Root.Path, "system");
        public string System => Path.Combine(SystemRoot, Name);

        public void Fill(string dir, int count)
        {
            Directory.CreateDirectory(dir);
            FakeMnist.Write(dir, DatasetSplit.Train, count);
        }

        public void Dispose() => Root.Dispose();
    }

    [Fact]
    public void SearchOrder_Explicit_Env_Cache_System_Download()
    {
        using var p = new Places();
        p.Fill(p.Explicit, 11);
        p.Fill(p.Env, 12);
        p.Fill(p.Cache, 13);
        p.Fill(p.System, 14);
        using var env = EnvScope.Clean(p.CacheRoot).Set(DataLocator.DataEnvironmentVariable, p.Env);
        var server = new FakeServer(15);
        var log = new List<string>();
        DataLocator Locator(string? explicitDir) => new()
        {
            ExplicitDirectory = explicitDir,
            SystemDirectory = p.SystemRoot,
            Downloader = server.Download,
            Report = log.Add,
        };
        int CountAt(DatasetLocation l) => IdxReader.Read(l.PathOf("train-labels-idx1-ubyte.gz")).Length;

        var l1 = Locator(p.Explicit).Locate(Spec());
        Assert.Equal((DatasetSource.Explicit, p.Explicit, 11), (l1.Source, l1.Directory, CountAt(l1)));
        Assert.Equal($"mnist: using {p.Explicit} (--data)", log[^1]);

        var l2 = Locator(null).Locate(Spec());
        Assert.Equal((DatasetSource.Environment, p.Env, 12), (l2.Source, l2.Directory, CountAt(l2)));
        Assert.Equal(["mnist: --data not given", $"mnist: using {p.Env} (VECQ_DATA)"], l2.Steps);

        env.Set(DataLocator.DataEnvironmentVariable, null);
        var l3 = Locator(null).Locate(Spec());
        Assert.Equal((DatasetSource.Cache, p.Cache, 13), (l3.Source, l3.Directory, CountAt(l3)));
        Assert.Equal("mnist: VECQ_DATA not set", l3.Steps[1]);

        Directory.Delete(p.Cache, recursive: true);
        var l4 = Locator(null).Locate(Spec());
        Assert.Equal((DatasetSource.System, p.System, 14), (l4.Source, l4.Directory, CountAt(l4)));
        Assert.Equal($"mnist: cache {p.Cache}: no such folder", l4.Steps[2]);
        Assert.Equal($"mnist: using {p.System} (Debian dataset package folder)", l4.Steps[3]);

        Directory.Delete(p.System, recursive: true);
        Assert.Empty(server.Requests);
        var l5 = Locator(null).Locate(Spec());
        Assert.Equal((DatasetSource.Download, p.Cache, 15), (l5.Source, l5.Directory, CountAt(l5)));
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal("https://example.test/mnist/train-images-idx3-ubyte.gz", server.Requests[0].ToString());
        Assert.Contains($"system folder (Debian package dataset-mnist) {p.System}: no such folder", l5.Steps[3]);
        Assert.Equal($"mnist: using {p.Cache} (downloaded from the official address)", l5.Steps[^1]);

        // Now it is in the cache: found there without another download.
        var l6 = Locator(null).Locate(Spec());
        Assert.Equal(DatasetSource.Cache, l6.Source);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public void ExplicitAndEnvFolders_MayBeTheRootHoldingDatasetName()
    {
        using var p = new Places();
        p.Fill(Path.Combine(p.Explicit, Name), 5);
        p.Fill(Path.Combine(p.Env, Name), 6);
        using var env = EnvScope.Clean(p.CacheRoot).Set(DataLocator.DataEnvironmentVariable, p.Env);
        var log = new List<string>();
        var l = new DataLocator { ExplicitDirectory = p.Explicit, SystemDirectory = p.SystemRoot, Report = log.Add, AllowDownload = false }.Locate(Spec());
        Assert.Equal(Path.Combine(p.Explicit, Name), l.Directory);
        Assert.Contains("missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz", l.Steps[0]);

        l = new DataLocator { SystemDirectory = p.SystemRoot, Report = log.Add, AllowDownload = false }.Locate(Spec());
        Assert.Equal((DatasetSource.Environment, Path.Combine(p.Env, Name)), (l.Source, l.Directory));
    }

    [Fact]
    public void IncompleteExplicitFolder_IsAnError_NamingWhatIsMissing_NotAFallback()
    {
        using var p = new Places();
        p.Fill(p.Explicit, 5);
        File.Delete(Path.Combine(p.Explicit, "train-labels-idx1-ubyte.gz"));
        Directory.CreateDirectory(p.System);
        FakeMnist.Write(p.System, DatasetSplit.Train, 4, gzip: false);   // complete, but --data names another folder
        using var env = EnvScope.Clean(p.CacheRoot);
        var log = new List<string>();
        var e = Assert.Throws<DatasetNotFoundException>(() =>
            new DataLocator { ExplicitDirectory = p.Explicit, SystemDirectory = p.SystemRoot, Report = log.Add, AllowDownload = false }.Locate(Spec()));
        Assert.Equal($"mnist: --data {p.Explicit}: missing train-labels-idx1-ubyte.gz", e.Attempts[0]);
        Assert.DoesNotContain(e.Attempts, a => a.Contains("system folder", StringComparison.Ordinal));
        Assert.Empty(log);
    }

    [Fact]
    public void IncompleteFolder_IsSkipped_AndUncompressedFilesCount_AndOnlyTheAnswerIsReported()
    {
        using var p = new Places();
        Directory.CreateDirectory(p.System);
        FakeMnist.Write(p.System, DatasetSplit.Train, 4, gzip: false);
        using var env = EnvScope.Clean(p.CacheRoot);
        Directory.CreateDirectory(p.Cache);
        File.WriteAllBytes(Path.Combine(p.CacheRoot, "mnist", "train-images-idx3-ubyte.gz"), [1, 2, 3]);   // an incomplete cache folder
        var log = new List<string>();
        var locator = new DataLocator { SystemDirectory = p.SystemRoot, Report = log.Add, AllowDownload = false };
        var l = locator.Locate(Spec());
        Assert.Contains(l.Steps, s => s.EndsWith(": missing train-labels-idx1-ubyte.gz", StringComparison.Ordinal));
        Assert.Equal(DatasetSource.System, l.Source);
        Assert.Equal(Path.Combine(p.System, "train-images-idx3-ubyte"), l.PathOf("train-images-idx3-ubyte.gz"));
        locator.Locate(Spec());                                   // a second split found in the same place
        Assert.Equal([l.Steps[^1]], log);                          // one line: where the data came from
    }

    [Fact]
    public void Download_ReportsProgress_RenamesIntoPlace_LeavesNoTempFiles()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var server = new FakeServer(40);
        var progress = new List<DownloadProgress>();
        var l = new DataLocator
        {
            SystemDirectory = p.SystemRoot,
            Downloader = server.Download,
            Report = _ => { },
            Progress = progress.Add,
        }.Locate(Spec());
        Assert.Equal(DatasetSource.Download, l.Source);
        Assert.Equal(new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" }, Directory.GetFiles(p.Cache).Select(Path.GetFileName).Order());
        Assert.Equal(server["train-images-idx3-ubyte.gz"], File.ReadAllBytes(Path.Combine(p.Cache, "train-images-idx3-ubyte.gz")));
        var images = progress.Where(x => x.FileName == "train-images-idx3-ubyte.gz").ToList();
        Assert.True(images.Count > 2);
        Assert.Equal(server["train-images-idx3-ubyte.gz"].Length, images[^1].BytesReceived);
        Assert.Equal(images[^1].BytesReceived, images[^1].TotalBytes);
    }

    [Fact]
    public void Download_ChecksumMismatch_IsRejected_ThenTheNextAddressIsTried()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var good = new FakeServer(8);
        var bad = new FakeServer(7);
        var spec = Spec("https://mirror-a.test/", "https://mirror-b.test/") with
        {
            Files = Spec().Files.Select(f => f with { Md5 = Convert.ToHexStringLower(MD5.HashData(good[f.FileName])) }).ToList(),
        };
        var log = new List<string>();
        var l = new DataLocator
        {
            SystemDirectory = p.SystemRoot,
            Report = log.Add,
            Downloader = (url, dst, prog) => (url.Host == "mirror-a.test" ? bad : good).Download(url, dst, prog),
        }.Locate(spec);
        Assert.Equal(DatasetSource.Download, l.Source);
        Assert.Contains(log, x => x.StartsWith("mnist: download https://mirror-a.test/train-images-idx3-ubyte.gz failed: checksum mismatch: MD5 ", StringComparison.Ordinal));
        Assert.Equal(8, IdxReader.Read(l.PathOf("train-labels-idx1-ubyte.gz")).Length);
        Assert.DoesNotContain(Directory.GetFiles(p.Cache), f => f.EndsWith(".part", StringComparison.Ordinal));
    }

    [Fact]
    public void Download_OfTheRealMnistSpec_ChecksTheOfficialMd5()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var server = new FakeServer();
        var e = Assert.Throws<DatasetNotFoundException>(() => new DataLocator
        {
            SystemDirectory = p.SystemRoot,
            Report = _ => { },
            Downloader = server.Download,
        }.Locate(MnistDataset.Spec("mnist", DatasetSplit.Train)));
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains("expected f68b3c2dcbeaaa9fbdd348bbdeb94873", e.Message);
        Assert.False(Directory.Exists(p.Cache)); // nothing half-written is left, not even the new empty folder
    }

    [Fact]
    public void Download_OfACorruptFile_IsRejectedByTheFullParse()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var server = new FakeServer(10);
        var raw = IdxWriter.ToBytes(IdxArray.Create(FakeMnist.Images(10), 10, 28, 28));
        server["train-images-idx3-ubyte.gz"] = raw[..^100];
        var e = Assert.Throws<DatasetNotFoundException>(() => new DataLocator
        {
            SystemDirectory = p.SystemRoot,
            Report = _ => { },
            Downloader = server.Download,
        }.Locate(Spec()));
        Assert.Contains("downloaded file is invalid: truncated: header says 10×28×28 = 7840 bytes of data, file has 7740", e.Message);
        Assert.False(Directory.Exists(p.Cache)); // nothing half-written is left, not even the new empty folder
    }

    [Fact]
    public void NoNetwork_FailsFast_WithEveryStepInTheMessage()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<DatasetNotFoundException>(() => new DataLocator
        {
            SystemDirectory = p.SystemRoot,
            Report = _ => { },
            Downloader = (url, _, _) => throw new HttpRequestException($"Name or service not known ({url.Host}:443)", new SocketException((int)SocketError.HostNotFound)),
        }.Locate(Spec()));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal("mnist", e.DatasetName);
        Assert.Equal(6, e.Attempts.Count);
        Assert.Equal("mnist: --data not given", e.Attempts[0]);
        Assert.Equal("mnist: VECQ_DATA not set", e.Attempts[1]);
        Assert.StartsWith("mnist: cache ", e.Attempts[2]);
        Assert.StartsWith("mnist: system folder ", e.Attempts[3]);
        Assert.Equal("mnist: download https://example.test/mnist/train-images-idx3-ubyte.gz failed: Name or service not known (example.test:443) (no network connection?)", e.Attempts[4]);
        Assert.Contains("could not download train-images-idx3-ubyte.gz", e.Attempts[5]);
        Assert.StartsWith("mnist not found: mnist: --data not given; ", e.Message);
    }

    [Fact]
    public void DownloadDisabled_IsReported()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var log = new List<string>();
        Assert.False(new DataLocator { SystemDirectory = p.SystemRoot, Report = log.Add, AllowDownload = false }
            .TryLocate(Spec(), out var location, out var steps));
        Assert.Null(location);
        Assert.Equal("mnist: download disabled", steps[^1]);
        Assert.Empty(log);   // the places looked at are in the error (steps), not printed one by one
    }

    [Fact]
    public void CacheRoot_DefaultsToHomeCache_AndVecqCacheOverridesIt()
    {
        using var env = new EnvScope().Set(DataLocator.CacheEnvironmentVariable, null);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "vecq", "datasets"), DataLocator.CacheRoot);
        env.Set(DataLocator.CacheEnvironmentVariable, "/tmp/somewhere");
        Assert.Equal(Path.Combine("/tmp/somewhere", "fashion-mnist"), DataLocator.CacheDirectory("fashion-mnist"));
    }

    private sealed class StubHandler(HttpStatusCode status, byte[] body) : HttpMessageHandler
    {
        public List<Uri> Seen { get; } = [];
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Seen.Add(request.RequestUri!);
            return new HttpResponseMessage(status) { Content = new ByteArrayContent(body) };
        }
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Send(request, cancellationToken));
    }

    [Fact]
    public void HttpDownloader_StreamsTheBody_AndRejectsHttpErrors()
    {
        var body = Enumerable.Range(0, 200_000).Select(i => (byte)i).ToArray();
        var ok = new StubHandler(HttpStatusCode.OK, body);
        using var client = new HttpClient(ok);
        using var dst = new MemoryStream();
        long last = -1;
        DataLocator.HttpDownloader(client)(new Uri("http://stub.test/a.gz"), dst, (got, total) => { last = got; Assert.Equal(body.Length, total); });
        Assert.Equal(body, dst.ToArray());
        Assert.Equal(body.Length, last);

        using var client404 = new HttpClient(new StubHandler(HttpStatusCode.NotFound, []));
        var e = Assert.Throws<HttpRequestException>(() => DataLocator.HttpDownloader(client404)(new Uri("http://stub.test/b.gz"), new MemoryStream(), null));
        Assert.Contains("404", e.Message);
    }

    [Fact]
    public void FullDownloadOfAFashionSplit_ThroughHttpDownloader_EndsInAValidDataset()
    {
        using var p = new Places();
        using var env = EnvScope.Clean(p.CacheRoot);
        var files = new FakeServer(6);
        var handler = new RoutingHandler(files);
        using var client = new HttpClient(handler);
        var spec = MnistDataset.Spec("mnist", DatasetSplit.Train);
        spec = spec with { Files = spec.Files.Select(f => f with { Md5 = null }).ToList() };
        var l = new DataLocator { SystemDirectory = p.SystemRoot, Report = _ => { }, Downloader = DataLocator.HttpDownloader(client) }.Locate(spec);
        var ds = MnistDataset.FromFiles("mnist", DatasetSplit.Train, l.PathOf("train-images-idx3-ubyte.gz"), l.PathOf("train-labels-idx1-ubyte.gz"));
        Assert.Equal(6, ds.Count);
        Assert.All(handler.Seen, u => Assert.StartsWith("https://ossci-datasets.s3.amazonaws.com/mnist/", u.ToString()));
    }

    private sealed class RoutingHandler(FakeServer files) : HttpMessageHandler
    {
        public List<Uri> Seen { get; } = [];
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Seen.Add(request.RequestUri!);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(files[request.RequestUri!.Segments[^1]]) };
        }
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Send(request, cancellationToken));
    }
}
