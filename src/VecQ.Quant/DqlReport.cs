using System.Globalization;
using System.Text;
using System.Text.Json;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>One row of a <see cref="DqlReport"/>: the losses of one layer's weights under one method and bit width.</summary>
/// <param name="Layer">Parameter name ("conv1.weight").</param>
/// <param name="Method">The method.</param>
/// <param name="Bits">Bit width.</param>
/// <param name="OrientationLoss">J_o = 1 − cos(w, w_q).</param>
/// <param name="ModulusLoss">J_m = |w − w_q|².</param>
/// <param name="Dql">DQL = |w − α v|² (equal to J_m).</param>
/// <param name="NormalizedDql">DQL/|w|².</param>
/// <param name="Lambda">The λ used (units of σ): the tensor's, or per channel the mean over the channels; NaN where the method has none.</param>
/// <param name="LambdaMode">For VecQ, how λ was chosen (λ_k or searched on the layer); Gaussian for the other methods.</param>
/// <example><code>var row = report.Rows[0]; Console.WriteLine($"{row.Layer} {row.MethodName} {row.Bits}: {row.NormalizedDql} at λ {row.Lambda}");</code></example>
public sealed record DqlRow(string Layer, QuantMethod Method, int Bits, double OrientationLoss, double ModulusLoss, double Dql, double NormalizedDql, double Lambda,
    LambdaMode LambdaMode = LambdaMode.Gaussian)
{
    /// <summary>The row's method as <see cref="DqlMethod.Name"/> writes it: "vecq" (λ_k), "vecq-exact" (searched λ), "ul2q", ….</summary>
    public string MethodName => new DqlMethod(Method, LambdaMode).Name;
}

/// <summary>
/// A method of a <see cref="DqlReport"/>: the quantization method and, for VecQ, how λ is chosen, so that a
/// report can hold VecQ at λ_k ("vecq") and at the λ searched on each layer ("vecq-exact") side by side.
/// The λ mode is kept only for VecQ (the other methods have their own fixed rules) and reads Gaussian otherwise.
/// </summary>
/// <example><code>
/// var methods = new[] { DqlMethod.Parse("vecq"), DqlMethod.Parse("vecq-exact"), new DqlMethod(QuantMethod.MuL2Q) };
/// var report = DqlReport.Compute(model, methods, [1, 2, 4]);
/// </code></example>
public readonly record struct DqlMethod
{
    /// <summary>Every name <see cref="Parse"/> accepts, in report order.</summary>
    public static readonly IReadOnlyList<string> Names = ["vecq", "vecq-exact", "ul2q", "twn", "l2", "uniform", "binary"];

    /// <summary>Creates the method (<paramref name="lambdaMode"/> is kept for VecQ only).</summary>
    /// <example><code>var exact = new DqlMethod(QuantMethod.VecQ, LambdaMode.Exact); // "vecq-exact"</code></example>
    public DqlMethod(QuantMethod method, LambdaMode lambdaMode = LambdaMode.Gaussian)
    {
        Method = method;
        LambdaMode = method == QuantMethod.VecQ ? lambdaMode : LambdaMode.Gaussian;
    }

    /// <summary>The quantization method.</summary>
    public QuantMethod Method { get; }

    /// <summary>VecQ's λ mode (Gaussian for the other methods).</summary>
    public LambdaMode LambdaMode { get; }

    /// <summary>"vecq" (λ_k), "vecq-exact" (searched λ), or the method's own name.</summary>
    public string Name => Method == QuantMethod.VecQ && LambdaMode == LambdaMode.Exact ? "vecq-exact" : Method.Name();

    /// <summary>Parses one of <see cref="Names"/> (case-insensitive; the aliases of <see cref="QuantMethods.Parse"/> work too).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists <see cref="Names"/>.</exception>
    /// <example><code>DqlMethod m = DqlMethod.Parse("vecq-exact");</code></example>
    public static DqlMethod Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim().ToLowerInvariant();
        if (n == "vecq-exact") return new DqlMethod(QuantMethod.VecQ, LambdaMode.Exact);
        try { return new DqlMethod(QuantMethods.Parse(n)); }
        catch (ArgumentException) { throw new ArgumentException($"dql method: unknown method '{name}'; expected one of {string.Join(", ", Names)}"); }
    }
}

/// <summary>One row of <see cref="DqlReport.Lambdas"/>: λ_k of the theory against the λ searched on a layer.</summary>
/// <param name="Layer">Parameter name.</param>
/// <param name="Bits">Bit width.</param>
/// <param name="LambdaTheory">λ_k (<see cref="VecQTheory.OptimalLambda"/>).</param>
/// <param name="LambdaActual">λ found by <see cref="VecQTheory.GridSearchLambda"/> on the weights.</param>
/// <param name="OrientationLossTheory">The real J_o of the weights at λ_k.</param>
/// <param name="OrientationLossActual">The real J_o at the searched λ.</param>
/// <example><code>foreach (var r in DqlReport.Lambdas(model, 2)) Console.WriteLine($"{r.Layer}: {r.LambdaTheory} vs {r.LambdaActual}");</code></example>
public sealed record LambdaRow(string Layer, int Bits, double LambdaTheory, double LambdaActual, double OrientationLossTheory, double OrientationLossActual);

