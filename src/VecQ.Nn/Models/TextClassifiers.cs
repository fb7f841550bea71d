using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// What the text classifiers share: token ids [B, T] int32 in, logits [B, classes] out; with two classes one dense
/// output z returned as the logit pair (0, z), whose softmax is (1 − σ(z), σ(z)), so softmax cross-entropy on it is
/// exactly Keras's dense 1 + sigmoid + binary cross-entropy.
/// </summary>
/// <example><code>TextClassifier net = new ImdbCnnLstm(); int t = net.SequenceLength; // 100</code></example>
public abstract class TextClassifier : Module
{
    private readonly string _name;

    private protected TextClassifier(string name, int vocabularySize, int numClasses, int sequenceLength)
    {
        if (numClasses < 2) throw new ArgumentException($"{name}: {numClasses} classes; a classifier needs at least 2");
        if (sequenceLength < 1) throw new ArgumentException($"{name}: sequence length {sequenceLength} must be positive");
        (_name, VocabularySize, NumClasses, SequenceLength) = (name, vocabularySize, numClasses, sequenceLength);
    }

    /// <summary>Rows of the embedding (token ids must be below it).</summary>
    public int VocabularySize { get; }
    /// <summary>Classes of the output (2: one dense output, returned as the logit pair (0, z)).</summary>
    public int NumClasses { get; }
    /// <summary>T, the token ids per example.</summary>
    public int SequenceLength { get; }
    /// <summary>The activation slots this model offered, in forward order.</summary>
    public IReadOnlyList<ActivationSlot> ActivationSlots { get; private protected set; } = [];

    /// <summary>The dense classifier on <paramref name="features"/> inputs: one output for two classes, else one per class.</summary>
    private protected Linear Head(int features, Rng rng) => Register("fc", new Linear(features, NumClasses == 2 ? 1 : NumClasses, rng: rng));

    private protected void CheckInput(Variable ids)
    {
        if (ids.Value.Rank != 2 || ids.Shape[1] != SequenceLength || ids.Value.DType != DType.Int32)
            throw new ArgumentException($"{_name}: input {ids.Describe()} must be int32 token ids [B, {SequenceLength}]");
    }

    // logits as they are, or for two classes the pair (0, z) from one dense output
    private protected Variable Logits(Variable z)
    {
        if (NumClasses != 2) return z;                                                 // [B, classes]
        using var zero = new Variable(Tensor.Zeros([z.Shape[0], 1], z.Value.DType, z.Value.Device));
        return Functions.Concat([zero, z], 1);                                         // [B, 2] = (0, z)
    }
}

/// <summary>
/// The paper's IMDB model, Keras's imdb_cnn_lstm example layer for layer (VECQ.md §6): embedding(V, 128) over
/// token ids [B, T] → dropout 0.25 → conv1d 64×5 valid + ReLU → max-pool 4 → LSTM(70) → dense (one output for
/// two classes, Keras's dense 1 + sigmoid: see <see cref="TextClassifier"/>). Parameters: 2,639,175 at V = 20000 (PyTorch's LSTM with
/// b_ih and b_hh; Keras's single bias makes the paper's 2,638,895). Activation slots (placement
/// <see cref="ActivationPlacement.Recurrent"/>): <c>lstm_in_act</c> on the LSTM's input features, <c>lstm_out_act</c>
/// on its last hidden state.
/// </summary>
/// <example><code>
/// using var net = new ImdbCnnLstm(vocabularySize: 20000);
/// var logits = net.Forward(new Variable(ids));   // ids: [B, 100] int32 → [B, 2]
/// </code></example>
public sealed class ImdbCnnLstm : TextClassifier
{
    /// <summary>The activation-quantizer rule of this family.</summary>
    public const ActivationPlacement DefaultPlacement = ActivationPlacement.Recurrent;

    private readonly Embedding _embedding;
    private readonly Dropout _dropout;
    private readonly Conv1d _conv;
    private readonly MaxPool1d _pool;
    private readonly Module? _inAct, _outAct;
    private readonly Lstm _lstm;
    private readonly Linear _fc;

