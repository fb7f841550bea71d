using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Quant.Integer;
using VecQ.Tensors;
using Xunit;

namespace VecQ.Quant.Tests;

/// <summary>The int8 product against its scalar twin, and integer inference against the fake-quantized model.</summary>
public sealed class IntegerInferenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vecq-int8-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A fact reported as Skipped on a CPU without the ISA.</summary>
    private sealed class IsaFactAttribute : FactAttribute
    {
        public IsaFactAttribute(Int8Isa isa)
        {
            if (!Int8Gemm.IsSupported(isa)) Skip = $"this CPU has no {isa}";
        }
    }

    [IsaFact(Int8Isa.Avx2)]
    public void Avx2Kernel_EqualsTheScalarTwin() => VectorKernelEqualsTheScalarTwin(Int8Isa.Avx2);

    [IsaFact(Int8Isa.Vnni256)]
    public void VnniKernel_EqualsTheScalarTwin() => VectorKernelEqualsTheScalarTwin(Int8Isa.Vnni256);

    [IsaFact(Int8Isa.Avx512Bw)]
    public void Avx512BwKernel_EqualsTheScalarTwin_ForCodesItTakes() => VectorKernelEqualsTheScalarTwin(Int8Isa.Avx512Bw, Int8Gemm.PairwiseMaxCode);

    [IsaFact(Int8Isa.Avx512Bw)]
    public void Avx512BwKernel_RefusesCodesThatWouldSaturate_AndForGivesWay()
    {
        var a = new sbyte[16];
        a[5] = -65;
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.Run(a, 1, 1, 4, new byte[64], 1, [1f], new float[1], Int8Isa.Avx512Bw));
        Assert.Contains("65", e.Message);
        Assert.Equal(65, Int8Gemm.MaxAbs(a));
        Assert.Equal(128, Int8Gemm.MaxAbs([-128, 3]));
        Assert.NotEqual(Int8Isa.Avx512Bw, Int8Gemm.For(Int8Isa.Avx512Bw, 65));
        Assert.Equal(Int8Isa.Avx512Bw, Int8Gemm.For(Int8Isa.Avx512Bw, 64));
        Assert.Equal(Int8Isa.Vnni256, Int8Gemm.For(Int8Isa.Vnni256, 128));
    }

    /// <summary>Random codes at every extreme (−128, 127, 0, 255), odd/prime/size-1 shapes: the vector kernels give the scalar kernel's bits.</summary>
    private static void VectorKernelEqualsTheScalarTwin(Int8Isa isa, int maxCode = 128)
    {
        var rng = new Random(5);
        foreach (var (rows, segments, taps, cols) in new[] { (1, 1, 1, 1), (4, 3, 4, 16), (5, 7, 25, 17), (13, 2, 9, 37), (64, 32, 25, 196), (3, 1, 49, 100), (7, 11, 3, 5) })
        {
            int t4 = Int8Gemm.PaddedTaps(taps), r4 = Int8Gemm.PaddedRows(rows), c16 = Int8Gemm.PaddedCols(cols);
            var a = new sbyte[r4 * segments * t4];
            var b = new byte[segments * t4 * c16];
            for (int o = 0; o < rows; o++)
                for (int c = 0; c < segments; c++)
                    for (int t = 0; t < taps; t++)
                        a[(o * segments + c) * t4 + t] = (sbyte)(rng.Next(4) == 0 ? (rng.Next(2) == 0 ? -maxCode : Math.Min(127, maxCode)) : rng.Next(-maxCode, Math.Min(127, maxCode) + 1));
            for (int c = 0; c < segments; c++)
                for (int t = 0; t < taps; t++)
                    for (int p = 0; p < cols; p++)
                        b[((c * (t4 / 4) + t / 4) * c16 + p) * 4 + (t & 3)] = (byte)(rng.Next(4) == 0 ? 255 : rng.Next(256));
            var scale = Enumerable.Range(0, segments).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var want = new float[rows * cols];
            var got = new float[rows * cols];
            Int8Gemm.Run(a, rows, segments, t4, b, cols, scale, want, Int8Isa.Scalar);
            Int8Gemm.Run(a, rows, segments, t4, b, cols, scale, got, isa);
            Assert.Equal(Array.ConvertAll(want, BitConverter.SingleToInt32Bits), Array.ConvertAll(got, BitConverter.SingleToInt32Bits));
            // and the scalar twin is the definition
            for (int o = 0; o < rows; o++)
                for (int p = 0; p < cols; p++)
                {
                    double d = 0, magnitude = 0;
                    for (int c = 0; c < segments; c++)
                    {
                        long sum = 0;
                        for (int t = 0; t < taps; t++) sum += a[(o * segments + c) * t4 + t] * b[((c * (t4 / 4) + t / 4) * c16 + p) * 4 + (t & 3)];
                        d += scale[c] * (double)sum;
                        magnitude += Math.Abs(scale[c] * (double)sum);
                    }
                    // float32 accumulation of the segments: error bounded by their magnitudes
                    Assert.True(Math.Abs(want[o * cols + p] - d) <= 1.2e-7 * segments * magnitude + 1e-30, $"[{o}, {p}]: {want[o * cols + p]} vs {d}");
                }
        }
    }

    [Fact]
    public void Run_RejectsShortSpansAndBadTaps()
    {
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.Run(new sbyte[16], 1, 1, 4, new byte[10], 1, new float[1], new float[1], Int8Isa.Scalar));
        Assert.Contains("b holds 10", e.Message);
        Assert.Throws<ArgumentException>(() => Int8Gemm.Run(new sbyte[12], 1, 1, 3, new byte[64], 1, new float[1], new float[1], Int8Isa.Scalar));
    }

    /// <summary>The epilogue's codes and its pool (vector rows, overlapping last step, scalar tails; max and min) against the definition.</summary>
    [Theory]
    [InlineData(28, 28, 2, 2)]
    [InlineData(14, 14, 2, 2)]
    [InlineData(16, 9, 2, 2)]
    [InlineData(33, 7, 2, 2)]
    [InlineData(8, 8, 2, 2)]
    [InlineData(15, 13, 3, 2)]
    public void Epilogue_QuantizesAndPoolsAsDefined(int w, int h, int k, int stride)
    {
        var rng = new Random(w * 100 + h);
        var y = Enumerable.Range(0, w * h).Select(_ => (float)(rng.NextDouble() * 8 - 3)).ToArray();
        foreach (float scale in new[] { 0.3f, -0.2f })
        {
            var e = new CodeEpilogue([0.05f], 8, [scale], [0f], (k, k, stride, stride));
            var (oh, ow) = e.OutSize(h, w);
            var got = new byte[oh * ow];
            e.Apply(y, 0, h, w, got);
            var u = y.Select(v => (byte)(2 * (int)MathF.Min(MathF.Round(MathF.Max(v, 0) / 0.05f - 0.5f), 127) + 1)).ToArray();
            for (int a = 0; a < oh; a++)
                for (int b = 0; b < ow; b++)
                {
                    var window = from i in Enumerable.Range(0, k) from j in Enumerable.Range(0, k) select u[(a * stride + i) * w + b * stride + j];
                    Assert.Equal(scale >= 0 ? window.Max() : window.Min(), got[a * ow + b]);
                }
        }
    }

    private static readonly Dictionary<string, int> Small = new() { ["c1"] = 6, ["c2"] = 8, ["hidden"] = 16, ["classes"] = 10 };

    // A small LeNet5 with 8-bit (or k-bit) activation quantizers, trained a few steps so batch norms and quantizers have
    // running statistics of their own, exported with the metadata vecq export writes.
    private string TrainedLeNet5(int wbits, int abits, bool perTensor, out LeNet5 model)
    {
        model = new LeNet5(6, 8, 16, 10, rng: new Rng(31), activations: slot =>
            new ActivationQuantizer(abits, 0.9, perTensor ? LambdaMode.Gaussian : LambdaMode.Exact, channels: perTensor ? 0 : slot switch { "act1" => 6, "act2" => 8, _ => 16 }));
        model.Quantize(new QuantizeConfig { WeightBits = wbits });
        using (var opt = new Sgd(model, 0.05, momentum: 0.9))
        using (var labels = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => i % 10).ToArray()))
            for (int step = 0; step < 6; step++)
            {
                using var scope = TensorScope.Begin();
                var xb = new Variable(Tensor.RandN([16, 1, 28, 28], new Rng(40 + (ulong)step)));
                var loss = Functions.SoftmaxCrossEntropy(model.Forward(xb), labels);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
            }
        model.Eval();
        string path = Path.Combine(_dir, $"lenet5-w{wbits}a{abits}{(perTensor ? "-paper" : "")}.vecq");
        PackedModel.Export(model, path, new Dictionary<string, string>
        {
            ["model"] = "lenet5",
            ["config"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "lenet5", ["sizes"] = Small }),
            ["abits"] = abits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["act_quant"] = perTensor ? "paper" : "searched",
        });
        return path;
    }

    /// <summary>
    /// The pinning test of issue 14: on 200 inputs the integer path predicts what the fake-quantized model predicts and
    /// its logits agree to float rounding, except where an activation sits on a rounding tie of its grid (counted).
    /// </summary>
    [Theory]
    [InlineData(2, 8, false)]
    [InlineData(8, 8, false)]
    [InlineData(4, 4, true)]
    public void IntegerLeNet5_PredictsWhatTheFakeQuantizedModelPredicts(int wbits, int abits, bool perTensor)
    {
        string path = TrainedLeNet5(wbits, abits, perTensor, out var model);
        using var q = QuantizedModel.Load(path);
        Assert.Equal([1, 28, 28], q.InputShape);
        Assert.Contains(q.Layers, l => l.Contains("int8 × u8", StringComparison.Ordinal));
        using var x = Tensor.RandN([200, 1, 28, 28], new Rng(77));
        float[] want;
        using (var v = new Variable(x.Clone())) using (var y = model.Forward(v)) want = y.Value.ToArray();
        foreach (var isa in new[] { Int8Isa.Scalar, Int8Gemm.Best })
        {
            q.Isa = isa;
            float[] got = q.Forward(x);
            int agree = 0, close = 0;
            double range = want.Max() - want.Min();
            for (int i = 0; i < 200; i++)
            {
                var a = want.AsSpan(i * 10, 10);
                var b = got.AsSpan(i * 10, 10);
                if (a.IndexOf(MaxOf(a)) == b.IndexOf(MaxOf(b))) agree++;
                double d = 0;
                for (int j = 0; j < 10; j++) d = Math.Max(d, Math.Abs(a[j] - b[j]));
                if (d <= 1e-4 * range) close++;
            }
            Assert.True(agree >= 198, $"{isa}: {agree} of 200 predictions agree");
            Assert.True(close >= 190, $"{isa}: {close} of 200 logit rows agree to 1e-4 of their range (the rest: rounding ties)");
        }
        model.Dispose();
    }

    [Fact]
    public void ConcurrentPredictCalls_GiveTheSequentialResults()
    {
        string path = TrainedLeNet5(2, 8, false, out var model);
        model.Dispose();
        using var q = QuantizedModel.Load(path);
        var inputs = Enumerable.Range(0, 24).Select(i => Tensor.RandN([28 * 28], new Rng(500 + (ulong)i)).ToArray()).ToArray();
        var sequential = inputs.Select(x => q.Predict(x)).ToArray();
        var parallel = new float[inputs.Length][];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i => parallel[i] = q.Predict(inputs[i]));
        for (int i = 0; i < inputs.Length; i++) Assert.Equal(sequential[i], parallel[i]);
    }

    private static float MaxOf(ReadOnlySpan<float> v)
    {
        float m = float.NegativeInfinity;
        foreach (float f in v) m = Math.Max(m, f);
        return m;
    }

    [Fact]
    public void LoadedW2LeNet5_HoldsUnderAThirdOfTheFloatWeightMemory()
    {
        // the full-size LeNet5 (1.66 M parameters): int8 codes, float conv1 and fc2, per-channel vectors, bias maps
        using (var model = new LeNet5(rng: new Rng(2), activations: slot => new ActivationQuantizer(8, channels: slot switch { "act1" => 32, "act2" => 64, _ => 512 })))
        {
            model.Quantize(new QuantizeConfig { WeightBits = 2 });
            model.Eval();
            PackedModel.Export(model, Path.Combine(_dir, "full.vecq"), new Dictionary<string, string>
            {
                ["config"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                    { ["model"] = "lenet5", ["sizes"] = new Dictionary<string, int> { ["c1"] = 32, ["c2"] = 64, ["hidden"] = 512, ["classes"] = 10 } }),
                ["abits"] = "8",
            });
        }
        using var q = QuantizedModel.Load(Path.Combine(_dir, "full.vecq"));
        Assert.True(q.WeightBytes * 3 <= q.FloatWeightBytes, $"{q.WeightBytes} bytes held, float {q.FloatWeightBytes}");
        var probs = q.Predict(new float[28 * 28]);
        Assert.Equal(10, probs.Length);
        Assert.Equal(1.0, probs.Sum(), 5);
        var e = Assert.Throws<ArgumentException>(() => q.Predict(new float[27 * 28]));
        Assert.Contains("[1, 28, 28]", e.Message);
    }

    [Fact]
    public void FloatActivations_AreRefusedWithTheFileAndTheWayOut()
    {
        var model = new LeNet5(6, 8, 16, 10, rng: new Rng(3));
        model.Quantize(new QuantizeConfig { WeightBits = 2 });
        model.Eval();
        string path = Path.Combine(_dir, "w2a32.vecq");
        PackedModel.Export(model, path, new Dictionary<string, string>
        {
            ["config"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "lenet5", ["sizes"] = Small }),
            ["abits"] = "32",
        });
        var e = Assert.Throws<InvalidDataException>(() => QuantizedModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("--fake-quant", e.Message);
    }
}

