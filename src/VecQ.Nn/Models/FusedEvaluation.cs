using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Inference shortcuts the models take when nothing is recorded for a gradient: a conv and the batch norm after it
/// (and a ReLU/ReLU6) as one op, <see cref="ConvOps.Conv2dBatchNorm"/>, so each output plane is normalised while it is
/// in cache. The values are the layers' own (up to float rounding); each layer still reports to a <see cref="ModuleTrace"/>.
/// </summary>
internal static class FusedEvaluation
{
    /// <summary>
    /// act(bn(conv(x))) in one op when the batch norm is in evaluation mode with running statistics and nothing needs a
    /// gradient; null otherwise (the caller runs the layers). <paramref name="activationModule"/> is reported to a trace.
    /// </summary>
    public static Variable? ConvBatchNorm(Conv2d conv, BatchNorm norm, Variable x, FusedActivation? activation, Module? activationModule = null)
    {
        if (conv.Training || norm.Training || !norm.TrackRunningStats || x.Value.Rank != 4 || x.Shape[1] != conv.InChannels) return null;
        using var w = new ParameterLease(conv.Weight, false);      // [O, C/groups, KH, KW]
        using var b = new ParameterLease(conv.Bias, false);        // [O] or none
        using var gamma = new ParameterLease(norm.Weight, false);  // [O] or none
        using var beta = new ParameterLease(norm.Bias, false);
        Variable[] inputs = [x, w.Value!, .. new[] { b.Value, gamma.Value, beta.Value }.OfType<Variable>()];
        if (Graph.IsRecording(inputs)) return null;
        using var invStd = norm.RunningInvStd();                   // [O]
        var y = new Variable(ConvOps.Conv2dBatchNorm(x.Value, w.Value!.Value, b.Value?.Value, conv.Stride.ToTuple(), conv.ResolvedPadding.ToTuple(),
            conv.Dilation.ToTuple(), conv.Groups, norm.RunningMean!.Value, invStd, gamma.Value?.Value, beta.Value?.Value, activation));   // [N, O, OH, OW]
        ModuleTrace.Record(conv, y);
        ModuleTrace.Record(norm, y);
        if (activationModule != null) ModuleTrace.Record(activationModule, y);
        return y;
    }

    /// <summary>
    /// relu(a + b) (a residual join) with the ReLU applied in place on the sum when nothing needs a gradient, one fresh
    /// tensor instead of two; else the two functions.
    /// </summary>
    public static Variable AddRelu(Variable a, Variable b)
    {
        if (Graph.IsRecording(a, b))
        {
            using var sum = Functions.Add(a, b);
            return Functions.Relu(sum);
        }
        var s = a.Value.Add(b.Value);                                  // like a (b broadcast)
        NnOps.Activate(Backend.For(s), FusedActivation.Relu, s);
        return new Variable(s);
    }
}
