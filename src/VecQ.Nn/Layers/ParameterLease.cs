using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// The weights a layer computes with for one forward pass: <see cref="Parameter.Value"/> of an
/// optional parameter. When a transform (e.g. a quantizer) produced a new variable, disposing the
/// lease disposes it (the graph keeps what backward needs); the parameter's own variable is never disposed.
/// </summary>
internal readonly struct ParameterLease : IDisposable
{
    private readonly Parameter? _parameter;

    public ParameterLease(Parameter? parameter, bool training)
    {
        _parameter = parameter;
        Value = parameter?.Value(training);
    }

    /// <summary>The variable to compute with, or null when the parameter is absent.</summary>
    public Variable? Value { get; }

    public void Dispose()
    {
        if (_parameter != null && Value != null && !ReferenceEquals(Value, _parameter.Variable)) Value.Dispose();
    }
}
