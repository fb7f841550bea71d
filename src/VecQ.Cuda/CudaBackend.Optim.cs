using VecQ.Tensors;

namespace VecQ.Cuda;

// The fused optimizer steps (IFusedOptimizer): one kernel per parameter instead of the op layer's chain of elementwise
// ops, the reference backend's bits (Kernels/optim.cu). OptimOps has validated the operands (contiguous, same shape and dtype).
public sealed partial class CudaBackend : IFusedOptimizer
{
    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        Run("optim", "sgd_" + FloatSuffix("sgd_step", param), param.Numel, Args().Add((long)param.Numel).Add(At(param)).Add(At(grad)).Add(AtOpt(momentumBuffer))
            .Add(args.Lr).Add(args.WeightDecay).Add(args.Momentum).Add(1 - args.Dampening)
            .Add(args.WeightDecay != 0 ? 1 : 0).Add(momentumBuffer != null ? 1 : 0).Add(args.FirstStep ? 1 : 0).Add(args.Nesterov ? 1 : 0));
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        Run("optim", "adam_" + FloatSuffix("adam_step", param), param.Numel, Args().Add((long)param.Numel).Add(At(param)).Add(At(grad)).Add(At(expAvg)).Add(At(expAvgSq))
            .Add(args.Beta1).Add(1 - args.Beta1).Add(args.Beta2).Add(1 - args.Beta2).Add(args.StepSize).Add(args.Bc2Sqrt).Add(args.Eps)
            .Add(args.WeightDecay).Add(args.Decay).Add(args.HasL2 ? 1 : 0).Add(args.HasDecoupledDecay ? 1 : 0));
    }
}
