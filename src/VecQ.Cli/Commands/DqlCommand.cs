using System.CommandLine;
using System.Globalization;
using VecQ.Cli.Training;
using VecQ.Quant;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq dql --checkpoint F`: J_o, J_m, DQL and normalised DQL of every conv/linear weight of a
/// checkpoint under VecQ and the baselines (<see cref="DqlReport"/>), per bit width. VecQ appears twice
/// by default: "vecq" at λ_k and "vecq-exact" at the λ searched on each layer; every row carries the λ used.
/// </summary>
internal static class DqlCommand
{
    public static Command Build(Output output)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a .safetensors checkpoint written by vecq train", Required = true };
        var bits = new Option<string>("--bits") { Description = "bit widths: a list or range, e.g. 2,3,4,8 (1..16)", DefaultValueFactory = _ => "2,3,4,8" };
        var methods = new Option<string>("--methods")
        {
            Description = "methods: vecq (λ_k), vecq-exact (λ searched per layer), ul2q, twn, l2, uniform, binary",
            DefaultValueFactory = _ => string.Join(",", DqlMethod.Names),
        };
        var lambda = new Option<string?>("--lambda") { Description = "replaced by --methods vecq / vecq-exact", Hidden = true };
        var granularity = new Option<string>("--granularity") { Description = "tensor or channel", DefaultValueFactory = _ => "tensor" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object of results" };
        var cmd = new Command("dql", "quantization losses (J_o, J_m, DQL) per layer of VecQ against the baselines") { checkpoint, bits, methods, lambda, granularity, json };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(checkpoint)!;
            if (p.GetValue(lambda) is string l)
                throw new OptionException($"--lambda '{l}': vecq dql reports VecQ at both λ; choose with --methods vecq (λ_k) and/or vecq-exact (λ searched per layer)");
            var ks = CheckpointModel.ParseBits("--bits", p.GetValue(bits)!, 1, 16);
            var ms = ParseMethods(p.GetValue(methods)!);
            var gran = QuantSpec.ParseGranularity(p.GetValue(granularity)!);
            if (!File.Exists(path)) throw new OptionException($"--checkpoint {path}: file not found");

            foreach (var m in ms)
                foreach (int k in ks)
                    if (m.Method.FixedBits() is int fb && fb != k)
                        output.Err.WriteLine($"note: skipping {m.Name} at {k} bits ({m.Name} supports only {fb} bit{(fb == 1 ? "" : "s")})");
            var (model, _, _, _) = CheckpointModel.Load(path, attachWeights: false);
            var report = DqlReport.Compute(model, ms, ks, gran);
            var ci = CultureInfo.InvariantCulture;
            output.Out.WriteLine($"{path}: {(gran == Granularity.PerChannel ? "per channel (λ: mean over channels)" : "per tensor")}; vecq at λ_k, vecq-exact at the λ searched per layer");
            output.Out.WriteLine("layer              method      bits  lambda    J_o           J_m           DQL/|w|^2");
            foreach (var r in report.Rows)
                output.Out.WriteLine(string.Format(ci, "{0,-18} {1,-11} {2,4}  {3,-8}  {4,-12:E4}  {5,-12:E4}  {6:E4}",
                    r.Layer, r.MethodName, r.Bits, double.IsFinite(r.Lambda) ? r.Lambda.ToString("F4", ci) : "-", r.OrientationLoss, r.ModulusLoss, r.NormalizedDql));
            if (p.GetValue(json))
                JsonLine.Write(output.Out, new Dictionary<string, object?>
                {
                    ["checkpoint"] = path,
                    ["granularity"] = gran == Granularity.PerChannel ? "channel" : "tensor",
                    ["rows"] = report.Rows.Select(r => new Dictionary<string, object?>
                    {
                        ["layer"] = r.Layer, ["method"] = r.MethodName, ["bits"] = r.Bits,
                        ["lambda"] = double.IsFinite(r.Lambda) ? r.Lambda : null,
                        ["orientation_loss"] = r.OrientationLoss, ["modulus_loss"] = r.ModulusLoss,
                        ["dql"] = r.Dql, ["normalized_dql"] = r.NormalizedDql,
                    }).ToList(),
                });
            return 0;
        });
        return cmd;
    }

    /// <summary>Parses the --methods list (names of <see cref="DqlMethod.Names"/>); errors name the option and the bad entry.</summary>
    public static List<DqlMethod> ParseMethods(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new OptionException($"--methods '{text}': expected at least one of {string.Join(", ", DqlMethod.Names)}");
        var result = new List<DqlMethod>();
        foreach (var n in names)
        {
            DqlMethod m;
            try { m = DqlMethod.Parse(n); }
            catch (ArgumentException) { throw new OptionException($"--methods '{n}': expected one of {string.Join(", ", DqlMethod.Names)}"); }
            if (!result.Contains(m)) result.Add(m);
        }
        return result;
    }
}
