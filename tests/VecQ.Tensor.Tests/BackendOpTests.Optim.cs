using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// The fused optimizer kernels (SGD, Adam/AdamW, sum of squares) and the in-place scale on every backend
// column against the reference, float32 and float64, over sizes 1, primes, odd sizes, a vector width ± 1
// and sizes above the parallel threshold (2·OptimChunk). The updates are elementwise and done in the
// reference's order, so they must agree bit for bit; the sum of squares only reorders a double sum.
public partial class BackendOpTests
{
    private static readonly DType[] FloatTypes = [DType.Float32, DType.Float64];

    /// <summary>Every float dtype with sizes 1, small primes and odd sizes, 2·OptimChunk + 1 (prime), 3·OptimChunk + 13 and three random sizes.</summary>
    public static TheoryData<DType, int> OptimSizes()
    {
        var sizes = new List<int> { 1, 2, 3, 7, 8, 9, 16, 17, 31, 97, 1001, 4099, 2 * CpuBackend.OptimChunk + 1, 3 * CpuBackend.OptimChunk + 13 };
        var r = new Random(2024);
        for (int i = 0; i < 3; i++) sizes.Add(r.Next(2, 5 * CpuBackend.OptimChunk));
        var d = new TheoryData<DType, int>();
        foreach (var dtype in FloatTypes)
            foreach (int n in sizes) d.Add(dtype, n);
        return d;
    }

    /// <summary>n deterministic values in [−1, 1) (absolute values when <paramref name="positive"/>) as a [n] tensor of <paramref name="dtype"/> on the column's device.</summary>
    private static Tensor OptimValues(BackendCase d, DType dtype, int n, int seed, bool positive = false)
    {
        var r = new Random(seed);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = positive ? r.NextDouble() : r.NextDouble() * 2 - 1;
        return dtype == DType.Float64 ? d.T(v) : d.T(Array.ConvertAll(v, x => (float)x));
    }

    /// <summary>Flag combinations: weight decay 0 / non-zero × (no momentum, momentum, dampened momentum, Nesterov).</summary>
    private static IEnumerable<SgdStepArgs> SgdFlagCases()
    {
        foreach (double wd in new[] { 0.0, 0.01 })
        {
            yield return new SgdStepArgs(Lr: 0.1, WeightDecay: wd);
            yield return new SgdStepArgs(Lr: 0.1, Momentum: 0.9, WeightDecay: wd);
            yield return new SgdStepArgs(Lr: 0.07, Momentum: 0.9, Dampening: 0.3, WeightDecay: wd);
            yield return new SgdStepArgs(Lr: 0.05, Momentum: 0.8, WeightDecay: wd, Nesterov: true);
        }
    }

    /// <summary>Two SGD steps by the column's backend kernel (the first with <paramref name="firstStep"/>); returns param and buffer.</summary>
    private static Tensor[] RunSgd(BackendCase d, DType dtype, int n, SgdStepArgs args, bool firstStep, bool unfused = false)
    {
        var p = OptimValues(d, dtype, n, 1);
        var buf = args.HasMomentum ? OptimValues(d, dtype, n, 3) : null; // on a first step these values are never read
        for (int step = 0; step < 2; step++)
        {
            using var g = OptimValues(d, dtype, n, 10 + step);
            var a = args with { FirstStep = step == 0 && firstStep };
            if (unfused) OptimOps.SgdStepUnfused(p, g, buf, a);
            else d.Backend.SgdStep(p, g, buf, a);
        }
        return buf is null ? [p] : [p, buf];
    }

    [BackendTheory]
    [MemberData(nameof(OptimSizes))]
    public void SgdStepMatchesReferenceBitForBit(BackendCase b, DType dtype, int n)
    {
        foreach (var args in SgdFlagCases())
            foreach (bool first in args.HasMomentum ? new[] { true, false } : new[] { false })
                SameBits(b, $"sgd_step {dtype.Name()} [{n}] {args} first={first} (param, buffer)", d => RunSgd(d, dtype, n, args, first));
    }

    /// <summary>Flag combinations: weight decay 0 / non-zero × Adam's L2 / AdamW's decoupled decay, and other betas and eps.</summary>
    private static IEnumerable<AdamStepArgs> AdamFlagCases()
    {
        foreach (double wd in new[] { 0.0, 0.05 })
            foreach (bool decoupled in new[] { false, true })
                yield return new AdamStepArgs(Lr: 0.01, Step: 1, WeightDecay: wd, Decoupled: decoupled);
        yield return new AdamStepArgs(Lr: 0.02, Step: 1, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1);
    }

