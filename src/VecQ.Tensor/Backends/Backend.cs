using VecQ.Tensors.Backends.Cpu;

namespace VecQ.Tensors;

/// <summary>
/// Picks the backend for a device. The CPU device runs on <see cref="Cpu"/> (SIMD, threaded) unless
/// a scope selects another one, e.g. the scalar <see cref="Reference"/> backend in tests and
/// gradient checks. Float64 tensors run on the reference backend (the fast one is float32 only), except
/// the fused optimizer kernels of <see cref="OptimOps"/>, which pick by device and run float64 on the CPU backend too.
/// A CUDA backend registers itself with <see cref="Register"/>; nothing here names it.
/// </summary>
/// <example><code>
/// using (Backend.Use(Backend.Reference)) { var y = x.Exp(); } // computed by scalar loops
/// </code></example>
public static class Backend
{
    private static readonly AsyncLocal<IBackend?> CpuOverride = new();
    private static readonly Dictionary<DeviceKind, Func<Device, IBackend>> Registered = new();

    /// <summary>The scalar reference backend: the readable definition of every op.</summary>
    public static IBackend Reference { get; } = new ReferenceBackend();

    /// <summary>The SIMD, multi-threaded CPU backend.</summary>
    public static IBackend Cpu { get; } = new CpuBackend();

    /// <summary>The backend that runs ops on <paramref name="device"/> in the current scope.</summary>
    public static IBackend For(Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return CpuOverride.Value ?? Cpu;
        if (device.Kind == DeviceKind.Sim) return SimBackend.For(device.Index);
        Func<Device, IBackend>? make;
        lock (Registered) Registered.TryGetValue(device.Kind, out make);
        if (make == null && device.Kind == DeviceKind.Cuda && RegisterCudaAssembly()) lock (Registered) Registered.TryGetValue(device.Kind, out make);
        if (make != null) return make(device);
        throw new InvalidOperationException(device.Kind == DeviceKind.Cuda
            ? $"device {device}: no CUDA backend is available (the VecQ.Cuda assembly is not beside the application, or a trimmed app did not call CudaBackend.Register()); use 'cpu' or 'sim'"
            : $"device {device}: no {device.Kind} backend is registered");
    }

    // The CUDA backend lives in its own assembly, loaded only when a CUDA device is first asked for: VecQ.Cuda's
    // CudaBackend.Register() is found by name (nothing here references it). False when the assembly is not beside the
    // application; a trimmed app that wants the GPU calls CudaBackend.Register() itself (the trimmer cannot see this lookup).
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2057", Justification = "an optional assembly found by name; trimmed apps register it explicitly")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "as above")]
    private static bool RegisterCudaAssembly()
    {
        Type? type;
        try { type = Type.GetType("VecQ.Cuda.CudaBackend, VecQ.Cuda", throwOnError: false); }
        catch (FileNotFoundException) { return false; }
        catch (Exception e) when (e is FileLoadException or BadImageFormatException)
        {
            throw new InvalidOperationException($"the VecQ.Cuda assembly beside the application could not be loaded: {e.Message}", e);
        }
        var register = type?.GetMethod("Register", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static, Type.EmptyTypes);
        if (register == null) return false;
        register.Invoke(null, null);
        return true;
    }

    /// <summary>Live bytes, peak and allocation counts of <paramref name="device"/>.</summary>
    /// <example><code>long live = Backend.MemoryStats(Device.Sim()).LiveBytes;</code></example>
    public static MemoryStats MemoryStats(Device device) => For(device).MemoryStats;

    /// <summary>Starts a new peak measurement on <paramref name="device"/>.</summary>
    /// <example><code>Backend.ResetPeakMemory(Device.Cpu);</code></example>
    public static void ResetPeakMemory(Device device) => For(device).ResetPeakMemory();

    /// <summary>Host↔device traffic of <paramref name="device"/> so far (zero for the CPU).</summary>
    /// <example><code>var t = Backend.Transfers(Device.Sim()); Console.WriteLine($"{t.Calls} transfers, {t.Bytes} bytes");</code></example>
    public static TransferStats Transfers(Device device) => For(device).Transfers;

    /// <summary>Waits for every operation issued on <paramref name="device"/> (no-op on the CPU).</summary>
    /// <example><code>Backend.Synchronize(Device.Sim());</code></example>
    public static void Synchronize(Device device) => For(device).Synchronize();

    /// <summary>The backend for an op over <paramref name="t"/> (dtype-aware: float64 on the CPU → reference).</summary>
    public static IBackend For(Tensor t) =>
        t.Device.Kind == DeviceKind.Cpu && t.DType == DType.Float64 ? Reference : For(t.Device);

    /// <summary>Runs CPU ops on <paramref name="backend"/> until the returned scope is disposed.</summary>
    public static IDisposable Use(IBackend backend)
    {
        var previous = CpuOverride.Value;
        CpuOverride.Value = backend;
        return new Scope(() => CpuOverride.Value = previous);
    }

    /// <summary>Registers the factory of a device kind's backend (used by VecQ.Cuda).</summary>
    public static void Register(DeviceKind kind, Func<Device, IBackend> factory)
    {
        lock (Registered) Registered[kind] = factory;
    }

    private sealed class Scope(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() { _undo?.Invoke(); _undo = null; }
    }
}

/// <summary>Thread count used by the CPU backend (default: all cores).</summary>
/// <example><code>Parallelism.Threads = 1; // single-threaded kernels</code></example>
public static class Parallelism
{
    private static int _threads = Environment.ProcessorCount;

    /// <summary>Number of worker threads the CPU kernels may use (≥ 1).</summary>
    public static int Threads
    {
        get => _threads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "thread count must be >= 1");
            _threads = value;
        }
    }

    /// <summary>
    /// Runs body(i) for i in [0, count) over at most <see cref="Threads"/> threads (the CPU backend's own
    /// worker threads; called from inside such a body, it runs the items one after another).
    /// </summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || _threads == 1) { for (int i = 0; i < count; i++) body(i); return; }
        WorkerPool.For(count, Math.Min(count, _threads), (_, i) => body(i));
    }

    /// <summary>Splits [0, length) into about <see cref="Threads"/> chunks of at least <paramref name="minChunk"/> and runs body(start, end) on each.</summary>
    public static void ForRange(int length, int minChunk, Action<int, int> body)
    {
        int chunks = Math.Clamp(length / Math.Max(minChunk, 1), 1, _threads);
        if (chunks == 1) { body(0, length); return; }
        int per = (length + chunks - 1) / chunks;
        WorkerPool.For(chunks, chunks, (_, c) => body(c * per, Math.Min(length, (c + 1) * per)));
    }
}
