using VecQ.Nn;

namespace VecQ.Onnx;

/// <summary>
/// The conv → [quantizer] → ReLU → [quantizer] → BN → pool chains (<see cref="IConvChain"/>: LeNet5, VGG-like, AlexNet)
/// as ONNX nodes, stage by stage from <see cref="IConvChain.Chain"/>; a dense layer after a conv reads the flattened
/// [N, C·H·W] output.
/// </summary>
internal static class ChainGraph
{
    public static void Write(OnnxGraph g, IConvChain chain)
    {
        string x = g.Input([.. chain.InputShape.Select(d => (object)d)]);    // [N, C, H, W]
        bool spatial = true;
        foreach (var s in chain.Chain)
        {
            if (s.Layer is Conv2d conv)
            {
                if (!spatial) throw new InvalidDataException($"{g.Source}: {s.Name}: a convolution after a dense layer");
                x = g.Conv(s.Name, conv, x);                                     // [N, out, OH, OW]
            }
            else if (s.Layer is Linear fc)
            {
                if (spatial) x = g.Flatten(s.Name + ".flatten", x);              // [N, C·H·W]
                spatial = false;
                x = g.Gemm(s.Name, fc, x);                                       // [N, out]
            }
            else throw new InvalidDataException($"{g.Source}: {s.Name}: {s.Layer.GetType().Name} is not a Conv2d or Linear layer");
            x = g.Slot(s.Name + ".act_out", s.ConvSlot, x, spatial ? 4 : 2);
            if (s.Relu) x = g.Relu(s.Name + ".relu", x);
            x = g.Slot(s.Name + ".act", s.ReluSlot, x, spatial ? 4 : 2);
            if (s.Norm is { } bn) x = g.BatchNorm(s.Name + ".bn", bn, x);
            if (s.Pool is var (kernel, stride)) x = g.MaxPool(s.Name + ".pool", kernel, stride, 0, x);
        }
        if (chain.Chain[^1].Layer is not Linear last) throw new InvalidDataException($"{g.Source}: {chain.Chain[^1].Name}: the last layer must be the dense layer of the logits");
        g.Output(x, last.OutFeatures);                                           // [N, classes]
    }
}
