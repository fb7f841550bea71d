using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

/// <summary>
/// Every model trains on the simulated accelerator with the CPU's numbers (bit for bit), and a step there moves
/// nothing but the batch up and the loss down (no host read of tensor memory in the forward or backward).
/// </summary>
public class ModelDeviceTests
{
    public static TheoryData<string> Models => new() { "vgg-like", "alexnet", "resnet18", "resnet18-preact", "mobilenet-v1", "mobilenet-v2" };

    // One SGD step in a scope; returns the loss.
    private static double Step(Module model, Sgd opt, Tensor images, Tensor labels)
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

    [Theory, MemberData(nameof(Models))]
    public void TrainingStepOnSimMatchesTheCpu(string name)
    {
        int size = name == "alexnet" ? 67 : 32;
        using var images = RandN([4, 3, size, size], 11);
        using var labels = Tensor.FromArray(new[] { 1, 0, 3, 2 });
        var device = Device.Sim(0);
        var losses = new List<double>[2];
        var states = new List<KeyValuePair<string, Tensor>>[2];
        var models = new Module[2];
        TransferStats second = default;
        try
        {
            for (int run = 0; run < 2; run++)
            {
                Init.DefaultRng = new Rng(17);   // the dropout masks
                models[run] = ModelTests.Small(name, size, device: run == 0 ? Device.Cpu : device);
                using var opt = new Sgd(models[run], 0.05, momentum: 0.9, weightDecay: 1e-4);
                losses[run] = [Step(models[run], opt, images, labels)];
                var before = Backend.Transfers(device);
                losses[run].Add(Step(models[run], opt, images, labels));
                if (run == 1) second = Backend.Transfers(device) - before;
                states[run] = models[run].StateDict();
            }
            Assert.Equal(Device.Sim(0), models[1].Device);
            Assert.Equal(losses[0], losses[1]);
            Assert.All(losses[0], l => Assert.True(double.IsFinite(l), $"{name}: loss {l}"));
            foreach (var ((key, a), (_, b)) in states[0].Zip(states[1]))
                Assert.True(a.DType == DType.Int32 ? a.ToArray<int>().SequenceEqual(b.ToArray<int>()) : a.ToArray<float>().SequenceEqual(b.ToArray<float>()),
                    $"{name}: {key} differs between cpu and sim");
            // steady state: images and labels up, the loss down
            Assert.Equal(2, second.Uploads);
            Assert.Equal(1, second.Downloads);
        }
        finally
        {
            foreach (var m in models) m?.Dispose();
            Init.DefaultRng = new Rng(0);
        }
    }
}
