using System.Numerics.Tensors;
using VecQ.Tensors;

namespace VecQ.Quant;

/// <summary>
/// The "parameterized probability estimation" of VecQ (VECQ.md §2) in double precision: the k-bit
/// half-integer grid, the expected orientation loss of N(0, σ²) weights as a function of the step
/// λ (in units of σ), the optimal λ_k, and the checks against data: a Monte-Carlo estimate and an
/// exact grid search of the real J_o on a weight vector (the "actual" λ). Also μL2Q's own λ, the minimiser of
/// the expected L2 distance E[(t − λ·v(t))²] (<see cref="ExpectedL2Distance"/>, <see cref="OptimalMuL2QLambda"/>).
/// </summary>
/// <remarks>
/// With φ, Φ the standard normal pdf/cdf and n = 2^(k−1) − 1, for t ~ N(0, 1) and
/// v = clamp(round(t/λ − ½), −2^(k−1), 2^(k−1) − 1) + ½ (so |v| = min(⌊|t|/λ⌋, n) + ½):
/// <code>
/// A(λ) = E[t·v] = φ(0) + 2 Σ_{i=1..n} φ(iλ)
/// B(λ) = E[v²]  = (n + ½)² − 2 Σ_{i=1..n} i (2Φ(iλ) − 1)  =  ¼ + 2 Σ_{i=1..n} i·erfc(iλ/√2)
/// E[J_o](λ) = 1 − A(λ)/√B(λ)          (E[t²] = 1)
/// </code>
/// B is evaluated in its second (equal) form, a sum of positive terms without cancellation.
/// dE[J_o]/dλ has the sign of λB − A, so the optimum satisfies λ·B(λ) = A(λ).
/// <para>
/// Normalised DQL: for the optimal α, J_m/|w|² = 1 − cos²θ exactly. Its expectation-level
/// approximation used here is 1 − A²/B, i.e. cos θ replaced by E[t·v]/√(E[t²]E[v²]) — the limit of
/// the sample value (w·v)²/(|w|²|v|²) as the number of weights grows.
/// </para>
/// </remarks>
/// <example><code>
/// double l2 = VecQTheory.OptimalLambda(2);                      // λ_2 (computed, cached)
/// double jo = VecQTheory.ExpectedOrientationLoss(2, l2);        // E[J_o] at the optimum
/// double actual = VecQTheory.GridSearchLambda(weights, 2);      // the λ of a real layer
/// </code></example>
public static class VecQTheory
{
    /// <summary>Largest bit width whose λ_k is found by numerical minimisation (above: 6/(2^k − 1)).</summary>
    public const int MaxOptimizedBits = 8;

    /// <summary>λ returned for k = 1, where J_o does not depend on λ (see <see cref="OptimalLambda"/>).</summary>
    public const double OneBitLambda = 1.0;

    private static readonly double[] Cache = new double[MaxOptimizedBits + 1];
    private static readonly double[] MuL2QCache = new double[WeightQuantizer.MaxBits + 1];
    private static readonly object CacheGate = new();

    /// <summary>The 2^k half-integer levels {−2^(k−1) + ½, …, −½, +½, …, 2^(k−1) − ½}, ascending.</summary>
    /// <example><code>double[] g = VecQTheory.Levels(2); // [-1.5, -0.5, 0.5, 1.5]</code></example>
    public static double[] Levels(int bits)
    {
        CheckBits(bits, "levels");
        int count = 1 << bits, half = 1 << (bits - 1);
        var levels = new double[count];
        for (int i = 0; i < count; i++) levels[i] = i - half + 0.5;
        return levels;
    }

    /// <summary>A(λ) = E[t·v] = φ(0) + 2 Σ_{i=1..n} φ(iλ) for t ~ N(0, 1).</summary>
    /// <example><code>double a = VecQTheory.A(2, 1.0);</code></example>
    public static double A(int bits, double lambda)
    {
        CheckBits(bits, "A");
        CheckLambda(lambda, "A");
        int n = (1 << (bits - 1)) - 1;
        double s = 0;
        for (int i = n; i >= 1; i--) s += Normal.Pdf(i * lambda);   // smallest terms first
        return Normal.Pdf(0) + 2 * s;
    }