/// <summary>
/// Quantization losses of a model's weights (the quantizable ones: conv/linear/embedding/LSTM
/// weights, see <see cref="ModelQuantization.IsQuantizableWeight"/>) per layer, method and bit width:
/// J_o, J_m, DQL and normalised DQL rows, for comparing VecQ with the baselines (VECQ.md §7).
/// Methods that cannot use a bit width (TWN other than 2, binary other than 1) are skipped. VecQ can be
/// reported at λ_k and at the searched λ together (<see cref="DqlMethod"/>: "vecq", "vecq-exact").
/// </summary>
/// <example><code>
/// var report = DqlReport.Compute(model, [QuantMethod.VecQ, QuantMethod.IterativeL2, QuantMethod.Twn], [2, 4, 8]);
/// Console.WriteLine(report.ToText());
/// string json = report.ToJson();   // {"rows":[{"layer":…,"method":…,"bits":…,"orientation_loss":…}]}
/// </code></example>
public sealed class DqlReport
{
    private DqlReport(List<DqlRow> rows) { Rows = rows; }

    /// <summary>The rows, by layer, then method (given order), then bits (given order).</summary>
    public IReadOnlyList<DqlRow> Rows { get; }

    /// <summary>Computes the rows for every quantizable weight of <paramref name="model"/> (VecQ with <paramref name="lambdaMode"/>).</summary>
    /// <example><code>var r = DqlReport.Compute(model, [QuantMethod.VecQ], [2, 3, 4]);</code></example>
    public static DqlReport Compute(Module model, IEnumerable<QuantMethod> methods, IEnumerable<int> bits,
        Granularity granularity = Granularity.PerTensor, LambdaMode lambdaMode = LambdaMode.Gaussian) =>
        Compute(model, ToDql(methods, lambdaMode), bits, granularity);

