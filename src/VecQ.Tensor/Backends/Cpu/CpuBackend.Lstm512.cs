using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VecQ.Tensors;

// The fused LSTM cell's forward rows on 512-bit vectors where the hardware accelerates them: the same formulas, exp,
// clamps and NaN handling as the 256-bit loop of CpuBackend.Lstm.cs, sixteen units at a time; that loop and the scalar
// tail take what is left of a row. (On the Xeon of bench/README.md the forward cell ran 8.0–8.6 → 6.0–6.9 ms per
// 200-step sequence; the backward, read-and-write bound, did not gain from 512 bits and stays on 256.)
public sealed unsafe partial class CpuBackend
{
    // One row forward for units [0, n16), n16 = hidden rounded down to 16; returns n16 (see RowForward for the layout).
    private static int RowForward512(float* g, float* b, float* cPrev, float* a, float* c, float* h, int hidden)
    {
        int j = 0;
        bool biased = b != null;
        for (; j + 16 <= hidden; j += 16)
        {
            var zi = Vector512.Load(g + j); var zf = Vector512.Load(g + hidden + j);
            var zg = Vector512.Load(g + 2 * hidden + j); var zo = Vector512.Load(g + 3 * hidden + j);
            if (biased)
            {
                zi += Vector512.Load(b + j); zf += Vector512.Load(b + hidden + j);
                zg += Vector512.Load(b + 2 * hidden + j); zo += Vector512.Load(b + 3 * hidden + j);
            }
            var i = Sigmoid512(zi); var f = Sigmoid512(zf); var gg = Tanh512(zg); var o = Sigmoid512(zo);
            Vector512.Store(i, a + j); Vector512.Store(f, a + hidden + j); Vector512.Store(gg, a + 2 * hidden + j); Vector512.Store(o, a + 3 * hidden + j);
            var cn = f * Vector512.Load(cPrev + j) + i * gg;
            Vector512.Store(cn, c + j);
            Vector512.Store(o * Tanh512(cn), h + j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sigmoid512(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp512(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh512(Vector512<float> x) => Vector512<float>.One - Vector512.Create(2f) / (Exp512(x + x) + Vector512<float>.One);

    // ExpV on sixteen lanes (its clamp and reduction constants, the same polynomial and 2ⁿ; NaN stays NaN).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp512(Vector512<float> x)
    {
        var xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(ExpLow)), Vector512.Create(ExpHigh));
        var n = Vector512.Round(xc * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2High), xc);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Low), r);
        var p = Vector512.Create(1f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();   // 2ⁿ
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), p * scale, x);
    }
}
