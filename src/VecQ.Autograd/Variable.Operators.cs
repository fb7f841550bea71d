using VecQ.Tensors;

namespace VecQ.Autograd;

// Operators and the most common functions as instance methods, so formulas read like math:
// (x * w).Sum() is Functions.Sum(Functions.Mul(x, w)).
public sealed partial class Variable
{
    /// <summary>a + b (broadcast).</summary>
    public static Variable operator +(Variable a, Variable b) => Functions.Add(a, b);
    /// <summary>a − b (broadcast).</summary>
    public static Variable operator -(Variable a, Variable b) => Functions.Sub(a, b);
    /// <summary>a · b (broadcast).</summary>
    public static Variable operator *(Variable a, Variable b) => Functions.Mul(a, b);
    /// <summary>a / b (broadcast).</summary>
    public static Variable operator /(Variable a, Variable b) => Functions.Div(a, b);
    /// <summary>a + s.</summary>
    public static Variable operator +(Variable a, double s) => Functions.Add(a, s);
    /// <summary>a − s.</summary>
    public static Variable operator -(Variable a, double s) => Functions.Sub(a, s);
    /// <summary>a · s.</summary>
    public static Variable operator *(Variable a, double s) => Functions.Mul(a, s);
    /// <summary>a / s.</summary>
    public static Variable operator /(Variable a, double s) => Functions.Div(a, s);
    /// <summary>s + a.</summary>
    public static Variable operator +(double s, Variable a) => Functions.Add(a, s);
    /// <summary>s − a.</summary>
    public static Variable operator -(double s, Variable a) => Functions.Sub(s, a);
    /// <summary>s · a.</summary>
    public static Variable operator *(double s, Variable a) => Functions.Mul(a, s);
    /// <summary>s / a.</summary>
    public static Variable operator /(double s, Variable a) => Functions.Div(s, a);
    /// <summary>−a.</summary>
    public static Variable operator -(Variable a) => Functions.Neg(a);

    /// <summary>Sum over <paramref name="axes"/> (all when null or empty).</summary>
    /// <example><code>using var loss = (pred - target).Pow(2).Sum();</code></example>
    public Variable Sum(int[]? axes = null, bool keepDim = false) => Functions.Sum(this, axes, keepDim);
    /// <summary>Mean over <paramref name="axes"/> (all when null or empty).</summary>
    public Variable Mean(int[]? axes = null, bool keepDim = false) => Functions.Mean(this, axes, keepDim);
    /// <summary>A new shape (one dimension may be −1).</summary>
    public Variable Reshape(params int[] shape) => Functions.Reshape(this, shape);
    /// <summary>Swaps two dimensions.</summary>
    public Variable Transpose(int dim0, int dim1) => Functions.Transpose(this, dim0, dim1);
    /// <summary>Matrix product (PyTorch's rules).</summary>
    public Variable MatMul(Variable other) => Functions.MatMul(this, other);
    /// <summary>x^p.</summary>
    public Variable Pow(double p) => Functions.Pow(this, p);
    /// <summary>e^x.</summary>
    public Variable Exp() => Functions.Exp(this);
    /// <summary>ln x.</summary>
    public Variable Log() => Functions.Log(this);
    /// <summary>max(x, 0).</summary>
    public Variable Relu() => Functions.Relu(this);
    /// <summary>Logistic sigmoid.</summary>
    public Variable Sigmoid() => Functions.Sigmoid(this);
    /// <summary>tanh(x).</summary>
    public Variable Tanh() => Functions.Tanh(this);

    /// <summary>A leaf variable that requires grad (ownership of <paramref name="value"/> passes to it).</summary>
    /// <example><code>using var w = Variable.Parameter(Tensor.RandN([10, 4], rng, std: 0.1), "w");</code></example>
    public static Variable Parameter(Tensor value, string? name = null) => new(value, requiresGrad: true, name);
}
