namespace VecQ.Tensors.Tests;

public partial class BackendOpTests
{
    /// <summary>Tensor.CopyTo into a longer host span gives ToArray's elements (contiguous and a transposed view) and leaves the rest alone.</summary>
    [BackendTheory]
    public void CopyToMatchesToArray_OnContiguousAndStridedTensors(BackendCase b)
    {
        using var scope = b.Enter();
        using var x = b.Rand(7, 5, 13);                     // [5, 13]
        using var t = x.Transpose(0, 1);                    // [13, 5], strided
        foreach (var v in new[] { x, t })
        {
            var buf = Enumerable.Repeat(-7f, v.Numel + 3).ToArray();
            v.CopyTo<float>(buf);
            Assert.Equal(v.ToArray(), buf[..v.Numel]);
            Assert.All(buf[v.Numel..], f => Assert.Equal(-7f, f));
        }
        var e = Assert.Throws<ArgumentException>(() => x.CopyTo<float>(new float[64]));
        Assert.Contains("copy_to", e.Message);
        Assert.Contains("[5, 13]", e.Message);
        Assert.Contains("copy_to", Assert.Throws<ArgumentException>(() => x.CopyTo<int>(new int[65])).Message);
    }
}
