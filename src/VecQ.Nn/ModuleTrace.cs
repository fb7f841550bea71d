using VecQ.Autograd;

namespace VecQ.Nn;

/// <summary>
/// Records which layers a forward pass ran and the shape each produced (Keras's summary, PyTorch's forward
/// hooks for that purpose): while a trace is active (per async flow), every built-in layer reports its output
/// through <see cref="Module.Traced"/>. Layers a model runs as plain functions (a ReLU through
/// <c>Functions.Relu</c>) are not modules and do not appear.
/// </summary>
/// <example><code>
/// using (var trace = ModuleTrace.Begin()) { model.Forward(x); foreach (var (m, shape) in trace.Calls) Console.WriteLine($"{m.GetType().Name} {Shape.Format(shape)}"); }
/// </code></example>
public sealed class ModuleTrace : IDisposable
{
    private static readonly AsyncLocal<ModuleTrace?> CurrentTrace = new();
    private readonly ModuleTrace? _outer;
    private readonly List<(Module Module, int[] Shape)> _calls = new();

    private ModuleTrace(ModuleTrace? outer) { _outer = outer; }

    /// <summary>Starts recording until disposed.</summary>
    public static ModuleTrace Begin()
    {
        var t = new ModuleTrace(CurrentTrace.Value);
        CurrentTrace.Value = t;
        return t;
    }

    /// <summary>The layers in the order they produced their outputs, with the output shapes.</summary>
    public IReadOnlyList<(Module Module, int[] Shape)> Calls => _calls;

    internal static void Record(Module m, Variable y) => CurrentTrace.Value?._calls.Add((m, (int[])y.Shape.Clone()));

    /// <summary>Stops recording.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(CurrentTrace.Value, this)) CurrentTrace.Value = _outer;
    }
}
