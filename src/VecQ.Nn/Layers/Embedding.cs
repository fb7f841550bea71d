using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// A lookup table (PyTorch's nn.Embedding): int32 ids of any shape → [ids…, D] rows of "weight" [V, D], initialised
/// N(0, 1) with the padding row (when given) zero; that row never receives a gradient. The weight is quantized like a
/// linear layer's when a weight quantizer is attached.
/// </summary>
/// <example><code>
/// var emb = new Embedding(20000, 128, paddingIdx: 0);
/// using var e = emb.Forward(new Variable(tokens)); // tokens: int32 [B, T] → [B, T, 128]
/// </code></example>
public sealed class Embedding : Module
{
    /// <summary>Creates the table.</summary>
    /// <param name="numEmbeddings">Rows V (the vocabulary size).</param>
    /// <param name="embeddingDim">Columns D.</param>
    /// <param name="paddingIdx">The padding row, or null.</param>
    /// <param name="rng">Initialisation generator (default <see cref="Init.DefaultRng"/>).</param>
    /// <param name="device">Where the table lives (default the CPU).</param>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, Rng? rng = null, Device? device = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentException($"Embedding: sizes must be positive (num_embeddings {numEmbeddings}, embedding_dim {embeddingDim})");
        if (paddingIdx is int p && (p < 0 || p >= numEmbeddings))
            throw new ArgumentException($"Embedding: padding_idx {p} must be in [0, {numEmbeddings})");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx;
        Weight = RegisterParameter("weight", Tensor.Empty([numEmbeddings, embeddingDim]));   // [V, D]
        Init.Normal(Weight.Data, rng ?? Init.DefaultRng);
        if (paddingIdx is int pad)
            using (var row = Weight.Data.Narrow(0, pad, 1)) row.Fill(0);
        if (device is { } d) To(d);
    }

    /// <summary>Rows V.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Columns D.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The padding row, or null.</summary>
    public int? PaddingIdx { get; }

    /// <summary>"weight": [V, D].</summary>
    public Parameter Weight { get; }

    /// <summary>ids (int32, any shape; the variable's value) → [ids…, D].</summary>
    /// <example><code>using var e = emb.Forward(new Variable(tokens));</code></example>
    public override Variable Forward(Variable ids)
    {
        if (ids.Value.DType != DType.Int32)
            throw new ArgumentException($"Embedding({NumEmbeddings}, {EmbeddingDim}): ids {ids.Describe()} must be int32");
        using var w = new ParameterLease(Weight, Training);   // [V, D]
        return Traced(Functions.Embedding(w.Value!, ids.Value, PaddingIdx));
    }
}
