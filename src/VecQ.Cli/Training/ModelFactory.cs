using System.Text.Json;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>Builds models by name and records how, so a checkpoint can rebuild its model.</summary>
internal static class ModelFactory
{
    /// <summary>Model names the CLI knows.</summary>
    public static readonly string[] Names = ["lenet5", "vgg-like", "alexnet", "resnet18", "resnet18-preact", "mobilenet-v1", "mobilenet-v2", "imdb", "thucnews"];

    /// <summary>The classes of a model's reference task: 10 (MNIST, CIFAR-10, THUCNews), 2 (IMDB) or 1000 (ImageNet).</summary>
    public static int DefaultClasses(string model) => model switch
    {
        "lenet5" or "vgg-like" or "thucnews" => 10,
        "imdb" => 2,
        _ => 1000,
    };

    /// <summary>True for the sequence models, whose inputs are int32 token ids [B, T].</summary>
    public static bool IsText(string model) => model is "imdb" or "thucnews";

    /// <summary>The vocabulary size and sequence length a text model is built for by default (its reference's).</summary>
    public static (int Vocabulary, int SequenceLength) DefaultText(string model) => model == "imdb" ? (20000, 100) : (5000, 200);

    /// <summary>
    /// The configuration of a text model ("vocab", "seq_len", "classes"); null sizes take the model's reference
    /// (<see cref="DefaultText"/>).
    /// </summary>
    public static ModelConfig TextConfig(string model, int numClasses, int? vocabularySize = null, int? sequenceLength = null)
    {
        if (!IsText(model)) throw new OptionException($"--model '{model}' is an image model; text models are imdb and thucnews");
        var (v, t) = DefaultText(model);
        int vocab = vocabularySize ?? v, len = sequenceLength ?? t;
        if (vocab < 4) throw new OptionException($"--vocab-size {vocab}: expected at least 4 (ids 0–2 are reserved for padding, start and out-of-vocabulary)");
        int min = model == "imdb" ? 8 : 1;
        if (len < min) throw new OptionException($"--seq-len {len}: {model} needs at least {min} tokens per example");
        return new ModelConfig(model, new() { ["vocab"] = vocab, ["seq_len"] = len, ["classes"] = numClasses });
    }

    /// <summary>The input size a model is built for by default (its reference's), and the channels.</summary>
    public static (int Size, int Channels) DefaultInput(string model) => model switch
    {
        "lenet5" => (28, 1),
        "vgg-like" => (32, 3),
        _ => (224, 3),
    };

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
    /// <remarks>
    /// The image models record their classes, input channels and input size ("classes", "channels",
    /// "image_size"); <paramref name="imageSize"/>/<paramref name="channels"/> null take the model's reference input.
    /// LeNet5 is fixed at 28×28×1.
    /// </remarks>
    public static ModelConfig DefaultConfig(string model, int numClasses, int? imageSize = null, int? channels = null)
    {
        if (!Names.Contains(model)) throw new OptionException($"--model '{model}': unknown model; expected one of {string.Join(", ", Names)}");
        if (IsText(model))
        {
            if (imageSize != null || channels != null) throw new OptionException($"--model {model} reads token ids: --image-size and --channels do not apply");
            return TextConfig(model, numClasses);
        }
        if (model == "lenet5")
        {
            if (imageSize is int s && s != 28 || channels is int c && c != 1)
                throw new OptionException($"--model lenet5 takes 28×28 single-channel images (got {imageSize ?? 28}×{imageSize ?? 28}×{channels ?? 1})");
            return new ModelConfig("lenet5", new() { ["c1"] = 32, ["c2"] = 64, ["hidden"] = 512, ["classes"] = numClasses });
        }
        var (size, ch) = DefaultInput(model);
        int sz = imageSize ?? size;
        if (sz < 1) throw new OptionException($"--image-size {sz}: expected a positive size");
        if (model == "alexnet" && sz < AlexNet.MinInputSize)
            throw new OptionException($"--image-size {sz}: alexnet's strides need at least {AlexNet.MinInputSize}×{AlexNet.MinInputSize} inputs");
        return new ModelConfig(model, new() { ["classes"] = numClasses, ["channels"] = channels ?? ch, ["image_size"] = sz });
    }

