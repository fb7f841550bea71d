namespace VecQ.Datasets;

/// <summary>
/// A dataset file is corrupt, truncated or inconsistent. The message starts with the file's path
/// and says what was wrong, e.g.
/// "/data/train-images-idx3-ubyte.gz: truncated: header says 60000×28×28 = 47040000 bytes of data, file has 1234".
/// (<see cref="InvalidDataException"/> is sealed, so this derives from <see cref="IOException"/>;
/// a gzip decoding error is wrapped, with the original as the inner exception.)
/// </summary>
/// <example><code>
/// try { var a = IdxReader.Read(path); }
/// catch (DatasetException e) { Console.Error.WriteLine(e.Message); } // names the file and the problem
/// </code></example>
public class DatasetException : IOException
{
    /// <summary>Creates the error for <paramref name="path"/>; the message becomes "path: problem".</summary>
    public DatasetException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file (or embedded resource, or other source name) the problem is in.</summary>
    public string FilePath { get; }

    /// <summary>What was wrong, without the path.</summary>
    public string Problem { get; }
}

/// <summary>
/// A dataset was not found in any of the places <see cref="DataLocator"/> looks, and could not be
/// downloaded. The message lists every place tried and why each failed.
/// </summary>
public sealed class DatasetNotFoundException : IOException
{
    /// <summary>Creates the error for dataset <paramref name="name"/> with the outcome of each step.</summary>
    public DatasetNotFoundException(string name, IReadOnlyList<string> attempts)
        : base($"{name} not found: {string.Join("; ", attempts)}")
    {
        DatasetName = name;
        Attempts = attempts;
    }

    /// <summary>The dataset's name (e.g. "fashion-mnist").</summary>
    public string DatasetName { get; }

    /// <summary>One line per place tried, in search order, saying why it was not used.</summary>
    public IReadOnlyList<string> Attempts { get; }
}
