using System.CommandLine;
using System.Globalization;
using VecQ.Autograd;
using VecQ.Cli.Training;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq summary --model NAME`: the model's layers in order with their output shapes (from one traced forward
/// of a zero batch of one, in evaluation mode) and parameter counts, like Keras's model.summary().
/// </summary>
internal static class SummaryCommand
{
    public static Command Build(Output output)
    {
        var model = new Option<string>("--model") { Description = $"model: {string.Join(", ", ModelFactory.Names)}", DefaultValueFactory = _ => "lenet5" };
        var classes = new Option<int?>("--classes") { Description = "number of classes (default 10 for lenet5 and vgg-like, 1000 for the ImageNet models)" };
        var size = new Option<int?>("--image-size") { Description = "input height and width (default: the model's reference input)" };
        var channels = new Option<int?>("--channels") { Description = "input channels (default 3; lenet5 1)" };
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object (layers, parameters, weights)" };
        var cmd = new Command("summary", "print a model's layers, output shapes and parameter counts") { model, classes, size, channels, json };
        cmd.SetAction(p =>
        {
            string name = p.GetValue(model)!;
            if (!ModelFactory.Names.Contains(name)) throw new OptionException($"--model '{name}': expected one of {string.Join(", ", ModelFactory.Names)}");
            int k = p.GetValue(classes) ?? ModelFactory.DefaultClasses(name);
            if (k < 2) throw new OptionException($"--classes {k}: expected an integer >= 2");
            var config = ModelFactory.DefaultConfig(name, k, p.GetValue(size), p.GetValue(channels));
            using var net = ModelFactory.Build(config, new Rng(1));
            var s = Summarize(net, ModelFactory.InputShape(config));
            output.Out.WriteLine($"{name}: input [1, {string.Join(", ", ModelFactory.InputShape(config))}]");
            output.Out.WriteLine($"{"layer",-28} {"type",-22} {"output shape",-20} {"parameters",12}");
            foreach (var l in s.Layers)
                output.Out.WriteLine($"{l.Name,-28} {l.Type,-22} {(l.OutputShape is { } o ? Shape.Format(o) : "-"),-20} {l.Parameters,12:N0}");
            output.Out.WriteLine($"parameters: {s.Parameters:N0} (trainable {s.Trainable:N0}); weights of conv/linear/embedding layers (with biases): {s.Weights:N0}");
            if (p.GetValue(json))
                JsonLine.Write(output.Out, new Dictionary<string, object?>
                {
                    ["model"] = name, ["input_shape"] = new[] { 1 }.Concat(ModelFactory.InputShape(config)).ToArray(),
                    ["layers"] = s.Layers.Select(l => new Dictionary<string, object?>
                    {
                        ["name"] = l.Name, ["type"] = l.Type, ["output_shape"] = l.OutputShape, ["parameters"] = l.Parameters,
                    }).ToList(),
                    ["parameters"] = s.Parameters, ["trainable_parameters"] = s.Trainable, ["weights"] = s.Weights,
                    ["buffers"] = s.Buffers,
                });
            return 0;
        });
        return cmd;
    }

    /// <summary>One row: a layer (a module without children) by its dotted name.</summary>
    public sealed record LayerRow(string Name, string Type, int[]? OutputShape, long Parameters);

    /// <summary>The whole summary.</summary>
    public sealed record ModelSummary(IReadOnlyList<LayerRow> Layers, long Parameters, long Trainable, long Weights, long Buffers);

    /// <summary>Traces one forward of zeros shaped [1, …input] and counts parameters per layer.</summary>
    public static ModelSummary Summarize(Module net, int[] input)
    {
        net.Eval();
        var shapes = new Dictionary<Module, int[]>(ReferenceEqualityComparer.Instance);
        using (Autograd.Autograd.NoGrad())
        using (TensorScope.Begin())
        using (var trace = ModuleTrace.Begin())
        {
            net.Forward(new Variable(Tensor.Zeros([1, .. input])));
            foreach (var (m, shape) in trace.Calls) shapes.TryAdd(m, shape);
        }
        var rows = new List<LayerRow>();
        long weights = 0;
        foreach (var (name, m) in net.NamedModules())
        {
            if (m.Children().Any()) continue;
            long count = m.NamedParameters().Sum(e => (long)e.Parameter.Data.Numel);
            rows.Add(new LayerRow(name, m.GetType().Name, shapes.GetValueOrDefault(m), count));
            if (m is Conv2d or Linear) weights += count;
        }
        return new ModelSummary(rows, net.ParameterCount(), net.Parameters().Where(q => q.RequiresGrad).Sum(q => (long)q.Data.Numel), weights,
            net.NamedBuffers().Sum(b => (long)b.Buffer.Value.Numel));
    }
}
