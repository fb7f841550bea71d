using System.Buffers;

namespace VecQ.Quant.Integer;

/// <summary>
/// Activations between two integer stages: the activation quantizer's codes as odd bytes u = 2v (v = c + ½, so u = 2c + 1
/// in [1, 2^k − 1]; 0 only in padding) and, per channel, the affine map the batch norm after the quantizer applies:
/// z = Scale[c]·u + Shift[c] is the float value the fake-quantized model feeds the next layer.
/// </summary>
/// <param name="Codes">u: [N, C, H, W] (or [N, C] after a dense layer), row-major; rented from the shared pool (it may be
/// longer than the shape) and returned by <see cref="Release"/> once the next stage has read it.</param>
/// <param name="Shape">[N, C, H, W] or [N, C].</param>
/// <param name="Scale">Per channel: a_c·γ_c / (2·√(var_c + ε)).</param>
/// <param name="Shift">Per channel: β_c − γ_c·mean_c / √(var_c + ε).</param>
internal sealed record IntActivations(byte[] Codes, int[] Shape, float[] Scale, float[] Shift)
{
    public int N => Shape[0];
    public int C => Shape[1];
    public int Spatial => Shape.Length == 4 ? Shape[2] * Shape[3] : 1;

    public int Count => N * C * Spatial;

    /// <summary>Codes for <paramref name="count"/> values from the shared pool.</summary>
    public static byte[] Rent(int count) => ArrayPool<byte>.Shared.Rent(count);

    public void Release() => ArrayPool<byte>.Shared.Return(Codes);

    /// <summary>z = Scale·u + Shift as float32 [N, C·H·W] (the layers that need float input), in a pooled array of at least <see cref="Count"/>.</summary>
    public float[] Dequantize()
    {
        int n = N, c = C, s = Spatial;
        var z = ArrayPool<float>.Shared.Rent(Count);
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                float a = Scale[ch], b = Shift[ch];
                int off = (i * c + ch) * s;
                for (int j = 0; j < s; j++) z[off + j] = MathF.FusedMultiplyAdd(Codes[off + j], a, b);
            }
        return z;
    }
}
