using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// A tensor that takes part in automatic differentiation: its <see cref="Value"/>, an optional
/// accumulated gradient <see cref="Grad"/>, and the graph <see cref="Node"/> that produced it
/// (null for leaves such as parameters and inputs).
/// </summary>
/// <remarks>
/// Ownership: a variable owns its <see cref="Value"/> and <see cref="Grad"/> and disposes both in
/// <see cref="Dispose"/>; one created inside a <see cref="TensorScope"/> is disposed with the scope. The graph never holds a variable's value; each node keeps its own
/// references to the tensors its backward needs and releases them once that backward has run, so
/// disposing an intermediate variable early is always safe.
/// </remarks>
/// <example><code>
/// using var w = new Variable(Tensor.FromArray(new float[] { 1, 2, 3 }), requiresGrad: true, name: "w");
/// using var loss = Functions.Sum(Functions.Mul(w, w)); // Σ w²
/// loss.Backward();                                      // w.Grad = 2·w = [2, 4, 6]
/// </code></example>
public sealed partial class Variable : IDisposable
{
    private bool _requiresGrad;

    /// <summary>A leaf variable over <paramref name="value"/> (ownership passes to the variable).</summary>
    /// <param name="value">The tensor; the variable disposes it.</param>
    /// <param name="requiresGrad">Whether <see cref="Backward(bool)"/> should accumulate a gradient into this leaf.</param>
    /// <param name="name">Optional name used in error messages.</param>
    /// <example><code>using var x = new Variable(Tensor.RandN([4, 3], new Rng(0)), requiresGrad: true, name: "x");</code></example>
    public Variable(Tensor value, bool requiresGrad = false, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value;
        Name = name;
        RequiresGrad = requiresGrad;
        TensorScope.Current?.Adopt(this);
    }

    // A non-leaf produced by a recorded op (see Graph.Record).
    internal Variable(Tensor value, Node node)
    {
        Value = value;
        Node = node;
        _requiresGrad = true;
        TensorScope.Current?.Adopt(this);
    }

    /// <summary>The value (owned by this variable).</summary>
    public Tensor Value { get; }

    /// <summary>
    /// The gradient accumulated by <see cref="Backward(bool)"/> (leaves only; null until a backward
    /// reaches this leaf or after <see cref="ZeroGrad"/>). Always a contiguous tensor of
    /// <see cref="Value"/>'s shape that this variable owns and shares with nobody, so optimizers
    /// may update it in place.
    /// </summary>
    public Tensor? Grad { get; set; }

    /// <summary>The node that produced this variable, or null for a leaf.</summary>
    public Node? Node { get; }

    /// <summary>True for variables created by the user rather than by a recorded op.</summary>
    public bool IsLeaf => Node == null;

    /// <summary>Optional name, used in error messages.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Whether gradients flow to this variable. Settable on leaves (float dtypes only); a
    /// non-leaf requires grad exactly when it has a <see cref="Node"/>.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf)
                throw new InvalidOperationException($"requires_grad: {Describe()} was produced by '{Node!.Name}'; only leaf variables can change RequiresGrad (use Detach() for a leaf copy)");
            if (value && !Value.DType.IsFloat())
                throw new ArgumentException($"requires_grad: {Describe()} is {Value.DType.Name()}; only float tensors can require gradients");
            _requiresGrad = value;
        }
    }

    /// <summary>The shape of <see cref="Value"/>.</summary>
    public int[] Shape => Value.Dims;

    /// <summary>
    /// Backpropagates from this one-element variable (the gradient seed is 1) and accumulates
    /// into the leaves' <see cref="Grad"/>. The graph's saved tensors are freed afterwards.
    /// </summary>
    /// <param name="retainGraph">Keep the saved tensors so the graph can be backpropagated again.</param>
    /// <example><code>loss.Backward(); // then read w.Grad</code></example>
    public void Backward(bool retainGraph = false)
    {
        if (Value.Numel != 1)
            throw new InvalidOperationException($"backward: {Describe()} has {Value.Numel} elements; a gradient can be created implicitly only for a one-element (scalar) output. Call Backward(grad) with a gradient of shape {Value.ShapeText}");
        using var seed = Tensor.FullLike(Value, 1);
        Engine.Run(this, seed, retainGraph);
    }

    /// <summary>
    /// Backpropagates <paramref name="grad"/> (∂L/∂this, same shape as <see cref="Value"/>) and
    /// accumulates into the leaves' <see cref="Grad"/>. The caller keeps ownership of <paramref name="grad"/>.
    /// </summary>
    /// <example><code>using var dy = Tensor.FullLike(y.Value, 1); y.Backward(dy);</code></example>
    public void Backward(Tensor grad, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(grad);
        if (!VecQ.Tensors.Shape.Equal(grad.Dims, Value.Dims) || grad.DType != Value.DType)
            throw new ArgumentException($"backward: gradient {grad.ShapeText} ({grad.DType.Name()}) must match {Describe()} ({Value.DType.Name()})");
        Engine.Run(this, grad, retainGraph);
    }

    /// <summary>A new leaf sharing this value's storage, cut from the graph (no gradient flows back through it).</summary>
    /// <example><code>using var target = prediction.Detach();</code></example>
    public Variable Detach() => new(Saved.NewRef(Value), requiresGrad: false, Name);

    /// <summary>Drops the accumulated gradient (disposes it and sets <see cref="Grad"/> to null, as PyTorch's set_to_none).</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>Disposes <see cref="Value"/> and <see cref="Grad"/>. The graph that used this variable stays valid.</summary>
    public void Dispose()
    {
        Value.Dispose();
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>"'name' [2, 3]" or "variable [2, 3]" for messages.</summary>
    public string Describe() => (Name != null ? $"'{Name}' " : IsLeaf ? "variable " : $"output of '{Node!.Name}' ") + Value.ShapeText;

    /// <inheritdoc/>
    public override string ToString() =>
        $"Variable({Value.ShapeText}, {Value.DType.Name()}{(Name != null ? ", name=" + Name : "")}{(Node != null ? ", node=" + Node.Name : RequiresGrad ? ", requires_grad" : "")})";
}
