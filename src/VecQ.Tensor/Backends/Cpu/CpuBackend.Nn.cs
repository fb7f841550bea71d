using System.Numerics;
using System.Numerics.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

// Batch-norm statistics (parallel over channels, two passes, block sums added in double), softmax /
// log-softmax and fused softmax + cross-entropy (parallel over rows, TensorPrimitives per row).
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false)
    {
        if (NotF32(x)) { Reference.BatchNormStats(x, mean, var, relu); return; } // float64: the reference backend
        // x: [N, C, S] contiguous → mean, var: [C] (biased: divisor N·S) of x, or of max(x, 0) with relu
        int n = x.Dims[0], c = x.Dims[1], s = x.Dims[2];
        float* xp = Ptr(x), mp = Ptr(mean), vp = Ptr(var);
        double count = (double)n * s;
        if (s == 1 && n > 0) { StatsColumns(xp, n, c, mp, vp, relu); return; }
        void Channels(int c0, int c1)
        {
            for (int ch = c0; ch < c1; ch++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += RowSum(xp + ((long)i * c + ch) * s, s, relu);
                double mu = sum / count;
                double sq = 0;
                for (int i = 0; i < n; i++) sq += SumSquaredDeviation(xp + ((long)i * c + ch) * s, s, (float)mu, relu);
                // the deviations were taken from the float mean: correct for the rounding of mu
                double shift = (double)(float)mu - mu;
                mp[ch] = (float)mu;
                vp[ch] = (float)Math.Max(0, sq / count - shift * shift);
            }
        }
        int chunks = ChunksFor(c, (long)n * c * s * 2);
        if (chunks == 1) Channels(0, c);
        else ForChunks(c, chunks, (_, s0, e0) => Channels(s0, e0));
    }

    /// <summary>
    /// <see cref="BatchNormStats"/> for x: [N, C] (S = 1): the same sums (in double, row order) taken down the
    /// rows with the channels in the inner loop, instead of one call per element.
    /// </summary>
    private static void StatsColumns(float* xp, int n, int c, float* mp, float* vp, bool relu)
    {
        var sum = new double[c];
        for (int i = 0; i < n; i++)
        {
            float* row = xp + (long)i * c;
            for (int ch = 0; ch < c; ch++) sum[ch] += relu ? Math.Max(row[ch], 0f) : row[ch];
        }
        var mu = new float[c];
        for (int ch = 0; ch < c; ch++) mu[ch] = (float)(sum[ch] / n);
        var sq = new double[c];
        for (int i = 0; i < n; i++)
        {
            float* row = xp + (long)i * c;
            for (int ch = 0; ch < c; ch++)
            {
                float d = (relu ? Math.Max(row[ch], 0f) : row[ch]) - mu[ch];
                sq[ch] += d * d;
            }
        }
        for (int ch = 0; ch < c; ch++)
        {
            double exact = sum[ch] / n;
            double shift = (double)mu[ch] - exact;   // the deviations were taken from the float mean
            mp[ch] = mu[ch];
            vp[ch] = (float)Math.Max(0, sq[ch] / n - shift * shift);
        }
    }

    /// <summary>
    /// Σ (p[i] − m)² over n contiguous floats (of max(p[i], 0) − m with relu): squares in float SIMD lanes,
    /// widened to double before they are added.
    /// </summary>
    private static double SumSquaredDeviation(float* p, int n, float m, bool relu = false)
    {
        int i = 0;
        double total = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            var vm = new Vector<float>(m);
            Vector<double> a0 = Vector<double>.Zero, a1 = Vector<double>.Zero;
            for (; i <= n - w; i += w)
            {
                var v = Vector.Load(p + i);
                if (relu) v = Vector.Max(v, Vector<float>.Zero);
                var d = v - vm;
                Vector.Widen(d * d, out var lo, out var hi);
                a0 += lo;
                a1 += hi;
            }
            total = Vector.Sum(a0 + a1);
        }
        for (; i < n; i++) { float d = (relu ? Math.Max(p[i], 0f) : p[i]) - m; total += d * d; }
        return total;
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, Tensor y, bool log)
    {
        if (NotF32(x)) { Reference.Softmax(x, y, log); return; } // float64: the reference backend
        // x, y: [R, C] contiguous, along the last axis
        int rows = x.Dims[0], cols = x.Dims[1];
        if (rows == 0 || cols == 0) return;
        float* xp = Ptr(x), yp = Ptr(y);
        int chunks = ChunksFor(rows, (long)rows * cols * 8);
        using var scratch = CpuScratch.Rent(log ? (long)chunks * cols : 0);
        float* tmp = scratch.Pointer;
        void Rows(int chunk, int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<float>(xp + (long)r * cols, cols);
                var yr = new Span<float>(yp + (long)r * cols, cols);
                float max = TensorPrimitives.Max(xr);
                TensorPrimitives.Subtract(xr, max, yr);          // y = x − max
                if (!log)
                {
                    TensorPrimitives.Exp(yr, yr);
                    float sum = TensorPrimitives.Sum(yr);
                    TensorPrimitives.Divide(yr, sum, yr);
                }
                else
                {
                    var e = new Span<float>(tmp + (long)chunk * cols, cols);
                    TensorPrimitives.Exp(yr, e);
                    float logSum = MathF.Log(TensorPrimitives.Sum(e));
                    TensorPrimitives.Subtract(yr, logSum, yr);   // y = x − max − log Σ exp(x − max)
                }
            }
        }
        if (chunks == 1) Rows(0, 0, rows);
        else ForChunks(rows, chunks, Rows);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs)
    {
        if (NotF32(logits)) { ((IFusedLoss)Reference).SoftmaxCrossEntropy(logits, labels, smoothing, loss, probs); return; } // float64: the reference backend
        // logits, probs: [R, C]; labels: int32 [R]; loss: [R]; all contiguous
        int rows = logits.Dims[0], cols = logits.Dims[1];
        float* xp = Ptr(logits), pp = Ptr(probs), lp = Ptr(loss);
        int* yl = IntPtr(labels);
        CheckLabels("softmax_cross_entropy", yl, rows, cols);
        if (rows == 0) return;
        double eps = smoothing;
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<float>(xp + (long)r * cols, cols);
                var pr = new Span<float>(pp + (long)r * cols, cols);
                float max = TensorPrimitives.Max(xr);
                TensorPrimitives.Subtract(xr, max, pr);       // p = x − max (shifted logits)
                double shiftedSum = eps == 0 ? 0 : RowReduce(ReduceOp.Sum, pp + (long)r * cols, cols);
                double atLabel = pr[yl[r]];
                TensorPrimitives.Exp(pr, pr);
                double sum = RowReduce(ReduceOp.Sum, pp + (long)r * cols, cols);
                double logSum = Math.Log(sum);
                TensorPrimitives.Divide(pr, (float)sum, pr);
                // −Σ target·log p with target = (1 − ε)·onehot + ε/C and log p = shifted − logSum
                double nll = logSum - atLabel;
                double smooth = eps == 0 ? 0 : logSum - shiftedSum / cols;
                lp[r] = (float)((1 - eps) * nll + eps * smooth);
            }
        }
        int chunks = ChunksFor(rows, (long)rows * cols * 8);
        if (chunks == 1) Rows(0, rows);
        else ForChunks(rows, chunks, (_, s, e) => Rows(s, e));
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits)
    {
        if (NotF32(probs)) { ((IFusedLoss)Reference).SoftmaxCrossEntropyBackward(probs, labels, smoothing, dloss, dlogits); return; } // float64: the reference backend
        // probs, dlogits: [R, C]; labels: int32 [R]; dloss: [R]; all contiguous
        int rows = probs.Dims[0], cols = probs.Dims[1];
        float* pp = Ptr(probs), dl = Ptr(dloss), dp = Ptr(dlogits);
        int* yl = IntPtr(labels);
        CheckLabels("softmax_cross_entropy_backward", yl, rows, cols);
        if (rows == 0 || cols == 0) return;
        float off = smoothing / cols, hit = 1f - smoothing;
        void Rows(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                var pr = new ReadOnlySpan<float>(pp + (long)r * cols, cols);
                var dr = new Span<float>(dp + (long)r * cols, cols);
                TensorPrimitives.Subtract(pr, off, dr);          // p − ε/C
                dr[yl[r]] -= hit;                               // − (1 − ε) at the label
                TensorPrimitives.Multiply(dr, dl[r], dr);        // · dloss[r]
            }
        }
        int chunks = ChunksFor(rows, (long)rows * cols * 2);
        if (chunks == 1) Rows(0, rows);
        else ForChunks(rows, chunks, (_, s, e) => Rows(s, e));
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first row whose label is outside [0, C).</summary>
    private static void CheckLabels(string op, int* labels, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            int l = labels[r];
            if ((uint)l >= (uint)cols)
                throw new ArgumentException($"{op}: label {l} in row {r} is out of range [0, {cols})");
        }
    }
}
