namespace VecQ.Tensors;

// Elementwise ops with broadcasting. Each allocates its result; inputs are untouched.
public sealed partial class Tensor
{
    /// <summary>Applies a unary op struct; the result has this shape and dtype.</summary>
    /// <example><code>using var y = x.Map(new Clamp(-1, 1));</code></example>
    public Tensor Map<TOp>(TOp op) where TOp : struct, IUnaryOp
    {
        EnsureAlive(op.Name);
        RequireFloat(op.Name, this);
        var y = Empty(Dims, DType, Device);
        Backend.For(this).Unary(op, this, y);
        return y;
    }

    /// <summary>Applies a binary op struct with broadcasting.</summary>
    /// <example><code>using var y = Tensor.Zip(new Maximum(), a, b);</code></example>
    public static Tensor Zip<TOp>(TOp op, Tensor a, Tensor b) where TOp : struct, IBinaryOp
    {
        a.EnsureAlive(op.Name);
        b.EnsureAlive(op.Name);
        RequireFloat(op.Name, a);
        if (a.DType != b.DType) throw new ArgumentException($"{op.Name}: dtypes differ ({a.DType.Name()} {a.ShapeText} and {b.DType.Name()} {b.ShapeText}); cast one first");
        SameDevice(op.Name, a, b);
        var shape = Shape.Broadcast(op.Name, a.Dims, b.Dims);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Empty(shape, a.DType, a.Device);
        Backend.For(a).Binary(op, ea, eb, y);
        return y;
    }

    // this op s (or s op this) as a unary op over this tensor: no 0-d tensor for the scalar. The op rounds
    // s to the dtype where it uses it ((float)s for float32), the value a 0-d tensor of the dtype held.
    private Tensor ZipScalar<TOp>(TOp op, double s, bool scalarFirst) where TOp : struct, IBinaryOp
    {
        EnsureAlive(op.Name);
        RequireFloat(op.Name, this);
        var y = Empty(Dims, DType, Device);
        if (scalarFirst) Backend.For(this).Unary(new ScalarLeft<TOp>(op, s), this, y);
        else Backend.For(this).Unary(new ScalarRight<TOp>(op, s), this, y);
        return y;
    }

    internal static void RequireFloat(string op, Tensor t)
    {
        if (!t.DType.IsFloat()) throw new ArgumentException($"{op}: tensor {t.ShapeText} is {t.DType.Name()}; expected float32 or float64");
    }

    /// <summary>this + other (broadcast).</summary>
    public Tensor Add(Tensor other) => Zip(new Add(), this, other);
    /// <summary>this − other (broadcast).</summary>
    public Tensor Sub(Tensor other) => Zip(new Sub(), this, other);
    /// <summary>this · other (broadcast).</summary>
    public Tensor Mul(Tensor other) => Zip(new Mul(), this, other);
    /// <summary>this / other (broadcast).</summary>
    public Tensor Div(Tensor other) => Zip(new Div(), this, other);
    /// <summary>this ^ other (broadcast).</summary>
    public Tensor Pow(Tensor other) => Zip(new Pow(), this, other);
    /// <summary>Elementwise maximum (broadcast).</summary>
    public Tensor Maximum(Tensor other) => Zip(new Maximum(), this, other);
    /// <summary>Elementwise minimum (broadcast).</summary>
    public Tensor Minimum(Tensor other) => Zip(new Minimum(), this, other);
    /// <summary>this + s.</summary>
    public Tensor Add(double s) => ZipScalar(new Add(), s, false);
    /// <summary>this − s.</summary>
    public Tensor Sub(double s) => ZipScalar(new Sub(), s, false);
    /// <summary>this · s.</summary>
    public Tensor Mul(double s) => ZipScalar(new Mul(), s, false);
    /// <summary>this / s.</summary>
    public Tensor Div(double s) => ZipScalar(new Div(), s, false);
    /// <summary>this ^ p.</summary>
    public Tensor Pow(double p) => Map(new PowScalar(p));

    /// <summary>
    /// this ← this·s in place: the elementwise multiply with this tensor as its own output (s is
    /// rounded to the dtype first). The tensor must be a contiguous float tensor.
    /// </summary>
    /// <example><code>grad.Mul_(0.5); // grad: [64, 10], every element halved, no new tensor</code></example>
    public void Mul_(double s)
    {
        EnsureAlive("mul_");
        RequireFloat("mul_", this);
        if (!IsContiguous) throw new ArgumentException($"mul_: destination {ShapeText} with strides {Shape.Format(Strides)} must be contiguous");
        Backend.For(this).Unary(new ScalarRight<Mul>(new Mul(), s), this, this);
    }

