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
        var vocab = TextOptions.VocabSize();
        var seqLen = TextOptions.SeqLen();
        var json = new Option<bool>("--json") { Description = "end stdout with one JSON object (layers, parameters, weights)" };
        var cmd = new Command("summary", "print a model's layers, output shapes and parameter counts") { model, classes, size, channels, vocab, seqLen, json };
        cmd.SetAction(p =>
        {
            string name = p.GetValue(model)!;
            if (!ModelFactory.Names.Contains(name)) throw new OptionException($"--model '{name}': expected one of {string.Join(", ", ModelFactory.Names)}");
            int k = p.GetValue(classes) ?? ModelFactory.DefaultClasses(name);
            if (k < 2) throw new OptionException($"--classes {k}: expected an integer >= 2");
            var config = ModelFactory.IsText(name) && p.GetValue(size) is null && p.GetValue(channels) is null
                ? ModelFactory.TextConfig(name, k, p.GetValue(vocab), p.GetValue(seqLen))
                : ModelFactory.DefaultConfig(name, k, p.GetValue(size), p.GetValue(channels));
            using var net = ModelFactory.Build(config, new Rng(1));
            var s = Summarize(net, ModelFactory.InputShape(config), ModelFactory.InputDType(config));
            output.Out.WriteLine($"{name}: input [1, {string.Join(", ", ModelFactory.InputShape(config))}]");
            output.Out.WriteLine($"{"layer",-28} {"type",-22} {"output shape",-20} {"parameters",12}");
            foreach (var l in s.Layers)
                output.Out.WriteLine($"{l.Name,-28} {l.Type,-22} {(l.OutputShape is { } o ? Shape.Format(o) : "-"),-20} {l.Parameters,12:N0}");
            output.Out.WriteLine($"parameters: {s.Parameters:N0} (trainable {s.Trainable:N0}); weights of conv/linear/embedding/LSTM layers (with biases): {s.Weights:N0}");
            if (s.KerasParameters != s.Parameters)
                output.Out.WriteLine($"Keras's count (one LSTM bias per layer instead of PyTorch's b_ih and b_hh, which this model has): {s.KerasParameters:N0}");
            if (p.GetValue(json))
                JsonLine.Write(output.Out, new Dictionary<string, object?>
                {
                    ["model"] = name, ["input_shape"] = new[] { 1 }.Concat(ModelFactory.InputShape(config)).ToArray(),
                    ["layers"] = s.Layers.Select(l => new Dictionary<string, object?>
                    {
                        ["name"] = l.Name, ["type"] = l.Type, ["output_shape"] = l.OutputShape, ["parameters"] = l.Parameters,
                    }).ToList(),
                    ["parameters"] = s.Parameters, ["trainable_parameters"] = s.Trainable, ["weights"] = s.Weights, ["keras_parameters"] = s.KerasParameters,
                    ["buffers"] = s.Buffers,
                });
            return 0;
        });
        return cmd;
    }

    /// <summary>One row: a layer (a module without children) by its dotted name.</summary>
    public sealed record LayerRow(string Name, string Type, int[]? OutputShape, long Parameters);

    /// <summary>The whole summary; KerasParameters counts one LSTM bias per layer and direction (Keras's form) where the model has two.</summary>
    public sealed record ModelSummary(IReadOnlyList<LayerRow> Layers, long Parameters, long Trainable, long Weights, long Buffers, long KerasParameters);

    /// <summary>Traces one forward of zeros shaped [1, …input] (of <paramref name="dtype"/>: int32 token ids for text models) and counts parameters per layer.</summary>
    public static ModelSummary Summarize(Module net, int[] input, DType dtype = DType.Float32)
    {
        net.Eval();
        var shapes = new Dictionary<Module, int[]>(ReferenceEqualityComparer.Instance);
        using (Autograd.Autograd.NoGrad())
        using (TensorScope.Begin())
        using (var trace = ModuleTrace.Begin())
        {
            net.Forward(new Variable(Tensor.Zeros([1, .. input], dtype)));
            foreach (var (m, shape) in trace.Calls) shapes.TryAdd(m, shape);
        }
        var rows = new List<LayerRow>();
        long weights = 0;
        foreach (var (name, m) in net.NamedModules())
        {
            if (m.Children().Any()) continue;
            long count = m.NamedParameters().Sum(e => (long)e.Parameter.Data.Numel);
            rows.Add(new LayerRow(name, m.GetType().Name, shapes.GetValueOrDefault(m), count));
            if (m is Conv2d or Conv1d or Linear or Embedding or Lstm) weights += count;
        }
        long lstmExtra = net.NamedModules().Select(e => e.Module).OfType<Lstm>().Where(l => l.HasBias)
            .Sum(l => (long)l.NumLayers * l.Directions * 4 * l.HiddenSize);   // b_hh: Keras folds it into one bias
        return new ModelSummary(rows, net.ParameterCount(), net.Parameters().Where(q => q.RequiresGrad).Sum(q => (long)q.Data.Numel), weights,
            net.NamedBuffers().Sum(b => (long)b.Buffer.Value.Numel), net.ParameterCount() - lstmExtra);
    }
}