    /// <summary>B(λ) = E[v²] = (n + ½)² − 2 Σ i(2Φ(iλ) − 1), evaluated as ¼ + 2 Σ i·erfc(iλ/√2).</summary>
    /// <example><code>double b = VecQTheory.B(2, 1.0);</code></example>
    public static double B(int bits, double lambda)
    {
        CheckBits(bits, "B");
        CheckLambda(lambda, "B");
        int n = (1 << (bits - 1)) - 1;
        double s = 0;
        for (int i = n; i >= 1; i--)
        {
            double x = i * lambda / Math.Sqrt(2);
            if (x > 27.3) continue;   // erfc underflows to 0
            s += i * Normal.Erfc(x);
        }
        return 0.25 + 2 * s;
    }

    /// <summary>B(λ) in the form (n + ½)² − 2 Σ i(2Φ(iλ) − 1) as printed in VECQ.md (for cross-checks).</summary>
    /// <example><code>double b = VecQTheory.BDirect(3, 0.5); // equals B(3, 0.5) to rounding</code></example>
    public static double BDirect(int bits, double lambda)
    {
        CheckBits(bits, "B");
        CheckLambda(lambda, "B");
        int n = (1 << (bits - 1)) - 1;
        double s = 0;
        for (int i = 1; i <= n; i++) s += i * (2 * Normal.Cdf(i * lambda) - 1);
        return (n + 0.5) * (n + 0.5) - 2 * s;
    }

    /// <summary>E[J_o](λ) = 1 − A(λ)/√B(λ) for Gaussian weights (λ in units of σ).</summary>
    /// <example><code>double jo = VecQTheory.ExpectedOrientationLoss(4, 0.3);</code></example>
    public static double ExpectedOrientationLoss(int bits, double lambda) => 1 - A(bits, lambda) / Math.Sqrt(B(bits, lambda));

    /// <summary>Expected normalised DQL with the optimal α, approximated as 1 − A²/B (see remarks).</summary>
    /// <example><code>double n = VecQTheory.ExpectedNormalizedDql(3, VecQTheory.OptimalLambda(3));</code></example>
    public static double ExpectedNormalizedDql(int bits, double lambda)
    {
        double a = A(bits, lambda);
        return 1 - a * a / B(bits, lambda);
    }

    /// <summary>1 − A²/B at λ_k.</summary>
    /// <example><code>double n2 = VecQTheory.ExpectedNormalizedDql(2);</code></example>
    public static double ExpectedNormalizedDql(int bits) => ExpectedNormalizedDql(bits, OptimalLambda(bits));

    /// <summary>E[J_o] at λ_k.</summary>
    /// <example><code>double jo2 = VecQTheory.ExpectedOrientationLoss(2);</code></example>
    public static double ExpectedOrientationLoss(int bits) => ExpectedOrientationLoss(bits, OptimalLambda(bits));

    /// <summary>
    /// λ_k, the step (in units of σ) minimising E[J_o] for Gaussian weights. k = 2..8: computed
    /// once by <see cref="ComputeOptimalLambda"/> and cached. k &gt; 8: 6/(2^k − 1). k = 1 is
    /// degenerate: the grid is ±½, v = ½·sign(w) for every λ &gt; 0, so J_o = 1 − √(2/π) does not depend
    /// on λ; <see cref="OneBitLambda"/> (1.0) is returned by convention.
    /// </summary>
    /// <exception cref="ArgumentException">bits outside 1..16.</exception>
    /// <example><code>double l4 = VecQTheory.OptimalLambda(4);</code></example>
    public static double OptimalLambda(int bits)
    {
        CheckBits(bits, "optimal lambda");
        if (bits == 1) return OneBitLambda;
        if (bits > MaxOptimizedBits) return 6.0 / ((1 << bits) - 1);
        lock (CacheGate)
        {
            if (Cache[bits] == 0) Cache[bits] = ComputeOptimalLambda(bits);
            return Cache[bits];
        }
    }

