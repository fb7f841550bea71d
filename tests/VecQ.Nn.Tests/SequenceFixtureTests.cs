using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

/// <summary>
/// Embedding (padding index), Conv1d, the 1-D pools and the LSTM (2 layers, bidirectional, batch-first, h0/c0) against PyTorch (tools/fixtures/make_sequence_fixtures.py):
/// outputs and every gradient, on the CPU and on the simulated device.
/// </summary>
public class SequenceFixtureTests
{
    private static IReadOnlyDictionary<string, Tensor> Load() => Safetensors.Load(FixturePath("sequence.safetensors")).Tensors;

    private static void Release(IReadOnlyDictionary<string, Tensor> t) { foreach (var v in t.Values) v.Dispose(); }

    public static TheoryData<string> Devices => new() { "cpu", "sim" };

    private static Device On(string d) => d == "sim" ? Device.Sim(0) : Device.Cpu;

    [Theory, MemberData(nameof(Devices))]
    public void EmbeddingMatchesPyTorch(string device)
    {
        var t = Load();
        try
        {
            var dev = On(device);
            using var emb = new Embedding(11, 4, paddingIdx: 0);
            emb.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = t["embedding.weight"] });
            emb.To(dev);
            using var ids = t["embedding.ids"].To(dev);
            using var y = emb.Forward(new Variable(ids));
            using var yh = y.Value.To(Device.Cpu);
            AssertClose(t["embedding.y"], yh, "embedding output");
            using var r = t["embedding.r"].To(dev);
            y.Backward(r);
            using var g = emb.Weight.Grad!.To(Device.Cpu);
            AssertClose(t["embedding.grad.weight"], g, "embedding grad weight");
        }
        finally { Release(t); }
    }

    [Theory, MemberData(nameof(Devices))]
    public void Conv1dMatchesPyTorch(string device)
    {
        var t = Load();
        try
        {
            var dev = On(device);
            using var conv = new Conv1d(6, 8, 3, stride: 2, padding: 1, dilation: 2, groups: 2);
            conv.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = t["conv1d.weight"], ["bias"] = t["conv1d.bias"] });
            conv.To(dev);
            using var x = new Variable(t["conv1d.x"].To(dev), requiresGrad: true);
            using var y = conv.Forward(x);
            using (var yh = y.Value.To(Device.Cpu)) AssertClose(t["conv1d.y"], yh, "conv1d output");
            using (var r = t["conv1d.r"].To(dev)) y.Backward(r);
            using (var gx = x.Grad!.To(Device.Cpu)) AssertClose(t["conv1d.grad.x"], gx, "conv1d grad x");
            using (var gw = conv.Weight.Grad!.To(Device.Cpu)) AssertClose(t["conv1d.grad.weight"], gw, "conv1d grad weight");
            using (var gb = conv.Bias!.Grad!.To(Device.Cpu)) AssertClose(t["conv1d.grad.bias"], gb, "conv1d grad bias");
        }
        finally { Release(t); }
    }

    [Theory]
    [InlineData("maxpool1d")]
    [InlineData("avgpool1d")]
    public void Pool1dMatchesPyTorch(string name)
    {
        var t = Load();
        try
        {
            Module pool = name == "maxpool1d" ? new MaxPool1d(3, stride: 2, padding: 1) : new AvgPool1d(4, stride: 3, padding: 2);
            using var x = new Variable(t[name + ".x"].Clone(), requiresGrad: true);
            using var y = pool.Forward(x);
            AssertClose(t[name + ".y"], y.Value, name + " output");
            y.Backward(t[name + ".r"]);
            AssertClose(t[name + ".grad.x"], x.Grad!, name + " grad x");
        }
        finally { Release(t); }
    }

    public static TheoryData<string, string> LstmCases() => new()
    {
        { "lstm_bi", "cpu" }, { "lstm_bi", "sim" }, { "lstm_bf", "cpu" }, { "lstm_bf", "sim" }, { "lstm_zero", "cpu" },
    };

    [Theory, MemberData(nameof(LstmCases))]
    public void LstmMatchesPyTorch(string name, string device)
    {
        var t = Load();
        try
        {
            var dev = On(device);
            var (layers, bi, batchFirst, input, hidden) = name switch
            {
                "lstm_bi" => (2, true, false, 5, 6),
                "lstm_bf" => (2, false, true, 3, 5),
                _ => (1, false, true, 3, 2),
            };
            using var lstm = new Lstm(input, hidden, numLayers: layers, batchFirst: batchFirst, bidirectional: bi);
            string prefix = name + ".p.";
            var state = t.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
            Assert.Equal(lstm.NamedParameters().Select(p => p.Name).OrderBy(n => n), state.Keys.OrderBy(n => n));   // PyTorch's names
            lstm.LoadStateDict(state);
            lstm.To(dev);
            using var x = new Variable(t[name + ".x"].To(dev), requiresGrad: true);
            bool withState = t.ContainsKey(name + ".h0");
            using var h0 = withState ? new Variable(t[name + ".h0"].To(dev), requiresGrad: true) : null;
            using var c0 = withState ? new Variable(t[name + ".c0"].To(dev), requiresGrad: true) : null;
            var (y, (hn, cn)) = lstm.Forward(x, withState ? (h0!, c0!) : null);
            using (y) using (hn) using (cn)
            {
                foreach (var (key, v) in new[] { ("y", y), ("hn", hn), ("cn", cn) })
                    using (var host = v.Value.To(Device.Cpu)) AssertClose(t[name + "." + key], host, $"{name} {key}");
                // the loss PyTorch differentiated: sum(y·r) + sum(hn·rh) + sum(cn·rc)
                using var r = new Variable(t[name + ".r"].To(dev)); using var rh = new Variable(t[name + ".rh"].To(dev)); using var rc = new Variable(t[name + ".rc"].To(dev));
                using var ly = Functions.Mul(y, r); using var lh = Functions.Mul(hn, rh); using var lc = Functions.Mul(cn, rc);
                using var sy = Functions.Sum(ly); using var sh = Functions.Sum(lh); using var sc = Functions.Sum(lc);
                using var s1 = Functions.Add(sy, sh); using var loss = Functions.Add(s1, sc);
                loss.Backward();
            }
            using (var gx = x.Grad!.To(Device.Cpu)) AssertClose(t[name + ".grad.x"], gx, $"{name} grad x");
            if (withState)
            {
                using (var g = h0!.Grad!.To(Device.Cpu)) AssertClose(t[name + ".grad.h0"], g, $"{name} grad h0");
                using (var g = c0!.Grad!.To(Device.Cpu)) AssertClose(t[name + ".grad.c0"], g, $"{name} grad c0");
            }
            foreach (var (pn, p) in lstm.NamedParameters())
                using (var g = p.Grad!.To(Device.Cpu)) AssertClose(t[name + ".grad.p." + pn], g, $"{name} grad {pn}");
        }
        finally { Release(t); }
    }

    [Fact]
    public void LayersRejectBadShapesAndSettings()
    {
        using var emb = new Embedding(5, 2);
        using var floats = new Variable(Tensor.Zeros([2, 3]));
        Assert.Contains("int32", Assert.Throws<ArgumentException>(() => emb.Forward(floats)).Message);
        Assert.Contains("padding_idx 5", Assert.Throws<ArgumentException>(() => new Embedding(5, 2, paddingIdx: 5)).Message);
        using var conv = new Conv1d(4, 2, 3);
        using var x = new Variable(Tensor.Zeros([2, 3, 10]));
        Assert.Contains("[N, 4, L]", Assert.Throws<ArgumentException>(() => conv.Forward(x)).Message);
        Assert.Contains("groups 3", Assert.Throws<ArgumentException>(() => new Conv1d(4, 2, 3, groups: 3)).Message);
        using var lstm = new Lstm(4, 3, numLayers: 2);
        using var seq = new Variable(Tensor.Zeros([5, 2, 3]));
        Assert.Contains("[T, B, 4]", Assert.Throws<ArgumentException>(() => lstm.Forward(seq)).Message);
        using var x4 = new Variable(Tensor.Zeros([5, 2, 4]));
        using var h0 = new Variable(Tensor.Zeros([1, 2, 3]));
        Assert.Contains("h0", Assert.Throws<ArgumentException>(() => lstm.Forward(x4, (h0, h0))).Message);
        Assert.Contains("num_layers 0", Assert.Throws<ArgumentException>(() => new Lstm(4, 3, numLayers: 0)).Message);
        using var padRow = new Embedding(6, 3, paddingIdx: 2);
        Assert.Equal(new float[3], padRow.Weight.Data.Narrow(0, 2, 1).ToArray());
    }
}
