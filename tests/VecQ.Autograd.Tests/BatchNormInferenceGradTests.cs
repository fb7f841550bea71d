using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

/// <summary>float64 GradCheck of the evaluation-mode batch norm (running statistics as constants).</summary>
public class BatchNormInferenceGradTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientsOfInputGammaAndBeta(bool affine)
    {
        using var mean = RandN([3], 71);
        using var invStd = Rand([3], 72, 0.5, 2.0);
        if (affine)
            Check(v => Functions.BatchNormInference(v[0], mean, invStd, v[1], v[2]), RandN([2, 3, 4, 5], 73), RandN([3], 74), RandN([3], 75));
        else
            Check(v => Functions.BatchNormInference(v[0], mean, invStd, null, null), RandN([4, 3], 76));
    }

    [Fact]
    public void EqualsTheFormula()
    {
        using var _ = Reference();
        using var x = new Variable(Tensor.FromArray(new double[] { 1, 2, 3, 4 }, [2, 2]));
        using var mean = Tensor.FromArray(new double[] { 1, -1 });
        using var invStd = Tensor.FromArray(new double[] { 2, 0.5 });
        using var gamma = new Variable(Tensor.FromArray(new double[] { 3, 1 }));
        using var beta = new Variable(Tensor.FromArray(new double[] { 0.5, -1 }));
        using var y = Functions.BatchNormInference(x, mean, invStd, gamma, beta);
        // (x − mean)·invStd·γ + β per column
        Assert.Equal(new[] { 0.5, 0.5, 12.5, 1.5 }, y.Value.ToArray<double>());
    }
}