    /// <summary>
    /// Minimises E[J_o](λ) numerically for 2 ≤ k ≤ 16 (no cache): a log-spaced scan over
    /// [g/20, 20g] (g = 6/(2^k − 1)) brackets the minimum, golden-section search narrows the bracket to
    /// 1e-10, and the result is polished by bisection on the first-order condition λ·B(λ) − A(λ) = 0
    /// inside that bracket (a function-value search alone is limited to about √ε by the flat minimum).
    /// </summary>
    /// <exception cref="ArgumentException">bits outside 2..16.</exception>
    /// <example><code>double l3 = VecQTheory.ComputeOptimalLambda(3);</code></example>
    public static double ComputeOptimalLambda(int bits)
    {
        if (bits < 2 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"optimal lambda: bits {bits} is out of range; the minimisation needs 2..{WeightQuantizer.MaxBits} (k = 1 does not depend on λ)");
        return MinimizeStep("optimal lambda", bits, l => ExpectedOrientationLoss(bits, l));
    }

    /// <summary>
    /// μL2Q's expected L2 distance for unit Gaussian t with the scale tied to the step (α = λ, σ = 1;
    /// the mean is shifted out, VECQ.md §5): E[(t − λ·v(t))²] = E[t²] − 2λ·E[t·v] + λ²·E[v²] = 1 − 2λA(λ) + λ²B(λ),
    /// with v(t) = clamp(round_half_even(t/λ − ½), −2^(k−1), 2^(k−1) − 1) + ½ the grid of <see cref="A"/> and <see cref="B"/>.
    /// </summary>
    /// <remarks>
    /// dA/dλ = −2λ Σ i²φ(iλ) and dB/dλ = −4 Σ i²φ(iλ), so the derivative is 2(λB − A): the optimum satisfies
    /// the same condition λ·B = A as VecQ's λ_k for k ≥ 2. At k = 1 (n = 0) A = φ(0) and B = ¼ do not depend on λ,
    /// the distance is the parabola 1 − 2λφ(0) + λ²/4 and its minimum is at λ = 4φ(0) = 2·√(2/π).
    /// </remarks>
    /// <example><code>double d = VecQTheory.ExpectedL2Distance(1, 1.0); // 1.25 − 2/√(2π), above the optimum at 1.5958</code></example>
    public static double ExpectedL2Distance(int bits, double lambda)
    {
        double a = A(bits, lambda), b = B(bits, lambda);
        return 1 - 2 * lambda * a + lambda * lambda * b;
    }

    /// <summary>
    /// μL2Q's λ for k bits: the step (units of σ) minimising <see cref="ExpectedL2Distance"/>, computed once per
    /// bit width by <see cref="ComputeMuL2QLambda"/> (1..16) and cached. For 2 ≤ k ≤ 8 it equals
    /// <see cref="OptimalLambda"/> (same optimality condition); at k = 1 it is 2·√(2/π) ≈ 1.5958, where VecQ's λ
    /// is degenerate; above 8 bits it is the true minimiser, not VecQ's 6/(2^k − 1) rule.
    /// </summary>
    /// <exception cref="ArgumentException">bits outside 1..16.</exception>
    /// <example><code>double l1 = VecQTheory.OptimalMuL2QLambda(1); // ≈ 1.5958</code></example>
    public static double OptimalMuL2QLambda(int bits)
    {
        CheckBits(bits, "ul2q lambda");
        lock (CacheGate)
        {
            if (MuL2QCache[bits] == 0) MuL2QCache[bits] = ComputeMuL2QLambda(bits);
            return MuL2QCache[bits];
        }
    }

