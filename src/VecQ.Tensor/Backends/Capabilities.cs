namespace VecQ.Tensors;

// Optional capabilities: fused kernels a backend may offer. Every op that uses one has a generic
// fallback composed of IBackend primitives (in the op layer), so a new backend runs first and gets
// fast later; a backend that offers one must give the fallback's results up to float rounding.

/// <summary>
/// The fused conv-block tail ReLU → batch norm → max pool (forward and training gradient in one pass each).
/// Without it, <see cref="ConvOps.ReluBatchNormMaxPool2d"/> runs ReLU, batch norm and max pool as separate kernels.
/// </summary>
/// <example><code>if (Backend.For(x) is IFusedConvTail tail) { /* one pass */ }</code></example>
public interface IFusedConvTail
{
    /// <summary>
    /// The conv-block tail ReLU → batch norm → max pool in one pass (VECQ.md §4's order):
    /// y, indices: [N, C, OH, OW] = MaxPool2d((max(x, 0) − mean[c])·invStd[c]·gamma[c] + beta[c]) with
    /// x: [N, C, H, W]; indices as <see cref="IBackend.MaxPool2d"/> gives them (h·W + w of the argmax in its plane);
    /// picked: [N, C, OH, OW] = max(x, 0) at each argmax (what the backward's channel sums need).
    /// </summary>
    void ReluBatchNormMaxPool2d(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, Pool2dGeometry g, Tensor y, Tensor indices,
        Tensor picked);
    /// <summary>
    /// Training-mode gradient of <see cref="ReluBatchNormMaxPool2d"/> (batch statistics): dy, indices, picked:
    /// [N, C, OH, OW] (indices and picked as the forward wrote them); x, dx: [N, C, H, W]. With u = max(x, 0),
    /// x̂ = (u − mean)·invStd, d the max-pool gradient of dy (dy at the saved indices) and M = N·H·W:
    /// dbeta = Σ d, dgamma = Σ d·x̂, dx = [x &gt; 0]·gamma·invStd/M · (M·d − Σ d − x̂·Σ d·x̂). A null dgamma or
    /// dbeta is not computed.
    /// </summary>
    void ReluBatchNormMaxPool2dBackward(Tensor dy, Tensor indices, Tensor picked, Tensor x, Tensor mean, Tensor invStd, Tensor? gamma,
        Pool2dGeometry g, Tensor dx, Tensor? dgamma, Tensor? dbeta);
}

/// <summary>
/// Fused optimizer updates: one pass over param, grad and the state tensors (contiguous operands, updated in
/// place). Without it, <see cref="OptimOps.SgdStep"/> and <see cref="OptimOps.AdamStep"/> run the same rule
/// as a chain of elementwise primitives, in the same order of float operations.
/// </summary>
/// <example><code>if (Backend.For(p.Device) is IFusedOptimizer fused) fused.SgdStep(p, g, null, new SgdStepArgs(Lr: 0.1));</code></example>
public interface IFusedOptimizer
{
    /// <summary>
    /// One fused SGD update, elementwise over param, grad and (when <see cref="SgdStepArgs.HasMomentum"/>)
    /// momentumBuffer: the rule of <see cref="SgdStepArgs"/>. Every tensor is contiguous, on one device,
    /// with param's shape and dtype (float32 or float64); param and momentumBuffer are updated in place,
    /// grad is only read. momentumBuffer is null exactly when the momentum is 0. Each element's result
    /// does not depend on how the work is split (thread count, vector width).
    /// </summary>
    void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args);
    /// <summary>
    /// One fused Adam / AdamW update, elementwise over param, grad, expAvg (m) and expAvgSq (v): the rule
    /// of <see cref="AdamStepArgs"/>. Every tensor is contiguous, on one device, with param's shape and
    /// dtype (float32 or float64); param, expAvg and expAvgSq are updated in place, grad is only read.
    /// Each element's result does not depend on how the work is split.
    /// </summary>
    void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args);
}