/// <summary>
/// A chain of the user's own with what LeNet5 and VGG-like lack: a stride-2 convolution with asymmetric kernel, a
/// dilated one, per-output-channel weight scales, 3-bit activations and a 3×3/2 pool: the integer path (the general
/// patch packing) still predicts what the fake-quantized model predicts.
/// </summary>
public sealed class IntegerCustomChainTests
{
    private sealed class Net : Module, IConvChain
    {
        private readonly Conv2d _c1, _c2, _c3;
        private readonly Linear _fc1, _fc2;
        private readonly ActivationQuantizer _a1, _a2, _a3, _a4;
        private readonly BatchNorm2d _b1, _b2, _b3;
        private readonly BatchNorm1d _b4;

        public Net()
        {
            var rng = new Rng(8);
            _c1 = Register("c1", new Conv2d(2, 5, 3, padding: 1, rng: rng));
            _a1 = Register("a1", new ActivationQuantizer(3, channels: 5));
            _b1 = Register("b1", new BatchNorm2d(5));
            _c2 = Register("c2", new Conv2d(5, 7, (3, 2), stride: 2, padding: (1, 0), rng: rng));
            _a2 = Register("a2", new ActivationQuantizer(3, channels: 7));
            _b2 = Register("b2", new BatchNorm2d(7));
            _c3 = Register("c3", new Conv2d(7, 6, 3, padding: 2, dilation: 2, rng: rng));
            _a3 = Register("a3", new ActivationQuantizer(3, channels: 6));
            _b3 = Register("b3", new BatchNorm2d(6));
            _fc1 = Register("fc1", new Linear(6 * 3 * 3, 9, rng: rng));
            _a4 = Register("a4", new ActivationQuantizer(3, channels: 9));
            _b4 = Register("b4", new BatchNorm1d(9));
            _fc2 = Register("fc2", new Linear(9, 4, rng: rng));
        }

