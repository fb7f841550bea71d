using static VecQ.Tensors.Tests.OpCheck;

namespace VecQ.Tensors.Tests;

// Elementwise ops, where, fill, copy, cast and host transfer on every backend column.
public partial class BackendOpTests
{
    public static TheoryData<string> UnaryNames =>
        ["neg", "exp", "log", "sqrt", "abs", "sign", "relu", "relu6", "sigmoid", "tanh", "round", "clamp", "pow2", "pow3", "pow_half", "affine"];

    private static Tensor ApplyUnary(string name, Tensor x)
    {
        switch (name)
        {
            case "neg": return x.Neg();
            case "exp": return x.Exp();
            case "abs": return x.Abs();
            case "sign": return x.Sign();
            case "relu": return x.Relu();
            case "sigmoid": return x.Sigmoid();
            case "tanh": return x.Tanh();
            case "clamp": return x.Clamp(-0.3, 0.45);
            case "pow2": return x.Pow(2);
            case "pow3": return x.Pow(3);
            case "affine": return x.Map(new Affine(-1.5, 0.25));
            case "relu6":
            {
                using var big = x * 9.0; // spans both clip points
                return big.Relu6();
            }
            case "round":
            {
                using var big = x * 7.0;
                return big.Round();
            }
            default:
            {
                // positive-domain functions
                using var a = x.Abs();
                using var p = a + 0.1;
                return name switch { "log" => p.Log(), "sqrt" => p.Sqrt(), _ => p.Pow(0.5) };
            }
        }
    }

    [BackendTheory]
    [MemberData(nameof(UnaryNames))]
    public void UnaryMatchesReferenceOnEveryLayout(BackendCase b, string name)
    {
        int seed = 1;
        foreach (var shape in Shapes)
            foreach (var (layout, make) in Layouts(seed++, shape))
                Same(b, $"{name} {Shape.Format(shape)} {layout}", d =>
                {
                    using var x = make(d);
                    return ApplyUnary(name, x);
                });
    }

    [BackendTheory]
    public void RoundTiesGoToEven(BackendCase b)
    {
        Same(b, "round ties", d => { using var x = d.T([-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f, -0f]); return x.Round(); }, 0, 0);
    }

