using System.Globalization;
using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Quant.Integer;
using VecQ.Tensors;
using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Bench;

/// <summary>
/// The <c>int8</c> subcommand: batch inference of a packed model (<c>vecq export</c>) on the integer path
/// (<see cref="QuantizedModel"/>) against the float network of the same weights and against the fake-quantized model
/// (the float simulation with its activation quantizers) and against ONNX Runtime running our QDQ export of the same
/// file in this process, the four alternated in every repeat, ms per batch.
/// </summary>
internal static class Int8Bench
{
    // The int8 × u8 product alone at the integer layers' shapes (one sample per call, one thread), each ISA: GMAC/s
    // against the FMA peak of one thread (a 256-bit vpdpbusd does 32 multiply-adds, a 256-bit FMA 8).
    private static int Gemm(BenchOptions o)
    {
        Measure.PrintMachine();
        var inv = CultureInfo.InvariantCulture;
        var shapes = new (string Name, int Rows, int Segments, int Taps, int Cols)[]
        {
            ("lenet5 conv2", 65, 32, 25, 196), ("lenet5 fc1 (batch 100)", 513, 64, 49, 100),
            ("vgg conv2", 65, 64, 9, 1024), ("vgg conv4", 129, 128, 9, 256), ("vgg conv6", 257, 256, 9, 64),
        };
        var rng = new Random(1);
        Console.WriteLine($"{"shape",-24} {"isa",-8} {"ms",8} {"GMAC/s",8} {"× 1-thread float FMA rate (peak GFLOP/s)",42}");
        foreach (var (name, rows, segments, taps, cols) in shapes)
        {
            int t4 = Int8Gemm.PaddedTaps(taps);
            var a = new sbyte[Int8Gemm.PaddedRows(rows) * segments * t4];
            var b = new byte[segments * t4 * Int8Gemm.PaddedCols(cols)];
            rng.NextBytes(b);
            for (int i = 0; i < a.Length; i++) a[i] = (sbyte)rng.Next(-63, 64);   // codes of up to 6 bits: every ISA runs them
            var scale = Enumerable.Repeat(0.01f, segments).ToArray();
            var y = new float[rows * cols];
            double macs = (double)rows * segments * taps * cols;
            foreach (var isa in new[] { Int8Isa.Vnni256, Int8Isa.Avx512Bw, Int8Isa.Avx2 }.Where(Int8Gemm.IsSupported))
            {
                var times = new List<double>();
                for (int r = 0; r < o.Repeats; r++)
                {
                    var (seconds, calls) = Measure.TimeCalls(() => Int8Gemm.Run(a, rows, segments, t4, b, cols, scale, y, isa), 0.2);
                    times.Add(seconds / calls);
                }
                double t = Measure.Median(times), peak = FmaPeak.Measure(1, 0.1);
                Console.WriteLine(string.Format(inv, "{0,-24} {1,-8} {2,8:F3} {3,8:F1} {4,12:F1} ({5:F0})", name, isa, 1e3 * t, macs / t / 1e9, macs / t / 1e9 / (peak / 2) , peak));
            }
        }
        return 0;
    }

    public static int Run(BenchOptions o)
    {
        string? path = null;
        int batch = 100;
        if (o.Extra.Count == 1 && o.Extra[0] == "--gemm") return Gemm(o);
        for (int i = 0; i < o.Extra.Count; i++)
        {
            switch (o.Extra[i])
            {
                case "--checkpoint" when i + 1 < o.Extra.Count: path = o.Extra[++i]; break;
                case "--batch-size" when i + 1 < o.Extra.Count && int.TryParse(o.Extra[i + 1], out batch) && batch > 0: i++; break;
                default: throw new ArgumentException($"int8: unknown or incomplete option '{o.Extra[i]}' (expected --checkpoint F.vecq [--batch-size B], or --gemm)");
            }
        }
        if (path is null || !File.Exists(path)) throw new ArgumentException($"int8: --checkpoint {path ?? "(missing)"}: a packed file written by vecq export is needed");
        Parallelism.Threads = o.Threads;
        Measure.PrintMachine();
        using var q = QuantizedModel.Load(path);
        using var fake = QuantizedModel.LoadFloatSimulation(path);
        using var plain = QuantizedModel.LoadFloatSimulation(path, withActivationQuantizers: false);
        using var x = Tensor.RandN([batch, .. q.InputShape], new Rng(1));
        // ONNX Runtime on our QDQ export of the same file, all graph optimisations, the same threads
        string onnx = Path.Combine(Path.GetTempPath(), $"vecq-int8-bench-{Environment.ProcessId}.onnx");
        VecQ.Onnx.OnnxExport.FromPacked(path, onnx);
        using var ortOptions = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = o.Threads, InterOpNumThreads = 1,
            GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, ortOptions);
        File.Delete(onnx);
        var ortInput = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x.ToArray(), [batch, .. q.InputShape]);
        var ortInputs = new[] { Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input", ortInput) };
        void Ort() { using var r = session.Run(ortInputs); }
        void Float(Module m)
        {
            using var noGrad = Autograd.Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            _ = m.Forward(new Variable(x.Clone()));
        }
        var cases = new (string Name, Action Run)[] { ("integer", () => q.Forward(x)), ("float", () => Float(plain)), ("fake-quant", () => Float(fake)), ("onnxruntime", Ort) };
        foreach (var c in cases) for (int i = 0; i < 3; i++) c.Run();                  // warm-up
        var times = cases.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < o.Repeats; r++)
            for (int k = 0; k < cases.Length; k++)
            {
                var (seconds, calls) = Measure.TimeCalls(cases[k].Run, Measure.KernelSeconds);
                times[k].Add(1e3 * seconds / calls);
            }
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"{q.ModelName} from {path}, batch {batch}, {o.Threads} thread(s), {o.Repeats} repeats alternated; integer ISA {q.Isa}");
        Console.WriteLine($"weights held: {q.WeightBytes:N0} bytes (float: {q.FloatWeightBytes:N0}, {(double)q.WeightBytes / q.FloatWeightBytes:F3})");
        double mi = Measure.Median(times[0]);
        var json = new List<string>();
        for (int k = 0; k < cases.Length; k++)
        {
            double m = Measure.Median(times[k]);
            Console.WriteLine(string.Format(inv, "{0,-11} {1,9:F2} ms (best {2:F2}){3}", cases[k].Name, m, times[k].Min(), k == 0 ? "" : $"   integer is {m / mi:F2}x faster"));
            json.Add(string.Format(inv, "\"{0}_ms\":{1:F4}", cases[k].Name.Replace('-', '_'), m));
        }
        var profile = Enumerable.Range(0, 5).Select(_ => q.Profile(x)).ToList();
        Console.WriteLine("integer path by layer (median of 5 calls, ms):");
        for (int l = 0; l < q.Layers.Count; l++)
            Console.WriteLine(string.Format(inv, "  {0,8:F2}  {1}", Measure.Median(profile.Select(p => p[l].Milliseconds).ToList()), q.Layers[l]));
        if (o.Json)
            Console.WriteLine("{" + string.Join(",", json) + string.Format(inv, ",\"batch\":{0},\"isa\":\"{1}\",\"weight_bytes\":{2},\"float_weight_bytes\":{3},\"machine\":{4}}}",
                batch, q.Isa, q.WeightBytes, q.FloatWeightBytes, Measure.MachineJson()));
        return 0;
    }
}
