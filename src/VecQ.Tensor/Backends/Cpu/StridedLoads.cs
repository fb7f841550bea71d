using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>Loads of every other float, which stride-2 windows (pools, depthwise and implicit-GEMM convolutions) read.</summary>
internal static unsafe class StridedLoads
{
    /// <summary>
    /// p[0], p[2], …, p[14] (AVX2): sixteen floats in two loads, their even lanes by one shuffle (a0 a2 b0 b2 | a4 a6 b4 b6)
    /// and one permute of the 64-bit pairs. Reads p[15] too, one float past the last one used.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Even8(float* p)
    {
        var even = Avx.Shuffle(Avx.LoadVector256(p), Avx.LoadVector256(p + 8), 0b10_00_10_00);
        return Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle();
    }
}
