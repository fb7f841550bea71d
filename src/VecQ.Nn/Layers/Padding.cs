using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// Zero padding of the two spatial axes (PyTorch's nn.ZeroPad2d): <see cref="Left"/>/<see cref="Right"/> columns
/// and <see cref="Top"/>/<see cref="Bottom"/> rows, possibly asymmetric, e.g. Keras's stride-2 "same" padding
/// ((0, 1), (0, 1)) = ZeroPad2d(0, 1, 0, 1) before a valid convolution. No parameters.
/// </summary>
/// <example><code>
/// var pad = new ZeroPad2d(0, 1, 0, 1);
/// using var y = pad.Forward(x); // x: [N, 3, 224, 224] → y: [N, 3, 225, 225]
/// </code></example>
public sealed class ZeroPad2d : Module
{
    /// <summary>Pads <paramref name="padding"/> on every side.</summary>
    /// <param name="padding">Rows/columns of zeros on each side (≥ 0).</param>
    /// <example><code>var pad = new ZeroPad2d(1);</code></example>
    public ZeroPad2d(int padding) : this(padding, padding, padding, padding) { }

    /// <summary>Pads (left, right, top, bottom), PyTorch's order.</summary>
    /// <param name="left">Columns before the first.</param>
    /// <param name="right">Columns after the last.</param>
    /// <param name="top">Rows before the first.</param>
    /// <param name="bottom">Rows after the last.</param>
    /// <example><code>var pad = new ZeroPad2d(left: 0, right: 1, top: 0, bottom: 1);</code></example>
    public ZeroPad2d(int left, int right, int top, int bottom)
    {
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new ArgumentException($"ZeroPad2d: padding (left {left}, right {right}, top {top}, bottom {bottom}) must be ≥ 0");
        Left = left;
        Right = right;
        Top = top;
        Bottom = bottom;
    }

    /// <summary>Columns added before the first.</summary>
    public int Left { get; }

    /// <summary>Columns added after the last.</summary>
    public int Right { get; }

    /// <summary>Rows added before the first.</summary>
    public int Top { get; }

    /// <summary>Rows added after the last.</summary>
    public int Bottom { get; }

    /// <summary>x: [N, C, H, W] → [N, C, Top + H + Bottom, Left + W + Right].</summary>
    /// <example><code>using var y = pad.Forward(x);</code></example>
    public override Variable Forward(Variable x)
    {
        Pool.CheckInput("ZeroPad2d", x);
        return Traced(Functions.ZeroPad2d(x, Left, Right, Top, Bottom));   // [N, C, H', W']
    }
}
