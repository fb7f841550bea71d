using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>Helpers for keeping tensors past their owner's lifetime.</summary>
internal static class Saved
{
    /// <summary>A new view of <paramref name="t"/> holding its own storage reference (no copy).</summary>
    public static Tensor NewRef(Tensor t) => t.Expand(t.Dims);
}
