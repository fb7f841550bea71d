using System.CommandLine;
using System.Diagnostics;
using VecQ.Tensors;

namespace VecQ.Cli.Commands;

/// <summary>
/// `vecq cuda-check [--device cuda:N]`: every backend op on the GPU against the CPU backend on the same inputs (odd shapes,
/// strided and broadcast views), one table row per case with the largest error relative to the largest CPU value, and
/// the tolerance it must meet. Exit code 1 when a case is outside its tolerance. Made for scripts/gpu-check.sh, which
/// runs it on a lent GPU machine from a self-contained publish.
/// </summary>
/// <remarks>Inputs come from fixed seeds through the counter-based generator, so both devices start from the same numbers.</remarks>
internal static class CudaCheckCommand
{
    private delegate Tensor[] Case(IBackend b, Func<int[], int, Tensor> rand, Func<int[], DType, Tensor> empty);

    public static Command Build(Output output)
    {
        var device = new Option<string>("--device") { Description = "the GPU to check: cuda or cuda:N", DefaultValueFactory = _ => "cuda:0" };
        var cmd = new Command("cuda-check", "every backend op on a GPU against the CPU backend: one row per op with its largest error") { device };
        cmd.SetAction(p =>
        {
            string text = p.GetValue(device)!;
            var d = DeviceOption.Parse(text);   // starts the device: one clear line without a driver or GPU
            if (d.Kind != DeviceKind.Cuda) throw new OptionException($"--device {text}: expected cuda or cuda:N");
            return Run(Backend.For(d), d, output.Out);
        });
        return cmd;
    }

    private static int Run(IBackend gpu, Device device, TextWriter Console)
    {
        Console.WriteLine($"cuda-check: {gpu.Name} against cpu");
        Console.WriteLine($"{"op",-34} {"max rel. error",14} {"tolerance",10}  result");
        int failed = 0;
        var sw = Stopwatch.StartNew();
        foreach (var (name, tol, body) in Cases())
        {
            string result;
            double err = double.NaN;
            try
            {
                var cpuOut = Run(Backend.Cpu, Device.Cpu, body);
                var gpuOut = Run(gpu, device, body);
                err = 0;
                for (int i = 0; i < cpuOut.Length; i++) err = Math.Max(err, RelativeError(cpuOut[i], gpuOut[i]));
                result = err <= tol ? "ok" : "FAIL";
            }
            catch (Exception e) { result = "ERROR " + e.GetType().Name + ": " + e.Message; }
            if (result != "ok") failed++;
            Console.WriteLine($"{name,-34} {err,14:E2} {tol,10:E0}  {result}");
        }
        Console.WriteLine($"cuda-check: {failed} of {Cases().Count()} cases failed ({sw.Elapsed.TotalSeconds:F1} s, kernels compiled on first use included)");
        return failed == 0 ? 0 : 1;
    }

    // Runs a case on one device: inputs from fixed seeds (the same numbers on every backend: the counter-based RNG), outputs downloaded.
    private static double[][] Run(IBackend b, Device d, Case body)
    {
        var made = new List<Tensor>();
        Tensor Rand(int[] shape, int seed) { using var c = Tensor.Rand(shape, new Rng((ulong)seed), -1, 1); var t = c.To(d); made.Add(t); return t; }
        Tensor Empty(int[] shape, DType dt) { var t = Tensor.Empty(shape, dt, d); made.Add(t); return t; }
        try
        {
            var outs = body(b, Rand, Empty);
            return outs.Select(o => o.DType switch
            {
                DType.Float64 => o.Contiguous().ToArray<double>(),
                DType.Int32 => o.Contiguous().ToArray<int>().Select(v => (double)v).ToArray(),
                _ => o.Contiguous().ToArray<float>().Select(v => (double)v).ToArray(),
            }).ToArray();
        }
        finally { foreach (var t in made) t.Dispose(); }
    }

