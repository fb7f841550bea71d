using VecQ.Tensors;
using System.Buffers;
using System.Numerics.Tensors;

namespace VecQ.Quant;

/// <summary>
/// ENN-style iterative L2 quantization ("traditional iterative L2", VECQ.md §5) on the k-bit
/// half-integer grid. Starting from the VecQ solution (λ_k step, α = w·v/v·v), it alternates
/// α ← (w·v)/(v·v) and v ← the nearest grid level of w/α (clamp(round_half_even(w/α − ½)) + ½) until
/// the codes stop changing or <see cref="MaxIterations"/> rounds. Each half-step cannot increase
/// |w − αv|², so its DQL is at most VecQ's (up to float32 rounding). <see cref="QuantGroup.Lambda"/>
/// reports the effective step α/σ; <see cref="QuantGroup.Iterations"/> the rounds.
/// </summary>
/// <example><code>
/// var r = new IterativeL2Quantizer(3).Quantize(w);
/// Console.WriteLine($"{r.Groups[0].Iterations} rounds, DQL {r.Dql}");
/// </code></example>
public sealed class IterativeL2Quantizer : WeightQuantizer
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">k, 1..16.</param>
    /// <param name="granularity">Per tensor or per channel.</param>
    /// <param name="maxIterations">Upper bound on alternation rounds (default 100).</param>
    /// <example><code>var q = new IterativeL2Quantizer(2, maxIterations: 50);</code></example>
    public IterativeL2Quantizer(int bits, Granularity granularity = Granularity.PerTensor, int maxIterations = 100)
        : base(QuantMethod.IterativeL2, bits, granularity)
    {
        if (maxIterations < 0) throw new ArgumentException($"l2: maxIterations {maxIterations} must be >= 0");
        MaxIterations = maxIterations;
    }

    /// <summary>Upper bound on alternation rounds.</summary>
    public int MaxIterations { get; }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        var (_, sigma) = QuantKernels.MeanStd(w);
        if (!double.IsFinite(sigma)) throw new InvalidOperationException($"l2: group {group} of the weights contains NaN or infinity");
        double lambda = VecQTheory.OptimalLambda(Bits);
        var (wv, vv) = QuantKernels.Project(w, 0f, (float)(lambda * sigma + 1e-7), 0.5f, MinCode, MaxCode, 0, 0.5f, codes, v);
        double alpha = wv / vv;
        int rounds = 0;
        int[] next = ArrayPool<int>.Shared.Rent(w.Length);
        try
        {
            var nextSpan = next.AsSpan(0, w.Length);
            while (rounds < MaxIterations && alpha > 0 && (float)alpha > 0)
            {
                rounds++;
                (wv, vv) = QuantKernels.Project(w, 0f, (float)alpha, 0.5f, MinCode, MaxCode, 0, 0.5f, nextSpan, v);
                bool same = nextSpan.SequenceEqual(codes);
                nextSpan.CopyTo(codes);
                alpha = wv / vv;
                if (same) break;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(next);
        }
        return new QuantGroup((float)alpha, 0f, 0.5f, sigma > 0 ? alpha / sigma : double.NaN, sigma, rounds);
    }
}

/// <summary>
/// μL2Q (VECQ.md §5): like VecQ's steering but on the mean-shifted weights and without the driving
/// stage. μ = mean(w), σ = population std, step = λ·σ + 1e-7,
/// v = clamp(round_half_even((w − μ)/step − ½)) + ½, α = λ·σ (fixed), w_q = α·v + μ (shift μ).
/// λ is μL2Q's own (<see cref="VecQTheory.OptimalMuL2QLambda"/>): the minimiser of the expected L2 distance
/// E[(t − λ·v(t))²] for unit Gaussian t, computed by our code. It equals VecQ's λ_k for 2 ≤ k ≤ 8 and is
/// 2·√(2/π) ≈ 1.5958 at 1 bit (w_q = μ ± √(2/π)·σ), where VecQ's λ is degenerate.
/// </summary>
/// <example><code>var r = new MuL2QQuantizer(2).Quantize(w); // r.Groups[0].Shift == mean(w)</code></example>
public sealed class MuL2QQuantizer : WeightQuantizer
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">k, 1..16.</param>
    /// <param name="granularity">Per tensor or per channel.</param>
    /// <example><code>var q = new MuL2QQuantizer(4);</code></example>
    public MuL2QQuantizer(int bits, Granularity granularity = Granularity.PerTensor) : base(QuantMethod.MuL2Q, bits, granularity) { }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        var (mean, sigma) = QuantKernels.MeanStd(w);
        if (!double.IsFinite(sigma)) throw new InvalidOperationException($"ul2q: group {group} of the weights contains NaN or infinity");
        double lambda = VecQTheory.OptimalMuL2QLambda(Bits);
        float mu = (float)mean;
        QuantKernels.Project(w, mu, (float)(lambda * sigma + 1e-7), 0.5f, MinCode, MaxCode, 0, 0.5f, codes, v);
        return new QuantGroup((float)(lambda * sigma), mu, 0.5f, lambda, sigma, 0);
    }
}