    /// <summary>Computes the rows for every quantizable weight of <paramref name="model"/>.</summary>
    /// <example><code>var r = DqlReport.Compute(model, [new DqlMethod(QuantMethod.VecQ), new DqlMethod(QuantMethod.VecQ, LambdaMode.Exact)], [2, 4]);</code></example>
    public static DqlReport Compute(Module model, IEnumerable<DqlMethod> methods, IEnumerable<int> bits, Granularity granularity = Granularity.PerTensor)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = model.NamedParameters()
            .Where(e => ModelQuantization.IsQuantizableWeight(e.Name, e.Parameter))
            .Select(e => (e.Name, e.Parameter.Data));
        return Compute(layers, methods, bits, granularity);
    }

    /// <summary>Computes the rows for named float32 tensors (VecQ with <paramref name="lambdaMode"/>).</summary>
    /// <example><code>var r = DqlReport.Compute([("w", tensor)], [QuantMethod.VecQ, QuantMethod.Uniform], [4]);</code></example>
    public static DqlReport Compute(IEnumerable<(string Name, Tensor Weights)> layers, IEnumerable<QuantMethod> methods, IEnumerable<int> bits,
        Granularity granularity = Granularity.PerTensor, LambdaMode lambdaMode = LambdaMode.Gaussian) =>
        Compute(layers, ToDql(methods, lambdaMode), bits, granularity);

    private static IEnumerable<DqlMethod> ToDql(IEnumerable<QuantMethod> methods, LambdaMode lambdaMode) =>
        (methods ?? throw new ArgumentNullException(nameof(methods))).Select(m => new DqlMethod(m, lambdaMode));

    /// <summary>Computes the rows for named float32 tensors.</summary>
    /// <example><code>var r = DqlReport.Compute([("w", tensor)], [DqlMethod.Parse("vecq"), DqlMethod.Parse("vecq-exact")], [2]);</code></example>
    public static DqlReport Compute(IEnumerable<(string Name, Tensor Weights)> layers, IEnumerable<DqlMethod> methods, IEnumerable<int> bits,
        Granularity granularity = Granularity.PerTensor)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var ms = methods?.Distinct().ToList() ?? throw new ArgumentNullException(nameof(methods));
        var bs = bits?.ToList() ?? throw new ArgumentNullException(nameof(bits));
        foreach (int b in bs)
            if (b < 1 || b > WeightQuantizer.MaxBits) throw new ArgumentException($"dql report: bits {b} is out of range 1..{WeightQuantizer.MaxBits}");
        var rows = new List<DqlRow>();
        foreach (var (name, w) in layers)
            foreach (var m in ms)
                foreach (int b in bs)
                {
                    if (m.Method.FixedBits() is int fb && fb != b) continue;
                    using var q = WeightQuantizer.Create(m.Method, b, m.LambdaMode, granularity);
                    var r = q.QuantizeTensor(w);
                    rows.Add(new DqlRow(name, m.Method, b, r.OrientationLoss, r.ModulusLoss, r.Dql, r.NormalizedDql, MeanLambda(r.Groups), m.LambdaMode));
                }
        return new DqlReport(rows);
    }

    /// <summary>The rows of the quantizers attached to <paramref name="model"/>, from their last forward.</summary>
    /// <example><code>model.Eval(); using var _ = model.Forward(x); var r = DqlReport.FromAttached(model);</code></example>
    public static DqlReport FromAttached(Module model)
    {
        var rows = model.WeightQuantizers()
            .Where(e => e.Quantizer.ForwardCount > 0)
            .Select(e => new DqlRow(e.Name, e.Quantizer.Method, e.Quantizer.Bits, e.Quantizer.OrientationLoss, e.Quantizer.ModulusLoss,
                e.Quantizer.Dql, e.Quantizer.NormalizedDql, MeanLambda(e.Quantizer.Groups),
                e.Quantizer is VecQQuantizer v ? v.LambdaMode : LambdaMode.Gaussian))
            .ToList();
        return new DqlReport(rows);
    }

    // the λ of a tensor: its one group's, or the mean over the channels (NaN when the method has none)
    private static double MeanLambda(IReadOnlyList<QuantGroup> groups)
    {
        double sum = 0;
        int n = 0;
        foreach (var g in groups)
            if (double.IsFinite(g.Lambda)) { sum += g.Lambda; n++; }
        return n > 0 ? sum / n : double.NaN;
    }

    /// <summary>λ_k against the λ searched on each quantizable weight of the model ("actual" λ, VECQ.md §2).</summary>
    /// <example><code>var rows = DqlReport.Lambdas(model, 2);</code></example>
    public static IReadOnlyList<LambdaRow> Lambdas(Module model, int bits)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rows = new List<LambdaRow>();
        double theory = VecQTheory.OptimalLambda(bits);
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!ModelQuantization.IsQuantizableWeight(name, p)) continue;
            var w = p.Data.ToArray<float>();
            var search = VecQTheory.GridSearch(w, bits);
            rows.Add(new LambdaRow(name, bits, theory, search.Lambda, VecQTheory.OrientationLossAt(w, bits, theory), search.OrientationLoss));
        }
        return rows;
    }

    /// <summary>A fixed-width text table.</summary>
    /// <example><code>Console.WriteLine(report.ToText());</code></example>
    public string ToText()
    {
        var sb = new StringBuilder();
        int width = Math.Max(5, Rows.Count == 0 ? 5 : Rows.Max(r => r.Layer.Length));
        sb.Append("layer".PadRight(width)).Append("  method      bits  lambda    orientation_loss   modulus_loss        dql                 normalized_dql").AppendLine();
        foreach (var r in Rows)
        {
            sb.Append(r.Layer.PadRight(width)).Append("  ")
              .Append(r.MethodName.PadRight(10)).Append(' ')
              .Append(r.Bits.ToString(CultureInfo.InvariantCulture).PadLeft(4)).Append("  ")
              .Append((double.IsFinite(r.Lambda) ? r.Lambda.ToString("F6", CultureInfo.InvariantCulture) : "-").PadRight(8)).Append("  ")
              .Append(r.OrientationLoss.ToString("E6", CultureInfo.InvariantCulture).PadRight(17)).Append("  ")
              .Append(r.ModulusLoss.ToString("E6", CultureInfo.InvariantCulture).PadRight(18)).Append("  ")
              .Append(r.Dql.ToString("E6", CultureInfo.InvariantCulture).PadRight(18)).Append("  ")
              .Append(r.NormalizedDql.ToString("E6", CultureInfo.InvariantCulture)).AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>
    /// The report as one JSON object {"rows": [{"layer", "method", "bits", "orientation_loss",
    /// "modulus_loss", "dql", "normalized_dql", "lambda"}]} (snake_case, the `vecq dql --json` keys; "method" is
    /// <see cref="DqlRow.MethodName"/>, "lambda" null where the method has none).
    /// </summary>
    /// <example><code>File.WriteAllText("dql.json", report.ToJson());</code></example>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            WriteRows(json);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes the "rows" property into an open JSON object.</summary>
    /// <example><code>json.WriteStartObject(); report.WriteRows(json); json.WriteEndObject();</code></example>
    public void WriteRows(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartArray("rows");
        foreach (var r in Rows)
        {
            json.WriteStartObject();
            json.WriteString("layer", r.Layer);
            json.WriteString("method", r.MethodName);
            json.WriteNumber("bits", r.Bits);
            WriteNumber(json, "orientation_loss", r.OrientationLoss);
            WriteNumber(json, "modulus_loss", r.ModulusLoss);
            WriteNumber(json, "dql", r.Dql);
            WriteNumber(json, "normalized_dql", r.NormalizedDql);
            WriteNumber(json, "lambda", r.Lambda);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }
}
