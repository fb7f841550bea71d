using System.Text.Json;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>Builds models by name and records how, so a checkpoint can rebuild its model.</summary>
internal static class ModelFactory
{
    /// <summary>Model names the CLI knows.</summary>
    public static readonly string[] Names = ["lenet5"];

    /// <summary>The configuration of a model: its name and integer hyper-parameters.</summary>
    public sealed record ModelConfig(string Model, Dictionary<string, int> Sizes)
    {
        public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = Model, ["sizes"] = Sizes });

        public static ModelConfig FromJson(string json, string source)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                var model = doc.RootElement.GetProperty("model").GetString() ?? throw new InvalidDataException($"{source}: model config has no model name");
                var sizes = new Dictionary<string, int>();
                foreach (var p in doc.RootElement.GetProperty("sizes").EnumerateObject()) sizes[p.Name] = p.Value.GetInt32();
                return new ModelConfig(model, sizes);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{source}: invalid model config '{json}': {e.Message}");
            }
        }
    }

    /// <summary>The default configuration of <paramref name="model"/>.</summary>
    public static ModelConfig DefaultConfig(string model, int numClasses) => model switch
    {
        "lenet5" => new ModelConfig("lenet5", new() { ["c1"] = 32, ["c2"] = 64, ["hidden"] = 512, ["classes"] = numClasses }),
        _ => throw new OptionException($"--model '{model}': unknown model; expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>The shape of one input example of the model, [C, H, W].</summary>
    public static int[] InputShape(ModelConfig config) => config.Model switch
    {
        "lenet5" => [1, 28, 28],
        _ => throw new InvalidDataException($"unknown model '{config.Model}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>
    /// Builds the model a configuration describes, initialised from <paramref name="rng"/>; with
    /// <paramref name="abits"/> &lt; 32 an <see cref="VecQ.Quant.ActivationQuantizer"/> fills each activation slot,
    /// built as <paramref name="act"/> says (<see cref="ActivationQuantizer"/>).
    /// </summary>
    public static Module Build(ModelConfig config, Rng rng, int abits = 32, ActQuantMode act = ActQuantMode.Searched) => config.Model switch
    {
        "lenet5" => new LeNet5(config.Sizes["c1"], config.Sizes["c2"], config.Sizes["hidden"], config.Sizes["classes"],
            activations: abits < 32 ? slot => ActivationQuantizer(abits, act, LeNet5Channels(config, slot)) : null, rng: rng),
        _ => throw new InvalidDataException($"unknown model '{config.Model}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>
    /// One activation quantizer: <see cref="ActQuantMode.Paper"/> is the letter's (VECQ.md §4: Gaussian λ_k, one
    /// step and scale for the tensor, EMA momentum 0.9); <see cref="ActQuantMode.Searched"/> searches λ on the
    /// batch every 100 training steps and keeps one step and scale per channel (<paramref name="channels"/>).
    /// </summary>
    public static VecQ.Quant.ActivationQuantizer ActivationQuantizer(int abits, ActQuantMode act, int channels) => act switch
    {
        ActQuantMode.Paper => new VecQ.Quant.ActivationQuantizer(abits, momentum: 0.9, lambdaMode: VecQ.Quant.LambdaMode.Gaussian, channels: 0),
        _ => new VecQ.Quant.ActivationQuantizer(abits, momentum: 0.9, lambdaMode: VecQ.Quant.LambdaMode.Exact, searchEvery: 100, channels: channels),
    };

    /// <summary>True for the state names of activation quantizers ("act1.step", …).</summary>
    public static bool IsActivationState(string name) => LeNet5.ActivationSlots.Any(s => name.StartsWith(s + ".", StringComparison.Ordinal));

    // Channels reaching each LeNet5 activation slot: each activation quantizer gets one step per channel,
    // since the batch norm after it normalises each channel on its own (see ActivationQuantizer's remarks).
    private static int LeNet5Channels(ModelConfig config, string slot) => slot switch
    {
        "act1" => config.Sizes["c1"],
        "act2" => config.Sizes["c2"],
        "act3" => config.Sizes["hidden"],
        _ => throw new InvalidDataException($"lenet5: unknown activation slot '{slot}'"),
    };
}
