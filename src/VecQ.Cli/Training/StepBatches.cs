using VecQ.Datasets;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>One batch as the training loop sees it: inputs (images [B, C, H, W] or token ids [B, T]) and labels [B].</summary>
internal sealed record StepBatch(Tensor Inputs, Tensor Labels, IDisposable Owner) : IDisposable
{
    /// <summary>Examples in the batch.</summary>
    public int Size => Labels.Numel;
    /// <inheritdoc/>
    public void Dispose() => Owner.Dispose();
}

/// <summary>A seeded, resumable sequence of batches per epoch: the image <see cref="DataLoader"/> or the <see cref="TextLoader"/>.</summary>
internal interface IStepBatches
{
    /// <summary>Batches per epoch.</summary>
    int StepsPerEpoch { get; }
    /// <summary>The batches of <paramref name="epoch"/> from <paramref name="startStep"/> on.</summary>
    IEnumerable<StepBatch> Epoch(int epoch, int startStep = 0);
}

/// <summary>Image batches from a <see cref="DataLoader"/>.</summary>
internal sealed class ImageBatches(DataLoader loader) : IStepBatches
{
    public int StepsPerEpoch => loader.StepsPerEpoch;

    public IEnumerable<StepBatch> Epoch(int epoch, int startStep = 0)
    {
        foreach (var b in loader.Epoch(epoch, startStep)) yield return new StepBatch(b.Images, b.Labels, b);
    }
}

/// <summary>Token-id batches from a <see cref="TextLoader"/>.</summary>
internal sealed class TextBatches(TextLoader loader) : IStepBatches
{
    public int StepsPerEpoch => loader.StepsPerEpoch;

    public IEnumerable<StepBatch> Epoch(int epoch, int startStep = 0)
    {
        foreach (var b in loader.Epoch(epoch, startStep)) yield return new StepBatch(b.Tokens, b.Labels, b);
    }
}
