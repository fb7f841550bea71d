using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VecQ.Autograd;
using VecQ.Nn;
using VecQ.Tensors;
using Tensor = VecQ.Tensors.Tensor;

namespace VecQ.Onnx.Tests;

/// <summary>What the export tests compare: our logits, ONNX Runtime's, their top-1, and onnx.checker's verdict.</summary>
internal static class OnnxChecks
{
    // x: [dims] → our logits (evaluation forward, no gradient)
    public static float[] Ours(Module model, float[] x, int[] dims)
    {
        using var noGrad = Autograd.Autograd.NoGrad();
        using var scope = TensorScope.Begin();
        return model.Forward(new Variable(Tensor.FromArray(x, dims))).Value.ToArray();
    }

    // x: [dims] → the graph's "logits"
    public static float[] Ort(string path, float[] x, int[] dims)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<float>(x, dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        return results.First(r => r.Name == "logits").AsTensor<float>().ToArray();
    }

    // ids: [dims] int32 token ids → our logits (evaluation forward, no gradient)
    public static float[] Ours(Module model, int[] ids, int[] dims)
    {
        using var noGrad = Autograd.Autograd.NoGrad();
        using var scope = TensorScope.Begin();
        return model.Forward(new Variable(Tensor.FromArray(ids, dims))).Value.ToArray();
    }

    // the same ids as the graph's int64 "input" → its "logits"
    public static float[] Ort(string path, int[] ids, int[] dims)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<long>(ids.Select(v => (long)v).ToArray(), dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        return results.First(r => r.Name == "logits").AsTensor<float>().ToArray();
    }

    public static int[] Top1(float[] logits, int n)
    {
        int classes = logits.Length / n;
        return Enumerable.Range(0, n).Select(i =>
        {
            var r = logits.AsSpan(i * classes, classes);
            int b = 0;
            for (int j = 1; j < classes; j++) if (r[j] > r[b]) b = j;
            return b;
        }).ToArray();
    }

    // every logit within 1e-4 of the largest |logit|
    public static void Close(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = want.Max(Math.Abs);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4 * scale, $"{what}: logit {i}: ours {want[i]}, ONNX Runtime {got[i]} (largest |logit| {scale})");
    }

    // Debian's python3-onnx: onnx.checker with full shape inference
    public static void Checker(string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')", path])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (err.Contains("No module named 'onnx'", StringComparison.Ordinal)) Assert.Fail("python3-onnx is not installed: apt-get install python3-onnx (.ci/run does this)");
        Assert.True(p.ExitCode == 0 && output.Trim() == "ok", $"onnx.checker rejected {path}: {err}");
    }
}
