using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;

namespace VecQ.Quant.Tests;

/// <summary>Bit packing and the packed model file.</summary>
public sealed class PackedModelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vecq-quant-tests-" + Guid.NewGuid().ToString("N"));

    public PackedModelTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static int[] Bits(float[] v) => Array.ConvertAll(v, BitConverter.SingleToInt32Bits);

    [Fact]
    public void Pack_KnownLayout_LsbFirst()
    {
        // 2-bit two's complements 10, 11, 00, 01 → 0b01_00_11_10
        Assert.Equal([0x4E], PackedCodes.Pack(new[] { -2, -1, 0, 1 }, 2));
        // 3 bits straddling a word: code 10 (bits 30..32) of 11 codes → two words
        var codes = Enumerable.Repeat(0, 11).ToArray();
        codes[10] = -1;   // 0b111 at bits 30, 31, 32
        Assert.Equal([unchecked((int)0xC0000000), 1], PackedCodes.Pack(codes, 3));
        Assert.Equal([1], PackedCodes.Pack(new[] { -1 }, 1));
        Assert.Equal(4, PackedCodes.WordCount(33, 3));
        Assert.Equal(0, PackedCodes.WordCount(0, 5));
    }

    [Fact]
    public void Pack_RoundTripsEveryWidthAndOddLengths()
    {
        var rng = new Rng(11);
        foreach (int bits in Enumerable.Range(1, 16))
            foreach (int n in new[] { 1, 2, 3, 7, 31, 32, 33, 101, 1001 })
            {
                int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
                var codes = new int[n];
                for (int i = 0; i < n; i++) codes[i] = lo + rng.NextInt(hi - lo + 1);
                codes[0] = lo;
                codes[n - 1] = hi;
                var words = PackedCodes.Pack(codes, bits);
                Assert.Equal((n * bits + 31) / 32, words.Length);
                var back = new int[n];
                PackedCodes.Unpack(words, bits, back);
                Assert.Equal(codes, back);
                // unused high bits are zero
                int used = n * bits % 32;
                if (used != 0) Assert.Equal(0, (int)((uint)words[^1] >> used));
            }
    }

    [Fact]
    public void Pack_RejectsOutOfRangeCodesAndBadWordCounts()
    {
        var e = Assert.Throws<ArgumentException>(() => PackedCodes.Pack(new[] { 0, 2 }, 2));
        Assert.Contains("code 2", e.Message);
        Assert.Throws<ArgumentException>(() => PackedCodes.Pack(new[] { -3 }, 2));
        Assert.Contains("bits 0", Assert.Throws<ArgumentException>(() => PackedCodes.Pack(new[] { 0 }, 0)).Message);
        Assert.Throws<ArgumentException>(() => PackedCodes.Unpack(new int[2], 4, new int[3]));
    }

    /// <summary>Export then load: codes and α bit-exact, and the dequantized weights equal the transform's output.</summary>
    [Theory]
    [InlineData(QuantMethod.VecQ, 1, Granularity.PerTensor)]
    [InlineData(QuantMethod.VecQ, 2, Granularity.PerTensor)]
    [InlineData(QuantMethod.VecQ, 3, Granularity.PerChannel)]
    [InlineData(QuantMethod.VecQ, 4, Granularity.PerTensor)]
    [InlineData(QuantMethod.VecQ, 5, Granularity.PerChannel)]
    [InlineData(QuantMethod.VecQ, 6, Granularity.PerTensor)]
    [InlineData(QuantMethod.VecQ, 7, Granularity.PerTensor)]
    [InlineData(QuantMethod.VecQ, 8, Granularity.PerChannel)]
    [InlineData(QuantMethod.MuL2Q, 3, Granularity.PerTensor)]
    [InlineData(QuantMethod.Twn, 2, Granularity.PerChannel)]
    [InlineData(QuantMethod.IterativeL2, 4, Granularity.PerTensor)]
    [InlineData(QuantMethod.Uniform, 5, Granularity.PerChannel)]
    [InlineData(QuantMethod.Binary, 1, Granularity.PerTensor)]
    public void Export_Load_RoundTripsCodesAlpha_AndMatchesFakeQuant(QuantMethod method, int bits, Granularity granularity)
    {
        // odd sizes: conv1 5×1×5×5 = 125 weights, fc2 3×13 = 39
        var model = new LeNet5(c1: 5, c2: 7, hidden: 13, numClasses: 3, rng: new Rng(7));
        var attached = model.Quantize(new QuantizeConfig { Method = method, WeightBits = bits, Granularity = granularity, QuantizeBiases = true });
        model.Eval();
        var fake = new Dictionary<string, float[]>();
        var expected = new Dictionary<string, QuantResult>();
        var byName = model.NamedParameters().ToDictionary(e => e.Name, e => e.Parameter);
        foreach (var (name, q) in attached)
        {
            using var wq = byName[name].Value(training: false);
            fake[name] = wq.Value.ToArray();
            expected[name] = q.QuantizeTensor(byName[name].Data);
        }
        string path = PathOf($"{method.Name()}-{bits}.safetensors");
        var size = PackedModel.Export(model, path, new Dictionary<string, string> { ["model"] = "lenet5-small" });
        using var packed = PackedModel.Load(path);

        Assert.Equal("lenet5-small", packed.Metadata["model"]);
        Assert.Equal(attached.Select(a => a.Name).OrderBy(n => n), packed.Quantized.Keys.OrderBy(n => n));
        foreach (var (name, q) in attached)
        {
            var pt = packed.Quantized[name];
            var r = expected[name];
            Assert.Equal(method, pt.Method);
            Assert.Equal(bits, pt.Bits);
            Assert.Equal(byName[name].Shape, pt.Shape);
            Assert.Equal(r.Codes, pt.Codes);
            Assert.Equal(r.Groups.Count, pt.Groups.Count);
            for (int g = 0; g < r.Groups.Count; g++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(r.Groups[g].Alpha), BitConverter.SingleToInt32Bits(pt.Groups[g].Alpha));
                Assert.Equal(BitConverter.SingleToInt32Bits(r.Groups[g].Shift), BitConverter.SingleToInt32Bits(pt.Groups[g].Shift));
                Assert.Equal(r.Groups[g].CodeOffset, pt.Groups[g].CodeOffset);
                Assert.Equal((float)r.Groups[g].Lambda, (float)pt.Groups[g].Lambda);
            }
            // the packed model's dequantized weights are the fake-quantized weights, bit for bit
            Assert.Equal(Bits(fake[name]), Bits(packed.Tensors[name].ToArray()));
            Assert.Equal(byName[name].Shape, packed.Tensors[name].Dims);
        }
        // everything else is stored as it is
        foreach (var (name, t) in model.StateDict())
        {
            Assert.True(packed.Tensors.ContainsKey(name), $"missing {name}");
            if (!packed.Quantized.ContainsKey(name))
                Assert.Equal(t.DType == DType.Int32 ? t.ToArray<int>().Select(i => (float)i) : t.ToArray(),
                    packed.Tensors[name].DType == DType.Int32 ? packed.Tensors[name].ToArray<int>().Select(i => (float)i) : packed.Tensors[name].ToArray());
        }
        Assert.Equal(size.FloatBytes, packed.Size.FloatBytes);
        Assert.Equal(size.PackedBytes, packed.Size.PackedBytes);
        Assert.Equal(new FileInfo(path).Length, size.FileBytes);
        Assert.Equal(size.PackedBytes, PackedModel.Measure(model).PackedBytes);
        Assert.Equal(4L * model.StateDict().Sum(kv => (long)kv.Value.Numel), size.FloatBytes);
        Assert.True(size.Ratio > 1, $"ratio {size.Ratio}");
    }

    [Fact]
    public void LoadedModel_ComputesTheSameLogitsAsTheFakeQuantizedModel()
    {
        var model = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(21));
        model.Quantize(new QuantizeConfig { WeightBits = 3, FirstLayerBits = 8 });
        model.Eval();
        string path = PathOf("e2e.safetensors");
        PackedModel.Export(model, path);
        using var packed = PackedModel.Load(path);
        var fresh = new LeNet5(c1: 4, c2: 8, hidden: 16, rng: new Rng(99));
        packed.LoadInto(fresh);
        fresh.Eval();
        using var x = new Variable(Tensor.RandN([5, 1, 28, 28], new Rng(3)));
        using var a = model.Forward(x);
        using var b = fresh.Forward(x);
        Assert.Equal(Bits(a.Value.ToArray()), Bits(b.Value.ToArray()));
    }

    /// <summary>
    /// A W2/A8 model with trained activation quantizers (both kinds), quantized biases and first/last layer
    /// overrides: loaded from the packed file into a fresh model of the same build, it computes the same logits.
    /// </summary>
    [Theory]
    [InlineData(0)]   // one step per tensor, Gaussian λ_k (the letter's activation quantizer)
    [InlineData(6)]   // per channel, λ searched on the batch
    public void LoadedModel_WithActivationQuantizers_ComputesTheSameLogits(int channels)
    {
        Module Build(ulong seed) => new LeNet5(c1: 6, c2: 8, hidden: 16, rng: new Rng(seed), activations: slot =>
            channels == 0 ? new ActivationQuantizer(8, 0.9, LambdaMode.Gaussian)
                          : new ActivationQuantizer(8, 0.9, LambdaMode.Exact, channels: slot switch { "act1" => 6, "act2" => 8, _ => 16 }));
        var model = Build(31);
        var attached = model.Quantize(new QuantizeConfig { WeightBits = 2, FirstLayerBits = 8, LastLayerBits = QuantizeConfig.KeepFloat, QuantizeBiases = true });
        using (var opt = new Sgd(model, 0.05, momentum: 0.9))
        using (var labels = Tensor.FromArray(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }))
            for (int step = 0; step < 3; step++)   // moves the weights and the activation quantizers' running step/scale
            {
                using var xb = new Variable(Tensor.RandN([8, 1, 28, 28], new Rng(40 + (ulong)step)));
                using var logits = model.Forward(xb);
                using var loss = Functions.SoftmaxCrossEntropy(logits, labels);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
            }
        model.Eval();
        var act1 = (ActivationQuantizer)model.NamedModules().Single(e => e.Name == "act1").Module;
        Assert.NotEqual(act1.TheoryLambda, act1.RunningStep, 6);
        string path = PathOf($"w2a8-{channels}.vecq");
        PackedModel.Export(model, path);
        using var packed = PackedModel.Load(path);
        Assert.Equal(8, packed.Quantized["conv1.weight"].Bits);
        Assert.Equal(2, packed.Quantized["fc1.weight"].Bits);
        Assert.True(packed.Quantized.ContainsKey("conv1.bias"), "biases are stored quantized");
        Assert.False(packed.Quantized.ContainsKey("fc2.weight"), "the last layer is kept float");
        Assert.Equal(channels == 0 ? [] : new[] { 6 }, packed.Tensors["act1.step"].Dims);

        var fresh = Build(99);
        packed.LoadInto(fresh);
        fresh.Eval();
        using var x = new Variable(Tensor.RandN([5, 1, 28, 28], new Rng(3)));
        using var a = model.Forward(x);
        using var b = fresh.Forward(x);
        Assert.Equal(Bits(a.Value.ToArray()), Bits(b.Value.ToArray()));
        Assert.Equal(attached.Count, packed.Quantized.Count);

        // a model with weight quantizers attached would quantize the quantized weights again: refused
        var withQuantizers = Build(5);
        withQuantizers.Quantize(new QuantizeConfig { WeightBits = 2 });
        var e = Assert.Throws<InvalidOperationException>(() => packed.LoadInto(withQuantizers));
        Assert.Contains("weight quantizer", e.Message);
    }

    [Fact]
    public void SizeReport_ForLeNet5At2Bits_IsAbout16x()
    {
        var model = new LeNet5(rng: new Rng(1));
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        string path = PathOf("lenet5-w2.safetensors");
        var size = PackedModel.Export(model, path);
        // 1,663,370 conv/dense weights + biases; weights at 2 bits, the rest float
        Assert.Equal(4L * model.StateDict().Sum(kv => (long)kv.Value.Numel), size.FloatBytes);
        Assert.InRange(size.Ratio, 14, 16);
        Assert.True(size.FileBytes > size.PackedBytes && size.FileBytes < size.PackedBytes + 16384, $"file {size.FileBytes} bytes, data {size.PackedBytes}");
    }

    [Fact]
    public void Load_RejectsFilesThatAreNotPackedModels()
    {
        string plain = PathOf("plain.safetensors");
        using var t = Tensor.Ones([3]);
        Safetensors.Save(plain, [new("w", t)]);
        var e = Assert.Throws<InvalidDataException>(() => PackedModel.Load(plain));
        Assert.Contains("vecq.format", e.Message);

        // a quantized entry whose codes tensor is missing
        string broken = PathOf("broken.safetensors");
        Safetensors.Save(broken, [new("w:alpha", t)], new Dictionary<string, string>
        {
            ["vecq.format"] = PackedModel.FormatName,
            ["vecq.format_version"] = "1",
            ["vecq.bit_order"] = "lsb-first",
            ["vecq.tensors"] = "{\"w\": {\"method\": \"vecq\", \"bits\": 2, \"granularity\": \"per_tensor\", \"shape\": [3], \"count\": 3, \"groups\": 1, \"code_offset\": 0.5, \"words\": 1}}",
        });
        e = Assert.Throws<InvalidDataException>(() => PackedModel.Load(broken));
        Assert.Contains("w:codes", e.Message);
    }

    [Fact]
    public void Load_RefusesATamperedFile_ByItsChecksum_AndStillReadsVersion1Files()
    {
        var model = new LeNet5(c1: 2, c2: 3, hidden: 5, rng: new Rng(4));
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        string path = PathOf("tamper.vecq");
        PackedModel.Export(model, path);
        byte[] good = File.ReadAllBytes(path);
        int header = 8 + (int)BitConverter.ToUInt64(good, 0);

        // one code word changed (a bit of the data region): the file still parses, the checksum does not match
        byte[] bad = (byte[])good.Clone();
        bad[header + 3] ^= 0x10;
        string changed = PathOf("changed.vecq");
        File.WriteAllBytes(changed, bad);
        var e = Assert.Throws<InvalidDataException>(() => PackedModel.Load(changed));
        Assert.Contains(changed, e.Message);
        Assert.Contains("checksum", e.Message);

        // the packing description edited (here by one space, which leaves it valid) is caught too
        var file = Safetensors.Load(path);
        try
        {
            var meta = new Dictionary<string, string>(file.Metadata);
            string desc = meta["vecq.tensors"];
            Assert.Contains("\"bits\":2", desc);
            meta["vecq.tensors"] = desc.Replace("\"bits\":2", "\"bits\":2 ");
            string edited = PathOf("edited.vecq");
            Safetensors.Save(edited, file.Tensors.ToList(), meta);
            e = Assert.Throws<InvalidDataException>(() => PackedModel.Load(edited));
            Assert.Contains("checksum", e.Message);

            // a version-2 file without its checksum is refused; a version-1 file (written before checksums) loads
            meta = new Dictionary<string, string>(file.Metadata);
            meta.Remove("vecq.checksum");
            string noSum = PathOf("nosum.vecq");
            Safetensors.Save(noSum, file.Tensors.ToList(), meta);
            Assert.Contains("vecq.checksum", Assert.Throws<InvalidDataException>(() => PackedModel.Load(noSum)).Message);
            meta["vecq.format_version"] = "1";
            string v1 = PathOf("v1.vecq");
            Safetensors.Save(v1, file.Tensors.ToList(), meta);
            using var old = PackedModel.Load(v1);
            using var current = PackedModel.Load(path);
            Assert.Equal(current.Quantized.Keys.Order(), old.Quantized.Keys.Order());
        }
        finally { foreach (var t in file.Tensors.Values) t.Dispose(); }
    }

    [Fact]
    public void Export_RejectsReservedMetadataKeys()
    {
        var model = new LeNet5(c1: 2, c2: 2, hidden: 4, rng: new Rng(1));
        Assert.Throws<ArgumentException>(() => PackedModel.Export(model, PathOf("x.safetensors"), new Dictionary<string, string> { ["vecq.format"] = "x" }));
    }
}
