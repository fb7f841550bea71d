namespace VecQ.Tensors;

/// <summary>
/// Hyper-parameters of one fused SGD step (<see cref="IFusedOptimizer.SgdStep"/>), PyTorch's rule
/// (torch.optim.SGD): g ← grad + <see cref="WeightDecay"/>·p; with <see cref="Momentum"/> μ ≠ 0 the
/// buffer is b ← g on the <see cref="FirstStep"/> and b ← μ·b + (1 − <see cref="Dampening"/>)·g
/// afterwards, then g ← g + μ·b (<see cref="Nesterov"/>) or g ← b; finally p ← p − <see cref="Lr"/>·g.
/// The factors are rounded to the tensors' dtype once, then the arithmetic runs in that dtype.
/// </summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="Momentum">Momentum factor μ; 0 means no momentum buffer.</param>
/// <param name="Dampening">Dampening of the gradient entering the momentum buffer (not on the first step).</param>
/// <param name="WeightDecay">L2 penalty added to the gradient (0: none).</param>
/// <param name="Nesterov">Nesterov momentum: step along g + μ·b instead of b (only with μ ≠ 0).</param>
/// <param name="FirstStep">The buffer's first step: b ← g (its old contents are never read).</param>
/// <example><code>
/// var args = new SgdStepArgs(Lr: 0.1, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true, FirstStep: true);
/// OptimOps.SgdStep(weight, grad, momentumBuffer, args);
/// </code></example>
public readonly record struct SgdStepArgs(
    double Lr, double Momentum = 0, double Dampening = 0, double WeightDecay = 0, bool Nesterov = false, bool FirstStep = false)
{
    /// <summary>True when the step keeps a momentum buffer (μ ≠ 0).</summary>
    public bool HasMomentum => Momentum != 0;
}

/// <summary>
/// Hyper-parameters of one fused Adam / AdamW step (<see cref="IFusedOptimizer.AdamStep"/>), PyTorch's rule
/// (torch.optim.Adam / AdamW, amsgrad off) at step t = <see cref="Step"/>:
/// g ← grad (+ wd·p for Adam's L2 form); p ← (1 − lr·wd)·p for the <see cref="Decoupled"/> (AdamW) form;
/// m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g·g; p ← p − <see cref="StepSize"/>·m / (√v / <see cref="Bc2Sqrt"/> + ε).
/// The bias corrections are computed here in double (as PyTorch does in Python floats), rounded to the
/// tensors' dtype once, and the elementwise arithmetic runs in that dtype.
/// </summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="Step">The step number t of this update (≥ 1; the first update is step 1).</param>
/// <param name="Beta1">Decay β1 of the first-moment average m.</param>
/// <param name="Beta2">Decay β2 of the second-moment average v.</param>
/// <param name="Eps">Added to the denominator.</param>
/// <param name="WeightDecay">Weight decay wd (0: none): an L2 term in the gradient, or decoupled when <paramref name="Decoupled"/>.</param>
/// <param name="Decoupled">AdamW's decoupled decay p ← (1 − lr·wd)·p instead of Adam's g ← g + wd·p.</param>
/// <example><code>
/// var args = new AdamStepArgs(Lr: 1e-3, Step: 1, WeightDecay: 0.01, Decoupled: true);
/// OptimOps.AdamStep(weight, grad, expAvg, expAvgSq, args);
/// </code></example>
public readonly record struct AdamStepArgs(
    double Lr, long Step, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0, bool Decoupled = false)
{
    /// <summary>lr / (1 − β1ᵗ): the learning rate with the first moment's bias correction.</summary>
    public double StepSize => Lr / (1 - Math.Pow(Beta1, Step));

    /// <summary>√(1 − β2ᵗ): the square root of the second moment's bias correction.</summary>
    public double Bc2Sqrt => Math.Sqrt(1 - Math.Pow(Beta2, Step));

    /// <summary>1 − lr·wd: AdamW's factor on the weights.</summary>
    public double Decay => 1 - Lr * WeightDecay;

    /// <summary>True for Adam's L2 form with a non-zero decay (g ← g + wd·p).</summary>
    public bool HasL2 => !Decoupled && WeightDecay != 0;

    /// <summary>True for AdamW's decoupled form with a non-zero decay (p ← (1 − lr·wd)·p).</summary>
    public bool HasDecoupledDecay => Decoupled && WeightDecay != 0;
}
