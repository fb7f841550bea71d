namespace VecQ.Nn;

/// <summary>
/// One layer of a plain conv → ReLU → BN chain (LeNet5, VGG-like, AlexNet) as the model runs it in evaluation mode: the
/// conv or dense layer, its activation slots ([conv-output quantizer] → ReLU → [after-ReLU quantizer]), its batch norm
/// and the max pool after it. Dropout is the identity in evaluation and is not listed; a dense layer after a conv layer
/// reads the flattened [N, C·H·W] output. The last stage (the logits) has no ReLU, slot or norm.
/// </summary>
/// <param name="Name">The layer's state-dict prefix ("conv2": its weight is "conv2.weight").</param>
/// <param name="Layer">A <see cref="Conv2d"/> or a <see cref="Linear"/>.</param>
/// <param name="Relu">True when a ReLU follows the layer.</param>
/// <param name="ConvSlot">The quantizer on the layer's output before the ReLU, or null.</param>
/// <param name="ReluSlot">The quantizer after the ReLU, or null.</param>
/// <param name="Norm">The batch norm after them, or null.</param>
/// <param name="Pool">The max pool's (kernel, stride) after the norm, or null.</param>
/// <example><code>foreach (var s in ((IConvChain)model).Chain) Console.WriteLine($"{s.Name} pool {s.Pool}");</code></example>
public sealed record ChainStage(string Name, Module Layer, bool Relu, Module? ConvSlot, Module? ReluSlot, BatchNorm? Norm, (Size2 Kernel, Size2 Stride)? Pool);

/// <summary>
/// A model that is one chain of <see cref="ChainStage"/>s from its input to its logits, so tools that compile a model
/// for another runtime (the integer inference of VecQ.Quant) read its structure from the model itself.
/// </summary>
/// <example><code>if (model is IConvChain chain) Console.WriteLine(chain.Chain.Count);</code></example>
public interface IConvChain
{
    /// <summary>The shape of one input example, [C, H, W].</summary>
    int[] InputShape { get; }

    /// <summary>The stages from the input to the logits.</summary>
    IReadOnlyList<ChainStage> Chain { get; }
}
