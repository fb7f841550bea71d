using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Turns a parameter's float (latent) weights into the weights a layer computes with, e.g. a
/// quantizer. Layers never read <see cref="Parameter.Variable"/> directly; they call
/// <see cref="Parameter.Value"/>, which applies the transform when one is attached.
/// </summary>
/// <example><code>
/// sealed class Halve : IParameterTransform
/// {
///     public Variable Apply(Parameter p, bool training) => Functions.Mul(p.Variable, 0.5);
/// }
/// </code></example>
public interface IParameterTransform
{
    /// <summary>The weights to use for this forward pass (may record a graph back to <c>p.Variable</c>).</summary>
    Variable Apply(Parameter p, bool training);
}

/// <summary>
/// A trainable tensor of a module: a leaf <see cref="Variable"/> that requires gradients plus an
/// optional <see cref="IParameterTransform"/> slot (DESIGN §5). Optimizers update
/// <see cref="Data"/> in place.
/// </summary>
/// <example><code>
/// var w = new Parameter(Tensor.Zeros([10, 4]), "weight");
/// Variable used = w.Value(training: true); // w.Variable itself when no transform is attached
/// </code></example>
public sealed class Parameter
{
    /// <summary>Creates a parameter owning <paramref name="init"/>.</summary>
    public Parameter(Tensor init, string? name = null)
    {
        if (!init.DType.IsFloat()) throw new ArgumentException($"parameter {name}: {init.DType.Name()} tensor {init.ShapeText}; parameters must be float");
        using (TensorScope.Suspend()) Variable = new Variable(init, requiresGrad: true, name);   // outlives any step scope
    }

    /// <summary>The float (latent) weights: the leaf that receives gradients (a new leaf after <see cref="MoveTo"/>).</summary>
    public Variable Variable { get; private set; }

    /// <summary>Device of the weights.</summary>
    public Device Device => Data.Device;

    /// <summary>Moves the weights and their gradient to <paramref name="device"/> (a new leaf variable; nothing happens when already there).</summary>
    /// <example><code>conv.Weight.MoveTo(Device.Sim());</code></example>
    public void MoveTo(Device device)
    {
        var old = Variable;
        if (old.Value.Device == device) return;
        Variable moved;
        using (TensorScope.Suspend()) moved = new Variable(old.Value.To(device), old.RequiresGrad, old.Name);
        if (old.Grad is { } g) moved.Grad = g.To(device);
        Variable = moved;
        old.Dispose();
    }

    /// <summary>The float weights' tensor (updated in place by optimizers and checkpoint loads).</summary>
    public Tensor Data => Variable.Value;

    /// <summary>The accumulated gradient, or null.</summary>
    public Tensor? Grad => Variable.Grad;

    /// <summary>Shape of the weights.</summary>
    public int[] Shape => Data.Dims;

    /// <summary>Name given at registration (last path component).</summary>
    public string? Name => Variable.Name;

    /// <summary>Whether optimizers update this parameter (false freezes it).</summary>
    public bool RequiresGrad { get => Variable.RequiresGrad; set => Variable.RequiresGrad = value; }

    /// <summary>The transform applied by <see cref="Value"/> (null: identity, no cost).</summary>
    public IParameterTransform? Transform { get; set; }

    /// <summary>The weights a layer computes with in this forward pass.</summary>
    public Variable Value(bool training) => Transform is null ? Variable : Transform.Apply(this, training);

    /// <summary>Copies <paramref name="value"/> (any device and float dtype) into the weights (shape must match).</summary>
    public void Load(Tensor value)
    {
        if (!Tensors.Shape.Equal(value.Dims, Data.Dims))
            throw new ArgumentException($"parameter {Name}: cannot load {value.ShapeText} into {Data.ShapeText}");
        Buffer.CopyInto(Data, value);
    }

    /// <summary>Drops the accumulated gradient.</summary>
    public void ZeroGrad() => Variable.ZeroGrad();
}

/// <summary>A non-trainable tensor of a module saved in checkpoints (e.g. batch-norm running statistics).</summary>
/// <example><code>var runningMean = new Buffer(Tensor.Zeros([64]));</code></example>
public sealed class Buffer
{
    private Tensor _value;

    /// <summary>Creates a buffer owning <paramref name="value"/>.</summary>
    public Buffer(Tensor value) { _value = value; }

    /// <summary>The current value; setting it disposes the previous tensor.</summary>
    public Tensor Value
    {
        get => _value;
        set
        {
            if (!Tensors.Shape.Equal(value.Dims, _value.Dims))
                throw new ArgumentException($"buffer: cannot replace {_value.ShapeText} with {value.ShapeText}");
            if (!ReferenceEquals(value, _value)) { var old = _value; _value = value; old.Dispose(); }
        }
    }

    /// <summary>Moves the value to <paramref name="device"/>.</summary>
    /// <example><code>bn.RunningMean!.MoveTo(Device.Sim());</code></example>
    public void MoveTo(Device device)
    {
        if (_value.Device != device) Value = _value.To(device);
    }

    /// <summary>Copies <paramref name="value"/> (any device; cast to this buffer's dtype) into the buffer in place.</summary>
    /// <example><code>buffer.Load(Tensor.Zeros([64]));</code></example>
    public void Load(Tensor value) => CopyInto(_value, value);

    // dst ← src, moving src to dst's device and casting it to dst's dtype first where they differ.
    internal static void CopyInto(Tensor dst, Tensor src)
    {
        using var moved = src.To(dst.Device);
        if (moved.DType == dst.DType) { dst.CopyFrom(moved); return; }
        using var cast = moved.Cast(dst.DType);
        dst.CopyFrom(cast);
    }
}
