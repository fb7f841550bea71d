using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Inverted dropout (PyTorch's nn.Dropout): in training each element is zeroed with probability
/// <see cref="P"/> and the rest are scaled by 1/(1 − p); in evaluation it is the identity. The
/// masks come from the <see cref="Rng"/> given to the constructor, or <see cref="Init.DefaultRng"/>
/// (read at each forward) when none is given, so runs are reproducible.
/// </summary>
/// <example><code>
/// var drop = new Dropout(0.5, new Rng(1));
/// using var y = drop.Forward(h);  // training: about half zeroed, the rest doubled
/// drop.Eval();
/// using var z = drop.Forward(h);  // evaluation: h unchanged
/// </code></example>
public sealed class Dropout : Module
{
    private readonly Rng? _rng;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="rng">Mask generator (default: <see cref="Init.DefaultRng"/> at each forward).</param>
    /// <example><code>var drop = new Dropout(0.25);</code></example>
    public Dropout(double p = 0.5, Rng? rng = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"Dropout: probability {p} must be in [0, 1]");
        P = p;
        _rng = rng;
    }

    /// <summary>Probability of zeroing an element.</summary>
    public double P { get; }

    /// <summary>The generator the masks come from.</summary>
    public Rng Rng => _rng ?? Init.DefaultRng;

    /// <summary>x: any shape → same shape.</summary>
    /// <example><code>using var y = drop.Forward(h);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Dropout(x, P, Rng, Training));
}
