using System.Text.Json;
using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>The per-layer DQL report and the λ report.</summary>
public sealed class DqlReportTests
{
    [Fact]
    public void Compute_RowsPerLayerMethodAndBits_SkippingUnsupportedWidths()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(2));
        var methods = new[] { QuantMethod.VecQ, QuantMethod.IterativeL2, QuantMethod.Twn, QuantMethod.Binary };
        var report = DqlReport.Compute(model, methods, [1, 2, 4]);
        // per layer: vecq ×3, l2 ×3, twn ×1 (2 bits), binary ×1 (1 bit)
        Assert.Equal(4 * 8, report.Rows.Count);
        Assert.Equal(["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"], report.Rows.Select(r => r.Layer).Distinct());
        foreach (var r in report.Rows)
        {
            Assert.Equal(r.ModulusLoss, r.Dql);
            Assert.InRange(r.NormalizedDql, 0, 1);
            Assert.InRange(r.OrientationLoss, 0, 1);
        }
        // the same numbers as quantizing directly
        var fc1 = model.NamedParameters().First(e => e.Name == "fc1.weight").Parameter.Data;
        var direct = new VecQQuantizer(4).QuantizeTensor(fc1);
        var row = report.Rows.Single(r => r.Layer == "fc1.weight" && r.Method == QuantMethod.VecQ && r.Bits == 4);
        Assert.Equal(direct.NormalizedDql, row.NormalizedDql);
        Assert.Equal(direct.OrientationLoss, row.OrientationLoss);
        // L2 never above its VecQ start
        foreach (var l2 in report.Rows.Where(r => r.Method == QuantMethod.IterativeL2))
            Assert.True(l2.Dql <= report.Rows.Single(r => r.Layer == l2.Layer && r.Bits == l2.Bits && r.Method == QuantMethod.VecQ).Dql * (1 + 1e-6));
    }

    [Fact]
    public void ToJson_HasTheCliKeys_AndToTextHasOneLinePerRow()
    {
        using var w = Tensor.FromArray(TestData.Gaussian(300, 4), [10, 30]);
        var report = DqlReport.Compute([("w", w)], [QuantMethod.VecQ, QuantMethod.Uniform], [2, 8]);
        using var doc = JsonDocument.Parse(report.ToJson());
        var rows = doc.RootElement.GetProperty("rows");
        Assert.Equal(4, rows.GetArrayLength());
        var first = rows[0];
        foreach (var key in new[] { "layer", "method", "bits", "orientation_loss", "modulus_loss", "dql", "normalized_dql" })
            Assert.True(first.TryGetProperty(key, out _), $"missing key {key}");
        Assert.Equal("vecq", first.GetProperty("method").GetString());
        Assert.Equal(JsonValueKind.Null, rows[2].GetProperty("lambda").ValueKind);   // uniform has no λ
        Assert.Equal(5, report.ToText().Trim().Split('\n').Length);
        Assert.Throws<ArgumentException>(() => DqlReport.Compute([("w", w)], [QuantMethod.VecQ], [0]));
    }

    [Fact]
    public void Compute_VecQAtBothLambdas_NamesThemApart_AndRowsCarryTheLambdaUsed()
    {
        using var w = Tensor.FromArray(TestData.Laplace(4000, 12), [8, 500]);
        var methods = new[] { DqlMethod.Parse("vecq"), DqlMethod.Parse("vecq-exact"), DqlMethod.Parse("ul2q"), DqlMethod.Parse("vecq") };
        var report = DqlReport.Compute([("w", w)], methods, [1, 3]);
        Assert.Equal(["vecq", "vecq", "vecq-exact", "vecq-exact", "ul2q", "ul2q"], report.Rows.Select(r => r.MethodName));   // duplicates dropped
        var values = w.ToArray();
        var gauss = report.Rows.Single(r => r.MethodName == "vecq" && r.Bits == 3);
        var exact = report.Rows.Single(r => r.MethodName == "vecq-exact" && r.Bits == 3);
        Assert.Equal(VecQTheory.OptimalLambda(3), gauss.Lambda);
        Assert.Equal(new VecQQuantizer(3, LambdaMode.Exact).Quantize(values).Lambda, exact.Lambda);
        Assert.True(exact.OrientationLoss < gauss.OrientationLoss, "the searched λ has the lower J_o on Laplace weights");
        Assert.Equal(VecQTheory.OptimalMuL2QLambda(1), report.Rows.Single(r => r.MethodName == "ul2q" && r.Bits == 1).Lambda);
        using (var doc = JsonDocument.Parse(report.ToJson()))
            Assert.Equal(["vecq", "vecq", "vecq-exact", "vecq-exact", "ul2q", "ul2q"], doc.RootElement.GetProperty("rows").EnumerateArray().Select(x => x.GetProperty("method").GetString()));
        Assert.Contains("vecq-exact", report.ToText());

        // per channel: the λ of a row is the mean over the channels
        var perChannel = DqlReport.Compute([("w", w)], [DqlMethod.Parse("vecq-exact")], [3], Granularity.PerChannel).Rows.Single();
        Assert.Equal(new VecQQuantizer(3, LambdaMode.Exact, Granularity.PerChannel).QuantizeTensor(w).Groups.Average(g => g.Lambda), perChannel.Lambda, 12);

        // the λ mode is kept for VecQ only; names parse case-insensitively and unknown ones list the valid names
        Assert.Equal(new DqlMethod(QuantMethod.Twn), new DqlMethod(QuantMethod.Twn, LambdaMode.Exact));
        Assert.Equal("vecq-exact", DqlMethod.Parse("VecQ-Exact").Name);
        Assert.Contains("vecq-exact", Assert.Throws<ArgumentException>(() => DqlMethod.Parse("vecq-magic")).Message);
        Assert.Equal(DqlMethod.Names, DqlMethod.Names.Select(n => DqlMethod.Parse(n).Name));
    }

    [Fact]
    public void FromAttached_ReportsTheLastForward_AndLambdasCompareTheoryWithActual()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(6));
        model.Quantize(new QuantizeConfig { WeightBits = 3 });
        Assert.Empty(DqlReport.FromAttached(model).Rows);
        model.Eval();
        using (var x = new Variable(Tensor.RandN([2, 1, 28, 28], new Rng(1))))
        using (var y = model.Forward(x)) { }
        var rows = DqlReport.FromAttached(model).Rows;
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal(3, r.Bits));

        var lambdas = DqlReport.Lambdas(model, 2);
        Assert.Equal(4, lambdas.Count);
        foreach (var l in lambdas)
        {
            Assert.Equal(VecQTheory.OptimalLambda(2), l.LambdaTheory);
            Assert.InRange(l.LambdaActual, 0.001, 3);
            Assert.True(l.OrientationLossActual <= l.OrientationLossTheory + 1e-12);
        }
    }
}
