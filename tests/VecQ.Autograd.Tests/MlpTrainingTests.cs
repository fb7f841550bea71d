using VecQ.Tensors;
using Xunit.Abstractions;

namespace VecQ.Autograd.Tests;

/// End to end: a 2-layer MLP (Linear → ReLU → Linear) trained with plain autograd and a manual
/// SGD step written in tensor ops, on 3 interleaved spirals (2-D points, seeded).
public class MlpTrainingTests(ITestOutputHelper output)
{
    private const int Classes = 3, PerClass = 70, Hidden = 64;

    [Fact]
    public void TwoLayerMlpFitsThreeSpirals()
    {
        // Float32 on the default (SIMD) CPU backend: the engine as users run it.
        output.WriteLine($"backend: {Backend.For(Device.Cpu).Name} (float32)");

        var (points, labels) = Spirals(seed: 7);
        using var x = new Variable(Tensor.FromArray(points, [Classes * PerClass, 2]));   // [N, 2]
        using var y = Tensor.FromArray(labels);                                          // [N] int32
        var rng = new Rng(11);
        using var w1 = Variable.Parameter(Tensor.RandN([Hidden, 2], rng, std: Math.Sqrt(2.0 / 2)), "w1");
        using var b1 = Variable.Parameter(Tensor.Zeros([Hidden]), "b1");
        using var w2 = Variable.Parameter(Tensor.RandN([Classes, Hidden], rng, std: Math.Sqrt(1.0 / Hidden)), "w2");
        using var b2 = Variable.Parameter(Tensor.Zeros([Classes]), "b2");
        Variable[] parameters = [w1, b1, w2, b2];

        double first = double.NaN, loss = double.NaN;
        const double lr = 0.5;
        for (int step = 0; step < 2500; step++)
        {
            using (var h = Functions.Relu(Functions.Linear(x, w1, b1)))                 // [N, H]
            using (var logits = Functions.Linear(h, w2, b2))                            // [N, 3]
            using (var l = Functions.SoftmaxCrossEntropy(logits, y))
            {
                l.Backward();
                loss = l.Value.Item();
            }
            if (step == 0) first = loss;
            using (Autograd.NoGrad())
                foreach (var p in parameters)
                {
                    using var update = p.Grad!.Mul(lr);
                    using var next = p.Value.Sub(update);
                    p.Value.CopyFrom(next);                                              // w ← w − lr·∇w
                    p.ZeroGrad();
                }
            if (step % 500 == 0) output.WriteLine($"step {step}: loss {loss:F4}");
        }
        output.WriteLine($"final loss {loss:F4} (from {first:F4})");

        double accuracy;
        using (Autograd.NoGrad())
        using (var h = Functions.Relu(Functions.Linear(x, w1, b1)))
        using (var logits = Functions.Linear(h, w2, b2))
        using (var pred = logits.Value.ArgMax(1))
        {
            var p = pred.ToArray<int>();
            accuracy = p.Where((c, i) => c == labels[i]).Count() / (double)p.Length;
        }
        output.WriteLine($"training accuracy {accuracy:P1}");
        Assert.True(loss < 0.05, $"training loss {loss} did not fall below 0.05 (started at {first})");
        Assert.Equal(1.0, accuracy);
    }

    // 3 arms of a spiral, r ∈ [0.05, 1], a little angular noise (CS231n's classic toy set).
    private static (float[] Points, int[] Labels) Spirals(ulong seed)
    {
        var rng = new Rng(seed);
        var points = new float[Classes * PerClass * 2];
        var labels = new int[Classes * PerClass];
        for (int c = 0; c < Classes; c++)
            for (int i = 0; i < PerClass; i++)
            {
                int n = c * PerClass + i;
                double r = 0.05 + 0.95 * i / (PerClass - 1);
                double t = c * 2 * Math.PI / Classes + 1.75 * Math.PI * r + 0.15 * (rng.NextDouble() - 0.5);
                points[2 * n] = (float)(r * Math.Sin(t));
                points[2 * n + 1] = (float)(r * Math.Cos(t));
                labels[n] = c;
            }
        return (points, labels);
    }
}