/// <summary>
/// The fused softmax cross-entropy (the loss and the probabilities in one pass per row, and its gradient).
/// Without it, <see cref="NnOps.SoftmaxCrossEntropy"/> composes softmax, log-softmax, gather, a row sum and
/// scatter-add (<see cref="NnOps.SoftmaxCrossEntropyUnfused"/>).
/// </summary>
/// <example><code>if (Backend.For(logits) is IFusedLoss loss) { /* one pass per row */ }</code></example>
public interface IFusedLoss
{
    /// <summary>
    /// Per-row cross-entropy of logits: [R, C] against labels (int32): [R] with label smoothing
    /// <paramref name="smoothing"/> into loss: [R]; probs: [R, C] receives softmax(logits) for the backward.
    /// </summary>
    void SoftmaxCrossEntropy(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs);
    /// <summary>dlogits[r] = (probs[r] − target[r]) · dloss[r] where target is the smoothed one-hot.</summary>
    void SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor dloss, Tensor dlogits);
}

/// <summary>The activation a fused kernel applies to its result: max(y, 0) or min(max(y, 0), 6), NaN kept.</summary>
/// <example><code>using var y = NnOps.BatchNormForward(x, mean, invStd, gamma, beta, FusedActivation.Relu6);</code></example>
public enum FusedActivation
{
    /// <summary>max(y, 0).</summary>
    Relu,
    /// <summary>min(max(y, 0), 6).</summary>
    Relu6,
}

/// <summary>
/// Evaluation-mode batch norm and the ReLU (or ReLU6) after it in one pass over memory: in MobileNetV2's batch-8
/// 224² inference the two passes took a quarter of the time. Without it, <see cref="NnOps.BatchNormForward(Tensor, Tensor, Tensor, Tensor?, Tensor?, FusedActivation)"/>
/// runs <see cref="IBackend.BatchNormForward"/> and then the activation in place.
/// </summary>
/// <example><code>if (Backend.For(x) is IFusedBatchNormActivation f) f.BatchNormActivation(x3, mean, invStd, gamma, beta, FusedActivation.Relu, y3);</code></example>
public interface IFusedBatchNormActivation
{
    /// <summary>
    /// y = act((x − mean[c])·invStd[c]·gamma[c] + beta[c]) for x, y: [N, C, S] contiguous; mean, invStd, gamma, beta: [C]
    /// (gamma/beta null: none), the batch norm rounded exactly as <see cref="IBackend.BatchNormForward"/> rounds it.
    /// </summary>
    void BatchNormActivation(Tensor x, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta, FusedActivation activation, Tensor y);
}

/// <summary>
/// Evaluation-mode convolution → batch norm (→ ReLU or ReLU6) with each output plane normalised while it is still in
/// cache, instead of a second pass over the whole output from memory (MobileNetV2's 224² activations are tens of MB).
/// Without it, <see cref="ConvOps.Conv2dBatchNorm"/> runs <see cref="IBackend.Conv2d"/> and then
/// <see cref="NnOps.BatchNormForward(Tensor, Tensor, Tensor, Tensor?, Tensor?, FusedActivation)"/>.
/// </summary>
/// <example><code>if (Backend.For(x) is IFusedConvBatchNorm f) f.Conv2dBatchNorm(x, w, null, g, mean, invStd, gamma, beta, FusedActivation.Relu6, y);</code></example>
public interface IFusedConvBatchNorm
{
    /// <summary>
    /// y = act(((x ⋆ w + bias) − mean[o])·invStd[o]·gamma[o] + beta[o]) with the operands of <see cref="IBackend.Conv2d"/>
    /// (all contiguous) and mean, invStd, gamma, beta: [O] (gamma/beta null: none); activation null: none. The batch
    /// norm is rounded as <see cref="IBackend.BatchNormForward"/> rounds it.
    /// </summary>
    void Conv2dBatchNorm(Tensor x, Tensor w, Tensor? bias, Conv2dGeometry g, Tensor mean, Tensor invStd, Tensor? gamma, Tensor? beta,
        FusedActivation? activation, Tensor y);
}

