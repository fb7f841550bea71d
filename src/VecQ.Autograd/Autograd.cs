namespace VecQ.Autograd;

/// <summary>
/// Gradient mode. Inside a <see cref="NoGrad"/> scope ops record no graph (inference, optimizer
/// updates, evaluation); <see cref="EnableGrad"/> turns recording back on inside such a scope.
/// The mode flows with async calls (AsyncLocal) and is restored when the scope is disposed.
/// </summary>
/// <remarks>
/// Code in a namespace under <c>VecQ</c> (e.g. <c>VecQ.Nn</c>) sees the name <c>Autograd</c> as the
/// namespace first; write <c>VecQ.Autograd.Autograd.NoGrad()</c> there, or add
/// <c>using Autograd = VecQ.Autograd.Autograd;</c> after the file-scoped namespace line.
/// </remarks>
/// <example><code>
/// using (Autograd.NoGrad())
/// {
///     using var logits = model(x); // no graph, no saved tensors
/// }
/// </code></example>
public static class Autograd
{
    private static readonly AsyncLocal<bool> Disabled = new();

    /// <summary>True when ops record a graph (the default).</summary>
    public static bool IsGradEnabled => !Disabled.Value;

    /// <summary>Stops graph recording until the returned scope is disposed.</summary>
    /// <example><code>using var _ = Autograd.NoGrad();</code></example>
    public static IDisposable NoGrad() => SetEnabled(false);

    /// <summary>Turns graph recording on until the returned scope is disposed (e.g. inside a NoGrad scope).</summary>
    /// <example><code>using (Autograd.EnableGrad()) { var y = Functions.Exp(x); }</code></example>
    public static IDisposable EnableGrad() => SetEnabled(true);

    private static IDisposable SetEnabled(bool enabled)
    {
        bool previous = IsGradEnabled;
        Disabled.Value = !enabled;
        return new Scope(previous);
    }

    private sealed class Scope(bool previous) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Disabled.Value = !previous;
        }
    }
}
