namespace VecQ.Quant.Tests;

/// <summary>The normal-distribution routines, the closed forms of VECQ.md §2, λ_k and its independent checks.</summary>
public sealed class TheoryTests
{
    private static void AssertRel(double expected, double actual, double rtol, string what)
    {
        double err = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(err <= rtol, $"{what}: expected {expected:R}, got {actual:R} (relative error {err:E2} > {rtol:E1})");
    }

    [Theory]
    [InlineData(0.5, 0.5204998778130465377)]
    [InlineData(1.0, 0.8427007929497148693)]
    [InlineData(2.0, 0.9953222650189527342)]
    public void Erf_KnownValues_ToAbout1e15(double x, double expected)
    {
        AssertRel(expected, Normal.Erf(x), 3e-15, $"erf({x})");
        AssertRel(-expected, Normal.Erf(-x), 3e-15, $"erf({-x})");
    }

    [Theory]
    [InlineData(0.5, 0.4795001221869534623)]
    [InlineData(1.5, 0.033894853524689273)]
    [InlineData(2.0, 0.004677734981047265838)]
    [InlineData(3.0, 2.209049699858544137e-05)]
    [InlineData(5.0, 1.537459794428034850e-12)]
    [InlineData(10.0, 2.088487583762544757e-45)]
    public void Erfc_KnownValues_ToAbout1e15(double x, double expected)
    {
        AssertRel(expected, Normal.Erfc(x), 5e-15, $"erfc({x})");
        AssertRel(2 - expected, Normal.Erfc(-x), 3e-15, $"erfc({-x})");
    }

    [Fact]
    public void Erfc_SeriesAndContinuedFraction_AgreeOnTheirOverlap()
    {
        // two independent expansions of the same function
        // 1 − erf(x) carries erf's absolute rounding error (~1e-16), so compare to max(2e-14·erfc, 1e-15)
        for (double x = 0.75; x <= 3.0; x += 0.125)
        {
            double series = 1 - Normal.ErfSeries(x), fraction = Normal.ErfcFraction(x);
            Assert.True(Math.Abs(series - fraction) <= Math.Max(2e-14 * fraction, 1e-15), $"erfc({x}): series {series:R}, continued fraction {fraction:R}");
        }
    }

    [Fact]
    public void Cdf_MatchesSimpsonIntegralOfPdf_AndKnownValues()
    {
        AssertRel(0.8413447460685429486, Normal.Cdf(1), 2e-15, "Φ(1)");
        AssertRel(0.001349898031630094527, Normal.Cdf(-3), 5e-15, "Φ(−3)");
        AssertRel(2.866515718791939e-7, Normal.Tail(5), 1e-14, "1 − Φ(5)");
        foreach (double x in new[] { 0.3, 1.0, 2.2, 3.7 })
        {
            // Φ(x) − ½ = ∫_0^x φ, composite Simpson with 2000 panels
            int n = 2000;
            double h = x / n, s = Normal.Pdf(0) + Normal.Pdf(x);
            for (int i = 1; i < n; i++) s += (i % 2 == 1 ? 4 : 2) * Normal.Pdf(i * h);
            AssertRel(0.5 + s * h / 3, Normal.Cdf(x), 1e-13, $"Φ({x})");
        }
    }

