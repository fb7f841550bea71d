using VecQ.Tensors;
using static VecQ.Autograd.Tests.TestUtil;

namespace VecQ.Autograd.Tests;

public class ElementwiseGradTests
{
    // (a shape, b shape) pairs: equal, broadcast on either side, rank-extending, scalar.
    public static TheoryData<int[], int[]> BroadcastPairs => new()
    {
        { [3, 4], [3, 4] },
        { [3, 4], [4] },
        { [2, 1, 4], [3, 1] },
        { [1], [2, 3] },
        { [], [2, 3] },
        { [5, 1, 3], [5, 2, 1] },
    };

    [Theory, MemberData(nameof(BroadcastPairs))]
    public void Add(int[] sa, int[] sb) => Check(v => Functions.Add(v[0], v[1]), RandN(sa, 1), RandN(sb, 2));

    [Theory, MemberData(nameof(BroadcastPairs))]
    public void Sub(int[] sa, int[] sb) => Check(v => Functions.Sub(v[0], v[1]), RandN(sa, 3), RandN(sb, 4));

    [Theory, MemberData(nameof(BroadcastPairs))]
    public void Mul(int[] sa, int[] sb) => Check(v => Functions.Mul(v[0], v[1]), RandN(sa, 5), RandN(sb, 6));

    [Theory, MemberData(nameof(BroadcastPairs))]
    public void Div(int[] sa, int[] sb) => Check(v => Functions.Div(v[0], v[1]), RandN(sa, 7), Rand(sb, 8, 0.5, 2));

    [Theory, MemberData(nameof(BroadcastPairs))]
    public void MaximumAndMinimum(int[] sa, int[] sb)
    {
        Check(v => Functions.Maximum(v[0], v[1]), RandN(sa, 9), RandN(sb, 10));
        Check(v => Functions.Minimum(v[0], v[1]), RandN(sa, 11), RandN(sb, 12));
    }

    // Seeded random broadcast-compatible pairs: rank 1–4, sizes 1–4, each dimension of either side
    // possibly 1, and possibly a shorter rank on one side (8 distinct pairs).
    public static TheoryData<int[], int[]> RandomPairs()
    {
        var rnd = new Random(2024);
        var data = new TheoryData<int[], int[]>();
        var seen = new HashSet<string>();
        while (seen.Count < 8)
        {
            int rank = rnd.Next(1, 5);
            var full = Enumerable.Range(0, rank).Select(_ => rnd.Next(1, 5)).ToArray();
            int[] Side() => full.Skip(rnd.Next(0, rank)).Select(d => rnd.Next(3) == 0 ? 1 : d).ToArray();
            int[] a = Side(), b = Side();
            if (seen.Add(Shape.Format(a) + Shape.Format(b))) data.Add(a, b);
        }
        return data;
    }

    [Theory, MemberData(nameof(RandomPairs))]
    public void RandomBroadcastShapes(int[] sa, int[] sb)
    {
        Check(v => Functions.Add(v[0], v[1]), RandN(sa, 50), RandN(sb, 51));
        Check(v => Functions.Mul(v[0], v[1]), RandN(sa, 52), RandN(sb, 53));
        Check(v => Functions.Div(v[0], v[1]), RandN(sa, 54), Rand(sb, 55, 0.5, 2));
    }

    [Fact]
    public void SameVariableOnBothSides() => Check(v => Functions.Mul(v[0], v[0]), RandN([3, 2], 13));

    [Fact]
    public void Operators() => Check(v => (v[0] * v[1] - v[0] / 2.0 + 3.0 * v[1] - (1.0 - v[0]) / v[1]).Sum(), RandN([2, 3], 14), Rand([3], 15, 0.5, 2));

    [Fact]
    public void Neg() => Check(v => Functions.Neg(v[0]), RandN([4, 3], 20));

    [Fact]
    public void Exp() => Check(v => Functions.Exp(v[0]), RandN([4, 3], 21));

    [Fact]
    public void Log() => Check(v => Functions.Log(v[0]), Rand([4, 3], 22, 0.2, 3));

    [Fact]
    public void Sqrt() => Check(v => Functions.Sqrt(v[0]), Rand([4, 3], 23, 0.2, 3));

    [Theory]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(0.5)]
    [InlineData(-1.5)]
    public void Pow(double p) => Check(v => Functions.Pow(v[0], p), Rand([3, 4], 24, 0.3, 2));

    [Fact]
    public void Abs() => Check(v => Functions.Abs(v[0]), RandN([5, 4], 25));

    [Fact]
    public void Relu() => Check(v => Functions.Relu(v[0]), RandN([5, 4], 26));

    [Fact]
    public void Relu6() => Check(v => Functions.Relu6(v[0]), RandN([6, 5], 27, std: 5));

    [Fact]
    public void Sigmoid() => Check(v => Functions.Sigmoid(v[0]), RandN([4, 3], 28, std: 2));

    [Fact]
    public void Tanh() => Check(v => Functions.Tanh(v[0]), RandN([4, 3], 29, std: 2));

    [Fact]
    public void Clamp() => Check(v => Functions.Clamp(v[0], -0.5, 0.8), RandN([6, 5], 30));

    [Fact]
    public void ScalarOps()
    {
        Check(v => Functions.Add(v[0], 2.5), RandN([3, 2], 31));
        Check(v => Functions.Sub(v[0], 2.5), RandN([3, 2], 32));
        Check(v => Functions.Sub(2.5, v[0]), RandN([3, 2], 33));
        Check(v => Functions.Mul(v[0], -1.7), RandN([3, 2], 34));
        Check(v => Functions.Div(v[0], 4.0), RandN([3, 2], 35));
        Check(v => Functions.Div(3.0, v[0]), Rand([3, 2], 36, 0.5, 2));
    }

    [Fact]
    public void WhereMask()
    {
        using var _ = Reference();
        using var probe = RandN([4, 3], 37);
        using var mask = probe.Gt(0); // float64 0/1 mask, a constant
        Check(v => Functions.Where(mask, v[0], v[1]), RandN([4, 3], 38), RandN([3], 39));
    }

    [Fact]
    public void ChainOfUnaryOps() =>
        Check(v => Functions.Tanh(Functions.Mul(Functions.Sigmoid(v[0]), Functions.Exp(Functions.Neg(v[1])))), RandN([3, 3], 40), RandN([3, 3], 41));
}
