using System.CommandLine;
using System.Globalization;
using System.Text;
using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Quant;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq theory`: λ_k, E[J_o] at λ_k and the expected normalised DQL per bit width (computed by
/// <see cref="VecQTheory"/>), and μL2Q's own λ (the minimiser of E[(t − λv)²]); with a checkpoint also the
/// "actual" λ searched on each layer's weights.
/// </summary>
internal static class TheoryCommand
{
    public static Command Build(Output output)
    {
        var bits = new Option<string>("--bits") { Description = "bit widths: a list or range, e.g. 2,3,4 or 2-8 (1..8)", DefaultValueFactory = _ => "2-8" };
        var csv = new Option<string?>("--csv") { Description = "also write the table(s) as CSV to this file" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "a checkpoint: compare λ_k with the λ searched on each conv/linear weight" };
        var plot = new Option<string?>("--plot") { Description = "also draw E[J_o] against λ per bit width (with λ_k and any layer's actual λ) as a PNG" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var cmd = new Command("theory", "optimal step λ_k, expected orientation loss and DQL per bit width") { bits, csv, checkpoint, plot, json };
        cmd.SetAction(p =>
        {
            var ks = CheckpointModel.ParseBits("--bits", p.GetValue(bits)!, 1, VecQTheory.MaxOptimizedBits);
            string? csvPath = p.GetValue(csv);
            if (csvPath is not null && (string.IsNullOrWhiteSpace(csvPath) || Directory.Exists(csvPath)))
                throw new OptionException($"--csv '{csvPath}': expected a file path");
            string? plotPath = p.GetValue(plot);
            if (plotPath is not null && (string.IsNullOrWhiteSpace(plotPath) || Directory.Exists(plotPath) || !plotPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)))
                throw new OptionException($"--plot '{plotPath}': expected a .png file path");
            string? ckpt = p.GetValue(checkpoint);
            if (ckpt is not null && !File.Exists(ckpt)) throw new OptionException($"--checkpoint {ckpt}: file not found");

            var lambdas = ks.Select(k => (Bits: k, Lambda: VecQTheory.OptimalLambda(k),
                Jo: VecQTheory.ExpectedOrientationLoss(k), Dql: VecQTheory.ExpectedNormalizedDql(k), MuL2Q: VecQTheory.OptimalMuL2QLambda(k))).ToList();
            var ci = CultureInfo.InvariantCulture;
            output.Out.WriteLine("bits  lambda_k    E[J_o]        E[DQL]/|w|^2  lambda_ul2q");
            foreach (var r in lambdas)
                output.Out.WriteLine(string.Format(ci, "{0,4}  {1,-10:F6}  {2,-12:E4}  {3,-12:E4}  {4:F6}{5}", r.Bits, r.Lambda, r.Jo, r.Dql, r.MuL2Q, r.Bits == 1 ? "  (k = 1: VecQ's J_o does not depend on λ)" : ""));

            var layers = new List<LambdaRow>();
            if (ckpt is not null)
            {
                var (model, _, _, _) = CheckpointModel.Load(ckpt, attachWeights: false);
                foreach (int k in ks) layers.AddRange(DqlReport.Lambdas(model, k));
                layers = layers.OrderBy(r => r.Layer, StringComparer.Ordinal).ThenBy(r => r.Bits).ToList();
                output.Out.WriteLine();
                output.Out.WriteLine($"layers of {ckpt}: theory λ_k against the λ minimising the real J_o (grid 0.001..3)");
                output.Out.WriteLine("layer              bits  lambda_theory  lambda_actual  J_o(theory)   J_o(actual)");
                foreach (var r in layers)
                    output.Out.WriteLine(string.Format(ci, "{0,-18} {1,4}  {2,-13:F4}  {3,-13:F3}  {4,-12:E4}  {5:E4}", r.Layer, r.Bits, r.LambdaTheory, r.LambdaActual, r.OrientationLossTheory, r.OrientationLossActual));
            }

            if (csvPath is not null)
            {
                var sb = new StringBuilder("table,layer,bits,lambda,lambda_actual,orientation_loss,orientation_loss_actual,normalized_dql,lambda_ul2q\n");
                foreach (var r in lambdas)
                    sb.Append(ci, $"theory,,{r.Bits},{r.Lambda:R},,{r.Jo:R},,{r.Dql:R},{r.MuL2Q:R}\n");
                foreach (var r in layers)
                    sb.Append(ci, $"layer,{r.Layer},{r.Bits},{r.LambdaTheory:R},{r.LambdaActual:R},{r.OrientationLossTheory:R},{r.OrientationLossActual:R},,\n");
                AtomicFile.WriteText(csvPath, sb.ToString());
                output.Out.WriteLine($"wrote {csvPath}");
            }

            if (plotPath is not null)
            {
                AtomicFile.Write(plotPath, s => s.Write(Plot(ks, layers)));
                output.Out.WriteLine($"wrote {plotPath}");
            }

            if (p.GetValue(json))
            {
                var fields = new Dictionary<string, object?>
                {
                    ["lambdas"] = lambdas.Select(r => new Dictionary<string, object>
                    {
                        ["bits"] = r.Bits, ["lambda"] = r.Lambda, ["orientation_loss"] = r.Jo, ["normalized_dql"] = r.Dql, ["lambda_ul2q"] = r.MuL2Q,
                    }).ToList(),
                };
                if (ckpt is not null)
                {
                    fields["checkpoint"] = ckpt;
                    fields["layers"] = layers.Select(r => new Dictionary<string, object>
                    {
                        ["name"] = r.Layer, ["bits"] = r.Bits, ["lambda_theory"] = r.LambdaTheory, ["lambda_actual"] = r.LambdaActual,
                        ["orientation_loss_theory"] = r.OrientationLossTheory, ["orientation_loss_actual"] = r.OrientationLossActual,
                    }).ToList();
                }
                if (csvPath is not null) fields["csv"] = csvPath;
                if (plotPath is not null) fields["plot"] = plotPath;
                JsonLine.Write(output.Out, fields);
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>PNG bytes: log10 E[J_o](λ) per bit width, λ_k marked, and the layers' (λ_actual, real J_o) points.</summary>
    private static byte[] Plot(int[] ks, List<LambdaRow> layers)
    {
        var plt = new ScottPlot.Plot();
        const int points = 400;
        foreach (int k in ks.Where(k => k >= 2))
        {
            double lk = VecQTheory.OptimalLambda(k);
            double hi = Math.Min(3.0, 4 * lk);
            var xs = new double[points];
            var ys = new double[points];
            for (int i = 0; i < points; i++)
            {
                xs[i] = hi * (i + 1) / points;
                ys[i] = Math.Log10(VecQTheory.ExpectedOrientationLoss(k, xs[i]));
            }
            var line = plt.Add.ScatterLine(xs, ys);
            line.LegendText = $"{k} bits (λ_k = {lk.ToString("F4", CultureInfo.InvariantCulture)})";
            var mark = plt.Add.Markers(new[] { lk }, new[] { Math.Log10(VecQTheory.ExpectedOrientationLoss(k)) });
            mark.MarkerSize = 9;
            mark.Color = line.Color;
        }
        if (layers.Count > 0)
        {
            var actual = plt.Add.Markers(layers.Select(r => r.LambdaActual).ToArray(), layers.Select(r => Math.Log10(Math.Max(r.OrientationLossActual, 1e-12))).ToArray());
            actual.MarkerShape = ScottPlot.MarkerShape.OpenTriangleUp;
            actual.MarkerSize = 8;
            actual.Color = ScottPlot.Colors.Black;
            actual.LegendText = "layers: actual λ, real J_o";
        }
        plt.Title("VecQ: expected orientation loss against the step λ (units of σ)");
        plt.XLabel("λ");
        plt.YLabel("log10 E[J_o]");
        plt.ShowLegend();
        return plt.GetImage(900, 600).GetImageBytes(ScottPlot.ImageFormat.Png, 100);
    }
}
