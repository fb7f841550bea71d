using System.CommandLine;
using VecQ.Cli.Training;

namespace VecQ.Cli.Commands;

/// <summary>`vecq plot RUN_DIR`: the training curves of a run folder (its metrics.csv) as a PNG.</summary>
internal static class PlotCommand
{
    public static Command Build(Output output)
    {
        var run = new Argument<string>("run-dir") { Description = "a run folder written by vecq train (holds metrics.csv)" };
        var outPng = new Option<string?>("--out") { Description = "PNG to write (default RUN_DIR/curves.png)" };
        var cmd = new Command("plot", "draw a run's training curves (accuracy and loss per epoch) as a PNG") { run, outPng };
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(run)!;
            string csv = Path.Combine(dir, RunMetrics.FileName);
            if (!File.Exists(csv)) throw new OptionException($"plot {dir}: no {RunMetrics.FileName} there (is it a vecq train --out folder?)");
            string png = p.GetValue(outPng) ?? Path.Combine(dir, "curves.png");
            CurvePlot.Write(RunMetrics.Read(csv), png, $"training curves: {Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'))}");
            output.Out.WriteLine($"wrote {png}");
            return 0;
        });
        return cmd;
    }
}