/// <summary>
/// The recurrence of one LSTM layer over a whole sequence as one kernel, forward and backward through time. Each
/// sequence of the batch depends only on its own earlier steps, so a backend may give each thread its own rows for
/// every step (no fork and join per step) and pack W_hh once per sequence. Without it, <see cref="RnnOps.LstmForward"/>
/// and <see cref="RnnOps.LstmBackward"/> run a MatMul and the cell per step (<see cref="RnnOps.UnfusedLstmForwardSteps"/>,
/// <see cref="RnnOps.UnfusedLstmBackwardSteps"/>). Every operand is contiguous, on one device, of one float dtype.
/// </summary>
/// <example><code>if (Backend.For(acts) is IFusedLstmRecurrence r) r.LstmForwardSteps(whhT, bias, h0, acts, cells, output, reverse: false);</code></example>
public interface IFusedLstmRecurrence
{
    /// <summary>
    /// whhT: [H, 4H] (W_hh transposed), bias: [4H] or null, h0: [B, H]; acts: [T, B, 4H] holding x·W_ihᵀ by time, overwritten
    /// with the gate activations; cells: [T + 1, B, H] with cells[0] = c0, cells[s + 1] written after step s; output: [T, B, H]
    /// (h by time). Step s processes time s, or T − 1 − s when <paramref name="reverse"/>; each step is
    /// gates += hPrev·whhT, then <see cref="IFusedLstmCell.LstmCell"/>.
    /// </summary>
    void LstmForwardSteps(Tensor whhT, Tensor? bias, Tensor h0, Tensor acts, Tensor cells, Tensor output, bool reverse);

    /// <summary>
    /// Backward through time of <see cref="LstmForwardSteps"/>: whh: [4H, H], acts and cells as the forward left them,
    /// dOutput: [T, B, H] (the gradient at every h), dc: [B, H] holding the gradient at c_n and left holding the one at c0,
    /// dG: [T, B, 4H] written with the gate pre-activation gradients by time. Per step from the last:
    /// dh = dOutput[t] + dG[t_next]·W_hh, then <see cref="IFusedLstmCell.LstmCellBackward"/>.
    /// </summary>
    void LstmBackwardSteps(Tensor whh, Tensor acts, Tensor cells, Tensor dOutput, Tensor dc, Tensor dG, bool reverse);
}

/// <summary>
/// The fused LSTM cell: the gate nonlinearities and the state update of one time step in one pass (and its
/// gradient). Without it, <see cref="RnnOps.LstmCell"/> composes sigmoid, tanh, products and sums
/// (<see cref="RnnOps.UnfusedLstmCell"/>). Every operand is contiguous, on one device, of one float dtype.
/// </summary>
/// <example><code>if (Backend.For(gates) is IFusedLstmCell cell) cell.LstmCell(gates, bias, cPrev, gates, c, h);</code></example>
public interface IFusedLstmCell
{
    /// <summary>
    /// One LSTM step from the gate pre-activations gates: [B, 4H] (x·W_ihᵀ + h·W_hhᵀ, PyTorch's gate order i, f, g, o),
    /// bias: [4H] (b_ih + b_hh, added to every row; null for none) and cPrev: [B, H]: with z = gates + bias,
    /// acts: [B, 4H] = (σ(z_i), σ(z_f), tanh(z_g), σ(z_o)); c = σ(z_f)·cPrev + σ(z_i)·tanh(z_g); h = σ(z_o)·tanh(c)
    /// (c, h: [B, H]). acts may be gates itself (computed in place).
    /// </summary>
    void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h);
    /// <summary>
    /// Gradient of <see cref="LstmCell"/>: acts: [B, 4H] and c: [B, H] as the forward wrote them, cPrev: [B, H];
    /// dh, dc: [B, H] the gradients arriving at h and c. With t = tanh(c) and dĉ = dc + dh·o·(1 − t²):
    /// dgates = (dĉ·g·i(1−i), dĉ·cPrev·f(1−f), dĉ·i·(1−g²), dh·t·o(1−o)) : [B, 4H]; dcPrev = dĉ·f : [B, H].
    /// dcPrev may be dc itself.
    /// </summary>
    void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev);
}