    /// <summary>
    /// Minimises <see cref="ExpectedL2Distance"/> numerically for 1 ≤ k ≤ 16 (no cache), the same way as
    /// <see cref="ComputeOptimalLambda"/>: log-spaced scan, golden section, then bisection on λB − A = 0
    /// (the sign of the derivative, see <see cref="ExpectedL2Distance"/>).
    /// </summary>
    /// <exception cref="ArgumentException">bits outside 1..16.</exception>
    /// <example><code>double l2 = VecQTheory.ComputeMuL2QLambda(2); // equals OptimalLambda(2) to ~1e-12</code></example>
    public static double ComputeMuL2QLambda(int bits)
    {
        CheckBits(bits, "ul2q lambda");
        return MinimizeStep("ul2q lambda", bits, l => ExpectedL2Distance(bits, l));
    }

    // Minimises loss(λ) whose derivative has the sign of λB(λ) − A(λ): a log-spaced scan over [g/20, 20g]
    // (g = 6/(2^k − 1)) brackets the minimum, golden-section search narrows the bracket to 1e-10, and the result
    // is polished by bisection on λB − A = 0 inside that bracket (a function-value search alone is limited to
    // about √ε by the flat minimum).
    private static double MinimizeStep(string what, int bits, Func<double, double> loss)
    {
        double guess = 6.0 / ((1 << bits) - 1);
        double lo = guess / 20, hi = guess * 20;
        const int points = 400;
        double ratio = Math.Pow(hi / lo, 1.0 / (points - 1));
        int best = 0;
        double bestJ = double.PositiveInfinity;
        var grid = new double[points];
        for (int i = 0; i < points; i++)
        {
            grid[i] = lo * Math.Pow(ratio, i);
            double j = loss(grid[i]);
            if (j < bestJ) { bestJ = j; best = i; }
        }
        if (best == 0 || best == points - 1)
            throw new InvalidOperationException($"{what}: the scan over [{lo}, {hi}] for {bits} bits found its minimum at the edge (λ = {grid[best]})");
        double a = grid[best - 1], b = grid[best + 1];
        double golden = Minimizer.GoldenSection(loss, a, b, 1e-10);
        // polish on λB − A = 0 (negative left of the minimum, positive right of it)
        double Stationarity(double l) => l * B(bits, l) - A(bits, l);
        double pa = Math.Max(a, golden - 1e-6), pb = Math.Min(b, golden + 1e-6);
        if (Stationarity(pa) < 0 && Stationarity(pb) > 0) return Minimizer.Bisect(Stationarity, pa, pb);
        if (Stationarity(a) < 0 && Stationarity(b) > 0) return Minimizer.Bisect(Stationarity, a, b);
        return golden;
    }

    /// <summary>
    /// Draws <paramref name="count"/> standard normal samples: element i is
    /// <see cref="Rng.StandardNormal"/>(seed, i), so the samples do not depend on threads.
    /// </summary>
    /// <example><code>double[] t = VecQTheory.GaussianSamples(1_000_000, seed: 7);</code></example>
    public static double[] GaussianSamples(int count, ulong seed)
    {
        if (count < 0) throw new ArgumentException($"gaussian samples: count {count} must be >= 0");
        var t = new double[count];
        Parallel.For(0, (count + 65535) / 65536, chunk =>
        {
            int start = chunk * 65536, end = Math.Min(count, start + 65536);
            for (int i = start; i < end; i++) t[i] = Rng.StandardNormal(seed, (ulong)i);
        });
        return t;
    }

    /// <summary>
    /// The real orientation loss 1 − (w·v)/(|w||v|) of <paramref name="w"/> on the k-bit grid with an
    /// absolute step: v = clamp(round_half_even(w/step − ½), −2^(k−1), 2^(k−1) − 1) + ½ (double precision).
    /// </summary>
    /// <example><code>double jo = VecQTheory.OrientationLoss(samples, 2, step: 0.996);</code></example>
    public static double OrientationLoss(ReadOnlySpan<double> w, int bits, double step)
    {
        var (wv, ww, vv) = GridSums(w, bits, step);
        return ww > 0 && vv > 0 ? 1 - wv / Math.Sqrt(ww * vv) : 0;
    }

