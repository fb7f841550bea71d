using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// 2-D max pooling (PyTorch's nn.MaxPool2d): kernel, stride (default: the kernel) and symmetric
/// padding (padded positions never win). No parameters.
/// </summary>
/// <example><code>
/// var pool = new MaxPool2d(2);
/// using var y = pool.Forward(x); // x: [N, C, 28, 28] → y: [N, C, 14, 14]
/// </code></example>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Step (default: the kernel).</param>
    /// <param name="padding">Padding on each side (default 0).</param>
    /// <example><code>var pool = new MaxPool2d(3, stride: 2, padding: 1);</code></example>
    public MaxPool2d(Size2 kernel, Size2? stride = null, Size2? padding = null)
    {
        Kernel = kernel;
        Stride = stride ?? kernel;
        Padding = padding ?? 0;
        Pool.Check("MaxPool2d", Kernel, Stride, Padding);
    }

    /// <summary>Window size.</summary>
    public Size2 Kernel { get; }

    /// <summary>Step.</summary>
    public Size2 Stride { get; }

    /// <summary>Padding on each side.</summary>
    public Size2 Padding { get; }

    /// <summary>x: [N, C, H, W] → [N, C, OH, OW].</summary>
    /// <example><code>using var y = pool.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        Pool.CheckInput("MaxPool2d", x);
        return Traced(Functions.MaxPool2d(x, Kernel.ToTuple(), Stride.ToTuple(), Padding.ToTuple()));   // [N, C, OH, OW]
    }
}

/// <summary>
/// 2-D average pooling (PyTorch's nn.AvgPool2d with its defaults: padded zeros count in the
/// divisor, floor mode). Stride defaults to the kernel. No parameters.
/// </summary>
/// <example><code>
/// var pool = new AvgPool2d(2);
/// using var y = pool.Forward(x); // x: [N, C, 8, 8] → y: [N, C, 4, 4]
/// </code></example>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Step (default: the kernel).</param>
    /// <param name="padding">Padding on each side (default 0).</param>
    /// <example><code>var pool = new AvgPool2d(3, stride: 2, padding: 1);</code></example>
    public AvgPool2d(Size2 kernel, Size2? stride = null, Size2? padding = null)
    {
        Kernel = kernel;
        Stride = stride ?? kernel;
        Padding = padding ?? 0;
        Pool.Check("AvgPool2d", Kernel, Stride, Padding);
    }

    /// <summary>Window size.</summary>
    public Size2 Kernel { get; }

    /// <summary>Step.</summary>
    public Size2 Stride { get; }

    /// <summary>Padding on each side.</summary>
    public Size2 Padding { get; }

    /// <summary>x: [N, C, H, W] → [N, C, OH, OW].</summary>
    /// <example><code>using var y = pool.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        Pool.CheckInput("AvgPool2d", x);
        return Traced(Functions.AvgPool2d(x, Kernel.ToTuple(), Stride.ToTuple(), Padding.ToTuple()));   // [N, C, OH, OW]
    }
}

/// <summary>
/// Global average pooling: the mean over H and W (PyTorch's nn.AdaptiveAvgPool2d(1)). Output
/// [N, C, 1, 1] by default (as PyTorch), or [N, C] with <c>flatten</c>.
/// </summary>
/// <example><code>
/// var gap = new GlobalAvgPool2d(flatten: true);
/// using var y = gap.Forward(x); // x: [N, 512, 7, 7] → y: [N, 512]
/// </code></example>
public sealed class GlobalAvgPool2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="flatten">Drop the two size-1 spatial axes ([N, C] instead of [N, C, 1, 1]).</param>
    /// <example><code>var gap = new GlobalAvgPool2d();</code></example>
    public GlobalAvgPool2d(bool flatten = false) { Flatten = flatten; }

    /// <summary>Whether the output is [N, C].</summary>
    public bool Flatten { get; }

    /// <summary>x: [N, C, H, W] → [N, C, 1, 1] or [N, C].</summary>
    /// <example><code>using var y = gap.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        Pool.CheckInput("GlobalAvgPool2d", x);
        return Traced(Functions.Mean(x, [2, 3], keepDim: !Flatten));   // [N, C, 1, 1] or [N, C]
    }
}

/// <summary>
/// Adaptive average pooling to a fixed output size (PyTorch's nn.AdaptiveAvgPool2d, with its bins: output row i
/// averages input rows floor(i·H/OH) … ceil((i+1)·H/OH) − 1, likewise for columns), so a network ends in the same
/// shape at any input size. (1, 1) is global average pooling. No parameters.
/// </summary>
/// <example><code>
/// var pool = new AdaptiveAvgPool2d((1, 1));
/// using var y = pool.Forward(x); // x: [N, 512, 7, 7] → y: [N, 512, 1, 1]
/// </code></example>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="output">Output (OH, OW), both positive; an int is square.</param>
    /// <example><code>var pool = new AdaptiveAvgPool2d((6, 6));</code></example>
    public AdaptiveAvgPool2d(Size2 output)
    {
        if (output.H <= 0 || output.W <= 0) throw new ArgumentException($"AdaptiveAvgPool2d: output size {output} must be positive");
        Output = output;
    }

    /// <summary>Output size (OH, OW).</summary>
    public Size2 Output { get; }

    /// <summary>x: [N, C, H, W] → [N, C, OH, OW].</summary>
    /// <example><code>using var y = pool.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        Pool.CheckInput("AdaptiveAvgPool2d", x);
        return Traced(Functions.AdaptiveAvgPool2d(x, Output.ToTuple()));   // [N, C, OH, OW]
    }
}

internal static class Pool
{
    public static void Check(string name, Size2 kernel, Size2 stride, Size2 padding)
    {
        if (kernel.H <= 0 || kernel.W <= 0) throw new ArgumentException($"{name}: kernel {kernel} must be positive");
        if (stride.H <= 0 || stride.W <= 0) throw new ArgumentException($"{name}: stride {stride} must be positive");
        if (padding.H < 0 || padding.W < 0 || 2 * padding.H > kernel.H || 2 * padding.W > kernel.W)
            throw new ArgumentException($"{name}: padding {padding} must be ≥ 0 and at most half the kernel {kernel}");
    }

    public static void CheckInput(string name, Variable x)
    {
        if (x.Value.Rank != 4) throw new ArgumentException($"{name}: input {x.Describe()} must be [N, C, H, W]");
    }
}
