using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace VecQ.Quant;

/// <summary>
/// SIMD kernels over host spans used by every quantizer: sums and dot products accumulated in
/// double (float lanes widened), the fused grid projection and the dequantization. No per-element
/// delegates: <see cref="Vector{T}"/> loops and <see cref="TensorPrimitives"/> over cache-sized blocks.
/// </summary>
internal static class HostMath
{
    /// <summary>Elements per block of the chained TensorPrimitives passes (stays in L1/L2).</summary>
    internal const int Block = 4096;

    /// <summary>Σ a in double.</summary>
    public static double Sum(ReadOnlySpan<float> a)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        Vector<double> s0 = default, s1 = default;
        foreach (var x in va)
        {
            Vector.Widen(x, out var lo, out var hi);
            s0 += lo;
            s1 += hi;
        }
        double s = Vector.Sum(s0 + s1);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += a[i];
        return s;
    }

    /// <summary>a·b in double (each float product is exact in double).</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"dot: lengths {a.Length} and {b.Length} differ");
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        Vector<double> s0 = default, s1 = default;
        for (int i = 0; i < va.Length; i++)
        {
            Vector.Widen(va[i], out var alo, out var ahi);
            Vector.Widen(vb[i], out var blo, out var bhi);
            s0 += alo * blo;
            s1 += ahi * bhi;
        }
        double s = Vector.Sum(s0 + s1);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>Mean and population standard deviation (ddof 0, two passes, double accumulation).</summary>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<float> a)
    {
        int n = a.Length;
        if (n == 0) return (0, 0);
        double mean = Sum(a) / n;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var m = new Vector<double>(mean);
        Vector<double> s0 = default, s1 = default;
        foreach (var x in va)
        {
            Vector.Widen(x, out var lo, out var hi);
            lo -= m;
            hi -= m;
            s0 += lo * lo;
            s1 += hi * hi;
        }
        double ss = Vector.Sum(s0 + s1);
        for (int i = va.Length * Vector<float>.Count; i < n; i++)
        {
            double d = a[i] - mean;
            ss += d * d;
        }
        return (mean, Math.Sqrt(ss / n));
    }

    /// <summary>Mean of |a| in double.</summary>
    public static double MeanAbs(ReadOnlySpan<float> a)
    {
        if (a.Length == 0) return 0;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        Vector<double> s0 = default, s1 = default;
        foreach (var x in va)
        {
            Vector.Widen(Vector.Abs(x), out var lo, out var hi);
            s0 += lo;
            s1 += hi;
        }
        double s = Vector.Sum(s0 + s1);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += Math.Abs(a[i]);
        return s / a.Length;
    }

    /// <summary>The sums behind the losses of one group: w·w, w·v, v·v, Σv, Σw and Σ(w − q)².</summary>
    public readonly record struct Sums(double WW, double WV, double VV, double SumV, double SumW, double SquaredError);

    /// <summary>One fused pass over w (float weights), v (grid values) and q (dequantized weights).</summary>
    public static Sums GroupSums(ReadOnlySpan<float> w, ReadOnlySpan<float> v, ReadOnlySpan<float> q)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
        var vq = MemoryMarshal.Cast<float, Vector<float>>(q);
        Vector<double> ww = default, wv = default, v2 = default, sv = default, sw = default, ee = default;
        for (int i = 0; i < vw.Length; i++)
        {
            Vector.Widen(vw[i], out var wl, out var wh);
            Vector.Widen(vv[i], out var vl, out var vh);
            Vector.Widen(vw[i] - vq[i], out var el, out var eh);
            ww += wl * wl + wh * wh;
            wv += wl * vl + wh * vh;
            v2 += vl * vl + vh * vh;
            sv += vl + vh;
            sw += wl + wh;
            ee += el * el + eh * eh;
        }
        double sWW = Vector.Sum(ww), sWV = Vector.Sum(wv), sVV = Vector.Sum(v2), sSV = Vector.Sum(sv), sSW = Vector.Sum(sw), sEE = Vector.Sum(ee);
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++)
        {
            double a = w[i], b = v[i], e = w[i] - q[i];
            sWW += a * a;
            sWV += a * b;
            sVV += b * b;
            sSV += b;
            sSW += a;
            sEE += e * e;
        }
        return new Sums(sWW, sWV, sVV, sSV, sSW, sEE);
    }

    /// <summary>
    /// The grid projection shared by the quantizers: with x = (w − center)/step − preSubtract,
    /// r = clamp(round_half_even(x), lo, hi); codes = (int)r + codeShift; v = r + vOffset.
    /// (center = 0 skips the subtraction, so VecQ computes exactly w/step − ½.)
    /// </summary>
    public static void Project(ReadOnlySpan<float> w, float center, float step, float preSubtract, float lo, float hi,
        int codeShift, float vOffset, Span<int> codes, Span<float> v)
    {
        for (int s = 0; s < w.Length; s += Block)
        {
            int len = Math.Min(Block, w.Length - s);
            var wb = w.Slice(s, len);
            var vb = v.Slice(s, len);
            var cb = codes.Slice(s, len);
            if (center != 0)
            {
                TensorPrimitives.Subtract(wb, center, vb);
                TensorPrimitives.Divide(vb, step, vb);
            }
            else TensorPrimitives.Divide(wb, step, vb);
            if (preSubtract != 0) TensorPrimitives.Subtract(vb, preSubtract, vb);
            TensorPrimitives.Round(vb, MidpointRounding.ToEven, vb);
            TensorPrimitives.Clamp(vb, lo, hi, vb);
            TensorPrimitives.ConvertTruncating<float, int>(vb, cb);
            if (codeShift != 0) TensorPrimitives.Add(cb, codeShift, cb);
            if (vOffset != 0) TensorPrimitives.Add(vb, vOffset, vb);
        }
    }

    /// <summary>v = (float)codes + offset (exact for |codes| &lt; 2^24).</summary>
    public static void CodesToV(ReadOnlySpan<int> codes, float offset, Span<float> v)
    {
        TensorPrimitives.ConvertTruncating<int, float>(codes, v);
        if (offset != 0) TensorPrimitives.Add(v, offset, v);
    }

    /// <summary>q = v·alpha, then + shift when shift ≠ 0: the one dequantization formula of the library.</summary>
    public static void Dequantize(ReadOnlySpan<float> v, float alpha, float shift, Span<float> q)
    {
        TensorPrimitives.Multiply(v, alpha, q);
        if (shift != 0) TensorPrimitives.Add(q, shift, q);
    }
}