    /// <summary>The normalised DQL 1 − (w·v)²/(|w|²|v|²) of w on the grid with an absolute step and the optimal α.</summary>
    /// <example><code>double n = VecQTheory.NormalizedDql(samples, 2, step: 0.996);</code></example>
    public static double NormalizedDql(ReadOnlySpan<double> w, int bits, double step)
    {
        var (wv, ww, vv) = GridSums(w, bits, step);
        return ww > 0 && vv > 0 ? 1 - wv * wv / (ww * vv) : 0;
    }

    private static (double WV, double WW, double VV) GridSums(ReadOnlySpan<double> w, int bits, double step)
    {
        CheckBits(bits, "orientation loss");
        if (!(step > 0)) throw new ArgumentException($"orientation loss: step {step} must be > 0");
        double lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
        double wv = 0, ww = 0, vv = 0;
        foreach (double x in w)
        {
            double v = Math.Clamp(Math.Round(x / step - 0.5, MidpointRounding.ToEven), lo, hi) + 0.5;
            wv += x * v;
            ww += x * x;
            vv += v * v;
        }
        return (wv, ww, vv);
    }

    /// <summary>
    /// Monte-Carlo estimate of E[J_o](λ): the real orientation loss of
    /// <paramref name="samples"/> standard normal draws (<see cref="GaussianSamples"/>) with step λ
    /// (the unit-Gaussian template: σ = 1 exactly, not estimated).
    /// </summary>
    /// <example><code>double mc = VecQTheory.MonteCarloOrientationLoss(2, 0.996, 1_000_000, seed: 1);</code></example>
    public static double MonteCarloOrientationLoss(int bits, double lambda, int samples = 1_000_000, ulong seed = 0)
    {
        CheckLambda(lambda, "monte carlo");
        return OrientationLoss(GaussianSamples(samples, seed), bits, lambda);
    }

    /// <summary>Monte-Carlo estimate of the normalised DQL with the optimal α (unit-Gaussian template).</summary>
    /// <example><code>double mc = VecQTheory.MonteCarloNormalizedDql(3, VecQTheory.OptimalLambda(3), 1_000_000, seed: 1);</code></example>
    public static double MonteCarloNormalizedDql(int bits, double lambda, int samples = 1_000_000, ulong seed = 0)
    {
        CheckLambda(lambda, "monte carlo");
        return NormalizedDql(GaussianSamples(samples, seed), bits, lambda);
    }

    /// <summary>The "actual" λ of a weight vector: <see cref="GridSearch"/> with λ ∈ (0, 3], step 0.001.</summary>
    /// <example><code>double actual = VecQTheory.GridSearchLambda(layerWeights, 4);</code></example>
    public static double GridSearchLambda(ReadOnlySpan<float> w, int bits) => GridSearch(w, bits).Lambda;

