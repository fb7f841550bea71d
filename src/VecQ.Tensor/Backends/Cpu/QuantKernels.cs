using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
namespace VecQ.Tensors;

/// <summary>
/// The weight quantizers' SIMD kernels over host spans: sums and dot products accumulated in double
/// (float lanes widened), the fused grid projection and the dequantization. The CPU backend's quantizer
/// operations (<see cref="IBackend.GroupMoments"/>, <see cref="IBackend.GridProject"/>,
/// <see cref="IBackend.DequantizeSums"/>) run these on tensor memory; host-side tools (the baselines,
/// reports on downloaded weights) call them on their own arrays. No per-element delegates: fused
/// <see cref="Vector{T}"/> loops and <see cref="TensorPrimitives"/>. Long spans are cut into fixed chunks
/// of <see cref="Chunk"/> elements that run on the CPU threads; per-chunk sums are added in chunk order, so
/// every result is the same for any thread count.
/// </summary>
/// <example><code>var (mean, std) = QuantKernels.MeanStd(new float[] { 1, 2, 3 }); // (2, 0.816…)</code></example>
public static unsafe class QuantKernels
{
    /// <summary>Elements per parallel chunk (fixed, so results do not depend on the thread count).</summary>
    public const int Chunk = 1 << 16;

    /// <summary>body(start, length) over the fixed chunks of [0, n), in parallel; the per-chunk results in chunk order.</summary>
    private static T[] Chunked<T>(int n, Func<int, int, T> body)
    {
        int chunks = Math.Max(1, (n + Chunk - 1) / Chunk);
        var results = new T[chunks];
        if (chunks == 1) results[0] = body(0, n);
        else Parallelism.For(chunks, c => results[c] = body(c * Chunk, Math.Min(Chunk, n - c * Chunk)));
        return results;
    }

    /// <summary>Σ of per-chunk double sums, in chunk order.</summary>
    private static double Total(double[] parts)
    {
        double s = 0;
        foreach (var x in parts) s += x;
        return s;
    }

    /// <summary>Σ a in double.</summary>
    public static double Sum(ReadOnlySpan<float> a)
    {
        fixed (float* pa = a)
        {
            float* p = pa;
            return Total(Chunked(a.Length, (s, n) => SumChunk(new ReadOnlySpan<float>(p + s, n))));
        }
    }