/// <summary>
/// TWN ternary weights (VECQ.md §5), 2 bits: Δ = 0.7·mean|w| (as float32); code c_i = sign(w_i) where
/// |w_i| &gt; Δ, else 0; α = mean of |w_i| over |w_i| &gt; Δ (0 when none); w_q = α·c (integer levels:
/// CodeOffset 0).
/// </summary>
/// <example><code>var r = new TwnQuantizer().Quantize(w); // codes in {−1, 0, 1}</code></example>
public sealed class TwnQuantizer : WeightQuantizer
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">Must be 2.</param>
    /// <param name="granularity">Per tensor or per channel.</param>
    /// <exception cref="ArgumentException">bits ≠ 2 (the message names the value).</exception>
    /// <example><code>var q = new TwnQuantizer(2, Granularity.PerChannel);</code></example>
    public TwnQuantizer(int bits = 2, Granularity granularity = Granularity.PerTensor) : base(QuantMethod.Twn, bits, granularity) { }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        double delta = 0.7 * QuantKernels.MeanAbs(w);
        if (!double.IsFinite(delta)) throw new InvalidOperationException($"twn: group {group} of the weights contains NaN or infinity");
        var (sum, count) = QuantKernels.Ternary(w, (float)delta, codes);
        QuantKernels.CodesToV(codes, 0f, v);
        float alpha = count > 0 ? (float)(sum / count) : 0f;
        return new QuantGroup(alpha, 0f, 0f, double.NaN, double.NaN, 0);
    }
}

/// <summary>
/// Uniform min-max (linear) quantization (VECQ.md §5): 2^k levels linearly spaced from min(w) to
/// max(w), Δ = (max − min)/(2^k − 1), level index u = clamp(round_half_even((w − min)/Δ), 0, 2^k − 1).
/// Stored in the common form: code c = u − 2^(k−1), v = c + ½, α = Δ, shift = (min + max)/2, so that
/// α·v + shift = min + u·Δ. A constant tensor gives α = 0, shift = min.
/// </summary>
/// <example><code>var r = new UniformQuantizer(8).Quantize(w);</code></example>
public sealed class UniformQuantizer : WeightQuantizer
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">k, 1..16.</param>
    /// <param name="granularity">Per tensor or per channel.</param>
    /// <example><code>var q = new UniformQuantizer(4);</code></example>
    public UniformQuantizer(int bits, Granularity granularity = Granularity.PerTensor) : base(QuantMethod.Uniform, bits, granularity) { }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        float min = TensorPrimitives.Min(w), max = TensorPrimitives.Max(w);
        if (!float.IsFinite(min) || !float.IsFinite(max)) throw new InvalidOperationException($"uniform: group {group} of the weights contains NaN or infinity");
        int levels = 1 << Bits, half = 1 << (Bits - 1);
        float delta = (float)(((double)max - min) / (levels - 1));
        if (delta == 0 || !float.IsFinite(delta))
        {
            codes.Fill(-half);
            QuantKernels.CodesToV(codes, 0.5f, v);
            return new QuantGroup(0f, min, 0.5f, double.NaN, double.NaN, 0);
        }
        QuantKernels.Project(w, min, delta, 0f, 0, levels - 1, -half, 0.5f - half, codes, v);
        return new QuantGroup(delta, (float)(((double)min + max) / 2), 0.5f, double.NaN, double.NaN, 0);
    }
}

/// <summary>
/// BWN binary weights (VECQ.md §5), 1 bit: v = sign(w) (w = 0 counts as +), α = mean|w|. Stored on the
/// 1-bit half-integer grid: code 0 (v = +½) or −1 (v = −½) with α stored as 2·mean|w|, so
/// w_q = ±mean|w| exactly as BWN.
/// </summary>
/// <example><code>var r = new BinaryQuantizer().Quantize(w); // r.Values are ±mean|w|</code></example>
public sealed class BinaryQuantizer : WeightQuantizer
{
    /// <summary>Creates the quantizer.</summary>
    /// <param name="bits">Must be 1.</param>
    /// <param name="granularity">Per tensor or per channel.</param>
    /// <exception cref="ArgumentException">bits ≠ 1 (the message names the value).</exception>
    /// <example><code>var q = new BinaryQuantizer();</code></example>
    public BinaryQuantizer(int bits = 1, Granularity granularity = Granularity.PerTensor) : base(QuantMethod.Binary, bits, granularity) { }

    /// <inheritdoc/>
    protected override QuantGroup QuantizeGroup(int group, ReadOnlySpan<float> w, Span<int> codes, Span<float> v)
    {
        double meanAbs = QuantKernels.MeanAbs(w);
        if (!double.IsFinite(meanAbs)) throw new InvalidOperationException($"binary: group {group} of the weights contains NaN or infinity");
        QuantKernels.Binary(w, codes);
        QuantKernels.CodesToV(codes, 0.5f, v);
        return new QuantGroup((float)(2 * meanAbs), 0f, 0.5f, double.NaN, double.NaN, 0);
    }
}
