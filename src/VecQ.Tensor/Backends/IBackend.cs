namespace VecQ.Tensors;

/// <summary>
/// The kernel-level primitives every backend implements (reference scalar loops, SIMD CPU, CUDA).
/// Callers (the op layer in <see cref="Tensor"/>) validate shapes and allocate outputs first; a
/// backend only computes. Buffers are touched only here, so a GPU backend needs no host access.
/// Unless a method says otherwise, inputs may be any strided view (including stride-0 broadcast
/// views) and outputs are contiguous tensors of the documented shape.
/// </summary>
/// <example><code>Backend.For(Device.Cpu).Fill(t, 1.0);</code></example>
public interface IBackend
{
    /// <summary>Short name ("reference", "cpu", "cuda").</summary>
    string Name { get; }

    /// <summary>Allocates uninitialised storage for <paramref name="length"/> elements.</summary>
    Storage Allocate(DType dtype, long length);

    // ---- the device: memory, traffic, ordering ------------------------------------------
    /// <summary>Live bytes, peak and allocation counts of this backend's device.</summary>
    MemoryStats MemoryStats { get; }
    /// <summary>Starts a new peak measurement at the current live bytes.</summary>
    void ResetPeakMemory();
    /// <summary>Host↔device traffic so far (zero for the host itself).</summary>
    TransferStats Transfers => default;
    /// <summary>
    /// Waits until every operation issued so far has finished. Operations run in call order; a result
    /// reaches the host only through <see cref="Download{T}"/>, which synchronises by itself. An accelerator
    /// may report an error (say a bad index) only at the next synchronisation, not at the call that caused it.
    /// </summary>
    void Synchronize() { }

    // ---- data movement ----------------------------------------------------------------
    /// <summary>Sets every element of <paramref name="dst"/> (any strides) to <paramref name="value"/>.</summary>
    void Fill(Tensor dst, double value);
    /// <summary>dst ← src elementwise; same shape, any strides, converting between dtypes (float→int truncates toward zero).</summary>
    void Copy(Tensor src, Tensor dst);
    /// <summary>Copies host data into a contiguous tensor of the same dtype and length.</summary>
    void Upload<T>(ReadOnlySpan<T> src, Tensor dst) where T : unmanaged;
    /// <summary>Copies a contiguous tensor into host memory.</summary>
    void Download<T>(Tensor src, Span<T> dst) where T : unmanaged;

    // ---- elementwise ------------------------------------------------------------------
    /// <summary>y = op(x); x and y have the same shape; float dtypes.</summary>
    void Unary<TOp>(TOp op, Tensor x, Tensor y) where TOp : struct, IUnaryOp;
    /// <summary>
    /// y = op(a, b); a and b are already broadcast (expanded views) to y's shape. y may be a itself
    /// (an in-place update such as x ← s·x, with y a view whose elements do not overlap).
    /// </summary>
    void Binary<TOp>(TOp op, Tensor a, Tensor b, Tensor y) where TOp : struct, IBinaryOp;
    /// <summary>y = cond != 0 ? a : b; all broadcast to y's shape.</summary>
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    // ---- reductions -------------------------------------------------------------------
    /// <summary>y = reduce(x) over the axes where y's size is 1 and x's is not (y has x's rank).</summary>
    void Reduce(ReduceOp op, Tensor x, Tensor y);
    /// <summary>Index (int32) of the max/min along <paramref name="axis"/>; y has x's shape with that axis 1. First index wins ties.</summary>
    void ArgReduce(bool max, Tensor x, int axis, Tensor y);

    // ---- linear algebra ---------------------------------------------------------------
    /// <summary>
    /// c[b] = alpha · a[b] × b[b] + beta · c[b]. a: [B, M, K], b: [B, K, N], c: [B, M, N] contiguous.
    /// a and b may be transposed views (one of their last two strides is 1) and the batch stride may be 0.
    /// </summary>
    void MatMul(Tensor a, Tensor b, Tensor c, float alpha, float beta);