    public static TheoryData<string> BinaryNames => ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "relu_grad"];

    private static Tensor ApplyBinary(string name, Tensor a, Tensor b) => name switch
    {
        "add" => a + b,
        "sub" => a - b,
        "mul" => a * b,
        "div" => a / b,
        "pow" => PositivePow(a, b),
        "maximum" => a.Maximum(b),
        "minimum" => a.Minimum(b),
        "eq" => RoundedCompare(a, b, (p, q) => p.Eq(q)),
        "ne" => RoundedCompare(a, b, (p, q) => p.Ne(q)),
        "lt" => a.Lt(b),
        "le" => RoundedCompare(a, b, (p, q) => p.Le(q)),
        "gt" => a.Gt(b),
        "relu_grad" => Tensor.Zip(new ReluGrad(), a, b),
        _ => RoundedCompare(a, b, (p, q) => p.Ge(q)),
    };

    private static Tensor PositivePow(Tensor a, Tensor b)
    {
        using var m = a.Abs();
        using var p = m + 0.2;
        using var e = b * 3.0;
        return p.Pow(e);
    }

    // comparisons of rounded values, so equality actually happens
    private static Tensor RoundedCompare(Tensor a, Tensor b, Func<Tensor, Tensor, Tensor> cmp)
    {
        using var a4 = a * 2.0;
        using var b4 = b * 2.0;
        using var ar = a4.Round();
        using var br = b4.Round();
        return cmp(ar, br);
    }

    /// <summary>(a shape, b shape) pairs: equal, row broadcast, channel broadcast, scalars on either side, outer product, leading broadcast.</summary>
    public static TheoryData<int[], int[]> BroadcastPairs => new()
    {
        { [7], [7] },
        { [5, 11], [5, 11] },
        { [6, 9], [9] },
        { [4, 3, 5, 7], [3, 1, 1] },
        { [3, 4], [] },
        { [], [2, 5] },
        { [1], [1] },
        { [3, 1], [1, 4] },
        { [2, 1, 5], [3, 1] },
        { [1, 13, 1], [17, 1, 1] },
        { [180, 190], [190] },
        { [64, 32, 6, 6], [32, 1, 1] },
        { [300, 200], [] },
        { [200, 1], [1, 250] },
    };

    [BackendTheory]
    [MemberData(nameof(BroadcastPairs))]
    public void BinaryOpsMatchReferenceWithBroadcasting(BackendCase b, int[] sa, int[] sb)
    {
        foreach (string name in new[] { "add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt", "ge" })
            Same(b, $"{name} {Shape.Format(sa)} {Shape.Format(sb)}", d =>
            {
                using var x = d.Rand(11, sa);
                using var y = d.Rand(12, sb);
                return ApplyBinary(name, x, y);
            });
    }

    [BackendTheory]
    [MemberData(nameof(BinaryNames))]
    public void BinaryOpsMatchReferenceOnStridedViews(BackendCase b, string name)
    {
        int seed = 100;
        foreach (var shape in Shapes)
        {
            var la = Layouts(seed++, shape).ToArray();
            var lb = Layouts(seed++, shape).ToArray();
            for (int i = 0; i < la.Length; i++)
            {
                var (na, ma) = la[i];
                var (nb, mb) = lb[(i + 1) % lb.Length];
                Same(b, $"{name} {Shape.Format(shape)} {na} × {nb}", d =>
                {
                    using var x = ma(d);
                    using var y = mb(d);
                    return ApplyBinary(name, x, y);
                });
            }
        }
    }

    [BackendTheory]
    public void BinaryScalarOverloadsMatch(BackendCase b)
    {
        foreach (var (what, op) in new (string, Func<Tensor, Tensor, Tensor>)[]
        {
            ("s - x", (x, _) => 2.0 - x),
            ("s / x", (_, xt) => 1.0 / xt),
            ("x - s", (_, xt) => xt - 0.5),
            ("x * s", (x, _) => x * 3.0),
            ("s + x", (_, xt) => 0.25 + xt),
        })
            Same(b, what, d =>
            {
                using var x = d.Rand(5, 37, 41);
                using var xt = x.T();
                return op(x, xt);
            });
    }

    [BackendTheory]
    public void WhereMatchesReferenceWithBroadcasting(BackendCase b)
    {
        Same(b, "where same shape", d =>
        {
            using var x = d.Rand(1, 9, 13);
            using var c = x.Gt(0);
            using var y = d.Rand(2, 9, 13);
            return Tensor.Where(c, x, y);
        });
        Same(b, "where broadcast", d =>
        {
            using var c0 = d.Rand(3, 1, 13);
            using var c = c0.Gt(0.1);
            using var x = d.Rand(4, 7, 1);
            using var y = d.Scalar(-5);
            return Tensor.Where(c, x, y);
        });
        Same(b, "where strided big", d =>
        {
            using var x = d.Rand(5, 257, 181);
            using var xt = x.T();
            using var c = xt.Lt(0);
            using var y0 = d.Rand(6, 181, 257);
            return Tensor.Where(c, xt, y0);
        });
        Same(b, "where stepped", d =>
        {
            using var x = d.Rand(7, 21, 10);
            using var s = x.Slice(0, 0, 21, 3);
            using var c = s.Ge(0);
            using var z = d.Zeros([10]);
            return Tensor.Where(c, z, s);
        });
    }

    [BackendTheory]
    public void ComparisonsAndReluGradHandleSpecialValuesLikeTheReference(BackendCase b)
    {
        // 37 elements: vector bodies and scalar tails both see NaN, ±∞, ±0 and ties
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, -1f, 2.5f];
        var av = Enumerable.Range(0, 37).Select(i => special[i % special.Length]).ToArray();
        var bv = Enumerable.Range(0, 37).Select(i => special[(i * 3 + 1) % special.Length]).ToArray();
        foreach (var name in new[] { "eq", "ne", "lt", "le", "gt", "ge", "relu_grad" })
        {
            IBinaryOp op = name == "relu_grad" ? new ReluGrad() : new Compare(Enum.Parse<CompareKind>(name, ignoreCase: true));
            Same(b, $"{name} special values", d => { using var x = d.T(av); using var y = d.T(bv); return Zip(op, x, y); }, 0, 0);
            foreach (float s in special)
            {
                Same(b, $"{name} tensor vs scalar {s}", d => { using var x = d.T(av); using var y = d.Full([], s); return Zip(op, x, y); }, 0, 0);
                Same(b, $"{name} scalar {s} vs tensor", d => { using var x = d.Full([], s); using var y = d.T(bv); return Zip(op, x, y); }, 0, 0);
            }
        }
    }

    private static Tensor Zip(IBinaryOp op, Tensor a, Tensor b) => op switch
    {
        Compare c => Tensor.Zip(c, a, b),
        ReluGrad r => Tensor.Zip(r, a, b),
        _ => throw new ArgumentException(op.Name),
    };

    [BackendTheory]
    public void WhereTreatsNaNAsTrueAndNegativeZeroAsFalse(BackendCase b)
    {
        Same(b, "where special conditions", d =>
        {
            using var c = d.T([float.NaN, -0f, 0f, 1f, -1f, float.NaN, 0f, 2f, 3f, -0f]);
            using var x = d.T([1f, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
            using var y = d.T([-1f, -2, -3, -4, -5, -6, -7, -8, -9, -10]);
            return Tensor.Where(c, x, y);
        }, 0, 0);
    }

    [BackendTheory]
    public void FillWritesThroughStrides(BackendCase b)
    {
        // fill a strided view in place; the untouched elements of the base show the strides were honoured
        foreach (var (name, view) in new (string, Func<Tensor, Tensor>)[]
        {
            ("stepped", t => t.Slice(1, 1, 12, 3)),
            ("narrowed", t => t.Narrow(0, 2, 5)),
            ("transposed", t => t.T()),
            ("row", t => t.Select(0, 4)),
            ("element", t => { using var r = t.Select(0, 3); return r.Select(0, 7); }),
        })
            Same(b, $"fill {name}", d =>
            {
                var t = d.Rand(3, 9, 12);
                using var v = view(t);
                v.Fill(2.5);
                return t;
            }, 0, 0);
        Same(b, "fill big", d => d.Full([333, 211], -1.25), 0, 0);
        Same(b, "fill int32", d =>
        {
            using var t = d.Full([5, 3], 7.9, DType.Int32);
            using var v = t.Slice(0, 0, 5, 2);
            v.Fill(-3.99);
            return t.Cast(DType.Float32);
        }, 0, 0);
    }

    [BackendTheory]
    public void CopyAndContiguousMatchOnEveryLayout(BackendCase b)
    {
        int seed = 40;
        foreach (var shape in Shapes)
            foreach (var (layout, make) in Layouts(seed++, shape))
                Same(b, $"contiguous {Shape.Format(shape)} {layout}", d =>
                {
                    using var v = make(d);
                    return v.Clone();
                }, 0, 0);
        // permutations of a 4-D tensor, including a big transposed plane (the tiled path)
        Same(b, "permute 4-D", d =>
        {
            using var x = d.Rand(9, 3, 5, 7, 11);
            using var p = x.Permute(2, 0, 3, 1);
            return p.Contiguous();
        }, 0, 0);
        Same(b, "big transpose", d =>
        {
            using var x = d.Rand(10, 301, 257);
            using var t = x.T();
            return t.Contiguous();
        }, 0, 0);
        Same(b, "batched transposes", d =>
        {
            using var x = d.Rand(11, 6, 97, 83);
            using var t = x.Transpose(1, 2);
            return t.Contiguous();
        }, 0, 0);
    }

    [BackendTheory]
    public void CopyIntoAViewOfItselfReadsTheOldValues(BackendCase b)
    {
        Same(b, "overlapping copy", d =>
        {
            var x = d.Rand(12, 10);
            using var dst = x.Narrow(0, 1, 9);
            using var src = x.Narrow(0, 0, 9);
            dst.CopyFrom(src); // shift right by one, in place
            return x;
        }, 0, 0);
        Same(b, "copy_ with broadcast into a strided view", d =>
        {
            var x = d.Rand(13, 6, 8);
            using var dst = x.Slice(1, 1, 8, 2);   // [6, 4], stride 2
            using var row = d.Rand(14, 4);
            dst.CopyFrom(row);
            return x;
        }, 0, 0);
    }

    [BackendTheory]
    public void CastsBetweenFloatAndIntMatch(BackendCase b)
    {
        Same(b, "float→int→float", d =>
        {
            using var x = d.Rand(13, 17, 19);
            using var s = x * 1000.0;
            using var st = s.T();
            using var i = st.Cast(DType.Int32);
            return i.Cast(DType.Float32);
        }, 0, 0);
        Same(b, "special float→int", d =>
        {
            using var x = d.T([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3e9f, -3e9f, -2.7f, 2.7f, -0.5f]);
            using var i = x.Cast(DType.Int32);
            return i.Cast(DType.Float32);
        }, 0, 0);
        Same(b, "int copy strided", d =>
        {
            using var i = d.RandInt(14, 1000, 9, 8);
            using var t = i.T();
            return t.Contiguous();
        });
        Same(b, "float64 round trip", d =>
        {
            using var x = d.Rand(15, 6, 7);
            using var f = x.Cast(DType.Float64);
            using var e = f.Exp();
            return e.Cast(DType.Float32);
        }, 0, 0);
        Same(b, "float64 strided cast", d =>
        {
            using var x = d.Rand(16, 5, 9);
            using var t = x.T();
            using var f = t.Cast(DType.Float64);
            using var f2 = f * 1000.0;
            return f2.Cast(DType.Int32);
        }, 0, 0);
    }

    [BackendTheory]
    public void UploadAndDownloadRoundTrip(BackendCase b)
    {
        using var scope = b.Enter();
        var f = TestUtil.Values(1000, 3);
        using (var t = Tensor.FromArray(f, [10, 100], b.Device)) Assert.Equal(f, t.ToArray());
        var ints = Enumerable.Range(-50, 333).ToArray();
        using (var t = Tensor.FromArray(ints, [3, 111], b.Device)) Assert.Equal(ints, t.ToArray<int>());
        var dv = Enumerable.Range(0, 12).Select(i => i * 0.1).ToArray();
        using (var t = Tensor.FromArray(dv, [3, 4], b.Device)) Assert.Equal(dv, t.ToArray<double>());
        using (var t = Tensor.FromArray(Array.Empty<float>(), [0, 4], b.Device)) Assert.Empty(t.ToArray());
        using var x = Tensor.FromArray(f, [10, 100], b.Device);
        using var col = x.Narrow(1, 5, 1); // not contiguous: the op layer copies, the backend reads strides
        Assert.Equal(Enumerable.Range(0, 10).Select(i => f[i * 100 + 5]).ToArray(), col.ToArray());
        using var one = col.Narrow(0, 7, 1);
        Assert.Equal(f[7 * 100 + 5], one.Item());
    }

    [BackendTheory]
    public void Float64OpsGiveExactValues(BackendCase b)
    {
        // float64 runs on the reference path on the CPU device, and through the device's kernels elsewhere
        using var scope = b.Enter();
        using var a = b.T([1.0, 2, 3, 4], 2, 2);
        using var s2 = a + a;
        Assert.Equal([2.0, 4, 6, 8], s2.ToArray<double>());
        using var s = s2.Sum();
        Assert.Equal(20.0, s.Item());
        using var m = a.MatMul(a);
        Assert.Equal([7.0, 10, 15, 22], m.ToArray<double>());
        Assert.Equal(b.Device, m.Device);
    }
}