    /// <summary>Builds the model; the embedding starts uniform in ±0.05 (Keras's default), the rest as PyTorch initialises it.</summary>
    public ImdbCnnLstm(int vocabularySize = 20000, int numClasses = 2, int sequenceLength = 100, int embeddingDim = 128, int filters = 64, int kernel = 5,
        int pool = 4, int hidden = 70, double dropout = 0.25, Func<ActivationSlot, Module?>? activations = null, Rng? rng = null, Device? device = null)
        : base("ImdbCnnLstm", vocabularySize, numClasses, sequenceLength)
    {
        if (sequenceLength - kernel + 1 < pool)
            throw new ArgumentException($"ImdbCnnLstm: sequence length {sequenceLength} is too short for conv1d {kernel} then max-pool {pool} (needs at least {kernel + pool - 1})");
        rng ??= Init.DefaultRng;
        var slots = new ActivationSlots(DefaultPlacement, activations);
        _embedding = Register("embedding", new Embedding(vocabularySize, embeddingDim, rng: rng));
        Init.Uniform(_embedding.Weight.Data, rng, -0.05, 0.05);
        _dropout = Register("dropout", new Dropout(dropout, rng));
        _conv = Register("conv", new Conv1d(embeddingDim, filters, kernel, rng: rng));
        _pool = Register("pool", new MaxPool1d(pool));
        _inAct = RegisterOptional("lstm_in_act", slots.At(ActivationPlacement.Recurrent, "lstm_in_act", filters));
        _lstm = Register("lstm", new Lstm(filters, hidden, batchFirst: true, rng: rng));
        _outAct = RegisterOptional("lstm_out_act", slots.At(ActivationPlacement.Recurrent, "lstm_out_act", hidden));
        _fc = Head(hidden, rng);
        ActivationSlots = slots.Offered;
        if (device is { } d) To(d);
    }

    /// <summary>ids: [B, T] int32 → logits [B, classes].</summary>
    public override Variable Forward(Variable ids)
    {
        CheckInput(ids);
        var e = _dropout.Forward(_embedding.Forward(ids));              // [B, T, E]
        var c = _conv.Forward(Functions.Transpose(e, 1, 2));            // [B, F, T − k + 1]
        var p = _pool.Forward(Traced(Functions.Relu(c)));               // [B, F, L]
        p = VecQ.Nn.ActivationSlots.Apply(_inAct, p);
        var (_, (hn, _)) = _lstm.Forward(Functions.Transpose(p, 1, 2), null);   // [B, L, F] → h_n: [1, B, H]
        var h = VecQ.Nn.ActivationSlots.Apply(_outAct, Functions.Select(hn, 0, 0));   // [B, H]
        return Logits(_fc.Forward(h));
    }
}

/// <summary>
/// The THUCNews model: a character embedding, one LSTM and a dense classifier (VECQ.md §6 gives only "about 0.79 M
/// weights"). Defaults: 5000 characters × 128, LSTM(128 → 140), dense 140 → 10: 792,610 parameters (PyTorch's two
/// LSTM biases; 792,050 with Keras's one), 3.02 MiB in float32. Activation slots as <see cref="ImdbCnnLstm"/>'s
/// (the input slot holds one step for the whole tensor: its features are on the last axis).
/// </summary>
/// <example><code>
/// using var net = new CharLstmClassifier(vocabularySize: 5000, numClasses: 10, sequenceLength: 200);
/// var logits = net.Forward(new Variable(ids));   // ids: [B, 200] int32 → [B, 10]
/// </code></example>
public sealed class CharLstmClassifier : TextClassifier
{
    private readonly Embedding _embedding;
    private readonly Module? _inAct, _outAct;
    private readonly Lstm _lstm;
    private readonly Linear _fc;

    /// <summary>Builds the model, initialised as PyTorch does (embedding N(0, 1), LSTM and dense uniform).</summary>
    public CharLstmClassifier(int vocabularySize = 5000, int numClasses = 10, int sequenceLength = 200, int embeddingDim = 128, int hidden = 140,
        Func<ActivationSlot, Module?>? activations = null, Rng? rng = null, Device? device = null)
        : base("CharLstmClassifier", vocabularySize, numClasses, sequenceLength)
    {
        rng ??= Init.DefaultRng;
        var slots = new ActivationSlots(ImdbCnnLstm.DefaultPlacement, activations);
        _embedding = Register("embedding", new Embedding(vocabularySize, embeddingDim, rng: rng));
        _inAct = RegisterOptional("lstm_in_act", slots.At(ActivationPlacement.Recurrent, "lstm_in_act", 0));
        _lstm = Register("lstm", new Lstm(embeddingDim, hidden, batchFirst: true, rng: rng));
        _outAct = RegisterOptional("lstm_out_act", slots.At(ActivationPlacement.Recurrent, "lstm_out_act", hidden));
        _fc = Head(hidden, rng);
        ActivationSlots = slots.Offered;
        if (device is { } d) To(d);
    }

    /// <summary>ids: [B, T] int32 → logits [B, classes].</summary>
    public override Variable Forward(Variable ids)
    {
        CheckInput(ids);
        // gathered time-major and viewed batch-first, so the LSTM's own batch-first transpose gives back the
        // contiguous [T, B, E] without a copy (6.5 MB per step at batch 64 × 200 × 128)
        using var idsT = new Variable(ids.Value.Transpose(0, 1));                                // [T, B]
        using var eT = _embedding.Forward(idsT);                                               // [T, B, E]
        var e = VecQ.Nn.ActivationSlots.Apply(_inAct, Functions.Transpose(eT, 0, 1));          // [B, T, E] view
        var (_, (hn, _)) = _lstm.Forward(e, null);                        // h_n: [1, B, H]
        var h = VecQ.Nn.ActivationSlots.Apply(_outAct, Functions.Select(hn, 0, 0));
        return Logits(_fc.Forward(h));
    }
}
