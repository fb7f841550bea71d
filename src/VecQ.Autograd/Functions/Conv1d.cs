using VecQ.Tensors;

namespace VecQ.Autograd;

// 1-D convolution and pooling on [N, C, L] as their 2-D forms on [N, C, 1, L] views (a 1×k kernel, no padding,
// stride or dilation across the unit height), so they share the 2-D kernels, their backwards and their tests.
public static partial class Functions
{
    /// <summary>
    /// 1-D convolution (PyTorch's F.conv1d): x: [N, C, L], weight: [O, C/groups, K], bias: [O] or null →
    /// [N, O, (L + 2·padding − dilation·(K − 1) − 1)/stride + 1].
    /// </summary>
    /// <example><code>using var y = Functions.Conv1d(x, w, b, stride: 1, padding: 1); // [N, 64, T] → [N, 128, T]</code></example>
    public static Variable Conv1d(Variable x, Variable weight, Variable? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        if (x.Value.Rank != 3) throw new ArgumentException($"conv1d: input {x.Describe()} must be [N, C, L]");
        if (weight.Value.Rank != 3) throw new ArgumentException($"conv1d: weight {weight.Describe()} must be [O, C/groups, K]");
        using var x4 = Reshape(x, [x.Shape[0], x.Shape[1], 1, x.Shape[2]]);                                       // [N, C, 1, L]
        using var w4 = Reshape(weight, [weight.Shape[0], weight.Shape[1], 1, weight.Shape[2]]);                   // [O, C/g, 1, K]
        using var y4 = Conv2d(x4, w4, bias, (1, stride), (0, padding), (1, dilation), groups);                    // [N, O, 1, L']
        return Reshape(y4, [y4.Shape[0], y4.Shape[1], y4.Shape[3]]);                                              // [N, O, L']
    }

    /// <summary>1-D max pool (stride defaults to the kernel): x: [N, C, L] → [N, C, L']; the gradient goes to each window's argmax.</summary>
    /// <example><code>using var y = Functions.MaxPool1d(x, 2); // [N, C, 100] → [N, C, 50]</code></example>
    public static Variable MaxPool1d(Variable x, int kernel, int? stride = null, int padding = 0) =>
        Pool1d("max_pool1d", x, x4 => MaxPool2d(x4, (1, kernel), (1, stride ?? kernel), (0, padding)));

    /// <summary>1-D average pool (padding counts in the divisor, PyTorch's default): x: [N, C, L] → [N, C, L'].</summary>
    /// <example><code>using var y = Functions.AvgPool1d(x, 3, stride: 2, padding: 1);</code></example>
    public static Variable AvgPool1d(Variable x, int kernel, int? stride = null, int padding = 0) =>
        Pool1d("avg_pool1d", x, x4 => AvgPool2d(x4, (1, kernel), (1, stride ?? kernel), (0, padding)));

    private static Variable Pool1d(string name, Variable x, Func<Variable, Variable> pool2d)
    {
        if (x.Value.Rank != 3) throw new ArgumentException($"{name}: input {x.Describe()} must be [N, C, L]");
        using var x4 = Reshape(x, [x.Shape[0], x.Shape[1], 1, x.Shape[2]]);   // [N, C, 1, L]
        using var y4 = pool2d(x4);                                               // [N, C, 1, L']
        return Reshape(y4, [y4.Shape[0], y4.Shape[1], y4.Shape[3]]);            // [N, C, L']
    }
}