    // ---- convolution and pooling (NCHW, contiguous inputs) ----------------------------
    /// <summary>y: [N, O, OH, OW] = conv2d(x: [N, C, H, W], w: [O, C/groups, KH, KW]) + bias: [O].</summary>
    void Conv2d(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor y);
    /// <summary>dx: [N, C, H, W] = gradient of conv2d with respect to its input, given dy: [N, O, OH, OW].</summary>
    void Conv2dBackwardData(Tensor dy, Tensor w, Conv2dGeometry g, Tensor dx);
    /// <summary>
    /// dw: [O, C/groups, KH, KW] = gradient of conv2d with respect to its weight; with <paramref name="dbias"/>,
    /// also the bias gradient dbias: [O] = Σ dy over N, OH, OW (taken while dy is read anyway).
    /// </summary>
    void Conv2dBackwardWeight(Tensor x, Tensor dy, Conv2dGeometry g, Tensor dw, Tensor? dbias = null);
    /// <summary>y: [N, C, OH, OW] max over windows; indices (int32) = argmax as h·W + w within each plane (PyTorch's form).</summary>
    void MaxPool2d(Tensor x, Pool2dGeometry g, Tensor y, Tensor indices);
    /// <summary>dx (zeroed here first) receives dy at the saved indices.</summary>
    void MaxPool2dBackward(Tensor dy, Tensor indices, Pool2dGeometry g, Tensor dx);
    /// <summary>Average pool; padding counts in the divisor (PyTorch's count_include_pad=True).</summary>
    void AvgPool2d(Tensor x, Pool2dGeometry g, Tensor y);
    /// <summary>Gradient of <see cref="AvgPool2d"/>.</summary>
    void AvgPool2dBackward(Tensor dy, Pool2dGeometry g, Tensor dx);