    /// <summary>
    /// Finds the λ (in units of σ, the population std of w around its mean; w itself is not
    /// mean-shifted) on the grid λ_i = i·<paramref name="lambdaStep"/> ≤ <paramref name="lambdaMax"/>
    /// that minimises the real J_o = 1 − (w·v)/(|w||v|) of w, with |v_i| = min(⌊|w_i|/(λσ)⌋, n) + ½ (the
    /// VecQ projection; exact ties at level boundaries aside). Ties keep the smallest λ.
    /// </summary>
    /// <remarks>
    /// Cost O(d + N·n·log d) instead of N passes over the data: |w| is sorted once (radix sort) with suffix
    /// sums, and for each λ the boundaries jλσ (j = 1..n) are located by binary search, giving
    /// w·v = ½Σ|w| + Σ_j Σ_{|w_i| ≥ jλσ} |w_i| and v·v = d/4 + Σ_j 2j·#{|w_i| ≥ jλσ}. Boundaries past
    /// max|w| end the inner loop early. k = 1 or σ = 0: J_o does not depend on λ; the result is
    /// <see cref="OptimalLambda"/>(k) with its J_o.
    /// </remarks>
    /// <exception cref="ArgumentException">Empty w, bits outside 1..16, or a bad grid.</exception>
    /// <example><code>var r = VecQTheory.GridSearch(w, 3); Console.WriteLine($"{r.Lambda} {r.OrientationLoss}");</code></example>
    public static LambdaSearchResult GridSearch(ReadOnlySpan<float> w, int bits, double lambdaStep = 0.001, double lambdaMax = 3.0)
    {
        CheckBits(bits, "grid search lambda");
        if (w.IsEmpty) throw new ArgumentException("grid search lambda: the weight vector is empty");
        if (!(lambdaStep > 0) || !(lambdaMax >= lambdaStep) || double.IsInfinity(lambdaMax))
            throw new ArgumentException($"grid search lambda: step {lambdaStep} and max {lambdaMax} must satisfy 0 < step <= max");
        int d = w.Length;
        var (_, sigma) = QuantKernels.MeanStd(w);
        if (!double.IsFinite(sigma)) throw new ArgumentException("grid search lambda: the weights contain NaN or infinity");
        double ww = QuantKernels.Dot(w, w);
        var a = new float[d];
        TensorPrimitives.Abs(w, a);
        QuantKernels.SortNonNegative(a);
        var suffix = new double[d + 1];   // suffix[i] = Σ_{m ≥ i} a[m]
        for (int i = d - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + a[i];
        int n = (1 << (bits - 1)) - 1;
        double Loss(double lambda)
        {
            double wv = 0.5 * suffix[0], vv = 0.25 * d;
            double thr = lambda * sigma;
            int from = 0;
            for (int j = 1; j <= n; j++)
            {
                int idx = LowerBound(a, from, j * thr);
                if (idx == d) break;
                wv += suffix[idx];
                vv += 2.0 * j * (d - idx);
                from = idx;
            }
            return ww > 0 ? 1 - wv / Math.Sqrt(ww * vv) : 0;
        }
        if (bits == 1 || sigma == 0)
        {
            double l = OptimalLambda(bits);
            return new LambdaSearchResult(l, sigma > 0 ? Loss(l) : Loss(1), sigma);
        }
        int steps = (int)Math.Floor(lambdaMax / lambdaStep + 1e-9);
        double bestLambda = lambdaStep, bestJ = double.PositiveInfinity;
        for (int i = 1; i <= steps; i++)
        {
            double lambda = i * lambdaStep;
            double j = Loss(lambda);
            if (j < bestJ) { bestJ = j; bestLambda = lambda; }
        }
        return new LambdaSearchResult(bestLambda, bestJ, sigma);
    }

    /// <summary>The real J_o of w at step λ·σ computed the same way as <see cref="GridSearch"/> (one λ).</summary>
    /// <example><code>double jo = VecQTheory.OrientationLossAt(w, 2, VecQTheory.OptimalLambda(2));</code></example>
    public static double OrientationLossAt(ReadOnlySpan<float> w, int bits, double lambda)
    {
        CheckLambda(lambda, "orientation loss");
        var r = GridSearch(w, bits, lambdaStep: lambda, lambdaMax: lambda);
        return r.OrientationLoss;
    }

    // first index in a[from..] with a[idx] ≥ t (a ascending)
    private static int LowerBound(float[] a, int from, double t)
    {
        int lo = from, hi = a.Length;
        while (lo < hi)
        {
            int mid = (int)(((uint)lo + (uint)hi) >> 1);
            if (a[mid] < t) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    internal static void CheckBits(int bits, string what)
    {
        if (bits < 1 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"{what}: bits {bits} is out of range 1..{WeightQuantizer.MaxBits}");
    }

    private static void CheckLambda(double lambda, string what)
    {
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentException($"{what}: lambda {lambda} must be a positive finite number");
    }
}

/// <summary>The result of <see cref="VecQTheory.GridSearch"/>.</summary>
/// <param name="Lambda">The minimising λ (units of σ).</param>
/// <param name="OrientationLoss">The real J_o at that λ.</param>
/// <param name="Sigma">σ of the data (population std around the mean).</param>
/// <example><code>var (lambda, jo, sigma) = VecQTheory.GridSearch(w, 2);</code></example>
public readonly record struct LambdaSearchResult(double Lambda, double OrientationLoss, double Sigma);
