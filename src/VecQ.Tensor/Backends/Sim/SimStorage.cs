namespace VecQ.Tensors;

/// <summary>
/// Storage of the simulated accelerator: a private host block that nothing but <see cref="SimBackend"/>
/// can reach (no pointer, no span: the host sees its contents only through Upload/Download, which are
/// counted). Released by Dispose; a storage that was never released is handed by its finalizer to the
/// backend's deferred-free queue, as a GPU backend must do (its context may be gone by then).
/// </summary>
/// <example><code>using var t = Tensor.Zeros([3], device: Device.Sim()); bool sim = t.Storage is SimStorage; // true</code></example>
public sealed class SimStorage : Storage
{
    private readonly SimBackend _owner;

    internal SimStorage(SimBackend owner, CpuStorage inner) : base(owner.Device, inner.DType, inner.Length)
    {
        _owner = owner;
        Inner = inner;
    }

    /// <summary>The private block (the backend's only).</summary>
    internal CpuStorage Inner { get; }

    /// <inheritdoc/>
    protected override void Free() => Inner.Release();

    /// <summary>Safety net: the block goes to the backend's deferred-free queue, freed at its next allocation or sync.</summary>
    ~SimStorage() { _owner.DeferFree(Inner); }
}