    /// <summary>Three Adam steps (t = first … first + 2) from random moments, by the column's backend kernel (or the op layer); returns param, m, v.</summary>
    private static Tensor[] RunAdam(BackendCase d, DType dtype, int n, AdamStepArgs args, bool viaOptimOps = false, bool unfused = false)
    {
        var p = OptimValues(d, dtype, n, 1);
        var m = OptimValues(d, dtype, n, 2);
        var v = OptimValues(d, dtype, n, 3, positive: true);
        for (int step = 0; step < 3; step++)
        {
            using var g = OptimValues(d, dtype, n, 10 + step);
            var a = args with { Step = args.Step + step };
            if (unfused) OptimOps.AdamStepUnfused(p, g, m, v, a);
            else if (viaOptimOps) OptimOps.AdamStep(p, g, m, v, a);
            else d.Backend.AdamStep(p, g, m, v, a);
        }
        return [p, m, v];
    }

    // What a backend without IFusedOptimizer runs (the rule as elementwise primitives on the column's device)
    // against the reference's fused kernel: the same float operations in the same order, so the same bits.
    [BackendTheory]
    [MemberData(nameof(OptimSizes))]
    public void SgdAndAdamFromPrimitives_MatchTheFusedReferenceBitForBit(BackendCase b, DType dtype, int n)
    {
        foreach (var args in SgdFlagCases())
            foreach (bool first in args.HasMomentum ? new[] { true, false } : new[] { false })
                SameBits(b, $"unfused sgd_step {dtype.Name()} [{n}] {args} first={first} (param, buffer)",
                    d => RunSgd(d, dtype, n, args, first, unfused: !d.IsReference));
        foreach (var args in AdamFlagCases())
            SameBits(b, $"unfused adam_step {dtype.Name()} [{n}] {args} (param, exp_avg, exp_avg_sq)",
                d => RunAdam(d, dtype, n, args, unfused: !d.IsReference));
    }

    [BackendTheory]
    [MemberData(nameof(OptimSizes))]
    public void AdamStepMatchesReferenceBitForBit(BackendCase b, DType dtype, int n)
    {
        foreach (var args in AdamFlagCases())
            SameBits(b, $"adam_step {dtype.Name()} [{n}] {args} (param, exp_avg, exp_avg_sq)", d => RunAdam(d, dtype, n, args));
    }

    [BackendTheory]
    [MemberData(nameof(OptimSizes))]
    public void SumOfSquaresMatchesReference(BackendCase b, DType dtype, int n)
    {
        double expected;
        using (var x = OptimValues(BackendCase.Reference, dtype, n, 4)) expected = Backend.Reference.SumOfSquares(x);
        using var scope = b.Enter();
        using var xb = OptimValues(b, dtype, n, 4);
        double actual = b.Backend.SumOfSquares(xb);
        Assert.True(Math.Abs(actual - expected) <= 1e-12 * expected, $"sum_of_squares {dtype.Name()} [{n}]: reference {expected:R}, {b.Name} {actual:R}");
        Assert.Equal(actual, OptimOps.SumOfSquares(xb)); // the entry point runs the device's backend
        using var t = OptimOps.SumOfSquaresTensor(xb);
        Assert.Equal(b.Device, t.Device);
        Assert.Equal(actual, t.Item());
    }

    [BackendTheory]
    [MemberData(nameof(OptimSizes))]
    public void MulInPlaceMatchesReferenceBitForBit(BackendCase b, DType dtype, int n)
    {
        const double s = 0.3712;
        SameBits(b, $"mul_ {dtype.Name()} [{n}]", d =>
        {
            var x = OptimValues(d, dtype, n, 5);
            x.Mul_(s);
            return [x];
        });
        // in place equals out of place
        SameBits(b, $"mul {dtype.Name()} [{n}]", d =>
        {
            using var x = OptimValues(d, dtype, n, 5);
            return [x.Mul(s)];
        });
    }

