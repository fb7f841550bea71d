using System.Globalization;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// Base class of optimizers: one learning rate for all parameters and per-parameter state
/// (momentum buffers, Adam moments, step counts). <see cref="Step"/> updates each parameter's
/// <see cref="Parameter.Data"/> in place from its <see cref="Parameter.Grad"/>; parameters with no
/// gradient or with <see cref="Parameter.RequiresGrad"/> false are skipped (their state does not
/// advance). State is saved and restored by name with <see cref="StateDict"/> /
/// <see cref="LoadStateDict"/> (what <see cref="Checkpoint"/> stores).
/// </summary>
/// <remarks>
/// Parameters are named by their dotted path when the optimizer is built from a <see cref="Module"/>
/// or from named pairs, and "0", "1", … (their position) when built from a plain list. A parameter
/// listed twice is kept once, under its first name.
/// </remarks>
/// <example><code>
/// using var opt = new Sgd(model, lr: 0.1, momentum: 0.9);
/// opt.ZeroGrad();
/// using (var loss = Functions.SoftmaxCrossEntropy(model.Forward(x), labels)) loss.Backward();
/// opt.Step();
/// </code></example>
public abstract class Optimizer : IDisposable
{
    private readonly ParamState[] _states;
    private readonly string[] _stateNames;
    private double _lr;
    private bool _disposed;