    [Theory]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.5, 0.0)]
    [InlineData(1e-10, -6.361340902404056)]
    public void InverseCdf_InvertsCdf(double p, double expected)
    {
        double x = Normal.InverseCdf(p);
        Assert.True(Math.Abs(x - expected) <= 1e-13 * Math.Max(1, Math.Abs(expected)), $"Φ⁻¹({p}) = {x:R}, expected {expected:R}");
        Assert.Throws<ArgumentException>(() => Normal.InverseCdf(0));
        Assert.Throws<ArgumentException>(() => Normal.InverseCdf(1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(16)]
    public void Levels_Are2PowKDistinctSymmetricHalfIntegers(int k)
    {
        var levels = VecQTheory.Levels(k);
        Assert.Equal(1 << k, levels.Length);
        Assert.Equal(1 << k, levels.Distinct().Count());
        Assert.Equal(-(1 << (k - 1)) + 0.5, levels[0]);
        Assert.Equal((1 << (k - 1)) - 0.5, levels[^1]);
        Assert.DoesNotContain(0.0, levels);
        for (int i = 0; i < levels.Length; i++)
        {
            Assert.Equal(1.0, i == 0 ? 1.0 : levels[i] - levels[i - 1]);
            Assert.Equal(-levels[i], levels[^(i + 1)]);
        }
    }

    [Fact]
    public void B_BothFormsAgree()
    {
        for (int k = 2; k <= 8; k++)
            foreach (double l in new[] { 0.01, 0.05, 0.2, 0.7, 1.5, 3.0 })
                AssertRel(VecQTheory.BDirect(k, l), VecQTheory.B(k, l), 1e-11, $"B({k}, {l})");
    }

    /// <summary>A = E[t·v], B = E[v²] by quadrature of |v(t)|·t·φ(t) and v(t)²·φ(t), level interval by level interval.</summary>
    [Theory]
    [InlineData(2, 0.9)]
    [InlineData(3, 0.6)]
    [InlineData(4, 0.3)]
    [InlineData(6, 0.1)]
    public void AandB_MatchQuadratureOfTheirDefinitions(int k, double lambda)
    {
        int n = (1 << (k - 1)) - 1;
        double a = 0, b = 0;
        for (int j = 0; j <= n; j++)
        {
            double lo = j * lambda, hi = j == n ? 40 : (j + 1) * lambda, v = j + 0.5;
            int m = 20_000;
            double h = (hi - lo) / m, st = 0, s1 = 0;
            for (int i = 0; i <= m; i++)
            {
                double t = lo + i * h, w = i == 0 || i == m ? 1 : i % 2 == 1 ? 4 : 2;
                st += w * t * Normal.Pdf(t);
                s1 += w * Normal.Pdf(t);
            }
            a += 2 * v * st * h / 3;       // both halves of the line
            b += 2 * v * v * s1 * h / 3;
        }
        AssertRel(a, VecQTheory.A(k, lambda), 1e-11, $"A({k}, {lambda})");
        AssertRel(b, VecQTheory.B(k, lambda), 1e-11, $"B({k}, {lambda})");
    }

    [Fact]
    public void OptimalLambda_IsAStationaryMinimum_ForK2To8()
    {
        for (int k = 2; k <= 8; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            double a = VecQTheory.A(k, l), b = VecQTheory.B(k, l);
            Assert.True(Math.Abs(l * b - a) <= 1e-12 * a, $"k={k}: λB − A = {l * b - a:E2} at λ = {l:R}");
            double j = VecQTheory.ExpectedOrientationLoss(k, l);
            foreach (double d in new[] { -1e-3, 1e-3 })
                Assert.True(VecQTheory.ExpectedOrientationLoss(k, l * (1 + d)) > j, $"k={k}: E[J_o] is lower at λ(1{d:+0.000;-0.000})");
            Assert.Equal(l, VecQTheory.OptimalLambda(k));   // cached, same value
            Assert.Equal(l, VecQTheory.ComputeOptimalLambda(k));
            Assert.InRange(j, 0, 1);
        }
        // the step shrinks about geometrically with the bits
        for (int k = 3; k <= 8; k++) Assert.InRange(VecQTheory.OptimalLambda(k) / VecQTheory.OptimalLambda(k - 1), 0.5, 0.6);
    }

    [Fact]
    public void OptimalLambda_AboveEightBits_UsesSixOver2PowKMinus1_AndOneBitIsDegenerate()
    {
        for (int k = 9; k <= 16; k++) Assert.Equal(6.0 / ((1 << k) - 1), VecQTheory.OptimalLambda(k));
        Assert.Equal(VecQTheory.OneBitLambda, VecQTheory.OptimalLambda(1));
        // k = 1: grid ±½, J_o = 1 − √(2/π) for every λ
        foreach (double l in new[] { 0.01, 1.0, 50.0 })
            Assert.Equal(1 - Math.Sqrt(2 / Math.PI), VecQTheory.ExpectedOrientationLoss(1, l), 14);
        foreach (int bad in new[] { 0, 17, -1 })
        {
            var e = Assert.Throws<ArgumentException>(() => VecQTheory.OptimalLambda(bad));
            Assert.Contains(bad.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        }
    }

    /// <summary>μL2Q's λ: the minimiser of E[(t − λ·v(t))²], computed by our code (VECQ.md §5).</summary>
    [Fact]
    public void MuL2QLambda_IsTwoRootTwoOverPiAtOneBit_AndLambdaKAbove()
    {
        double one = VecQTheory.OptimalMuL2QLambda(1);
        Assert.True(Math.Abs(one - 2 * Math.Sqrt(2 / Math.PI)) <= 1e-3, $"k=1: λ = {one:R}, expected 2·√(2/π) = {2 * Math.Sqrt(2 / Math.PI):R}");
        Assert.Equal(2 * Math.Sqrt(2 / Math.PI), one, 9);    // the bisection on λB − A is exact to ~1e-12
        Assert.NotEqual(VecQTheory.OneBitLambda, one, 3);
        for (int k = 2; k <= VecQTheory.MaxOptimizedBits; k++)
        {
            double l = VecQTheory.OptimalMuL2QLambda(k);
            Assert.True(Math.Abs(l - VecQTheory.OptimalLambda(k)) <= 1e-3, $"k={k}: μL2Q λ {l:R} vs VecQ λ_k {VecQTheory.OptimalLambda(k):R}");
            // a true minimum of the expected distance
            double d = VecQTheory.ExpectedL2Distance(k, l);
            foreach (double e in new[] { -1e-3, 1e-3 })
                Assert.True(VecQTheory.ExpectedL2Distance(k, l * (1 + e)) > d, $"k={k}: E[(t − λv)²] is lower at λ(1{e:+0.000;-0.000})");
            Assert.Equal(l, VecQTheory.ComputeMuL2QLambda(k));
        }
        // above 8 bits: still minimised (not VecQ's 6/(2^k − 1) rule) and still shrinking
        for (int k = 9; k <= 16; k++)
        {
            double l = VecQTheory.OptimalMuL2QLambda(k);
            Assert.InRange(l / VecQTheory.OptimalMuL2QLambda(k - 1), 0.5, 0.6);
            double d = VecQTheory.ExpectedL2Distance(k, l);
            Assert.True(VecQTheory.ExpectedL2Distance(k, l * 1.01) > d && VecQTheory.ExpectedL2Distance(k, l * 0.99) > d, $"k={k}");
        }
        Assert.Throws<ArgumentException>(() => VecQTheory.OptimalMuL2QLambda(0));
        Assert.Throws<ArgumentException>(() => VecQTheory.OptimalMuL2QLambda(17));
    }

    /// <summary>The authors' μL2Q table, where it agrees with our minimiser (all of k = 1..8 agree to 2e-3).</summary>
    [Theory]
    [InlineData(1, 1.5950)]
    [InlineData(2, 0.9953)]
    [InlineData(3, 0.5872)]
    [InlineData(4, 0.3359)]
    [InlineData(5, 0.1894)]
    [InlineData(6, 0.1057)]
    [InlineData(7, 0.0571)]
    [InlineData(8, 0.0305)]
    public void MuL2QLambda_AgreesWithTheAuthorsTable(int bits, double authors)
    {
        double l = VecQTheory.OptimalMuL2QLambda(bits);
        Assert.True(Math.Abs(l - authors) <= 2e-3, $"k={bits}: ours {l:F5}, the authors' {authors:F4}");
    }

    /// <summary>The closed form E[(t − λv)²] = 1 − 2λA + λ²B against its Monte-Carlo value and minimiser on 10^6 draws.</summary>
    [Fact]
    public void ExpectedL2Distance_MatchesMonteCarlo()
    {
        var t = TestData.Gaussian1M;
        double Sample(int bits, double lambda)
        {
            double lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1, s = 0;
            foreach (double x in t)
            {
                double v = Math.Clamp(Math.Round(x / lambda - 0.5, MidpointRounding.ToEven), lo, hi) + 0.5;
                s += (x - lambda * v) * (x - lambda * v);
            }
            return s / t.Length;
        }
        for (int k = 1; k <= 4; k++)
        {
            int bits = k;
            double l = VecQTheory.OptimalMuL2QLambda(k);
            foreach (double f in new[] { 0.7, 1.0, 1.4 })
                AssertRel(VecQTheory.ExpectedL2Distance(k, f * l), Sample(k, f * l), 0.01, $"k={k}, λ={f * l:F4}");
            double mc = Minimizer.GoldenSection(x => Sample(bits, x), 0.8 * l, 1.2 * l, 1e-5);
            Assert.True(Math.Abs(mc - l) <= 0.005, $"k={k}: closed-form minimiser {l:F5}, Monte-Carlo {mc:F5}");
        }
    }

    [Fact]
    public void ExpectedLosses_AreConsistent()
    {
        for (int k = 2; k <= 8; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            double a = VecQTheory.A(k, l), b = VecQTheory.B(k, l);
            double cos = a / Math.Sqrt(b);
            Assert.Equal(1 - cos, VecQTheory.ExpectedOrientationLoss(k), 15);
            Assert.Equal(1 - cos * cos, VecQTheory.ExpectedNormalizedDql(k), 15);
        }
    }

    /// <summary>λ_k against the minimiser of the Monte-Carlo J_o over 10^6 seeded Gaussian draws.</summary>
    /// <remarks>
    /// The sampling spread of a 10^6-sample minimiser is about ±0.001 in λ (observed up to 0.0018 over
    /// several seeds): the tolerance is 0.002 absolute (three decimals) and 3 % relative.
    /// </remarks>
    [Fact]
    public void OptimalLambda_MatchesMonteCarloMinimiser_On1MSamples()
    {
        var t = TestData.Gaussian1M;
        for (int k = 2; k <= 8; k++)
        {
            int bits = k;
            double l = VecQTheory.OptimalLambda(k);
            double mc = Minimizer.GoldenSection(x => VecQTheory.OrientationLoss(t, bits, x), 0.8 * l, 1.2 * l, 1e-6);
            Assert.True(Math.Abs(mc - l) <= 0.002 && Math.Abs(mc - l) <= 0.03 * l, $"k={k}: λ_k = {l:F5}, Monte-Carlo minimiser {mc:F5}");
        }
    }

    /// <summary>On the stratified quantile sample the minimiser agrees to better than 1e-3 relative.</summary>
    [Fact]
    public void OptimalLambda_MatchesMinimiserOnQuantileSample()
    {
        var t = TestData.Quantiles1M;
        for (int k = 2; k <= 8; k++)
        {
            int bits = k;
            double l = VecQTheory.OptimalLambda(k);
            double mc = Minimizer.GoldenSection(x => VecQTheory.OrientationLoss(t, bits, x), 0.8 * l, 1.2 * l, 1e-8);
            Assert.True(Math.Abs(mc - l) <= 1e-3 * l, $"k={k}: λ_k = {l:R}, quantile-sample minimiser {mc:R}");
        }
    }

    [Fact]
    public void OptimalLambda_MatchesGridSearchLambda_On1MGaussianWeights()
    {
        var w = TestData.Gaussian1MFloat;
        for (int k = 2; k <= 8; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            double g = VecQTheory.GridSearchLambda(w, k);
            Assert.True(Math.Abs(g - l) <= 0.002 && Math.Abs(g - l) <= 0.03 * l, $"k={k}: λ_k = {l:F5}, grid search {g:F4}");
            Assert.Equal(0, Math.Round(g * 1000) - g * 1000, 6);   // on the 0.001 grid
        }
        var q = Array.ConvertAll(TestData.Quantiles1M, x => (float)x);
        for (int k = 2; k <= 8; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            double g = VecQTheory.GridSearchLambda(q, k);
            Assert.True(Math.Abs(g - l) <= 0.0006, $"k={k} quantile sample: λ_k = {l:F5}, grid search {g:F4} (grid step 0.001)");
        }
    }

    [Fact]
    public void MonteCarloOrientationLoss_IsSeededAndMatchesTheory()
    {
        Assert.Equal(VecQTheory.MonteCarloOrientationLoss(3, 0.5, 10_000, 5), VecQTheory.MonteCarloOrientationLoss(3, 0.5, 10_000, 5));
        Assert.NotEqual(VecQTheory.MonteCarloOrientationLoss(3, 0.5, 10_000, 5), VecQTheory.MonteCarloOrientationLoss(3, 0.5, 10_000, 6));
        for (int k = 2; k <= 3; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            AssertRel(VecQTheory.ExpectedOrientationLoss(k, l), VecQTheory.MonteCarloOrientationLoss(k, l, TestData.Million, 99), 5e-3, $"MC E[J_o] k={k}");
        }
        // the stratified sample has almost no sampling error
        for (int k = 2; k <= 6; k++)
        {
            double l = VecQTheory.OptimalLambda(k);
            AssertRel(VecQTheory.ExpectedOrientationLoss(k, l), VecQTheory.OrientationLoss(TestData.Quantiles1M, k, l), 1e-3, $"quantile E[J_o] k={k}");
        }
    }

    /// <summary>
    /// The quantizer's normalised DQL on 10^6 Gaussian float32 weights against the closed form
    /// 1 − A²/B at λ_k, k = 2, 3, 4. On the stratified quantile sample (almost no sampling error) they
    /// agree to 1e-4 relative (three digits and more). On the seeded iid sample the estimate's own
    /// standard error (delta method for the ratio Σ(w − w_q)²/Σw², computed from the data) is 0.1 % (k = 2)
    /// to 0.4 % (k = 4) relative, so 10^6 iid weights cannot resolve three digits at k = 3, 4: the test
    /// asserts that standard error is ≤ 0.5 % and that the estimate lies within 4 standard errors.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void NormalizedDql_OnGaussianWeights_MatchesClosedForm(int k)
    {
        double theory = VecQTheory.ExpectedNormalizedDql(k);
        var strat = new VecQQuantizer(k).Quantize(Array.ConvertAll(TestData.Quantiles1M, x => (float)x));
        AssertRel(theory, strat.NormalizedDql, 1e-4, $"normalised DQL k={k}, 10^6 quantile samples");
        AssertRel(VecQTheory.ExpectedOrientationLoss(k), strat.OrientationLoss, 1e-4, $"J_o k={k}, 10^6 quantile samples");

        var w = TestData.Gaussian1MFloat;
        var iid = new VecQQuantizer(k).Quantize(w);
        double r = iid.NormalizedDql, meanW2 = 0, meanD = 0, meanD2 = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double e = (double)w[i] - iid.Values[i];
            double d = e * e - r * w[i] * w[i];
            meanW2 += (double)w[i] * w[i];
            meanD += d;
            meanD2 += d * d;
        }
        int n = w.Length;
        meanW2 /= n;
        meanD /= n;
        double se = Math.Sqrt((meanD2 / n - meanD * meanD) / n) / meanW2;
        Assert.True(se <= 5e-3 * theory, $"k={k}: standard error {se:E2} of the normalised DQL is above 0.5 %");
        Assert.True(Math.Abs(r - theory) <= 4 * se, $"k={k}: normalised DQL {r:R} vs closed form {theory:R}: {Math.Abs(r - theory) / se:F1} standard errors ({se:E2})");
    }

    /// <summary>The sorted-suffix grid search computes exactly the real J_o of the projection.</summary>
    [Fact]
    public void GridSearch_LossEqualsDirectComputation()
    {
        var w = TestData.Gaussian(5001, 3, scale: 0.05);
        for (int i = 0; i < w.Length; i++) w[i] += 0.01f;   // not centred: σ is around the mean, w not shifted
        var wd = Array.ConvertAll(w, x => (double)x);
        foreach (int k in new[] { 1, 2, 3, 5, 8 })
        {
            var best = VecQTheory.GridSearch(w, k);
            foreach (double l in new[] { 0.013, 0.3, 0.77, 1.9, best.Lambda })
            {
                double direct = VecQTheory.OrientationLoss(wd, k, l * best.Sigma);
                Assert.Equal(direct, VecQTheory.OrientationLossAt(w, k, l), 11);
                Assert.True(best.OrientationLoss <= direct + 1e-12, $"k={k}: grid minimum {best.OrientationLoss} above J_o({l}) = {direct}");
            }
        }
    }

    [Fact]
    public void GridSearch_RejectsBadInput()
    {
        Assert.Throws<ArgumentException>(() => VecQTheory.GridSearchLambda(ReadOnlySpan<float>.Empty, 2));
        Assert.Throws<ArgumentException>(() => VecQTheory.GridSearch(new float[] { 1, 2 }, 2, lambdaStep: 0));
        Assert.Throws<ArgumentException>(() => VecQTheory.GridSearch(new float[] { 1, float.NaN }, 2));
        Assert.Contains("17", Assert.Throws<ArgumentException>(() => VecQTheory.GridSearchLambda(new float[] { 1, 2 }, 17)).Message);
    }

    [Fact]
    public void Minimizer_GoldenSectionAndBisect()
    {
        Assert.Equal(Math.PI, Minimizer.GoldenSection(Math.Cos, 2, 4, 1e-10), 1e-7);   // a flat minimum: about √ε
        Assert.Equal(Math.Sqrt(2), Minimizer.Bisect(x => x * x - 2, 0, 2), 14);
        Assert.Throws<ArgumentException>(() => Minimizer.Bisect(x => x * x + 1, 0, 2));
    }
}