    // ---- normalisation, softmax, loss (contiguous inputs) -----------------------------
    /// <summary>
    /// x: [N, C, S] → mean: [C], var: [C] (biased, over N and S) of x, or of max(x, 0) when
    /// <paramref name="relu"/> (the statistics of a ReLU's output, read from its input).
    /// </summary>
    void BatchNormStats(Tensor x, Tensor mean, Tensor var, bool relu = false);
    /// <summary>
    /// y = (x − mean[c])·invStd[c]·gamma[c] + beta[c]. x, y: [N, C, S] contiguous; mean, invStd,
    /// gamma, beta: [C] contiguous; a null gamma counts as 1 and a null beta as 0.
    /// </summary>
    void BatchNormForward(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Tensor y);
    /// <summary>
    /// Training-mode batch-norm gradient with batch statistics. dy, x, dx: [N, C, S] contiguous;
    /// mean, invStd, gamma, dgamma, dbeta: [C]. With x̂ = (x − mean)·invStd and M = N·S per channel:
    /// dbeta = Σ dy, dgamma = Σ dy·x̂, dx = gamma·invStd/M · (M·dy − Σ dy − x̂·Σ dy·x̂).
    /// A null gamma counts as 1; a null dgamma or dbeta is not computed.
    /// </summary>
    void BatchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor dx, Tensor? dgamma, Tensor? dbeta);
    /// <summary>Softmax (or log-softmax) of x: [R, C] along the last axis into y: [R, C].</summary>
    void Softmax(Tensor x, Tensor y, bool log);

    // ---- indexing ---------------------------------------------------------------------
    /// <summary>y = x with <paramref name="axis"/> indexed by index (int32): [K]; y's axis has size K.</summary>
    void IndexSelect(Tensor x, int axis, Tensor index, Tensor y);
    /// <summary>dst[…, index[k], …] += src[…, k, …] along <paramref name="axis"/> (the adjoint of IndexSelect).</summary>
    void IndexAdd(Tensor dst, int axis, Tensor index, Tensor src);
    /// <summary>y[i…] = x[i with axis coordinate replaced by index[i…]]; index (int32) and y share a shape.</summary>
    void Gather(Tensor x, int axis, Tensor index, Tensor y);
    /// <summary>dst[i with axis coordinate replaced by index[i…]] += src[i…] (the adjoint of Gather).</summary>
    void ScatterAdd(Tensor dst, int axis, Tensor index, Tensor src);

    // ---- the sum of squares behind gradient clipping -----------------------------------
    /// <summary>
    /// result (a float64 0-d tensor on x's device) ← Σ x² over a contiguous float32 or float64 tensor, each
    /// square and the sum in double. Nothing is read back: the host reads result only when it asks for it.
    /// The summation order is fixed by the backend, never by the thread count.
    /// </summary>
    void SumOfSquares(Tensor x, Tensor result);

    // ---- weight quantization (rows are groups: x, w, codes, v, q: [G, M] contiguous) -------
    /// <summary>
    /// mean, std: [G] float64 ← the mean and population standard deviation (ddof 0) of each row of the
    /// float32 x: [G, M], accumulated in double.
    /// </summary>
    void GroupMoments(Tensor x, Tensor mean, Tensor std);
    /// <summary>
    /// The grid projection of each row g of the float32 w: [G, M]: with
    /// x = (w − center[g])/step[g] − PreSubtract (no subtraction where center[g] is 0),
    /// r = clamp(round_half_even(x), Lo, Hi), codes (int32) = (int)r + CodeShift, v (float32) = r + VOffset,
    /// every step a float32 operation; dots: [G, 2] float64 ← (w·v, v·v) per row. center, step: [G] float32.
    /// </summary>
    void GridProject(Tensor w, Tensor center, Tensor step, GridSpec spec, Tensor codes, Tensor v, Tensor dots);
    /// <summary>
    /// q = v·alpha[g], then + shift[g] where shift[g] ≠ 0 (float32, in this order: the dequantization), and
    /// sums: [G, 6] float64 ← (w·w, w·v, v·v, Σv, Σw, Σ(w − q)²) per row, the sums behind the quantization
    /// losses. w, v, q: [G, M] float32; alpha, shift: [G] float32.
    /// </summary>
    void DequantizeSums(Tensor w, Tensor v, Tensor alpha, Tensor shift, Tensor q, Tensor sums);

    // ---- random -----------------------------------------------------------------------
    /// <summary>
    /// Fills a contiguous float tensor from the counter-based generator: element i uses stream
    /// position <paramref name="counter"/> + i of <paramref name="seed"/>, so every backend produces
    /// the same numbers (see <see cref="Rng"/>).
    /// </summary>
    void RandomFill(Tensor dst, RandomKind kind, ulong seed, ulong counter, double a, double b);
}

/// <summary>
/// The constants of a <see cref="IBackend.GridProject"/> grid: VecQ's k-bit half-integer grid is
/// (PreSubtract ½, Lo −2^(k−1), Hi 2^(k−1) − 1, CodeShift 0, VOffset ½).
/// </summary>
/// <param name="PreSubtract">Subtracted after the division by the step.</param>
/// <param name="Lo">Smallest rounded value.</param>
/// <param name="Hi">Largest rounded value.</param>
/// <param name="CodeShift">Added to the rounded value to make the integer code.</param>
/// <param name="VOffset">Added to the rounded value to make the grid value v.</param>
/// <example><code>var grid = GridSpec.HalfInteger(bits: 2); // codes −2..1, v ∈ {±½, ±3/2}</code></example>
public readonly record struct GridSpec(float PreSubtract, float Lo, float Hi, int CodeShift, float VOffset)
{
    /// <summary>VecQ's symmetric k-bit grid of half-integers, codes v − ½ in [−2^(k−1), 2^(k−1) − 1].</summary>
    /// <example><code>var g = GridSpec.HalfInteger(4);</code></example>
    public static GridSpec HalfInteger(int bits) => new(0.5f, -(1 << (bits - 1)), (1 << (bits - 1)) - 1, 0, 0.5f);
}