    [BackendTheory]
    public void OptimOpsDispatchToTheDevicesBackend(BackendCase b)
    {
        // OptimOps picks the backend by the parameter's device (the scoped one on the CPU): the same bits as the kernel
        foreach (var dtype in FloatTypes)
        {
            var args = new AdamStepArgs(Lr: 0.01, Step: 2, WeightDecay: 0.01, Decoupled: true);
            SameBits(b, $"adam_step via OptimOps {dtype.Name()}", d => RunAdam(d, dtype, 37, args, viaOptimOps: true));
            SameBits(b, $"sgd_step via OptimOps {dtype.Name()}", d =>
            {
                var p = OptimValues(d, dtype, 37, 1);
                var buf = OptimValues(d, dtype, 37, 3);
                using var g = OptimValues(d, dtype, 37, 10);
                OptimOps.SgdStep(p, g, buf, new SgdStepArgs(Lr: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true));
                return [p, buf];
            });
        }
    }

    [BackendTheory]
    public void OptimOpsRejectBadOperandsNamingTheOpAndShapes(BackendCase b)
    {
        using var scope = b.Enter();
        using var p = b.Zeros([2, 2]);
        using var g = b.Ones([2, 2]);
        using var buf = b.Zeros([2, 2]);
        using var g3 = b.Ones([3]);
        using var g64 = b.Ones([2, 2], DType.Float64);
        using var ints = b.Zeros([2, 2], DType.Int32);
        using var wide = b.Zeros([2, 3]);
        using var pt = wide.T();
        var sgd = new SgdStepArgs(Lr: 0.1, Momentum: 0.9);

        void Throws(string expected, Action act)
        {
            var e = Assert.Throws<ArgumentException>(act);
            Assert.Equal(expected, e.Message);
        }

        Throws("sgd_step: grad [3] must have the shape of param [2, 2]", () => OptimOps.SgdStep(p, g3, buf, sgd));
        Throws("sgd_step: grad [2, 2] is float64 but param [2, 2] is float32; every operand must have param's dtype", () => OptimOps.SgdStep(p, g64, buf, sgd));
        Throws("sgd_step: param [2, 2] is int32; expected float32 or float64", () => OptimOps.SgdStep(ints, ints, null, new SgdStepArgs(0.1)));
        Throws("sgd_step: param [3, 2] with strides [1, 3] must be contiguous; call Contiguous() first", () => OptimOps.SgdStep(pt, pt, null, new SgdStepArgs(0.1)));
        Throws("sgd_step: momentum 0.9 needs a momentum buffer shaped like param [2, 2]; got none", () => OptimOps.SgdStep(p, g, null, sgd));
        Throws("sgd_step: momentum is 0, so no momentum buffer is used; got one [2, 2]", () => OptimOps.SgdStep(p, g, buf, new SgdStepArgs(0.1)));
        Throws("sgd_step: momentum buffer [3] must have the shape of param [2, 2]", () => OptimOps.SgdStep(p, g, g3, sgd));

        var adam = new AdamStepArgs(Lr: 0.01, Step: 1);
        Throws("adam_step: exp_avg_sq [3] must have the shape of param [2, 2]", () => OptimOps.AdamStep(p, g, buf, g3, adam));
        Throws("adam_step: exp_avg [2, 2] is float64 but param [2, 2] is float32; every operand must have param's dtype", () => OptimOps.AdamStep(p, g, g64, buf, adam));
        Throws("adam_step: step 0 must be >= 1 (the first update is step 1)", () => OptimOps.AdamStep(p, g, buf, buf, adam with { Step = 0 }));

        Throws("sum_of_squares: input [2, 2] is int32; expected float32 or float64", () => OptimOps.SumOfSquares(ints));
        Throws("sum_of_squares: input [3, 2] with strides [1, 3] must be contiguous; call Contiguous() first", () => OptimOps.SumOfSquares(pt));
        Throws("mul_: destination [3, 2] with strides [1, 3] must be contiguous", () => pt.Mul_(2));
        Throws("mul_: tensor [2, 2] is int32; expected float32 or float64", () => ints.Mul_(2));

        // the backends check the same rules before touching memory, and nothing is written on failure
        var backend = b.Backend;
        Assert.Contains("sgd_step: grad [3]", Assert.Throws<ArgumentException>(() => backend.SgdStep(p, g3, buf, sgd)).Message);
        Assert.Contains("adam_step: exp_avg [3]", Assert.Throws<ArgumentException>(() => backend.AdamStep(p, g, g3, buf, adam)).Message);
        Assert.Contains("sum_of_squares: input [3, 2]", Assert.Throws<ArgumentException>(() => backend.SumOfSquares(pt)).Message);
        Assert.Equal(new float[4], p.ToArray());
        Assert.Equal(new float[4], buf.ToArray());
    }
}