    /// <summary>Creates the optimizer over named parameters with per-parameter state slots <paramref name="stateNames"/>.</summary>
    /// <param name="parameters">The parameters and their names (names must be unique).</param>
    /// <param name="lr">Learning rate (≥ 0).</param>
    /// <param name="stateNames">Names of the per-parameter state tensors (e.g. "exp_avg"); no dots.</param>
    protected Optimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, IReadOnlyList<string> stateNames)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Lr = lr;
        _stateNames = stateNames.ToArray();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<ParamState>();
        foreach (var (name, p) in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!seen.Add(p)) continue;
            if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{Kind}: parameter #{list.Count} has an empty name");
            if (!names.Add(name)) throw new ArgumentException($"{Kind}: two different parameters are named '{name}'");
            list.Add(new ParamState(name, p, _stateNames.Length));
        }
        _states = list.ToArray();
        Parameters = _states.Select(s => (s.Name, s.Parameter)).ToArray();
    }

    /// <summary>Names plain parameters by position ("0", "1", …).</summary>
    protected static IEnumerable<(string Name, Parameter Parameter)> ByPosition(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters.Select((p, i) => (i.ToString(CultureInfo.InvariantCulture), p));
    }

    /// <summary>A module's parameters under their dotted paths.</summary>
    protected static IEnumerable<(string Name, Parameter Parameter)> FromModule(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.NamedParameters();
    }

    /// <summary>The optimizer's kind as stored in checkpoints (the class name, e.g. "Adam").</summary>
    public virtual string Kind => GetType().Name;

    /// <summary>Learning rate used by the next <see cref="Step"/> (set it from an <see cref="LrSchedule"/>).</summary>
    /// <example><code>opt.Lr = schedule.LrAt(epoch, step, stepsPerEpoch);</code></example>
    public double Lr
    {
        get => _lr;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(nameof(value), value, $"{Kind}: invalid learning rate {value}; expected a finite value >= 0");
            _lr = value;
        }
    }

    /// <summary>Number of <see cref="Step"/> calls so far (restored by <see cref="LoadStateDict"/>).</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimized parameters with the names used in state dicts.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    /// <summary>
    /// When true (the default), contiguous parameters are updated by their backend's fused one-pass
    /// kernel (<see cref="OptimOps"/>); otherwise, and for non-contiguous operands, by a sequence of Tensor ops.
    /// </summary>
    internal bool UseFusedKernels { get; set; } = true;

    /// <summary>Updates every parameter that has a gradient, in place.</summary>
    /// <example><code>loss.Backward(); opt.Step(); opt.ZeroGrad();</code></example>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StepCount++;
        foreach (var s in _states)
        {
            var p = s.Parameter;
            var grad = p.Grad;
            if (!p.RequiresGrad || grad is null) continue;
            var data = p.Data;
            if (!Tensors.Shape.Equal(grad.Dims, data.Dims) || grad.DType != data.DType || grad.Device != data.Device)
                throw new InvalidOperationException(
                    $"{Kind}.step: parameter '{s.Name}' is {data.DType.Name()} {data.ShapeText} on {data.Device} but its gradient is {grad.DType.Name()} {grad.ShapeText} on {grad.Device}");
            s.Step++;
            FollowParameter(s, data.Device);
            Update(s, data, grad);
        }
    }

    // State tensors live with their parameter: after Module.To they move at the next step.
    private static void FollowParameter(ParamState s, Device device)
    {
        for (int k = 0; k < s.Buffers.Length; k++)
            if (s.Buffers[k] is { } b && b.Device != device)
            {
                s.Buffers[k] = b.To(device);
                b.Dispose();
            }
    }

    /// <summary>Moves the state tensors to <paramref name="device"/> now (they also follow their parameters by themselves).</summary>
    /// <example><code>model.To(Device.Sim()); opt.To(Device.Sim());</code></example>
    public Optimizer To(Device device)
    {
        foreach (var s in _states) FollowParameter(s, device);
        return this;
    }

    /// <summary>Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).</summary>
    /// <example><code>opt.ZeroGrad(); // every p.Grad is null now</code></example>
    public void ZeroGrad()
    {
        foreach (var s in _states) s.Parameter.ZeroGrad();
    }

    /// <summary>Applies this optimizer's rule to one parameter (its step counter is already advanced).</summary>
    /// <param name="state">The parameter's state: name, step count and state tensors.</param>
    /// <param name="param">The weights to update in place.</param>
    /// <param name="grad">The gradient (same shape, dtype and device as <paramref name="param"/>).</param>
    protected abstract void Update(ParamState state, Tensor param, Tensor grad);

    /// <summary>The hyperparameters saved alongside the state (informational; only "lr" is restored).</summary>
    protected virtual IEnumerable<KeyValuePair<string, double>> Hyperparameters() => [];

    /// <summary>
    /// The optimizer's state: tensors named "&lt;parameter&gt;.&lt;slot&gt;" (e.g. "fc.weight.exp_avg";
    /// the live tensors, not copies) and scalars "lr", "step_count", "&lt;parameter&gt;.step" plus the
    /// hyperparameters. Parameters that never stepped have no entries.
    /// </summary>
    /// <example><code>
    /// var state = opt.StateDict();
    /// foreach (var (name, t) in state.Tensors) Console.WriteLine($"{name} {t.ShapeText}");
    /// </code></example>
    public OptimizerState StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["lr"] = Lr,
            ["step_count"] = StepCount,
        };
        foreach (var kv in Hyperparameters()) scalars[kv.Key] = kv.Value;
        foreach (var s in _states)
        {
            if (s.Step == 0) continue;
            scalars[s.Name + ".step"] = s.Step;
            for (int k = 0; k < _stateNames.Length; k++)
                if (s.Buffers[k] is { } t) tensors.Add(new(s.Name + "." + _stateNames[k], t));
        }
        return new OptimizerState(Kind, tensors, scalars);
    }

    /// <summary>
    /// Restores state saved by <see cref="StateDict"/> (tensors are copied; the caller keeps
    /// ownership of <paramref name="state"/>). Everything is validated before anything changes:
    /// the kind must match, every tensor must belong to a known parameter and slot with the
    /// parameter's shape, and a parameter that stepped must have all its slots. Restores the
    /// learning rate, the step counts and the state tensors; parameters absent from the state start fresh.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not fit this optimizer (the message lists every problem by key).</exception>
    /// <example><code>
    /// using var resumed = new Adam(model, lr: 1e-3);
    /// resumed.LoadStateDict(saved.StateDict());
    /// </code></example>
    public void LoadStateDict(OptimizerState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        if (state.Kind != Kind) problems.Add($"state is for a {state.Kind} optimizer, this one is {Kind}");

        var byName = _states.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var steps = new Dictionary<string, long>(StringComparer.Ordinal);
        double lr = Lr;
        long stepCount = StepCount;
        var hyper = Hyperparameters().Select(h => h.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, value) in state.Scalars)
        {
            if (key == "lr")
            {
                if (!(value >= 0) || double.IsInfinity(value)) problems.Add($"'lr' is {value}; expected a finite value >= 0");
                else lr = value;
            }
            else if (key == "step_count")
            {
                if (!IsCount(value)) problems.Add($"'step_count' is {value}; expected a whole number >= 0");
                else stepCount = (long)value;
            }
            else if (key.EndsWith(".step", StringComparison.Ordinal))
            {
                string name = key[..^".step".Length];
                if (!byName.ContainsKey(name)) problems.Add($"'{key}': no parameter named '{name}'");
                else if (!IsCount(value)) problems.Add($"'{key}' is {value}; expected a whole number >= 0");
                else steps[name] = (long)value;
            }
            else if (!hyper.Contains(key)) problems.Add($"unexpected scalar '{key}'");
        }

        var loaded = new Dictionary<(string Name, int Slot), Tensor>();
        foreach (var (key, t) in state.Tensors)
        {
            int dot = key.LastIndexOf('.');
            string name = dot > 0 ? key[..dot] : key;
            string slot = dot > 0 ? key[(dot + 1)..] : "";
            int k = Array.IndexOf(_stateNames, slot);
            if (!byName.TryGetValue(name, out var s)) { problems.Add($"'{key}': no parameter named '{name}'"); continue; }
            if (k < 0)
            {
                problems.Add(_stateNames.Length == 0
                    ? $"'{key}': this {Kind} keeps no per-parameter tensors"
                    : $"'{key}': unknown state '{slot}' (expected {string.Join(", ", _stateNames)})");
                continue;
            }
            if (!Tensors.Shape.Equal(t.Dims, s.Parameter.Shape)) { problems.Add($"'{key}' has shape {t.ShapeText}, parameter '{name}' is {Tensors.Shape.Format(s.Parameter.Shape)}"); continue; }
            if (!t.DType.IsFloat()) { problems.Add($"'{key}' is {t.DType.Name()}; expected a float tensor"); continue; }
            loaded[(name, k)] = t;
        }
        foreach (var s in _states)
        {
            long step = steps.GetValueOrDefault(s.Name);
            for (int k = 0; k < _stateNames.Length; k++)
            {
                bool has = loaded.ContainsKey((s.Name, k));
                if (step > 0 && !has) problems.Add($"'{s.Name}.{_stateNames[k]}' is missing (parameter '{s.Name}' has taken {step} steps)");
                if (step == 0 && has) problems.Add($"'{s.Name}.{_stateNames[k]}' is present but '{s.Name}.step' is missing or 0");
            }
        }
        if (problems.Count > 0)
            throw new ArgumentException($"{Kind}.load_state_dict: {string.Join("; ", problems)}");

        // apply: build every new tensor first so a failure leaves the optimizer as it was
        var fresh = new Tensor?[_states.Length][];
        try
        {
            for (int i = 0; i < _states.Length; i++)
            {
                var s = _states[i];
                fresh[i] = new Tensor?[_stateNames.Length];
                for (int k = 0; k < _stateNames.Length; k++)
                    if (loaded.TryGetValue((s.Name, k), out var src)) fresh[i][k] = CopyLike(src, s.Parameter.Data);
            }
        }
        catch
        {
            foreach (var row in fresh) if (row != null) foreach (var t in row) t?.Dispose();
            throw;
        }
        for (int i = 0; i < _states.Length; i++)
        {
            var s = _states[i];
            s.Step = steps.GetValueOrDefault(s.Name);
            for (int k = 0; k < _stateNames.Length; k++)
            {
                s.Buffers[k]?.Dispose();
                s.Buffers[k] = fresh[i][k];
            }
        }
        Lr = lr;
        StepCount = stepCount;
    }

    private static bool IsCount(double v) => v >= 0 && v <= (1L << 53) && Math.Floor(v) == v;

    private static Tensor CopyLike(Tensor src, Tensor like)
    {
        var dst = Tensor.Empty(like.Dims, like.DType, like.Device);
        try
        {
            using var moved = src.To(like.Device);
            if (moved.DType == like.DType) dst.CopyFrom(moved);
            else
            {
                using var cast = moved.Cast(like.DType);
                dst.CopyFrom(cast);
            }
            return dst;
        }
        catch
        {
            dst.Dispose();
            throw;
        }
    }

    /// <summary>Frees the state tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _states)
            for (int k = 0; k < s.Buffers.Length; k++)
            {
                s.Buffers[k]?.Dispose();
                s.Buffers[k] = null;
            }
        GC.SuppressFinalize(this);
    }

    /// <summary>One parameter's optimizer state.</summary>
    /// <example><code>
    /// protected override void Update(ParamState s, Tensor p, Tensor g)
    /// {
    ///     var buf = s.Buffers[0] ??= Tensor.ZerosLike(p);
    /// }
    /// </code></example>
    protected sealed class ParamState
    {
        internal ParamState(string name, Parameter parameter, int slots)
        {
            Name = name;
            Parameter = parameter;
            Buffers = new Tensor?[slots];
        }

        /// <summary>The parameter's name in state dicts.</summary>
        public string Name { get; }

        /// <summary>The parameter.</summary>
        public Parameter Parameter { get; }

        /// <summary>How many updates this parameter has received (including the current one inside <see cref="Update"/>).</summary>
        public long Step { get; internal set; }

        /// <summary>The state tensors, one per slot name given to the constructor (null until created; owned by the optimizer).</summary>
        public Tensor?[] Buffers { get; }
    }
}

/// <summary>
/// An optimizer's saved state (see <see cref="Optimizer.StateDict"/>): its kind, state tensors
/// named "&lt;parameter&gt;.&lt;slot&gt;" and scalars (learning rate, step counts, hyperparameters).
/// </summary>
/// <param name="Kind">The optimizer class ("Sgd", "Adam", "AdamW").</param>
/// <param name="Tensors">State tensors by name, e.g. "fc.weight.momentum_buffer".</param>
/// <param name="Scalars">"lr", "step_count", "&lt;parameter&gt;.step" and the hyperparameters.</param>
/// <example><code>
/// var state = new OptimizerState("Sgd", [], new Dictionary&lt;string, double&gt; { ["lr"] = 0.1, ["step_count"] = 0 });
/// </code></example>
public sealed record OptimizerState(string Kind, IReadOnlyList<KeyValuePair<string, Tensor>> Tensors, IReadOnlyDictionary<string, double> Scalars);