    /// <summary>The shape of one input example of the model: [C, H, W] for the image models, [T] for the text models.</summary>
    public static int[] InputShape(ModelConfig config) => config.Model switch
    {
        "lenet5" => [1, 28, 28],
        _ when IsText(config.Model) => [config.Sizes["seq_len"]],
        _ => [config.Sizes["channels"], config.Sizes["image_size"], config.Sizes["image_size"]],
    };

    /// <summary>The dtype of the model's input: int32 token ids for the text models, float32 images otherwise.</summary>
    public static DType InputDType(ModelConfig config) => IsText(config.Model) ? DType.Int32 : DType.Float32;

    /// <summary>
    /// Builds the model a configuration describes, initialised from <paramref name="rng"/>; with
    /// <paramref name="abits"/> &lt; 32 an <see cref="VecQ.Quant.ActivationQuantizer"/> fills each activation slot,
    /// built as <paramref name="act"/> says (<see cref="ActivationQuantizer"/>).
    /// </summary>
    public static Module Build(ModelConfig config, Rng rng, int abits = 32, ActQuantMode act = ActQuantMode.Searched)
    {
        // every image model places its slots by its family's rule (VECQ.md §4) and says how many channels reach each
        Func<ActivationSlot, Module?>? slots = abits < 32 ? slot => ActivationQuantizer(abits, act, slot.Channels) : null;
        var z = config.Sizes;
        int Get(string key) => z.TryGetValue(key, out int v) ? v : throw new InvalidDataException($"model config of {config.Model} lacks '{key}'");
        return config.Model switch
        {
            "lenet5" => new LeNet5(z["c1"], z["c2"], z["hidden"], z["classes"],
                activations: abits < 32 ? slot => ActivationQuantizer(abits, act, LeNet5Channels(config, slot)) : null, rng: rng),
            "vgg-like" => new VggLike(Get("classes"), Get("channels"), inputSize: Get("image_size"), activations: slots, rng: rng),
            "alexnet" => new AlexNet(Get("classes"), Get("channels"), inputSize: Get("image_size"), activations: slots, rng: rng),
            "resnet18" => new ResNet18(Get("classes"), Get("channels"), activations: slots, rng: rng),
            "resnet18-preact" => new PreActResNet18(Get("classes"), Get("channels"), activations: slots, rng: rng),
            "mobilenet-v1" => new MobileNetV1(Get("classes"), Get("channels"), activations: slots, rng: rng),
            "mobilenet-v2" => new MobileNetV2(Get("classes"), Get("channels"), activations: slots, rng: rng),
            "imdb" => new ImdbCnnLstm(Get("vocab"), Get("classes"), Get("seq_len"), activations: slots, rng: rng),
            "thucnews" => new CharLstmClassifier(Get("vocab"), Get("classes"), Get("seq_len"), embeddingDim: z.GetValueOrDefault("embed", 128),
                hidden: z.GetValueOrDefault("hidden", 140), activations: slots, rng: rng),
            _ => throw new InvalidDataException($"unknown model '{config.Model}' (known: {string.Join(", ", Names)})"),
        };
    }

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

    /// <summary>
    /// True for the state names of activation quantizers: a buffer of a slot module, whose name is "act", "actN"
    /// or ends in "_act" (the slot names every model uses: "act1.step", "layer1.0.act2.scale", "features.0.act.lambda").
    /// </summary>
    public static bool IsActivationState(string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot <= 0) return false;
        string module = name[..dot];
        string last = module[(module.LastIndexOf('.') + 1)..];
        return last == "act" || last.EndsWith("_act", StringComparison.Ordinal)
            || (last.StartsWith("act", StringComparison.Ordinal) && last.Length > 3 && last[3..].All(char.IsAsciiDigit));
    }

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
