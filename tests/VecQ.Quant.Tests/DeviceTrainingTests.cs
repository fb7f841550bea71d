using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>
/// Quantization-aware training on the simulated accelerator: the same numbers as on the CPU, a constant
/// host traffic per step, and live device memory that stays flat over a long loop.
/// </summary>
public sealed class DeviceTrainingTests
{
    // A small LeNet5 with 2-bit VecQ weights and 8-bit activation quantizers (searched λ, per channel).
    private static (LeNet5 Model, Sgd Optimizer) Build(Device device)
    {
        var model = new LeNet5(c1: 4, c2: 6, hidden: 16, activations: slot => new ActivationQuantizer(8, searchEvery: 50,
            channels: slot == "act3" ? 16 : slot == "act1" ? 4 : 6), rng: new Rng(11), device: device);
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        return (model, new Sgd(model, 0.05, momentum: 0.9, weightDecay: 1e-4));
    }

    // One step, written as the README's library section shows: the scope owns every variable of the step.
    private static double Step(LeNet5 model, Sgd opt, Tensor images, Tensor labels)
    {
        using var scope = TensorScope.Begin();
        using var y = labels.To(model.Device);
        var logits = model.Forward(new Variable(images.To(model.Device)));
        var loss = Functions.SoftmaxCrossEntropy(logits, y);
        opt.ZeroGrad();
        loss.Backward();
        opt.Step();
        return loss.Value.Item();
    }

    private static (Tensor Images, Tensor Labels) Batch(int i)
    {
        var rng = new Rng(1000 + (ulong)i);
        var labels = new int[8];
        for (int k = 0; k < 8; k++) labels[k] = rng.NextInt(10);
        return (Tensor.RandN([8, 1, 28, 28], rng), Tensor.FromArray(labels));
    }

    [Fact]
    public void W2A8_OnSim_MatchesTheCpu_StepForStep()
    {
        var (cpu, cpuOpt) = Build(Device.Cpu);
        var (sim, simOpt) = Build(Device.Sim(2));
        using (cpuOpt) using (simOpt)
            for (int i = 0; i < 12; i++)
            {
                var (images, labels) = Batch(i);
                using (images) using (labels)
                    Assert.Equal(Step(cpu, cpuOpt, images, labels), Step(sim, simOpt, images, labels));
            }
        var q = sim.WeightQuantizers()[0].Quantizer;
        Assert.Equal(cpu.WeightQuantizers()[0].Quantizer.OrientationLoss, q.OrientationLoss);   // metrics read on request
        foreach (var ((name, a), (_, b)) in cpu.StateDict().Zip(sim.StateDict()))
            Assert.True(a.DType == DType.Int32 ? a.ToArray<int>().SequenceEqual(b.ToArray<int>()) : a.ToArray<float>().SequenceEqual(b.ToArray<float>()),
                $"{name} differs between cpu and sim");
    }

    [Fact]
    public void AThousandSteps_OnSim_LeaveLiveBytesFlat_AndTrafficConstant()
    {
        var device = Device.Sim(3);
        var start = Backend.MemoryStats(device).LiveBytes;
        var (model, opt) = Build(device);
        var (images, labels) = Batch(0);
        long afterWarmup = 0;
        var traffic = new List<long>();
        using (opt) using (images) using (labels)
        {
            for (int i = 1; i <= 1000; i++)
            {
                var before = Backend.Transfers(device);
                double loss = Step(model, opt, images, labels);
                Assert.False(double.IsNaN(loss), $"step {i}: loss is NaN");
                traffic.Add((Backend.Transfers(device) - before).Calls);
                if (i == 10) afterWarmup = Backend.MemoryStats(device).LiveBytes;
            }
            Assert.Equal(afterWarmup, Backend.MemoryStats(device).LiveBytes);
        }
        // steady state: batch up (2), loss down (1); every 50th step each activation quantizer downloads its input
        Assert.All(traffic.Skip(1).Where((_, i) => (i + 1) % 50 != 0), t => Assert.Equal(3, t));
        Assert.True(traffic.Max() <= 3 + 3 + 6, $"largest step moved {traffic.Max()} times");
        model.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(start, Backend.MemoryStats(device).LiveBytes);
    }
}
