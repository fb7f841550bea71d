using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>max(x, 0) elementwise (PyTorch's nn.ReLU).</summary>
/// <example><code>using var h = new ReLU().Forward(z);</code></example>
public sealed class ReLU : Module
{
    /// <summary>x: any shape → same shape.</summary>
    /// <example><code>using var h = relu.Forward(z);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Relu(x));
}

/// <summary>min(max(x, 0), 6) elementwise (PyTorch's nn.ReLU6; MobileNet's activation).</summary>
/// <example><code>using var h = new ReLU6().Forward(z);</code></example>
public sealed class ReLU6 : Module
{
    /// <summary>x: any shape → same shape.</summary>
    /// <example><code>using var h = relu6.Forward(z);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Relu6(x));
}

/// <summary>The logistic sigmoid 1/(1 + e^−x) elementwise.</summary>
/// <example><code>using var p = new Sigmoid().Forward(logits);</code></example>
public sealed class Sigmoid : Module
{
    /// <summary>x: any shape → same shape.</summary>
    /// <example><code>using var p = sigmoid.Forward(logits);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Sigmoid(x));
}

/// <summary>tanh(x) elementwise.</summary>
/// <example><code>using var h = new Tanh().Forward(z);</code></example>
public sealed class Tanh : Module
{
    /// <summary>x: any shape → same shape.</summary>
    /// <example><code>using var h = tanh.Forward(z);</code></example>
    public override Variable Forward(Variable x) => Traced(Functions.Tanh(x));
}
