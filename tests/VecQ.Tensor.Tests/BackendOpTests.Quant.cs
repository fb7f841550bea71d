using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// The weight quantizer's kernels (QuantOps.GroupMoments, GridProject, DequantizeSums) on every backend column:
// moments against a two-pass double computation, the projection's codes and grid values bit for bit (the same
// float32 operations everywhere), the double sums up to their summation order, and the operand checks' messages.
public partial class BackendOpTests
{
    /// <summary>(G, M, offset): one element, primes, a vector width ± 1, more than one 64K chunk per row, a large common offset.</summary>
    public static TheoryData<int, int, double> MomentCases => new()
    {
        { 1, 1, 0 },
        { 1, 7, 0 },
        { 3, 5, 0.25 },
        { 7, 64, 0 },
        { 2, 1000, -3 },
        { 64, 75, 0 },                       // one row per output channel of a [64, 3, 5, 5] weight
        { 13, 9, 300 },                      // the mean is far from 0: no cancellation
        { 2, QuantKernels.Chunk * 2 + 17, 0.5 },  // several chunks per row (run in parallel)
        { 1, 200_003, 0 },
    };

    /// <summary>Row r of a [G, M] block: deterministic values of scale 1 + r around offset (−offset on odd rows).</summary>
    private static float[] QuantRows(int g, int m, double offset, int seed)
    {
        var v = TestUtil.Values(g * m, seed);
        for (int r = 0; r < g; r++)
            for (int i = 0; i < m; i++) v[r * m + i] = (float)(v[r * m + i] * (1 + r) + (r % 2 == 0 ? offset : -offset));
        return v;
    }

