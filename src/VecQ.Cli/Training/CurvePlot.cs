namespace VecQ.Cli.Training;

/// <summary>The training curves of a run (from its metrics.csv) as a PNG: accuracy and loss per epoch, train and test.</summary>
internal static class CurvePlot
{
    /// <summary>Draws <paramref name="rows"/> into <paramref name="png"/> (temp file, then rename).</summary>
    public static void Write(IReadOnlyList<EpochMetrics> rows, string png, string title)
    {
        if (rows.Count == 0) throw new InvalidDataException($"{png}: no finished epoch to plot");
        var plt = new ScottPlot.Plot();
        double[] x = rows.Select(r => (double)r.Epoch).ToArray();
        void Line(double[] y, string label, bool right, ScottPlot.LinePattern pattern)
        {
            var s = plt.Add.Scatter(x, y);
            s.LegendText = label;
            s.LinePattern = pattern;
            if (right) s.Axes.YAxis = plt.Axes.Right;
        }
        Line(rows.Select(r => 100 * r.TrainAccuracy).ToArray(), "train accuracy (%)", false, ScottPlot.LinePattern.Dashed);
        Line(rows.Select(r => 100 * r.TestAccuracy).ToArray(), "test accuracy (%)", false, ScottPlot.LinePattern.Solid);
        Line(rows.Select(r => r.TrainLoss).ToArray(), "train loss", true, ScottPlot.LinePattern.Dashed);
        Line(rows.Select(r => r.TestLoss).ToArray(), "test loss", true, ScottPlot.LinePattern.Solid);
        plt.Title(title);
        plt.XLabel("epoch");
        plt.Axes.Left.Label.Text = "accuracy (%)";
        plt.Axes.Right.Label.Text = "cross-entropy";
        plt.ShowLegend();
        string tmp = png + ".tmp";
        File.WriteAllBytes(tmp, plt.GetImage(900, 600).GetImageBytes(ScottPlot.ImageFormat.Png, 100));
        File.Move(tmp, png, overwrite: true);
    }
}
