using System.Diagnostics.CodeAnalysis;
using Xunit.Abstractions;
using Xunit.Sdk;

// [BackendTheory] supplies the BackendCase column itself (BackendTheoryDiscoverer), which xunit's analyzers cannot
// see: a test with no data attribute is not missing its data, and the data rows have one value fewer than the method
// has parameters. Suppressed only in the classes whose tests are backend theories.
[assembly: SuppressMessage("Usage", "xUnit1003", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.BackendOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1009", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.BackendOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1010", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.BackendOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1037", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.BackendOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1003", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.HandCheckedOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1009", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.HandCheckedOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1010", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.HandCheckedOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1037", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.HandCheckedOpTests")]
[assembly: SuppressMessage("Usage", "xUnit1003", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.FixtureTests")]
[assembly: SuppressMessage("Usage", "xUnit1009", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.FixtureTests")]
[assembly: SuppressMessage("Usage", "xUnit1010", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.FixtureTests")]
[assembly: SuppressMessage("Usage", "xUnit1037", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.FixtureTests")]
[assembly: SuppressMessage("Usage", "xUnit1003", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ViewTests")]
[assembly: SuppressMessage("Usage", "xUnit1009", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ViewTests")]
[assembly: SuppressMessage("Usage", "xUnit1010", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ViewTests")]
[assembly: SuppressMessage("Usage", "xUnit1037", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ViewTests")]
[assembly: SuppressMessage("Usage", "xUnit1003", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ErrorMessageTests")]
[assembly: SuppressMessage("Usage", "xUnit1009", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ErrorMessageTests")]
[assembly: SuppressMessage("Usage", "xUnit1010", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ErrorMessageTests")]
[assembly: SuppressMessage("Usage", "xUnit1037", Justification = "[BackendTheory] supplies the BackendCase column", Scope = "type", Target = "~T:VecQ.Tensors.Tests.ErrorMessageTests")]

namespace VecQ.Tensors.Tests;

/// <summary>
/// One column of the op suite (as Candle's <c>test_device!</c>): the backend an op test runs on and how its
/// input tensors are made. <c>reference</c> and <c>cpu</c> make CPU tensors and run them under
/// <c>Backend.Use(Backend.Reference / Backend.Cpu)</c>; <c>sim</c> makes its tensors on <c>Device.Sim(0)</c>
/// (whose kernels are the CPU backend's); <c>cuda</c> makes them on <c>Device.Cuda(0)</c> and is reported as
/// Skipped while no CUDA backend is registered. A test is written once, takes a <see cref="BackendCase"/> as its
/// first parameter and is marked <see cref="BackendTheoryAttribute"/>, which adds the column to every data row.
/// The CUDA column runs as soon as a CUDA backend is registered in the test process (<c>Backend.Register(DeviceKind.Cuda, …)</c>,
/// e.g. from a module initializer) and can start: nothing in the tests changes.
/// </summary>
/// <example><code>
/// [BackendTheory]
/// public void ExpMatches(BackendCase b) =&gt; OpCheck.Same(b, "exp", d =&gt; { using var x = d.Rand(1, 3, 5); return x.Exp(); });
/// </code></example>
public sealed class BackendCase : IXunitSerializable
{
    /// <summary>The columns, in the order each data row is run.</summary>
    public static readonly string[] Names = ["reference", "cpu", "sim", "cuda"];

    private string _name = "";

    /// <summary>For xunit's deserializer only; use <see cref="Get"/>.</summary>
    public BackendCase() { }

    private BackendCase(string name) { _name = name; }

    /// <summary>The column called <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public static BackendCase Get(string name)
    {
        if (!Names.Contains(name)) throw new ArgumentException($"backend case '{name}': expected one of {string.Join(", ", Names)}", nameof(name));
        return new BackendCase(name);
    }

    /// <summary>The column every result is compared against: the reference backend on the CPU.</summary>
    public static BackendCase Reference { get; } = new("reference");

    /// <summary>The column's name.</summary>
    public string Name => _name;

    /// <summary>True for the reference column (whose results are the expected ones).</summary>
    public bool IsReference => _name == "reference";

    /// <summary>The device the column's tensors live on.</summary>
    public Device Device => _name switch
    {
        "reference" or "cpu" => Device.Cpu,
        "sim" => Device.Sim(0),
        "cuda" => Device.Cuda(0),
        _ => throw new InvalidOperationException("BackendCase was not initialised (use BackendCase.Get)"),
    };

    /// <summary>The backend that runs CPU-device tensors in this column (and the simulated device's kernels).</summary>
    public IBackend Kernels => IsReference ? VecQ.Tensors.Backend.Reference : VecQ.Tensors.Backend.Cpu;

    /// <summary>The backend the ops on this column's float32 tensors dispatch to.</summary>
    public IBackend Backend
    {
        get
        {
            EnsureAvailable();
            return Device.Kind == DeviceKind.Cpu ? Kernels : VecQ.Tensors.Backend.For(Device);
        }
    }

    /// <summary>Why this column cannot run here (null when it can): the CUDA column without a CUDA backend.</summary>
    public string? SkipReason
    {
        get
        {
            if (Device.Kind != DeviceKind.Cuda) return null;
            try
            {
                VecQ.Tensors.Backend.For(Device);
                return null;
            }
            catch (InvalidOperationException e)
            {
                return $"cuda column: no CUDA backend is registered in this build ({e.Message})";
            }
            catch (Exception e)
            {
                return $"cuda column: the CUDA backend cannot start here ({e.GetType().Name}: {e.Message})";
            }
        }
    }

    /// <summary>Throws when the column cannot run (a cuda row that was not skipped fails, it never passes).</summary>
    public void EnsureAvailable()
    {
        if (SkipReason is { } why) throw new InvalidOperationException($"{why}; this row should have been reported as Skipped");
    }

    /// <summary>Selects the column's backend for CPU tensors until disposed (for the sim column: the CPU backend as its kernels).</summary>
    public IDisposable Enter()
    {
        EnsureAvailable();
        return VecQ.Tensors.Backend.Use(Kernels);
    }

    // ---- input tensors on the column's device ----------------------------------------------------

    /// <summary>A float32 tensor of deterministic values in [−1, 1) (0-d when no shape is given), on this device.</summary>
    public Tensor Rand(int seed, params int[] shape) => Tensor.FromArray(TestUtil.Values(Shape.Numel(shape), seed), shape, Device);

    /// <summary>An int32 tensor of deterministic values in [0, n), on this device.</summary>
    public Tensor RandInt(int seed, int n, params int[] shape)
    {
        var r = new Random(seed);
        var v = new int[Shape.Numel(shape)];
        for (int i = 0; i < v.Length; i++) v[i] = r.Next(n);
        return Tensor.FromArray(v, shape, Device);
    }

    /// <summary>A float32 tensor from values (1-D when no shape is given), on this device.</summary>
    public Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape, Device);

    /// <summary>A float64 tensor from values (1-D when no shape is given), on this device.</summary>
    public Tensor T(double[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape, Device);

    /// <summary>An int32 tensor from values (1-D when no shape is given), on this device.</summary>
    public Tensor T(int[] data, params int[] shape) => Tensor.FromArray(data, shape.Length == 0 ? [data.Length] : shape, Device);

    /// <summary>A float32 tensor holding a PyTorch fixture tensor, on this device.</summary>
    public Tensor T(FixtureTensor f) => Tensor.FromArray(f.Data, f.Shape, Device);

    /// <summary>Values 0, 1, …, n−1 as float32 in the given shape, on this device.</summary>
    public Tensor Iota(params int[] shape) => Tensor.FromArray(Enumerable.Range(0, Shape.Numel(shape)).Select(i => (float)i).ToArray(), shape, Device);

    /// <summary>Zeros on this device.</summary>
    public Tensor Zeros(int[] shape, DType dtype = DType.Float32) => Tensor.Zeros(shape, dtype, Device);

    /// <summary>Ones on this device.</summary>
    public Tensor Ones(int[] shape, DType dtype = DType.Float32) => Tensor.Ones(shape, dtype, Device);

    /// <summary>A constant tensor on this device.</summary>
    public Tensor Full(int[] shape, double value, DType dtype = DType.Float32) => Tensor.Full(shape, value, dtype, Device);

    /// <summary>A 0-d tensor on this device.</summary>
    public Tensor Scalar(double value, DType dtype = DType.Float32) => Tensor.Scalar(value, dtype, Device);

    /// <summary>An uninitialised tensor on this device.</summary>
    public Tensor Empty(int[] shape, DType dtype = DType.Float32) => Tensor.Empty(shape, dtype, Device);

    /// <summary><paramref name="host"/> moved to this device (the host tensor is disposed; returned as is when already here).</summary>
    public Tensor Put(Tensor host)
    {
        if (host.Device == Device) return host;
        using (host) return host.To(Device);
    }

    // ---- xunit ---------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Serialize(IXunitSerializationInfo info) => info.AddValue("name", _name);

    /// <inheritdoc/>
    public void Deserialize(IXunitSerializationInfo info) => _name = info.GetValue<string>("name");

    /// <inheritdoc/>
    public override string ToString() => _name;
}

/// <summary>
/// A theory run once per <see cref="BackendCase"/> column for each data row (no data attribute: once per column).
/// The method's first parameter is the <see cref="BackendCase"/>; the data rows supply the others and must be
/// serializable (so each column is its own test case). A column that cannot run here is reported as Skipped with
/// its reason, never as Passed.
/// </summary>
[XunitTestCaseDiscoverer("VecQ.Tensors.Tests.BackendTheoryDiscoverer", "VecQ.Tensor.Tests")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BackendTheoryAttribute : TheoryAttribute;

/// <summary>Expands every data row of a <see cref="BackendTheoryAttribute"/> into one test case per backend column.</summary>
public sealed class BackendTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    /// <inheritdoc/>
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute)
    {
        var parameters = testMethod.Method.GetParameters().ToArray();
        if (parameters.Length == 0 || parameters[0].ParameterType.Name != typeof(BackendCase).FullName)
            return [Error(discoveryOptions, testMethod, $"[BackendTheory] {testMethod.Method.Name}: the first parameter must be a {nameof(BackendCase)}")];
        if (theoryAttribute.GetNamedArgument<string>("Skip") is null && !testMethod.Method.GetCustomAttributes(typeof(DataAttribute)).Any())
            return CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, []);
        return base.Discover(discoveryOptions, testMethod, theoryAttribute);
    }

    /// <inheritdoc/>
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute, object[] dataRow)
    {
        foreach (var name in BackendCase.Names)
        {
            var b = BackendCase.Get(name);
            object[] row = [b, .. dataRow];
            var cases = b.SkipReason is { } why
                ? base.CreateTestCasesForSkippedDataRow(discoveryOptions, testMethod, theoryAttribute, row, why)
                : base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, row);
            foreach (var c in cases) yield return c;
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForSkippedDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute, object[] dataRow, string skipReason) =>
        BackendCase.Names.SelectMany(name =>
            base.CreateTestCasesForSkippedDataRow(discoveryOptions, testMethod, theoryAttribute, [BackendCase.Get(name), .. dataRow], skipReason));

    /// <inheritdoc/>
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForTheory(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod,
        IAttributeInfo theoryAttribute) =>
        // reached when the rows cannot be enumerated at discovery (data not serializable, or pre-enumeration off): each
        // column could not be its own case, and a cuda row could not be skipped; fail instead of running without the column
        [Error(discoveryOptions, testMethod,
            $"[BackendTheory] {testMethod.TestClass.Class.Name}.{testMethod.Method.Name}: every data row must be serializable (primitives, arrays, enums "
            + "or IXunitSerializable) and theories pre-enumerated, so that each backend column is its own test case")];

    private ExecutionErrorTestCase Error(ITestFrameworkDiscoveryOptions o, ITestMethod m, string message) =>
        new(DiagnosticMessageSink, o.MethodDisplayOrDefault(), o.MethodDisplayOptionsOrDefault(), m, message);
}