        public int[] InputShape => [2, 15, 14];

        public IReadOnlyList<ChainStage> Chain =>
        [
            new("c1", _c1, true, null, _a1, _b1, null),
            new("c2", _c2, true, null, _a2, _b2, null),
            new("c3", _c3, true, null, _a3, _b3, ((3, 3), (2, 2))),
            new("fc1", _fc1, true, null, _a4, _b4, null),
            new("fc2", _fc2, false, null, null, null, null),
        ];

        public override Variable Forward(Variable x)
        {
            var h = _b1.Forward(_a1.Forward(Functions.Relu(_c1.Forward(x))));                       // [N, 5, 15, 14]
            h = _b2.Forward(_a2.Forward(Functions.Relu(_c2.Forward(h))));                           // [N, 7, 8, 7]
            h = Functions.MaxPool2d(_b3.Forward(_a3.Forward(Functions.Relu(_c3.Forward(h)))), (3, 3), (2, 2));   // [N, 6, 3, 3]
            h = _b4.Forward(_a4.Forward(Functions.Relu(_fc1.Forward(Functions.Flatten(h, 1)))));    // [N, 9]
            return _fc2.Forward(h);                                                                  // [N, 4]
        }
    }

    // Trains model a few steps on random [batch, ..shape] inputs (classes labels), quantizes its weights first, exports it
    // packed into dir and returns the file: a chain with running statistics and quantizer steps of its own.
    private static string TrainAndExport(Module model, QuantizeConfig weights, int[] shape, int classes, ulong seed, string dir)
    {
        model.Quantize(weights);
        using (var opt = new Sgd(model, 0.02, momentum: 0.9))
        using (var labels = Tensor.FromArray(Enumerable.Range(0, shape[0]).Select(i => i % classes).ToArray()))
            for (int step = 0; step < 6; step++)
            {
                using var scope = TensorScope.Begin();
                var loss = Functions.SoftmaxCrossEntropy(model.Forward(new Variable(Tensor.RandN(shape, new Rng(seed + (ulong)step)))), labels);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
            }
        model.Eval();
        string path = Path.Combine(dir, model.GetType().Name + ".vecq");
        PackedModel.Export(model, path);
        return path;
    }

