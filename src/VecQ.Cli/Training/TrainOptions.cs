namespace VecQ.Cli.Training;

/// <summary>Everything `vecq train` was asked to do (validated by <see cref="Validate"/>).</summary>
internal sealed record TrainOptions
{
    public string Model { get; init; } = "lenet5";
    public string Dataset { get; init; } = "fashion-mnist";
    public string? DataDir { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 50;
    public double Lr { get; init; } = 0.02;
    public string Optimizer { get; init; } = "sgd";
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 1e-4;
    public string Schedule { get; init; } = "cosine";
    public int[] Milestones { get; init; } = [];
    public double Gamma { get; init; } = 0.1;
    public int WarmupSteps { get; init; }
    public double LabelSmoothing { get; init; }
    public ulong Seed { get; init; } = 1;
    public int? Threads { get; init; }
    public string Out { get; init; } = "runs/lenet5";
    public bool Resume { get; init; }
    public int? LimitTrain { get; init; }
    public int? LimitTest { get; init; }
    public int CheckpointEverySteps { get; init; } = 200;
    public bool Json { get; init; }
    /// <summary>Where to compute: cpu, sim[:N] (cuda[:N] is refused until its backend exists).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Image side for image folders (random-resized crops in training, centre crops in evaluation; default 224).</summary>
    public int? ImageSize { get; init; }
    /// <summary>Epoch checkpoints to keep besides best and last (0: none, the default).</summary>
    public int KeepCheckpoints { get; init; }
    /// <summary>Draw the training curves (RUN_DIR/curves.png) at the end.</summary>
    public bool Plot { get; init; }
    /// <summary>Redraw progress in place (stderr is a terminal).</summary>
    public bool ProgressInPlace { get; init; }
    /// <summary>The validated device.</summary>
    public VecQ.Tensors.Device ComputeDevice => Commands.DeviceOption.Parse(Device);
    /// <summary>Weight bits (32 = float).</summary>
    public int WBits { get; init; } = 32;
    /// <summary>Activation bits (32 = no activation quantizers).</summary>
    public int ABits { get; init; } = 32;
    /// <summary>Weight quantization method name.</summary>
    public string Quantizer { get; init; } = "vecq";
    /// <summary>VecQ λ mode: gaussian or exact.</summary>
    public string Lambda { get; init; } = "gaussian";
    /// <summary>tensor or channel.</summary>
    public string Granularity { get; init; } = "tensor";
    /// <summary>Bits of the first layer (null: WBits; 32: float).</summary>
    public int? FirstLayerBits { get; init; }
    /// <summary>Bits of the last layer (null: WBits; 32: float).</summary>
    public int? LastLayerBits { get; init; }
    /// <summary>Also quantize the biases of quantized layers.</summary>
    public bool QuantizeBiases { get; init; }
    /// <summary>Activation quantizers: paper or searched (null: not given, searched).</summary>
    public string? ActQuant { get; init; }

    /// <summary>Start from this checkpoint's weights (fine-tuning; activation-quantizer state it lacks starts fresh).</summary>
    public string? InitFrom { get; init; }

    /// <summary>The validated quantization settings.</summary>
    public QuantSpec Quant => QuantSpec.Parse(WBits, ABits, Quantizer, Lambda, Granularity).WithOptions(FirstLayerBits, LastLayerBits, QuantizeBiases, ActQuant);
    /// <summary>Stop abruptly after this many steps of this process (no final save): simulates a killed run for tests.</summary>
    public int? StopAfterSteps { get; init; }
    /// <summary>Text models: vocabulary size (embedding rows; default the model's reference).</summary>
    public int? VocabSize { get; init; }
    /// <summary>Text models: token ids per example (default the model's reference).</summary>
    public int? SeqLen { get; init; }
    /// <summary>Text models: words or chars (default the dataset's; chars for thucnews).</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Throws <see cref="OptionException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (!ModelFactory.Names.Contains(Model)) throw new OptionException($"--model '{Model}': expected one of {string.Join(", ", ModelFactory.Names)}");
        TrainingData.Check(Dataset, DataDir);
        bool textData = VecQ.Datasets.DatasetCatalog.IsText(Dataset), textModel = ModelFactory.IsText(Model);
        if (textData != textModel)
            throw new OptionException(textModel
                ? $"--model {Model} reads text: use --dataset {string.Join(", ", VecQ.Datasets.TextDatasetCatalog.Names)}"
                : $"--dataset {Dataset} is text: use --model imdb or thucnews (--model {Model} reads images)");
        if (!textModel && (VocabSize != null || SeqLen != null || Tokenizer != null))
            throw new OptionException("--vocab-size, --seq-len and --tokenizer apply to the text models (imdb, thucnews) only");
        if (textModel && ImageSize != null) throw new OptionException($"--image-size does not apply to the text model {Model}");
        if (VocabSize is < 4) throw new OptionException($"--vocab-size {VocabSize}: expected at least 4 (ids 0–2 are reserved)");
        if (SeqLen is < 1) throw new OptionException($"--seq-len {SeqLen}: expected a positive length");
        _ = TextTraining.ParseTokenizer(Tokenizer);
        if (ImageSize is < 1) throw new OptionException($"--image-size {ImageSize}: expected a positive size");
        if (Epochs < 1) throw new OptionException($"--epochs {Epochs}: expected an integer >= 1");
        if (BatchSize < 1) throw new OptionException($"--batch-size {BatchSize}: expected an integer >= 1");
        if (!(Lr > 0) || double.IsInfinity(Lr)) throw new OptionException($"--lr {Lr}: expected a positive number");
        if (Optimizer is not ("sgd" or "adam" or "adamw")) throw new OptionException($"--optimizer '{Optimizer}': expected sgd, adam or adamw");
        if (Momentum is < 0 or >= 1) throw new OptionException($"--momentum {Momentum}: expected a value in [0, 1)");
        if (WeightDecay < 0) throw new OptionException($"--weight-decay {WeightDecay}: expected a value >= 0");
        if (Schedule is not ("constant" or "step" or "multistep" or "cosine")) throw new OptionException($"--schedule '{Schedule}': expected constant, step, multistep or cosine");
        if (Schedule is "step" or "multistep" && Milestones.Length == 0) throw new OptionException($"--schedule {Schedule} needs --milestones (e.g. --milestones 15,25)");
        if (Milestones.Any(m => m < 1)) throw new OptionException($"--milestones {string.Join(",", Milestones)}: epochs must be >= 1");
        if (!(Gamma > 0)) throw new OptionException($"--gamma {Gamma}: expected a positive number");
        if (WarmupSteps < 0) throw new OptionException($"--warmup-steps {WarmupSteps}: expected >= 0");
        if (LabelSmoothing is < 0 or > 1) throw new OptionException($"--label-smoothing {LabelSmoothing}: expected a value in [0, 1]");
        if (Threads is < 1) throw new OptionException($"--threads {Threads}: expected an integer >= 1");
        if (LimitTrain is < 1) throw new OptionException($"--limit-train {LimitTrain}: expected an integer >= 1");
        if (LimitTest is < 1) throw new OptionException($"--limit-test {LimitTest}: expected an integer >= 1");
        if (CheckpointEverySteps < 1) throw new OptionException($"--checkpoint-every {CheckpointEverySteps}: expected an integer >= 1");
        if (StopAfterSteps is < 1) throw new OptionException($"--stop-after-steps {StopAfterSteps}: expected an integer >= 1");
        _ = Quant;
        _ = ComputeDevice;
        if (KeepCheckpoints < 0) throw new OptionException($"--keep-checkpoints {KeepCheckpoints}: expected an integer >= 0 (epoch checkpoints kept besides best and last)");
        if (string.IsNullOrWhiteSpace(Out)) throw new OptionException("--out: expected a directory path");
    }
}
