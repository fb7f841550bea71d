namespace VecQ.Autograd;

/// <summary>
/// The framework's ownership rule for the variables of a computation: while a scope is active (innermost
/// first, per async flow), every <see cref="Variable"/> created owns its value through the scope, and
/// disposing the scope disposes them all, last made first. Model code can then read like PyTorch's (no
/// dispose per line) and a training step returns every byte of its intermediates, on any device. A result
/// that must outlive the scope is kept with <see cref="Keep"/> (it moves to the enclosing scope, or to
/// the caller when there is none). Parameters, buffers, gradients and optimizer or quantizer state are not
/// variables made by a step (or are made under <see cref="Suspend"/>), so they live on.
/// </summary>
/// <remarks>
/// The graph keeps its own references to what backward needs, so disposing a variable never breaks a
/// backward still to come; the scope may end before or after <c>Backward</c>. Disposing a variable the
/// scope owns, earlier, is always allowed (disposal is idempotent).
/// </remarks>
/// <example><code>
/// using (var scope = TensorScope.Begin())
/// {
///     var logits = model.Forward(new Variable(images));     // every intermediate belongs to the scope
///     var loss = Functions.SoftmaxCrossEntropy(logits, labels);
///     opt.ZeroGrad(); loss.Backward(); opt.Step();
///     lossValue = loss.Value.Item();
/// }                                                          // all of it released here
/// </code></example>
public sealed class TensorScope : IDisposable
{
    private static readonly AsyncLocal<TensorScope?> CurrentScope = new();
    private readonly TensorScope? _outer;
    private readonly bool _suspends;
    private List<Variable>? _owned = new();

    private TensorScope(TensorScope? outer, bool suspends)
    {
        _outer = outer;
        _suspends = suspends;
    }

    /// <summary>The innermost active scope that owns new variables, or null.</summary>
    internal static TensorScope? Current => CurrentScope.Value is { _suspends: false } s ? s : null;

    /// <summary>Starts a scope that owns every variable created until it is disposed.</summary>
    /// <example><code>using var scope = TensorScope.Begin();</code></example>
    public static TensorScope Begin()
    {
        var s = new TensorScope(CurrentScope.Value, suspends: false);
        CurrentScope.Value = s;
        return s;
    }

    /// <summary>
    /// Suspends ownership until disposed: variables created meanwhile belong to nobody (long-lived state
    /// such as a parameter made or moved inside a step).
    /// </summary>
    /// <example><code>using (TensorScope.Suspend()) cache = new Variable(t);</code></example>
    public static IDisposable Suspend()
    {
        var s = new TensorScope(CurrentScope.Value, suspends: true);
        CurrentScope.Value = s;
        return s;
    }

    /// <summary>Variables this scope owns now.</summary>
    public int Count => _owned?.Count ?? 0;

    internal void Adopt(Variable v) => _owned?.Add(v);

    /// <summary>Hands <paramref name="v"/> to the enclosing scope (or to nobody) so it survives this one; returns it.</summary>
    /// <example><code>var logits = scope.Keep(model.Forward(x));</code></example>
    public Variable Keep(Variable v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (_owned == null) throw new ObjectDisposedException(nameof(TensorScope), "keep: the scope was already disposed");
        int i = _owned.LastIndexOf(v);
        if (i < 0) throw new ArgumentException($"keep: {v.Describe()} does not belong to this scope");
        _owned.RemoveAt(i);
        var outer = _outer;
        while (outer is { _suspends: true }) outer = outer._outer;
        outer?.Adopt(v);
        return v;
    }

    /// <summary>Disposes every variable still owned (newest first) and restores the enclosing scope.</summary>
    public void Dispose()
    {
        var owned = _owned;
        if (owned == null) return;
        _owned = null;
        if (ReferenceEquals(CurrentScope.Value, this)) CurrentScope.Value = _outer;
        for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
    }
}