/// <summary>Reductions of <see cref="IBackend.Reduce"/>.</summary>
public enum ReduceOp
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Arithmetic mean.</summary>
    Mean,
    /// <summary>Maximum.</summary>
    Max,
    /// <summary>Minimum.</summary>
    Min,
}

/// <summary>Distributions of <see cref="IBackend.RandomFill"/>.</summary>
public enum RandomKind
{
    /// <summary>Uniform on [a, b).</summary>
    Uniform,
    /// <summary>Normal with mean a and standard deviation b.</summary>
    Normal,
    /// <summary>1 with probability a, else 0.</summary>
    Bernoulli,
}

/// <summary>Geometry of a 2-D convolution (NCHW), validated and with output sizes computed.</summary>
/// <example><code>var g = Conv2dGeometry.Create(n: 1, c: 3, h: 8, w: 8, o: 4, kh: 3, kw: 3, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1);</code></example>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W, int O, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups, int OH, int OW)
{
    /// <summary>Checks the parameters and computes OH, OW (floor division, as PyTorch).</summary>
    public static Conv2dGeometry Create(int n, int c, int h, int w, int o, int kh, int kw,
        (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        if (stride.H < 1 || stride.W < 1) throw new ArgumentException($"conv2d: stride ({stride.H}, {stride.W}) must be >= 1");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentException($"conv2d: padding ({padding.H}, {padding.W}) must be >= 0");
        if (dilation.H < 1 || dilation.W < 1) throw new ArgumentException($"conv2d: dilation ({dilation.H}, {dilation.W}) must be >= 1");
        if (groups < 1 || c % groups != 0 || o % groups != 0)
            throw new ArgumentException($"conv2d: groups={groups} must divide both input channels {c} and output channels {o}");
        int oh = (h + 2 * padding.H - dilation.H * (kh - 1) - 1) / stride.H + 1;
        int ow = (w + 2 * padding.W - dilation.W * (kw - 1) - 1) / stride.W + 1;
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"conv2d: input {h}x{w} with padding ({padding.H}, {padding.W}) is smaller than the dilated kernel {dilation.H * (kh - 1) + 1}x{dilation.W * (kw - 1) + 1}");
        return new(n, c, h, w, o, kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups, oh, ow);
    }

    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int OPerGroup => O / Groups;
    /// <summary>True for a depthwise convolution (one input channel per group).</summary>
    public bool IsDepthwise => Groups == C && Groups > 1;
}

/// <summary>Geometry of a 2-D pooling window (NCHW, floor mode).</summary>
/// <example><code>var g = Pool2dGeometry.Create("max_pool2d", 1, 3, 6, 6, kernel: (2, 2), stride: (2, 2), padding: (0, 0));</code></example>
public readonly record struct Pool2dGeometry(int N, int C, int H, int W, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int OH, int OW)
{
    /// <summary>Checks the parameters and computes OH, OW.</summary>
    public static Pool2dGeometry Create(string op, int n, int c, int h, int w, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentException($"{op}: kernel ({kernel.H}, {kernel.W}) must be >= 1");
        if (stride.H < 1 || stride.W < 1) throw new ArgumentException($"{op}: stride ({stride.H}, {stride.W}) must be >= 1");
        if (padding.H < 0 || padding.W < 0 || 2 * padding.H > kernel.H || 2 * padding.W > kernel.W)
            throw new ArgumentException($"{op}: padding ({padding.H}, {padding.W}) must be >= 0 and at most half the kernel ({kernel.H}, {kernel.W})");
        int oh = (h + 2 * padding.H - kernel.H) / stride.H + 1;
        int ow = (w + 2 * padding.W - kernel.W) / stride.W + 1;
        if (oh < 1 || ow < 1) throw new ArgumentException($"{op}: input {h}x{w} is smaller than the kernel {kernel.H}x{kernel.W}");
        return new(n, c, h, w, kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W, oh, ow);
    }
}
