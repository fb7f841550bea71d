using System.CommandLine;
using System.Globalization;
using VecQ.Cli.Training;
using VecQ.Quant;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq dql --checkpoint F`: J_o, J_m, DQL and normalised DQL of every conv/linear weight of a
/// checkpoint under VecQ and the baselines (<see cref="DqlReport"/>), per bit width.
/// </summary>
internal static class DqlCommand
{
    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a .safetensors checkpoint written by vecq train", Required = true };
        var bits = new Option<string>("--bits") { Description = "bit widths: a list or range, e.g. 2,3,4,8 (1..16)", DefaultValueFactory = _ => "2,3,4,8" };
        var methods = new Option<string>("--methods") { Description = "methods: vecq,ul2q,twn,l2,uniform,binary", DefaultValueFactory = _ => string.Join(",", QuantMethods.Names) };
        var lambda = new Option<string>("--lambda") { Description = "VecQ step: gaussian (λ_k) or exact (searched per layer)", DefaultValueFactory = _ => "gaussian" };
        var granularity = new Option<string>("--granularity") { Description = "tensor or channel", DefaultValueFactory = _ => "tensor" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var cmd = new Command("dql", "quantization losses (J_o, J_m, DQL) per layer of VecQ against the baselines") { checkpoint, bits, methods, lambda, granularity, json };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!;
            var ks = CheckpointModel.ParseBits("--bits", p.GetValue(bits)!, 1, 16);
            var names = p.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (names.Length == 0) throw new OptionException($"--methods '{p.GetValue(methods)}': expected at least one of {string.Join(", ", QuantMethods.Names)}");
            var ms = names.Select(n => QuantSpec.ParseMethod("--methods", n)).Distinct().ToList();
            var mode = QuantSpec.ParseLambda(p.GetValue(lambda)!);
            var gran = QuantSpec.ParseGranularity(p.GetValue(granularity)!);
            if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");

            foreach (var m in ms)
                foreach (int k in ks)
                    if (m.FixedBits() is int fb && fb != k)
                        output.Err.WriteLine($"note: skipping {m.Name()} at {k} bits ({m.Name()} supports only {fb} bit{(fb == 1 ? "" : "s")})");
            var (model, _, _, _) = CheckpointModel.Load(path, attachWeights: false);
            var report = DqlReport.Compute(model, ms, ks, gran, mode);
            var ci = CultureInfo.InvariantCulture;
            output.Out.WriteLine($"{path}: λ {(mode == LambdaMode.Exact ? "exact" : "gaussian")}, {(gran == Granularity.PerChannel ? "per channel" : "per tensor")}");
            output.Out.WriteLine("layer              method   bits  J_o           J_m           DQL/|w|^2");
            foreach (var r in report.Rows)
                output.Out.WriteLine(string.Format(ci, "{0,-18} {1,-8} {2,4}  {3,-12:E4}  {4,-12:E4}  {5:E4}", r.Layer, r.Method.Name(), r.Bits, r.OrientationLoss, r.ModulusLoss, r.NormalizedDql));
            if (p.GetValue(json))
                JsonLine.Write(output.Out, new Dictionary<string, object?>
                {
                    ["checkpoint"] = path,
                    ["lambda_mode"] = mode == LambdaMode.Exact ? "exact" : "gaussian",
                    ["rows"] = report.Rows.Select(r => new Dictionary<string, object>
                    {
                        ["layer"] = r.Layer, ["method"] = r.Method.Name(), ["bits"] = r.Bits,
                        ["orientation_loss"] = r.OrientationLoss, ["modulus_loss"] = r.ModulusLoss,
                        ["dql"] = r.Dql, ["normalized_dql"] = r.NormalizedDql,
                    }).ToList(),
                });
            return 0;
        });
        return cmd;
    }
}