    [BackendTheory]
    [MemberData(nameof(MomentCases))]
    public void GroupMomentsMatchATwoPassDoubleComputation(BackendCase b, int g, int m, double offset)
    {
        var w = QuantRows(g, m, offset, 7);
        var (em, es) = (new double[g], new double[g]);
        for (int r = 0; r < g; r++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < m; i++) sum += w[r * m + i];
            em[r] = sum / m;
            for (int i = 0; i < m; i++) { double d = w[r * m + i] - em[r]; sq += d * d; }
            es[r] = Math.Sqrt(sq / m);
        }
        using var scope = b.Enter();
        foreach (var layout in new[] { "contiguous", "transposed" })
        {
            using var x0 = layout == "contiguous" ? b.T(w, g, m) : b.T(Transpose(w, g, m), m, g);
            using var x = layout == "contiguous" ? x0.Reshape(g, m) : x0.T();    // the op makes a transposed view contiguous
            var (mean, std) = QuantOps.GroupMoments(x);
            using (mean)
            using (std)
            {
                foreach (var t in new[] { mean, std })
                {
                    Assert.Equal(b.Device, t.Device);
                    Assert.Equal(DType.Float64, t.DType);
                    Assert.Equal([g], t.Dims);
                }
                double scale = 1 + g + Math.Abs(offset);
                TestUtil.AssertClose(em, mean.ToArray<double>(), 1e-13 * scale, 1e-12, $"group_moments mean [{g}, {m}] {layout} on {b.Name}");
                TestUtil.AssertClose(es, std.ToArray<double>(), 1e-12 * scale, 1e-9, $"group_moments std [{g}, {m}] {layout} on {b.Name}");
            }
        }
        // a constant row has no spread at all
        using var c = b.Full([2, 33], 0.3);
        var (cm, cs) = QuantOps.GroupMoments(c);
        using (cm) using (cs)
        {
            Assert.Equal(new[] { 0.3f, 0.3f }, cm.ToArray<double>().Select(v => (float)v));
            Assert.Equal([0.0, 0.0], cs.ToArray<double>());
        }
    }

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    /// <summary>(bits, or 0 for the integer grid −3..3 with codes 0..6, G, M).</summary>
    public static TheoryData<int, int, int> GridCases => new()
    {
        { 1, 3, 1 },
        { 2, 4, 7 },
        { 2, 2, 9 },
        { 3, 5, 33 },
        { 4, 6, 16 },
        { 8, 3, 17 },
        { 0, 4, 31 },
        { 2, 2, QuantKernels.Chunk + 3 },   // two chunks per row
    };

    private static GridSpec Grid(int bits) => bits == 0 ? new GridSpec(PreSubtract: 0, Lo: -3, Hi: 3, CodeShift: 3, VOffset: 0) : GridSpec.HalfInteger(bits);

    /// <summary>
    /// The projection's inputs on a column: w with values inside and beyond the grid and exact ties (x − ½ on a
    /// half-integer), a zero center on even rows (no subtraction) and a non-zero one on odd rows, per-row steps.
    /// </summary>
    private static (Tensor W, Tensor Center, Tensor Step) GridInputs(BackendCase d, int bits, int g, int m)
    {
        var spec = Grid(bits);
        var w = TestUtil.Values(g * m, 11);
        var center = new float[g];
        var step = new float[g];
        for (int r = 0; r < g; r++)
        {
            center[r] = r % 2 == 0 ? 0 : 0.125f * r;
            step[r] = 0.25f + 0.5f * r;
            float reach = (spec.Hi - spec.Lo + 3) * step[r] / 2;   // some values clamp
            for (int i = 0; i < m; i++)
            {
                int k = r * m + i;
                // every fifth value a tie: (w − c)/s − PreSubtract = n + ½ exactly (step and center are dyadic)
                w[k] = i % 5 == 2 ? center[r] + step[r] * (spec.PreSubtract + (i % 7) - 3 + 0.5f) : center[r] + w[k] * reach;
            }
        }
        return (d.T(w, g, m), d.T(center), d.T(step));
    }

    [BackendTheory]
    [MemberData(nameof(GridCases))]
    public void GridProjectCodesAndValuesAreExactAndItsDotsClose(BackendCase b, int bits, int g, int m)
    {
        var spec = Grid(bits);
        Tensor[] Project(BackendCase d)
        {
            var (w, center, step) = GridInputs(d, bits, g, m);
            using (w) using (center) using (step)
            {
                var codes = d.Full([g, m], -99, DType.Int32);
                var v = d.Full([g, m], float.NaN);
                var dots = QuantOps.GridProject(w, center, step, spec, codes, v);
                return [codes, v, dots];
            }
        }
        string what = $"grid_project bits={bits} [{g}, {m}]";
        SameBits(b, what + " codes", d => { var r = Project(d); r[1].Dispose(); r[2].Dispose(); return [r[0]]; });
        SameBits(b, what + " v", d => { var r = Project(d); r[0].Dispose(); r[2].Dispose(); return [r[1]]; });
        SameAll(b, what + " dots", d => { var r = Project(d); r[0].Dispose(); r[1].Dispose(); return [r[2]]; }, 1e-9, 1e-12);

        // on the column itself: v = code − CodeShift + VOffset on the grid, and dots = (w·v, v·v) of what it wrote
        var res = Run(b, d =>
        {
            var (w, center, step) = GridInputs(d, bits, g, m);
            using (center) using (step)
            {
                var p = Project(d);
                return [w, .. p];
            }
        }, what);
        double[] wv = res[0].Values, codes = res[1].Values, v = res[2].Values, dots = res[3].Values;
        Assert.Equal([g, 2], res[3].Shape);
        for (int k = 0; k < codes.Length; k++)
        {
            double r = codes[k] - spec.CodeShift;
            Assert.True(r >= spec.Lo && r <= spec.Hi && v[k] == (float)(r + spec.VOffset), $"{what} on {b.Name}: element {k}: code {codes[k]}, v {v[k]}");
        }
        for (int r = 0; r < g; r++)
        {
            double a = 0, c = 0;
            for (int i = 0; i < m; i++) { a += wv[r * m + i] * v[r * m + i]; c += v[r * m + i] * v[r * m + i]; }
            TestUtil.AssertClose([a, c], [dots[2 * r], dots[2 * r + 1]], 1e-9, 1e-12, $"{what} dots of row {r} on {b.Name}");
        }
    }

    [BackendTheory]
    public void GridProjectRoundsTiesToEvenAndClamps(BackendCase b)
    {
        // 3 bits, center 0, step 1: x = w − ½; ties at x = n + ½ go to the even n; beyond [−4, 3] clamped
        using var scope = b.Enter();
        using var w = b.T([0f, 1f, 2f, 3f, -1f, -2f, 0.5f, 1.4f, 10f, -10f], 1, 10);
        using var center = b.Zeros([1]);
        using var step = b.Ones([1]);
        using var codes = b.Zeros([1, 10], DType.Int32);
        using var v = b.Zeros([1, 10]);
        using var dots = QuantOps.GridProject(w, center, step, GridSpec.HalfInteger(3), codes, v);
        // x:       −0.5  0.5  1.5  2.5  −1.5  −2.5  0  0.9  9.5  −10.5
        Assert.Equal([0, 0, 2, 2, -2, -2, 0, 1, 3, -4], codes.ToArray<int>());
        Assert.Equal([0.5f, 0.5f, 2.5f, 2.5f, -1.5f, -1.5f, 0.5f, 1.5f, 3.5f, -3.5f], v.ToArray());
        var wv = new[] { 0, 1, 2, 3, -1, -2, 0.5, 1.4f, 10, -10 }.Zip(v.ToArray(), (x, y) => (double)(float)x * y).Sum();
        var vv = v.ToArray().Sum(y => (double)y * y);
        TestUtil.AssertClose([wv, vv], dots.ToArray<double>(), 1e-12, 1e-12, $"grid_project ties on {b.Name}");
    }

    [BackendTheory]
    public void QuantKernelsTreatSpecialValuesLikeTheReference(BackendCase b)
    {
        // NaN, ±∞, ±0 and huge weights in the vector bodies and the scalar tails (rows of 8 + 3); each row holds a NaN,
        // so its sums are NaN whatever their order
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 3e38f, -3e38f, 1e-45f, 0.75f, -2.25f, 1.5f];
        var w = Enumerable.Range(0, 2 * 11).Select(i => special[(i * 5) % special.Length]).ToArray();
        SameBits(b, "grid_project of special values (codes, v, dots)", d =>
        {
            using var wt = d.T(w, 2, 11);
            using var center = d.T([0f, 0.25f]);
            using var step = d.T([1f, 0.5f]);
            var codes = d.Zeros([2, 11], DType.Int32);
            var v = d.Zeros([2, 11]);
            var dots = QuantOps.GridProject(wt, center, step, GridSpec.HalfInteger(2), codes, v);
            return [codes, v, dots];
        });
        SameBits(b, "dequantize_sums of special values (q, sums)", d =>
        {
            using var wt = d.T(w, 2, 11);
            using var alpha = d.T([2f, 0.5f]);
            using var shift = d.T([0f, -1f]);
            var q = d.Zeros([2, 11]);
            var sums = QuantOps.DequantizeSums(wt, wt, alpha, shift, q);
            return [q, sums];
        });
        SameAll(b, "group_moments of special values", d =>
        {
            using var wt = d.T(w, 2, 11);
            var (mean, std) = QuantOps.GroupMoments(wt);
            return [mean, std];
        }, 0, 0);
    }

    public static TheoryData<int, int> DequantCases => new()
    {
        { 1, 1 }, { 2, 7 }, { 3, 16 }, { 5, 33 }, { 64, 75 }, { 2, QuantKernels.Chunk * 2 + 5 },
    };

    [BackendTheory]
    [MemberData(nameof(DequantCases))]
    public void DequantizeSumsGiveExactQAndCloseSums(BackendCase b, int g, int m)
    {
        Tensor[] Dequantize(BackendCase d, bool withInputs)
        {
            using var w0 = d.Rand(21, g, m);
            var w = w0 * 0.7;
            using var c0 = d.RandInt(22, 4, g, m);
            using var c = c0.Cast(DType.Float32);
            var v = c - 1.5;                                       // a 2-bit grid: ±½, ±3/2
            var av = Enumerable.Range(0, g).Select(r => 0.05f + 0.01f * r).ToArray();
            var sv = Enumerable.Range(0, g).Select(r => r % 2 == 0 ? 0f : 0.03f * r).ToArray();   // no shift on even rows
            using var alpha = d.T(av);
            using var shift = d.T(sv);
            var q = d.Full([g, m], float.NaN);
            var sums = QuantOps.DequantizeSums(w, v, alpha, shift, q);
            if (withInputs) return [w, v, q, sums];
            w.Dispose();
            v.Dispose();
            return [q, sums];
        }
        string what = $"dequantize_sums [{g}, {m}]";
        SameBits(b, what + " q", d => { var r = Dequantize(d, false); r[1].Dispose(); return [r[0]]; });
        SameAll(b, what + " sums", d => { var r = Dequantize(d, false); r[0].Dispose(); return [r[1]]; }, 1e-9, 1e-12);

        // on the column: q = v·alpha (+ shift) in float32, and the six sums of what it read and wrote
        var res = Run(b, d => Dequantize(d, true), what);
        double[] w = res[0].Values, v = res[1].Values, q = res[2].Values, sums = res[3].Values;
        Assert.Equal([g, 6], res[3].Shape);
        for (int r = 0; r < g; r++)
        {
            float a = 0.05f + 0.01f * r, sh = r % 2 == 0 ? 0f : 0.03f * r;
            var e = new double[6];
            for (int i = 0; i < m; i++)
            {
                int k = r * m + i;
                float qk = (float)v[k] * a;
                if (sh != 0) qk += sh;
                Assert.True(qk == (float)q[k], $"{what} on {b.Name}: q[{r}, {i}] = {q[k]}, expected {qk}");
                double err = (float)w[k] - qk;
                e[0] += w[k] * w[k]; e[1] += w[k] * v[k]; e[2] += v[k] * v[k]; e[3] += v[k]; e[4] += w[k]; e[5] += err * err;
            }
            TestUtil.AssertClose(e, sums.Skip(6 * r).Take(6).ToArray(), 1e-9, 1e-12, $"{what} sums of row {r} on {b.Name}");
        }
    }

    [BackendTheory]
    public void QuantOpsRejectBadOperandsNamingTheOpAndShapes(BackendCase b)
    {
        using var scope = b.Enter();
        void Throws(string expected, Action act) => Assert.Equal(expected, Assert.Throws<ArgumentException>(act).Message);

        using var w = b.Rand(1, 3, 4);
        using var w1 = b.Rand(2, 5);
        using var wi = b.Zeros([2, 3], DType.Int32);
        using var wEmpty = b.Zeros([3, 0]);
        using var c3 = b.Zeros([3]);
        using var c2 = b.Zeros([2]);
        using var c64 = b.Zeros([3], DType.Float64);
        using var codes = b.Zeros([3, 4], DType.Int32);
        using var codesF = b.Zeros([3, 4]);
        using var v = b.Zeros([3, 4]);
        using var v5 = b.Zeros([3, 5]);
        using var wide = b.Zeros([4, 3]);
        using var vT = wide.T();                 // [3, 4], not contiguous
        var spec = GridSpec.HalfInteger(2);

        Throws("group_moments: input [5] (float32) must be a float32 [G, M] tensor with M >= 1 (one row per group)", () => QuantOps.GroupMoments(w1));
        Throws("group_moments: input [2, 3] (int32) must be a float32 [G, M] tensor with M >= 1 (one row per group)", () => QuantOps.GroupMoments(wi));
        Throws("group_moments: input [3, 0] (float32) must be a float32 [G, M] tensor with M >= 1 (one row per group)", () => QuantOps.GroupMoments(wEmpty));
        Throws("grid_project: input [5] (float32) must be a float32 [G, M] tensor with M >= 1 (one row per group)",
            () => QuantOps.GridProject(w1, c3, c3, spec, codes, v).Dispose());
        Throws("grid_project: center [2] (float32) must be a contiguous float32 [3] (one value per row of [3, 4])",
            () => QuantOps.GridProject(w, c2, c3, spec, codes, v).Dispose());
        Throws("grid_project: step [3] (float64) must be a contiguous float32 [3] (one value per row of [3, 4])",
            () => QuantOps.GridProject(w, c3, c64, spec, codes, v).Dispose());
        Throws("grid_project: codes [3, 4] (float32) must be a contiguous int32 [3, 4] like the weights [3, 4]",
            () => QuantOps.GridProject(w, c3, c3, spec, codesF, v).Dispose());
        Throws("grid_project: v [3, 5] (float32) must be a contiguous float32 [3, 4] like the weights [3, 4]",
            () => QuantOps.GridProject(w, c3, c3, spec, codes, v5).Dispose());
        Throws("grid_project: v [3, 4] (float32) must be a contiguous float32 [3, 4] like the weights [3, 4]",
            () => QuantOps.GridProject(w, c3, c3, spec, codes, vT).Dispose());
        Throws("dequantize_sums: v [3, 5] (float32) must be a contiguous float32 [3, 4] like the weights [3, 4]",
            () => QuantOps.DequantizeSums(w, v5, c3, c3, v).Dispose());
        Throws("dequantize_sums: q [3, 4] (float32) must be a contiguous float32 [3, 4] like the weights [3, 4]",
            () => QuantOps.DequantizeSums(w, v, c3, c3, vT).Dispose());
        Throws("dequantize_sums: alpha [2] (float32) must be a contiguous float32 [3] (one value per row of [3, 4])",
            () => QuantOps.DequantizeSums(w, v, c2, c3, v).Dispose());
        Throws("dequantize_sums: shift [3] (float64) must be a contiguous float32 [3] (one value per row of [3, 4])",
            () => QuantOps.DequantizeSums(w, v, c3, c64, v).Dispose());

        // the backends check the input's rows themselves before touching memory
        using var mean = b.Zeros([3], DType.Float64);
        using var std = b.Zeros([3], DType.Float64);
        Throws("group_moments: input [5] (float32) must be a float32 [G, M] tensor with M >= 1 (one row per group)",
            () => b.Backend.GroupMoments(w1, mean, std));
        Assert.Equal(new double[3], mean.ToArray<double>());
    }
}
