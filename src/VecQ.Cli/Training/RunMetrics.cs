using System.Globalization;

namespace VecQ.Cli.Training;

/// <summary>One epoch's row of a run's metrics.csv.</summary>
internal sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Lr, double Seconds);

/// <summary>
/// A run folder's `metrics.csv`: one row per finished epoch (train/test loss and accuracy, the lr at the
/// epoch's end, seconds), rewritten whole through a temp file after each epoch; a resumed run keeps the rows
/// of the epochs before the one it resumes.
/// </summary>
internal sealed class RunMetrics
{
    public const string FileName = "metrics.csv";
    public const string Header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds";
    private readonly string _path;
    private readonly List<EpochMetrics> _rows;

    private RunMetrics(string path, List<EpochMetrics> rows) { _path = path; _rows = rows; }

    /// <summary>The rows so far.</summary>
    public IReadOnlyList<EpochMetrics> Rows => _rows;

    /// <summary>The run's metrics, keeping the existing rows of epochs ≤ <paramref name="keepThrough"/> (0: a fresh run).</summary>
    public static RunMetrics Open(string runDir, int keepThrough)
    {
        string path = Path.Combine(runDir, FileName);
        var rows = keepThrough > 0 && File.Exists(path) ? Read(path).Where(r => r.Epoch <= keepThrough).ToList() : new List<EpochMetrics>();
        return new RunMetrics(path, rows);
    }

    /// <summary>Reads a metrics.csv (errors name the file and line).</summary>
    public static List<EpochMetrics> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != Header)
            throw new InvalidDataException($"{path}: not a vecq metrics.csv (expected the header '{Header}')");
        var rows = new List<EpochMetrics>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            double D(int k) => double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v : throw new InvalidDataException($"{path}: line {i + 1}: '{f[k]}' is not a number");
            if (f.Length != 7 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch))
                throw new InvalidDataException($"{path}: line {i + 1}: expected 7 comma-separated fields starting with the epoch");
            rows.Add(new EpochMetrics(epoch, D(1), D(2), D(3), D(4), D(5), D(6)));
        }
        return rows;
    }

    /// <summary>Adds a row and rewrites the file (temp file, then rename).</summary>
    public void Add(EpochMetrics row)
    {
        _rows.RemoveAll(r => r.Epoch >= row.Epoch);
        _rows.Add(row);
        string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var text = new System.Text.StringBuilder(Header).Append('\n');
        foreach (var r in _rows)
            text.Append(CultureInfo.InvariantCulture, $"{r.Epoch},{R(r.TrainLoss)},{R(r.TrainAccuracy)},{R(r.TestLoss)},{R(r.TestAccuracy)},{R(r.Lr)},{R(r.Seconds)}\n");
        string tmp = _path + ".tmp";
        File.WriteAllText(tmp, text.ToString());
        File.Move(tmp, _path, overwrite: true);
    }
}