    // the fake-quantized model's logits and the integer path's (with isa) on x
    private static (float[] Want, float[] Got) BothPaths(Module model, QuantizedModel q, Tensor x, Int8Isa isa)
    {
        using var v = new Variable(x.Clone());
        using var y = model.Forward(v);
        q.Isa = isa;
        return (y.Value.ToArray(), q.Forward(x));
    }

    [Fact]
    public void StridedDilatedChain_PredictsWhatTheFakeQuantizedModelPredicts()
    {
        string dir = Directory.CreateTempSubdirectory("vecq-int8-chain-").FullName;
        try
        {
            using var model = new Net();
            string path = TrainAndExport(model, new QuantizeConfig { WeightBits = 4, Granularity = Granularity.PerChannel }, [32, 2, 15, 14], 4, 100, dir);
            using var x = Tensor.RandN([300, 2, 15, 14], new Rng(5));
            using var packed = PackedModel.Load(path);
            using var q = QuantizedModel.FromPacked(new Net(), packed);
            Assert.Equal(3, q.Layers.Count(l => l.Contains("int8 × u8", StringComparison.Ordinal)));   // c2, c3 and fc1 (54 inputs in 6 segments of 9)
            var (want, got) = BothPaths(model, q, x, Int8Gemm.Best);
            int agree = Enumerable.Range(0, 300).Count(i => ArgMax(want.AsSpan(i * 4, 4)) == ArgMax(got.AsSpan(i * 4, 4)));
            Assert.True(agree >= 297, $"{agree} of 300 predictions agree");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Wide planes, so the integer convolutions run in several passes of output rows (the last one partial): a stride-1
    // 3×3 (the vector packing) on 40×34 and a stride-2 one (the general packing) on 20×17.
    private sealed class WideNet : Module, IConvChain
    {
        private readonly Conv2d _c1, _c2, _c3;
        private readonly Linear _fc;
        private readonly ActivationQuantizer _a1, _a2, _a3;
        private readonly BatchNorm2d _b1, _b2, _b3;

        public WideNet()
        {
            var rng = new Rng(9);
            _c1 = Register("c1", new Conv2d(1, 4, 3, padding: 1, rng: rng));
            _a1 = Register("a1", new ActivationQuantizer(8, channels: 4));
            _b1 = Register("b1", new BatchNorm2d(4));
            _c2 = Register("c2", new Conv2d(4, 6, 3, padding: 1, rng: rng));
            _a2 = Register("a2", new ActivationQuantizer(8, channels: 6));
            _b2 = Register("b2", new BatchNorm2d(6));
            _c3 = Register("c3", new Conv2d(6, 5, 3, stride: 2, padding: 1, rng: rng));
            _a3 = Register("a3", new ActivationQuantizer(8, channels: 5));
            _b3 = Register("b3", new BatchNorm2d(5));
            _fc = Register("fc", new Linear(5 * 10 * 8, 3, rng: rng));
        }

        public int[] InputShape => [1, 40, 34];

        public IReadOnlyList<ChainStage> Chain =>
        [
            new("c1", _c1, true, null, _a1, _b1, null),
            new("c2", _c2, true, null, _a2, _b2, null),
            new("c3", _c3, true, null, _a3, _b3, ((2, 2), (2, 2))),
            new("fc", _fc, false, null, null, null, null),
        ];

        public override Variable Forward(Variable x)
        {
            var h = _b1.Forward(_a1.Forward(Functions.Relu(_c1.Forward(x))));                                       // [N, 4, 40, 34]
            h = _b2.Forward(_a2.Forward(Functions.Relu(_c2.Forward(h))));                                           // [N, 6, 40, 34]
            h = Functions.MaxPool2d(_b3.Forward(_a3.Forward(Functions.Relu(_c3.Forward(h)))), (2, 2), (2, 2));      // [N, 5, 10, 8]
            return _fc.Forward(Functions.Flatten(h, 1));                                                             // [N, 3]
        }
    }

    [Fact]
    public void WidePlanes_RunInSeveralPasses_AndPredictWhatTheFakeQuantizedModelPredicts()
    {
        string dir = Directory.CreateTempSubdirectory("vecq-int8-wide-").FullName;
        try
        {
            using var model = new WideNet();
            string path = TrainAndExport(model, new QuantizeConfig { WeightBits = 3 }, [16, 1, 40, 34], 3, 200, dir);
            using var x = Tensor.RandN([120, 1, 40, 34], new Rng(6));
            using var packed = PackedModel.Load(path);
            using var q = QuantizedModel.FromPacked(new WideNet(), packed);
            Assert.Equal(2, q.Layers.Count(l => l.Contains("int8 × u8", StringComparison.Ordinal)));
            foreach (var isa in new[] { Int8Isa.Scalar, Int8Gemm.Best })
            {
                var (want, got) = BothPaths(model, q, x, isa);
                int agree = Enumerable.Range(0, 120).Count(i => ArgMax(want.AsSpan(i * 3, 3)) == ArgMax(got.AsSpan(i * 3, 3)));
                Assert.True(agree >= 118, $"{isa}: {agree} of 120 predictions agree");
                double scale = want.Max(Math.Abs);
                int close = Enumerable.Range(0, want.Length).Count(i => Math.Abs(want[i] - got[i]) <= 1e-4 * scale);
                Assert.True(close >= want.Length * 95 / 100, $"{isa}: {close} of {want.Length} logits agree to 1e-4 of the largest");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int b = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[b]) b = i;
        return b;
    }
}
