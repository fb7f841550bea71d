using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// Flattens axes <see cref="StartDim"/>..<see cref="EndDim"/> (inclusive) into one (PyTorch's
/// nn.Flatten; by default everything but the batch axis).
/// </summary>
/// <example><code>
/// var flat = new Flatten();
/// using var y = flat.Forward(x); // x: [N, 64, 7, 7] → y: [N, 3136]
/// </code></example>
public sealed class Flatten : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="startDim">First axis flattened (default 1).</param>
    /// <param name="endDim">Last axis flattened (default −1, the last).</param>
    /// <example><code>var flat = new Flatten(startDim: 0);</code></example>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>First axis flattened.</summary>
    public int StartDim { get; }

    /// <summary>Last axis flattened.</summary>
    public int EndDim { get; }

    /// <summary>x: [d0, …] → the same elements with axes start..end merged.</summary>
    /// <example><code>using var y = flat.Forward(x);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Flatten(x, StartDim, EndDim));
}