    private static double SumChunk(ReadOnlySpan<float> a)
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
        fixed (float* pa = a, pb = b)
        {
            float* p = pa, q = pb;
            return Total(Chunked(a.Length, (s, n) => DotChunk(new ReadOnlySpan<float>(p + s, n), new ReadOnlySpan<float>(q + s, n))));
        }
    }

    private static double DotChunk(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
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

    /// <summary>
    /// Mean and population standard deviation (ddof 0) in one pass, double accumulation, shifted by a[0]:
    /// var = E[(a − a₀)²] − E[a − a₀]², which loses nothing while |a₀ − mean| is within a few thousand σ.
    /// </summary>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<float> a)
    {
        int n = a.Length;
        if (n == 0) return (0, 0);
        double shift = a[0];
        fixed (float* pa = a)
        {
            float* p = pa;
            double s1 = 0, s2 = 0;
            foreach (var (x, x2) in Chunked(n, (s, len) => ShiftedSums(new ReadOnlySpan<float>(p + s, len), shift)))
            {
                s1 += x;
                s2 += x2;
            }
            double m1 = s1 / n;
            return (shift + m1, Math.Sqrt(Math.Max(0, s2 / n - m1 * m1)));
        }
    }

    /// <summary>Σ (a − shift) and Σ (a − shift)² in double.</summary>
    private static (double Sum, double SumSquares) ShiftedSums(ReadOnlySpan<float> a, double shift)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var m = new Vector<double>(shift);
        Vector<double> s0 = default, s1 = default, q0 = default, q1 = default;
        foreach (var x in va)
        {
            Vector.Widen(x, out var lo, out var hi);
            lo -= m;
            hi -= m;
            s0 += lo;
            s1 += hi;
            q0 += lo * lo;
            q1 += hi * hi;
        }
        double sum = Vector.Sum(s0 + s1), ss = Vector.Sum(q0 + q1);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++)
        {
            double d = a[i] - shift;
            sum += d;
            ss += d * d;
        }
        return (sum, ss);
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

    /// <summary>
    /// q = v·alpha (+ shift when shift ≠ 0), the dequantization <see cref="Dequantize"/> does, fused with the
    /// sums of the group's losses over w (float weights), v (grid values) and q, in one pass.
    /// </summary>
    public static Sums DequantizeSums(ReadOnlySpan<float> w, ReadOnlySpan<float> v, float alpha, float shift, Span<float> q)
    {
        if (v.Length != w.Length || q.Length != w.Length) throw new ArgumentException($"dequantize: lengths {w.Length}, {v.Length}, {q.Length} differ");
        fixed (float* pw = w, pv = v, pq = q)
        {
            float* a = pw, b = pv, c = pq;
            var parts = Chunked(w.Length, (s, n) =>
                GroupSums(new ReadOnlySpan<float>(a + s, n), new ReadOnlySpan<float>(b + s, n), alpha, shift, new Span<float>(c + s, n)));
            double ww = 0, wv = 0, vv = 0, sv = 0, sw = 0, ee = 0;
            foreach (var x in parts)
            {
                ww += x.WW; wv += x.WV; vv += x.VV; sv += x.SumV; sw += x.SumW; ee += x.SquaredError;
            }
            return new Sums(ww, wv, vv, sv, sw, ee);
        }
    }

    /// <summary>One fused pass over w (float weights) and v (grid values) that writes q = v·alpha (+ shift) and sums.</summary>
    private static Sums GroupSums(ReadOnlySpan<float> w, ReadOnlySpan<float> v, float alpha, float shift, Span<float> q)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
        var vq = MemoryMarshal.Cast<float, Vector<float>>(q);
        var va = new Vector<float>(alpha);
        var vs = new Vector<float>(shift);
        bool shifted = shift != 0;
        Vector<double> ww = default, wv = default, v2 = default, sv = default, sw = default, ee = default;
        for (int i = 0; i < vw.Length; i++)
        {
            var qi = vv[i] * va;                      // the same float ops as Dequantize
            if (shifted) qi += vs;
            vq[i] = qi;
            Vector.Widen(vw[i], out var wl, out var wh);
            Vector.Widen(vv[i], out var vl, out var vh);
            Vector.Widen(vw[i] - qi, out var el, out var eh);
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
            float qi = v[i] * alpha;
            if (shifted) qi += shift;
            q[i] = qi;
            double a = w[i], b = v[i], e = w[i] - qi;
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
    /// The grid projection shared by the quantizers, one fused SIMD pass: with
    /// x = (w − center)/step − preSubtract, r = clamp(round_half_even(x), lo, hi);
    /// codes = (int)r + codeShift; v = r + vOffset. (center = 0 skips the subtraction, so VecQ computes
    /// exactly w/step − ½; every operation is a correctly rounded IEEE float op, the same in the
    /// vector body and the scalar tail.) Returns w·v and v·v (in double), which the quantizers' scales need.
    /// </summary>
    public static (double WV, double VV) Project(ReadOnlySpan<float> w, float center, float step, float preSubtract, float lo, float hi,
        int codeShift, float vOffset, Span<int> codes, Span<float> v)
    {
        if (codes.Length != w.Length || v.Length != w.Length) throw new ArgumentException($"project: lengths {w.Length}, {codes.Length}, {v.Length} differ");
        fixed (float* pw = w, pv = v)
        fixed (int* pc = codes)
        {
            float* a = pw, b = pv;
            int* c = pc;
            var parts = Chunked(w.Length, (s, n) =>
            {
                var vs = new Span<float>(b + s, n);
                var ws = new ReadOnlySpan<float>(a + s, n);
                ProjectChunk(ws, center, step, preSubtract, lo, hi, codeShift, vOffset, new Span<int>(c + s, n), vs);
                return DotPair(ws, vs);
            });
            double wv = 0, vv = 0;
            foreach (var (x, y) in parts) { wv += x; vv += y; }
            return (wv, vv);
        }
    }

    /// <summary>(w·v, v·v) in double, one pass.</summary>
    private static (double WV, double VV) DotPair(ReadOnlySpan<float> w, ReadOnlySpan<float> v)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
        Vector<double> a0 = default, a1 = default, b0 = default, b1 = default;
        for (int i = 0; i < vw.Length; i++)
        {
            Vector.Widen(vw[i], out var wl, out var wh);
            Vector.Widen(vv[i], out var vl, out var vh);
            a0 += wl * vl;
            a1 += wh * vh;
            b0 += vl * vl;
            b1 += vh * vh;
        }
        double wv = Vector.Sum(a0 + a1), v2 = Vector.Sum(b0 + b1);
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++)
        {
            wv += (double)w[i] * v[i];
            v2 += (double)v[i] * v[i];
        }
        return (wv, v2);
    }

    private static void ProjectChunk(ReadOnlySpan<float> w, float center, float step, float preSubtract, float lo, float hi,
        int codeShift, float vOffset, Span<int> codes, Span<float> v)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
        var vc = MemoryMarshal.Cast<int, Vector<int>>(codes);
        var vCenter = new Vector<float>(center);
        var vStep = new Vector<float>(step);
        var vPre = new Vector<float>(preSubtract);
        var vLo = new Vector<float>(lo);
        var vHi = new Vector<float>(hi);
        var vShift = new Vector<int>(codeShift);
        var vOff = new Vector<float>(vOffset);
        bool shifted = center != 0, pre = preSubtract != 0;
        for (int i = 0; i < vw.Length; i++)
        {
            var x = shifted ? (vw[i] - vCenter) / vStep : vw[i] / vStep;
            if (pre) x -= vPre;
            var r = Vector.Min(Vector.Max(Vector.Round(x), vLo), vHi);
            vc[i] = Vector.ConvertToInt32(r) + vShift;
            vv[i] = r + vOff;
        }
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++)
        {
            float x = shifted ? (w[i] - center) / step : w[i] / step;
            if (pre) x -= preSubtract;
            float r = Math.Min(Math.Max(MathF.Round(x, MidpointRounding.ToEven), lo), hi);
            codes[i] = (int)r + codeShift;
            v[i] = r + vOffset;
        }
    }

    /// <summary>
    /// TWN codes in one SIMD pass: c = sign(w) where |w| &gt; delta, else 0; returns Σ|w| and the count over |w| &gt; delta.
    /// </summary>
    public static (double SumAbove, long CountAbove) Ternary(ReadOnlySpan<float> w, float delta, Span<int> codes)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vc = MemoryMarshal.Cast<int, Vector<int>>(codes);
        var vDelta = new Vector<float>(delta);
        Vector<double> s0 = default, s1 = default;
        Vector<int> count = default;
        for (int i = 0; i < vw.Length; i++)
        {
            var x = vw[i];
            var ax = Vector.Abs(x);
            var above = Vector.GreaterThan(ax, vDelta);                  // −1 where |w| > Δ
            var pos = Vector.GreaterThan(x, Vector<float>.Zero);         // −1 where w > 0
            vc[i] = (-(pos + pos) - Vector<int>.One) & above;             // ±1 above Δ, else 0
            Vector.Widen(Vector.ConditionalSelect(above, ax, Vector<float>.Zero), out var lo, out var hi);
            s0 += lo;
            s1 += hi;
            count -= above;
        }
        double sum = Vector.Sum(s0 + s1);
        long n = Vector.Sum(count);
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++)
        {
            float x = w[i], ax = Math.Abs(x);
            if (ax > delta) { codes[i] = x > 0 ? 1 : -1; sum += ax; n++; }
            else codes[i] = 0;
        }
        return (sum, n);
    }

    /// <summary>Binary codes in one SIMD pass: 0 where w ≥ 0 (v = +½), −1 where w &lt; 0 (v = −½).</summary>
    public static void Binary(ReadOnlySpan<float> w, Span<int> codes)
    {
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vc = MemoryMarshal.Cast<int, Vector<int>>(codes);
        for (int i = 0; i < vw.Length; i++) vc[i] = Vector.OnesComplement(Vector.GreaterThanOrEqual(vw[i], Vector<float>.Zero));
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++) codes[i] = w[i] >= 0 ? 0 : -1;
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

    /// <summary>
    /// Sorts non-negative, non-NaN floats ascending in O(n): their IEEE bit patterns order like the
    /// values, so an LSD radix sort over three 11-bit digits of the uint keys does it (small spans: Sort).
    /// </summary>
    public static void SortNonNegative(Span<float> a)
    {
        int n = a.Length;
        if (n < 4096) { a.Sort(); return; }
        var keys = MemoryMarshal.Cast<float, uint>(a);
        uint[] rented = ArrayPool<uint>.Shared.Rent(n);
        try
        {
            Span<uint> src = keys, dst = rented.AsSpan(0, n);
            Span<int> count = stackalloc int[2048];
            bool inRented = false;
            for (int shift = 0; shift < 32; shift += 11)
            {
                count.Clear();
                foreach (uint k in src) count[(int)((k >> shift) & 2047)]++;
                if (count[(int)((src[0] >> shift) & 2047)] == n) continue;   // every key has this digit
                int sum = 0;
                for (int b = 0; b < 2048; b++) { int c = count[b]; count[b] = sum; sum += c; }
                foreach (uint k in src) dst[count[(int)((k >> shift) & 2047)]++] = k;
                var t = src; src = dst; dst = t;
                inRented = !inRented;
            }
            if (inRented) src.CopyTo(keys);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(rented);
        }
    }
}