    private static double RelativeError(double[] want, double[] got)
    {
        if (want.Length != got.Length) return double.PositiveInfinity;
        double scale = 1e-30, err = 0;
        foreach (var v in want) if (!double.IsNaN(v)) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < want.Length; i++)
        {
            if (double.IsNaN(want[i]) != double.IsNaN(got[i])) return double.PositiveInfinity;
            if (!double.IsNaN(want[i])) err = Math.Max(err, Math.Abs(want[i] - got[i]));
        }
        return err / scale;
    }

    private static IEnumerable<(string Name, double Tolerance, Case Body)> Cases()
    {
        yield return ("fill + copy (strided view)", 0, (b, r, e) => { var x = r([5, 7], 1); var y = e([7, 5], DType.Float32); using var t = x.Transpose(0, 1); b.Copy(t, y); return [y]; });
        yield return ("copy float32 → int32", 0, (b, r, e) => { var x = r([37], 2); var y = e([37], DType.Int32); using var s = x.Mul(10); b.Copy(s, y); return [y]; });
        yield return ("unary exp", 1e-6, (b, r, e) => { var x = r([3, 101], 3); var y = e([3, 101], DType.Float32); b.Unary(new Exp(), x, y); return [y]; });
        yield return ("unary tanh", 1e-6, (b, r, e) => { var x = r([257], 4); var y = e([257], DType.Float32); b.Unary(new Tanh(), x, y); return [y]; });
        yield return ("unary clamp / affine", 0, (b, r, e) => { var x = r([99], 5); var y = e([99], DType.Float32); var z = e([99], DType.Float32); b.Unary(new Clamp(-0.5, 0.5), x, y); b.Unary(new Affine(2, 1), y, z); return [z]; });
        yield return ("binary mul (broadcast row)", 0, (b, r, e) => { var x = r([4, 33], 6); var v = r([1, 33], 7); var y = e([4, 33], DType.Float32); using var bv = v.Expand([4, 33]); b.Binary(new Mul(), x, bv, y); return [y]; });
        yield return ("binary div / compare", 1e-7, (b, r, e) => { var x = r([65], 8); var v = r([65], 9); var y = e([65], DType.Float32); var z = e([65], DType.Float32); b.Binary(new Div(), x, v, y); b.Binary(new Compare(CompareKind.Gt), x, v, z); return [y, z]; });
        yield return ("where", 0, (b, r, e) => { var c = r([31], 10); var x = r([31], 11); var v = r([31], 12); var y = e([31], DType.Float32); b.Where(c, x, v, y); return [y]; });
        yield return ("reduce sum / mean / max (axes)", 1e-6, (b, r, e) =>
        {
            var x = r([3, 17, 9], 13); var s = e([3, 1, 9], DType.Float32); var m = e([1, 17, 1], DType.Float32); var mx = e([3, 17, 1], DType.Float32);
            b.Reduce(ReduceOp.Sum, x, s); b.Reduce(ReduceOp.Mean, x, m); b.Reduce(ReduceOp.Max, x, mx); return [s, m, mx];
        });
        yield return ("argmax", 0, (b, r, e) => { var x = r([7, 13], 14); var y = e([7, 1], DType.Int32); b.ArgReduce(true, x, 1, y); return [y]; });
        yield return ("matmul (batched, transposed view)", 1e-5, (b, r, e) =>
        {
            var a = r([2, 33, 47], 15); var w = r([2, 29, 47], 16); var c = e([2, 33, 29], DType.Float32);
            using var wt = w.Transpose(1, 2); b.MatMul(a, wt, c, 1f, 0f); return [c];
        });
        var g = Conv2dGeometry.Create(3, 6, 11, 10, 8, 3, 3, (2, 1), (1, 1), (1, 1), 2);
        yield return ("conv2d forward (groups 2, stride 2)", 1e-5, (b, r, e) => { var x = r([3, 6, 11, 10], 17); var w = r([8, 3, 3, 3], 18); var bias = r([8], 19); var y = e([3, 8, g.OH, g.OW], DType.Float32); b.Conv2d(x, w, bias, g, y); return [y]; });
        yield return ("conv2d backward data", 1e-5, (b, r, e) => { var dy = r([3, 8, g.OH, g.OW], 20); var w = r([8, 3, 3, 3], 18); var dx = e([3, 6, 11, 10], DType.Float32); b.Conv2dBackwardData(dy, w, g, dx); return [dx]; });
        yield return ("conv2d backward weight + bias", 1e-5, (b, r, e) => { var x = r([3, 6, 11, 10], 17); var dy = r([3, 8, g.OH, g.OW], 20); var dw = e([8, 3, 3, 3], DType.Float32); var db = e([8], DType.Float32); b.Conv2dBackwardWeight(x, dy, g, dw, db); return [dw, db]; });
        var dwg = Conv2dGeometry.Create(2, 5, 9, 9, 5, 3, 3, (1, 1), (1, 1), (1, 1), 5);
        yield return ("conv2d depthwise forward", 1e-5, (b, r, e) => { var x = r([2, 5, 9, 9], 21); var w = r([5, 1, 3, 3], 22); var y = e([2, 5, 9, 9], DType.Float32); b.Conv2d(x, w, null, dwg, y); return [y]; });
        var pg = Pool2dGeometry.Create("max_pool2d", 2, 3, 9, 8, (3, 3), (2, 2), (1, 1));
        yield return ("max pool forward + backward", 0, (b, r, e) =>
        {
            var x = r([2, 3, 9, 8], 23); var y = e([2, 3, pg.OH, pg.OW], DType.Float32); var ix = e([2, 3, pg.OH, pg.OW], DType.Int32);
            var dy = r([2, 3, pg.OH, pg.OW], 24); var dx = e([2, 3, 9, 8], DType.Float32);
            b.MaxPool2d(x, pg, y, ix); b.MaxPool2dBackward(dy, ix, pg, dx); return [y, ix, dx];
        });
        yield return ("avg pool forward + backward", 1e-6, (b, r, e) =>
        {
            var x = r([2, 3, 9, 8], 25); var y = e([2, 3, pg.OH, pg.OW], DType.Float32); var dy = r([2, 3, pg.OH, pg.OW], 26); var dx = e([2, 3, 9, 8], DType.Float32);
            b.AvgPool2d(x, pg, y); b.AvgPool2dBackward(dy, pg, dx); return [y, dx];
        });
        yield return ("batch norm stats / forward / backward", 1e-5, (b, r, e) =>
        {
            var x = r([4, 6, 25], 27); var mean = e([6], DType.Float32); var var = e([6], DType.Float32); var gm = r([6], 28); var bt = r([6], 29);
            b.BatchNormStats(x, mean, var, relu: true);
            using var eps = var.Map(new ScalarRight<Add>(new Add(), 1e-5));
            using var sd = eps.Map(new Sqrt());
            using var inv = sd.Map(new ScalarLeft<Div>(new Div(), 1));
            var y = e([4, 6, 25], DType.Float32); var dy = r([4, 6, 25], 30); var dx = e([4, 6, 25], DType.Float32); var dg = e([6], DType.Float32); var db = e([6], DType.Float32);
            b.BatchNormForward(x, mean, inv, gm, bt, y); b.BatchNormBackward(dy, x, mean, inv, gm, dx, dg, db); return [mean, var, y, dx, dg, db];
        });
        yield return ("softmax / log-softmax", 1e-6, (b, r, e) => { var x = r([5, 37], 31); var y = e([5, 37], DType.Float32); var z = e([5, 37], DType.Float32); b.Softmax(x, y, false); b.Softmax(x, z, true); return [y, z]; });
        yield return ("index select / add, gather / scatter add", 1e-6, (b, r, e) =>
        {
            var x = r([6, 9], 32);
            using var idxHost = Tensor.FromArray(new[] { 5, 0, 3, 3, 1 }, [5]);
            using var idx = idxHost.To(x.Device);
            var y = e([5, 9], DType.Float32); b.IndexSelect(x, 0, idx, y);
            var acc = e([6, 9], DType.Float32); b.Fill(acc, 0); b.IndexAdd(acc, 0, idx, y);
            using var gHost = Tensor.FromArray(new[] { 2, 8, 0, 1, 1, 7 }, [6, 1]);
            using var gi = gHost.To(x.Device);
            var gy = e([6, 1], DType.Float32); b.Gather(x, 1, gi, gy);
            var sc = e([6, 9], DType.Float32); b.Fill(sc, 0); b.ScatterAdd(sc, 1, gi, gy);
            return [y, acc, gy, sc];
        });
        yield return ("sum of squares, group moments", 1e-12, (b, r, e) =>
        {
            var x = r([7, 130], 33); var s = e([], DType.Float64); var mu = e([7], DType.Float64); var sd = e([7], DType.Float64);
            b.SumOfSquares(x, s); b.GroupMoments(x, mu, sd); return [s, mu, sd];
        });
        yield return ("grid project, dequantize sums (W2)", 1e-6, (b, r, e) =>
        {
            var w = r([4, 75], 34); var c = e([4], DType.Float32); b.Fill(c, 0); var st = e([4], DType.Float32); b.Fill(st, 0.3);
            var codes = e([4, 75], DType.Int32); var v = e([4, 75], DType.Float32); var dots = e([4, 2], DType.Float64);
            b.GridProject(w, c, st, GridSpec.HalfInteger(2), codes, v, dots);
            var q = e([4, 75], DType.Float32); var sums = e([4, 6], DType.Float64);
            b.DequantizeSums(w, v, st, c, q, sums); return [codes, v, dots, q, sums];
        });
        yield return ("lstm cell forward + backward", 1e-5, (b, r, e) =>
        {
            var gates = r([5, 4 * 19], 42); var bias = r([4 * 19], 43); var cPrev = r([5, 19], 44);
            var acts = e([5, 4 * 19], DType.Float32); var c = e([5, 19], DType.Float32); var h = e([5, 19], DType.Float32);
            var cell = (IFusedLstmCell)b;
            cell.LstmCell(gates, bias, cPrev, acts, c, h);
            var dh = r([5, 19], 45); var dc = r([5, 19], 46); var dg = e([5, 4 * 19], DType.Float32); var dcp = e([5, 19], DType.Float32);
            cell.LstmCellBackward(acts, cPrev, c, dh, dc, dg, dcp);
            return [acts, c, h, dg, dcp];
        });
        yield return ("sgd step (momentum, decay, nesterov)", 0, (b, r, e) =>
        {
            var p = r([300], 35); var g = r([300], 36); var m = r([300], 37);
            var f = (IFusedOptimizer)b;
            f.SgdStep(p, g, m, new SgdStepArgs(0.05, 0.9, 0.1, 1e-4, Nesterov: true));
            f.SgdStep(p, g, m, new SgdStepArgs(0.05, 0.9, 0, 0));
            return [p, m];
        });
        yield return ("adam / adamw step", 0, (b, r, e) =>
        {
            var p = r([300], 38); var g = r([300], 39); var m = r([300], 40); var v = r([300], 41);
            b.Unary(new Abs(), v, v);                                   // a second moment is not negative
            var f = (IFusedOptimizer)b;
            f.AdamStep(p, g, m, v, new AdamStepArgs(1e-3, 3, WeightDecay: 0.01, Decoupled: true));
            f.AdamStep(p, g, m, v, new AdamStepArgs(1e-3, 4, WeightDecay: 0.01));
            return [p, m, v];
        });
        yield return ("random uniform / bernoulli (bit-exact)", 0, (b, r, e) =>
        {
            var u = e([1001], DType.Float32); var m = e([1001], DType.Float32);
            b.RandomFill(u, RandomKind.Uniform, 7, 3, -2, 3); b.RandomFill(m, RandomKind.Bernoulli, 7, 3, 0.3, 0); return [u, m];
        });
        yield return ("random normal", 1e-6, (b, r, e) => { var n = e([1001], DType.Float32); b.RandomFill(n, RandomKind.Normal, 9, 0, 0.5, 2); return [n]; });
    }
}