    /// <summary>1 where this == other, else 0 (broadcast).</summary>
    public Tensor Eq(Tensor other) => Zip(new Compare(CompareKind.Eq), this, other);
    /// <summary>1 where this != other, else 0.</summary>
    public Tensor Ne(Tensor other) => Zip(new Compare(CompareKind.Ne), this, other);
    /// <summary>1 where this &lt; other, else 0.</summary>
    public Tensor Lt(Tensor other) => Zip(new Compare(CompareKind.Lt), this, other);
    /// <summary>1 where this &lt;= other, else 0.</summary>
    public Tensor Le(Tensor other) => Zip(new Compare(CompareKind.Le), this, other);
    /// <summary>1 where this &gt; other, else 0.</summary>
    public Tensor Gt(Tensor other) => Zip(new Compare(CompareKind.Gt), this, other);
    /// <summary>1 where this &gt;= other, else 0.</summary>
    public Tensor Ge(Tensor other) => Zip(new Compare(CompareKind.Ge), this, other);
    /// <summary>1 where this == s, else 0.</summary>
    public Tensor Eq(double s) => ZipScalar(new Compare(CompareKind.Eq), s, false);
    /// <summary>1 where this &gt; s, else 0.</summary>
    public Tensor Gt(double s) => ZipScalar(new Compare(CompareKind.Gt), s, false);
    /// <summary>1 where this &gt;= s, else 0.</summary>
    public Tensor Ge(double s) => ZipScalar(new Compare(CompareKind.Ge), s, false);
    /// <summary>1 where this &lt; s, else 0.</summary>
    public Tensor Lt(double s) => ZipScalar(new Compare(CompareKind.Lt), s, false);
    /// <summary>1 where this &lt;= s, else 0.</summary>
    public Tensor Le(double s) => ZipScalar(new Compare(CompareKind.Le), s, false);

    /// <summary>−x.</summary>
    public Tensor Neg() => Map(new Neg());
    /// <summary>e^x.</summary>
    public Tensor Exp() => Map(new Exp());
    /// <summary>ln x.</summary>
    public Tensor Log() => Map(new Log());
    /// <summary>√x.</summary>
    public Tensor Sqrt() => Map(new Sqrt());
    /// <summary>|x|.</summary>
    public Tensor Abs() => Map(new Abs());
    /// <summary>sign(x).</summary>
    public Tensor Sign() => Map(new Sign());
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Map(new Relu());
    /// <summary>min(max(x, 0), 6).</summary>
    public Tensor Relu6() => Map(new Relu6());
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Map(new Sigmoid());
    /// <summary>tanh(x).</summary>
    public Tensor Tanh() => Map(new Tanh());
    /// <summary>Round half to even.</summary>
    public Tensor Round() => Map(new RoundHalfEven());
    /// <summary>Clamps into [min, max].</summary>
    /// <example><code>using var c = x.Clamp(-2, 1);</code></example>
    public Tensor Clamp(double min, double max)
    {
        if (!(min <= max)) throw new ArgumentException($"clamp: min {min} must be <= max {max}");
        return Map(new Clamp(min, max));
    }

    /// <summary>cond != 0 ? a : b, all broadcast together.</summary>
    /// <example><code>using var y = Tensor.Where(x.Gt(0), x, zeros);</code></example>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        cond.EnsureAlive("where"); a.EnsureAlive("where"); b.EnsureAlive("where");
        RequireFloat("where", a);
        if (a.DType != b.DType || cond.DType != a.DType)
            throw new ArgumentException($"where: dtypes differ (cond {cond.DType.Name()}, a {a.DType.Name()}, b {b.DType.Name()}); all must match");
        SameDevice("where", cond, a); SameDevice("where", a, b);
        var shape = Shape.Broadcast("where", Shape.Broadcast("where", cond.Dims, a.Dims), b.Dims);
        using var ec = cond.Expand(shape);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Empty(shape, a.DType, a.Device);
        Backend.For(a).Where(ec, ea, eb, y);
        return y;
    }

    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>a − b.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>a · b.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>a + s.</summary>
    public static Tensor operator +(Tensor a, double s) => a.Add(s);
    /// <summary>a − s.</summary>
    public static Tensor operator -(Tensor a, double s) => a.Sub(s);
    /// <summary>a · s.</summary>
    public static Tensor operator *(Tensor a, double s) => a.Mul(s);
    /// <summary>a / s.</summary>
    public static Tensor operator /(Tensor a, double s) => a.Div(s);
    /// <summary>s + a.</summary>
    public static Tensor operator +(double s, Tensor a) => a.ZipScalar(new Add(), s, true);
    /// <summary>s − a.</summary>
    public static Tensor operator -(double s, Tensor a) => a.ZipScalar(new Sub(), s, true);
    /// <summary>s · a.</summary>
    public static Tensor operator *(double s, Tensor a) => a.ZipScalar(new Mul(), s, true);
    /// <summary>s / a.</summary>
    public static Tensor operator /(double s, Tensor a) => a.ZipScalar(new Div(), s, true);
    /// <summary>−a.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
}
