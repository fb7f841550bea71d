using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Integer;

/// <summary>
/// A layer <see cref="QuantizedModel"/> runs in float32, as the fake-quantized model does: the first layer (its input is
/// the float image), the logits, and any layer whose weights or input do not suit the integer product (weights stored
/// float or on a shifted grid, a dense layer whose input channels are single features). Its weights are the
/// dequantized values, so its output equals the fake-quantized layer's for the same input.
/// </summary>
internal sealed class FloatStage : IDisposable
{
    private readonly string _name;
    private readonly Tensor _weight;          // conv: [O, C, KH, KW]; dense: [in, out] (transposed once here)
    private readonly Tensor? _bias;           // [O]
    private readonly Conv2d? _conv;
    private readonly CodeEpilogue? _epilogue; // null: the logits
    private readonly (int H, int W)? _input;  // the integer input's side (null: the float image)

    public FloatStage(string name, Module layer, CodeEpilogue? epilogue, (int H, int W)? input)
    {
        _name = name;
        _epilogue = epilogue;
        _input = input;
        if (layer is Conv2d conv)
        {
            _conv = conv;
            _weight = conv.Weight.Data.Clone();
            _bias = conv.Bias?.Data.Clone();
        }
        else
        {
            var fc = (Linear)layer;
            using var t = fc.Weight.Data.Transpose(0, 1);
            _weight = t.Contiguous();
            _bias = fc.Bias?.Data.Clone();
        }
    }

    public long Bytes => 4L * (_weight.Numel + (_bias?.Numel ?? 0)) + (_epilogue?.Bytes ?? 0);

    public string Describe() => $"{_name}: float32 {(_conv != null ? "conv" : "dense")} ({(_input == null ? "float input" : _epilogue == null ? "logits" : "dequantized input")})";

    /// <summary>The first layer: the float image [N, C, H, W] → codes.</summary>
    public IntActivations RunToCodes(Tensor x) => Codes(x);

    /// <summary>A hidden layer on dequantized input → codes.</summary>
    public IntActivations RunToCodes(IntActivations x)
    {
        using var z = Dequantize(x);
        return Codes(z);
    }

    /// <summary>The last layer: logits [N, classes] as row-major floats.</summary>
    public float[] RunToLogits(IntActivations x)
    {
        using var z = Dequantize(x);
        using var y = Apply(z);
        return y.ToArray();
    }

    private Tensor Dequantize(IntActivations x)
    {
        int[] shape = _conv != null ? x.Shape : [x.N, x.C * x.Spatial];
        var z = x.Dequantize();
        try { return Tensor.FromSpan<float>(z.AsSpan(0, x.Count), shape); }
        finally { System.Buffers.ArrayPool<float>.Shared.Return(z); }
    }

    private Tensor Apply(Tensor z)
    {
        if (_conv is { } c)
            return ConvOps.Conv2d(z, _weight, _bias, c.Stride.ToTuple(), c.ResolvedPadding.ToTuple(), c.Dilation.ToTuple(), c.Groups);
        using var y = z.MatMul(_weight);                                 // [N, out]
        return _bias is null ? y.Clone() : y.Add(_bias);
    }

    // y = layer(z) → codes: the layer on the whole batch (its kernels use every thread), then the epilogue per sample.
    private IntActivations Codes(Tensor z)
    {
        using var y = Apply(z);                                          // [N, O, OH, OW] or [N, O]
        var e = _epilogue!;
        int n = y.Dims[0], o = y.Dims[1], h = y.Rank == 4 ? y.Dims[2] : 1, w = y.Rank == 4 ? y.Dims[3] : 1;
        var (ph, pw) = e.OutSize(h, w);
        var codes = IntActivations.Rent(n * o * ph * pw);
        var values = System.Buffers.ArrayPool<float>.Shared.Rent(y.Numel);
        y.CopyTo<float>(values);
        Parallelism.For(n, i =>
        {
            for (int c = 0; c < o; c++)
                e.Apply(values.AsSpan((i * o + c) * h * w, h * w), c, h, w, codes.AsSpan((i * o + c) * ph * pw, ph * pw));
        });
        System.Buffers.ArrayPool<float>.Shared.Return(values);
        return new IntActivations(codes, y.Rank == 4 ? [n, o, ph, pw] : [n, o], e.Scale, e.Shift);
    }

    /// <summary>The output side of <paramref name="c"/> on an h × w input.</summary>
    public static (int H, int W) OutputSize(Conv2d c, int h, int w)
    {
        var (ph, pw) = c.ResolvedPadding.ToTuple();
        return ((h + 2 * ph - c.Dilation.H * (c.Kernel.H - 1) - 1) / c.Stride.H + 1, (w + 2 * pw - c.Dilation.W * (c.Kernel.W - 1) - 1) / c.Stride.W + 1);
    }

    public void Dispose()
    {
        _weight.Dispose();
        _bias?.Dispose();
    }
}
