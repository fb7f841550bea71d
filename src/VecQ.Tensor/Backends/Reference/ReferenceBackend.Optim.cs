using System.Numerics;

namespace VecQ.Tensors;

// The fused optimizer updates, one element at a time over contiguous tensors (element i of each
// operand at its offset + i). The factors are rounded to T once; the arithmetic is in T, in the order
// written here, which the SIMD backend follows exactly (so the two agree bit for bit).
//   SGD:   g ← grad + wd·p;  b ← g (first step) or μ·b + (1 − dampening)·g;  g ← g + μ·b (Nesterov) or b;  p ← p − lr·g
//   Adam:  g ← grad + wd·p (L2) | p ← decay·p (AdamW);  m ← m·β1 + (1 − β1)·g;  v ← v·β2 + (1 − β2)·g·g;
//          p ← p − stepSize·m / (√v / √bc2 + ε)
//   Σ x²:  squares and sum in double, in index order
public sealed partial class ReferenceBackend
{
    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        OptimOps.CheckSgdStep(param, grad, momentumBuffer, args);
        switch (param.DType)
        {
            case DType.Float32: SgdStepT<float>(param, grad, momentumBuffer, args); break;
            case DType.Float64: SgdStepT<double>(param, grad, momentumBuffer, args); break;
            default: throw Unsupported("sgd_step", param);
        }
    }

    private static void SgdStepT<T>(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lr = Cast<T>(args.Lr), wd = Cast<T>(args.WeightDecay), mu = Cast<T>(args.Momentum), oneMinusDampening = Cast<T>(1 - args.Dampening);
        bool decay = args.WeightDecay != 0, momentum = momentumBuffer != null;
        var p = Data<T>(param).Slice(param.Offset, param.Numel);
        var g = Data<T>(grad).Slice(grad.Offset, grad.Numel);
        var b = momentum ? Data<T>(momentumBuffer!).Slice(momentumBuffer!.Offset, momentumBuffer.Numel) : default;
        for (int i = 0; i < p.Length; i++)
        {
            T gi = g[i];
            if (decay) gi += wd * p[i];
            if (momentum)
            {
                T bi = args.FirstStep ? gi : mu * b[i] + oneMinusDampening * gi;
                b[i] = bi;
                gi = args.Nesterov ? gi + mu * bi : bi;
            }
            p[i] -= lr * gi;
        }
    }

    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
    {
        OptimOps.CheckAdamStep(param, grad, expAvg, expAvgSq, args);
        switch (param.DType)
        {
            case DType.Float32: AdamStepT<float>(param, grad, expAvg, expAvgSq, args); break;
            case DType.Float64: AdamStepT<double>(param, grad, expAvg, expAvgSq, args); break;
            default: throw Unsupported("adam_step", param);
        }
    }

    private static void AdamStepT<T>(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamStepArgs args)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T beta1 = Cast<T>(args.Beta1), oneMinusBeta1 = Cast<T>(1 - args.Beta1);
        T beta2 = Cast<T>(args.Beta2), oneMinusBeta2 = Cast<T>(1 - args.Beta2);
        T stepSize = Cast<T>(args.StepSize), bc2Sqrt = Cast<T>(args.Bc2Sqrt), eps = Cast<T>(args.Eps);
        T wd = Cast<T>(args.WeightDecay), decay = Cast<T>(args.Decay);
        bool l2 = args.HasL2, decoupled = args.HasDecoupledDecay;
        var p = Data<T>(param).Slice(param.Offset, param.Numel);
        var g = Data<T>(grad).Slice(grad.Offset, grad.Numel);
        var m = Data<T>(expAvg).Slice(expAvg.Offset, expAvg.Numel);
        var v = Data<T>(expAvgSq).Slice(expAvgSq.Offset, expAvgSq.Numel);
        for (int i = 0; i < p.Length; i++)
        {
            T pi = p[i], gi = g[i];
            if (l2) gi += wd * pi;
            if (decoupled) pi *= decay;
            T mi = m[i] * beta1 + oneMinusBeta1 * gi;
            T vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            T denom = T.Sqrt(vi) / bc2Sqrt + eps;
            p[i] = pi - stepSize * mi / denom;
        }
    }

    /// <inheritdoc/>
    public void SumOfSquares(Tensor x, Tensor result)
    {
        OptimOps.CheckSumOfSquares(x, result);
        Data<double>(result)[result.Offset] = x.DType switch
        {
            DType.Float32 => SumOfSquaresT<float>(x),
            DType.Float64 => SumOfSquaresT<double>(x),
            _ => throw Unsupported("sum_of_squares", x),
        };
    }

    private static double SumOfSquaresT<T>(Tensor x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Data<T>(x).Slice(x.Offset, x.Numel);
        double sum = 0;
        foreach (T value in xs)
        {
            double d = D(value);
            sum += d * d;
        }
        return sum;
    }
}
