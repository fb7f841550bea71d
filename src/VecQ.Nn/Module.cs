using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Base class of layers and models: named child modules, named <see cref="Parameter"/>s and
/// <see cref="Buffer"/>s (registered in the constructor, in order), a training flag and
/// <see cref="Forward"/>. Names are dotted paths as in PyTorch ("conv1.weight", "bn1.running_mean"),
/// so state dicts line up with a PyTorch definition of the same model.
/// </summary>
/// <example><code>
/// sealed class TwoLayer : Module
/// {
///     private readonly Linear _a, _b;
///     public TwoLayer() { _a = Register("fc1", new Linear(4, 8)); _b = Register("fc2", new Linear(8, 2)); }
///     public override Variable Forward(Variable x) => _b.Forward(Functions.Relu(_a.Forward(x)));
/// }
/// </code></example>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> _children = new();
    private readonly List<(string Name, Parameter Parameter)> _parameters = new();
    private readonly List<(string Name, Buffer Buffer)> _buffers = new();

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output.</summary>
    public abstract Variable Forward(Variable x);

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T Register<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    /// <summary>Registers <paramref name="module"/> under <paramref name="name"/> when there is one (an optional layer such as an activation-quantizer slot); returns it.</summary>
    protected T? RegisterOptional<T>(string name, T? module) where T : Module => module is null ? null : Register(name, module);

    /// <summary>Registers a parameter initialised with <paramref name="init"/> (ownership passes to it).</summary>
    protected Parameter RegisterParameter(string name, Tensor init)
    {
        CheckName(name);
        var p = new Parameter(init, name);
        _parameters.Add((name, p));
        return p;
    }

    /// <summary>Registers a buffer initialised with <paramref name="init"/>.</summary>
    protected Buffer RegisterBuffer(string name, Tensor init)
    {
        CheckName(name);
        var b = new Buffer(init);
        _buffers.Add((name, b));
        return b;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: invalid name '{name}' (non-empty, no dots)");
        if (_children.Any(c => c.Name == name) || _parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name))
            throw new ArgumentException($"{GetType().Name}: name '{name}' is already registered");
    }

    /// <summary>Direct children in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> Children() => _children;

    /// <summary>This module and every descendant with dotted paths ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var m in child.NamedModules(Join(prefix, name))) yield return m;
    }

    /// <summary>Every parameter with its dotted path: this module's own first, then each child's in registration order (PyTorch's order).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach (var (path, m) in NamedModules())
            foreach (var (name, p) in m._parameters) yield return (Join(path, name), p);
    }

    /// <summary>Every parameter.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer with its dotted path.</summary>
    public IEnumerable<(string Name, Buffer Buffer)> NamedBuffers()
    {
        foreach (var (path, m) in NamedModules())
            foreach (var (name, b) in m._buffers) yield return (Join(path, name), b);
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Data.Numel);

    /// <summary>The device of the parameters and buffers (the CPU for a module that has none).</summary>
    /// <example><code>var model = new LeNet5().To(Device.Sim()); Device d = model.Device; // sim:0</code></example>
    public Device Device =>
        NamedParameters().Select(p => p.Parameter.Data.Device).Concat(NamedBuffers().Select(b => b.Buffer.Value.Device)).FirstOrDefault(Device.Cpu);

    /// <summary>
    /// Moves every parameter (with its gradient) and buffer of this module and its descendants to
    /// <paramref name="device"/> and returns this module. Optimizer state follows its parameters at the next
    /// step; quantizer state follows the weights at the next forward. Move between steps, not while a graph
    /// built on the old tensors is still to be backpropagated.
    /// </summary>
    /// <example><code>var model = new LeNet5(rng: new Rng(1)).To(Device.Sim()); // train on the simulated accelerator</code></example>
    public Module To(Device device)
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var (_, p) in m._parameters) p.MoveTo(device);
            foreach (var (_, b) in m._buffers) b.MoveTo(device);
        }
        return this;
    }

    /// <summary>
    /// Releases the memory of every parameter (and gradient), buffer and disposable parameter transform
    /// (a quantizer's state) of this module and its descendants, on whatever device they live. The module
    /// cannot be used afterwards.
    /// </summary>
    /// <example><code>using var model = new LeNet5(device: Device.Sim()); // freed on the device at the end of the scope</code></example>
    public void Dispose()
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var (_, p) in m._parameters)
            {
                (p.Transform as IDisposable)?.Dispose();
                p.Variable.Dispose();
            }
            foreach (var (_, b) in m._buffers) b.Value.Dispose();
            m.ReleaseState();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases tensors a module keeps besides its parameters and buffers (called once by <see cref="Dispose"/>).</summary>
    protected virtual void ReleaseState() { }

    /// <summary>Reports <paramref name="y"/> as this layer's output to an active <see cref="ModuleTrace"/>; returns it.</summary>
    /// <example><code>public override Variable Forward(Variable x) => Traced(Functions.Relu(x));</code></example>
    protected Variable Traced(Variable y)
    {
        ModuleTrace.Record(this, y);
        return y;
    }

    /// <summary>Called after <see cref="LoadStateDict"/> wrote this module's buffers (drop host mirrors of buffer values here).</summary>
    protected virtual void OnStateLoaded() { }

    /// <summary>Sets training mode on this module and all descendants.</summary>
    public Module Train(bool on = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = on;
        return this;
    }

    /// <summary>Sets evaluation mode (batch norm uses running statistics, dropout is off).</summary>
    public Module Eval() => Train(false);

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Parameters then buffers by dotted name (the tensors themselves, not copies).</summary>
    public List<KeyValuePair<string, Tensor>> StateDict()
    {
        var d = new List<KeyValuePair<string, Tensor>>();
        foreach (var (n, p) in NamedParameters()) d.Add(new(n, p.Data));
        foreach (var (n, b) in NamedBuffers()) d.Add(new(n, b.Value));
        return d;
    }

    /// <summary>
    /// Copies tensors (from any device) into parameters and buffers by name, on the model's device. With
    /// <paramref name="strict"/>, missing or unexpected names and shape mismatches are errors that list them.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var problems = new List<string>();
        var used = new HashSet<string>();
        foreach (var (n, p) in NamedParameters())
        {
            if (!state.TryGetValue(n, out var t)) { problems.Add($"missing '{n}'"); continue; }
            used.Add(n);
            if (!Tensors.Shape.Equal(t.Dims, p.Shape)) { problems.Add($"'{n}' has shape {t.ShapeText}, model expects {Tensors.Shape.Format(p.Shape)}"); continue; }
            p.Load(t);
        }
        foreach (var (n, b) in NamedBuffers())
        {
            if (!state.TryGetValue(n, out var t)) { problems.Add($"missing '{n}'"); continue; }
            used.Add(n);
            if (!Tensors.Shape.Equal(t.Dims, b.Value.Dims)) { problems.Add($"'{n}' has shape {t.ShapeText}, model expects {b.Value.ShapeText}"); continue; }
            b.Load(t);
        }
        foreach (var n in state.Keys) if (!used.Contains(n)) problems.Add($"unexpected '{n}'");
        foreach (var (_, m) in NamedModules()) m.OnStateLoaded();
        if (strict && problems.Count > 0)
            throw new ArgumentException($"load_state_dict ({GetType().Name}): {string.Join("; ", problems)}");
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>Applies child modules in order.</summary>
/// <example><code>var mlp = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));</code></example>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    /// <summary>Registers the layers as children "0", "1", … (PyTorch's names).</summary>
    public Sequential(params Module[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    private int _indexed;   // layers added without a name (the next one is named by this count)

    /// <summary>Appends a layer named by its index among the layers added without a name ("0", "1", …).</summary>
    /// <example><code>var seq = new Sequential().Add(new Linear(4, 8)).Add(new ReLU()); // "0", "1"</code></example>
    public Sequential Add(Module layer)
    {
        _layers.Add(Register((_indexed++).ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <summary>
    /// Appends a layer under <paramref name="name"/> (PyTorch's Sequential(OrderedDict(…))). A named layer does not
    /// shift the indices of later unnamed ones, so an optional layer (an activation-quantizer slot, a padding) can
    /// sit between "0" and "1" and the state-dict names stay those of the plain definition.
    /// </summary>
    /// <example><code>var cna = new Sequential().Add(conv).Add("act", quantizer).Add(bn); // "0", "act", "1"</code></example>
    public Sequential Add(string name, Module layer)
    {
        _layers.Add(Register(name, layer));
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>Layer <paramref name="i"/>.</summary>
    public Module this[int i] => _layers[i];

    /// <inheritdoc/>
    public override Variable Forward(Variable x)
    {
        // Intermediate outputs are disposed as soon as the next layer has consumed them; the
        // graph keeps what backward needs.
        Variable h = x;
        foreach (var l in _layers)
        {
            var next = l.Forward(h);
            if (!ReferenceEquals(h, x) && !ReferenceEquals(next, h)) h.Dispose();
            h = next;
        }
        return h;
    }
}
