using System.Globalization;
using System.Reflection;

namespace VecQ.Tensors.Tests;

/// <summary>
/// Every elementwise op's <see cref="ElementwiseSpec"/> says what its scalar definition does: the expression,
/// evaluated by a small interpreter of the documented vocabulary, equals <c>Apply&lt;double&gt;</c> bit for bit
/// (any NaN equals any NaN) on a grid of inputs with zeros of both signs, ±0.5, ties, large values and
/// non-finite values. The ops are found by reflection, so a new op without an honest spec fails here.
/// </summary>
public class ElementwiseSpecTests
{
    private static readonly double[] Grid =
    [
        0, -0.0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2, 2.5, -2.5, 3, -3, 6, 6.5, -7, 0.1, -0.3,
        1e3, -1e3, 1e30, -1e30, 1e300, -1e300, double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity,
    ];

    /// <summary>Values for the ops' double parameters (Clamp, PowScalar with its 1 and 2 special cases, Affine, scalar operands).</summary>
    private static readonly double[] ParameterSamples = [-1.5, 0, 0.5, 1, 2, 3];

    [Fact]
    public void EveryUnaryOpsExpressionEqualsItsScalarDefinition()
    {
        var ops = Instances<IUnaryOp>().ToList();
        Assert.NotEmpty(ops);
        foreach (var op in ops)
        {
            var spec = op.Spec;
            var e = CheckShape(spec, op.Name, 1);
            foreach (double x in Grid)
                AssertSame(op.Apply(x), () => e.Evaluate(x: x, p: spec.Parameters), $"{spec} at x = {Show(x)}");
        }
    }

    [Fact]
    public void EveryBinaryOpsExpressionEqualsItsScalarDefinition()
    {
        var ops = Instances<IBinaryOp>().ToList();
        Assert.NotEmpty(ops);
        foreach (var op in ops)
        {
            var spec = op.Spec;
            var e = CheckShape(spec, op.Name, 2);
            foreach (double a in Grid)
                foreach (double b in Grid)
                    AssertSame(op.Apply(a, b), () => e.Evaluate(a: a, b: b, p: spec.Parameters), $"{spec} at a = {Show(a)}, b = {Show(b)}");
        }
    }

    [Fact]
    public void EveryOpTypeIsCovered()
    {
        // the enumeration reaches every op struct, the parametrised and generic ones included
        var names = Instances<IUnaryOp>().Select(o => o.Name).Concat(Instances<IBinaryOp>().Select(o => o.Name)).ToHashSet();
        foreach (var name in new[] { "exp", "clamp", "pow_scalar", "affine", "relu_grad", "eq", "ne", "lt", "le", "gt", "ge",
                     "add_tensor_scalar", "div_scalar_tensor", "ge_tensor_scalar", "relu_grad_scalar_tensor" })
            Assert.Contains(name, names);
        var built = Instances<object>().Select(o => o.GetType()).Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t).ToHashSet();
        foreach (var t in OpTypes(typeof(IUnaryOp)).Concat(OpTypes(typeof(IBinaryOp))))
            Assert.True(built.Contains(t), $"{t.Name}: no instance built");
    }

    [Fact]
    public void ScalarOpSpecsSubstituteTheScalarAsTheLastParameter()
    {
        var left = new ScalarLeft<Sub>(new Sub(), 2).Spec;
        Assert.Equal("sub_scalar_tensor", left.Name);
        Assert.Equal(1, left.Arity);
        Assert.Equal("p0 - x", left.Expression);
        Assert.Equal([2.0], left.Parameters);
        var right = new ScalarRight<Maximum>(new Maximum(), 0.5).Spec;
        Assert.Equal("x != x ? x : p0 != p0 ? p0 : x > p0 ? x : p0 > x ? p0 : x == 0 ? x + p0 : x", right.Expression);
        Assert.Equal("pow(p0, x)", new ScalarLeft<Pow>(new Pow(), 3).Spec.Expression);
        Assert.Equal("x >= p0 ? 1 : 0", new ScalarRight<Compare>(new Compare(CompareKind.Ge), 0).Spec.Expression);
        // whole identifiers only: names containing a or b, and exponents, stay as they are
        Assert.Equal("fabs(x) + tanh(p3) * 1e-5 + ab", ElementwiseSpec.RenameIdentifiers("fabs(a) + tanh(b) * 1e-5 + ab", id => id switch { "a" => "x", "b" => "p3", _ => id }));
    }

    // ---- the ops, by reflection -------------------------------------------------------------

    /// <summary>The non-abstract struct types of VecQ.Tensor implementing <paramref name="kind"/> (generic ones as definitions).</summary>
    private static IEnumerable<Type> OpTypes(Type kind) =>
        typeof(Tensor).Assembly.GetTypes().Where(t => t.IsValueType && t.GetInterfaces().Contains(kind)).OrderBy(t => t.FullName);

    /// <summary>Instances of every op type (IUnaryOp and IBinaryOp), with sample parameters; fails on a type it cannot build.</summary>
    private static IEnumerable<TKind> Instances<TKind>()
    {
        foreach (var kind in new[] { typeof(IUnaryOp), typeof(IBinaryOp) })
            foreach (var t in OpTypes(kind))
                foreach (var o in Build(t))
                    if (o is TKind k) yield return k;
    }

    private static IEnumerable<object> Build(Type t)
    {
        if (t.IsGenericTypeDefinition)
        {
            // close over every non-generic op type that satisfies each type parameter's op constraint
            IEnumerable<Type[]> closings = [[]];
            foreach (var gp in t.GetGenericArguments())
            {
                var kind = gp.GetGenericParameterConstraints().FirstOrDefault(c => c == typeof(IUnaryOp) || c == typeof(IBinaryOp))
                    ?? throw new InvalidOperationException($"{t.Name}: cannot close type parameter {gp.Name} (no IUnaryOp/IBinaryOp constraint); teach ElementwiseSpecTests to build it");
                var candidates = OpTypes(kind).Where(c => !c.IsGenericTypeDefinition).ToList();
                closings = closings.SelectMany(prefix => candidates.Select(c => (Type[])[.. prefix, c])).ToList();
            }
            return closings.SelectMany(args => Build(t.MakeGenericType(args))).ToList();
        }
        var ctors = t.GetConstructors().Where(c => c.GetParameters().Length > 0).ToList();
        if (ctors.Count == 0) return [Activator.CreateInstance(t)!];
        var built = new List<object>();
        foreach (var ctor in ctors)
        {
            IEnumerable<object?[]> argLists = [[]];
            foreach (var p in ctor.GetParameters())
            {
                var samples = Samples(t, p);
                argLists = argLists.SelectMany(prefix => samples.Select(s => (object?[])[.. prefix, s])).ToList();
            }
            built.AddRange(argLists.Select(args => ctor.Invoke(args)));
        }
        return built;
    }

    private static List<object> Samples(Type op, ParameterInfo p)
    {
        var pt = p.ParameterType;
        if (pt == typeof(double)) return ParameterSamples.Select(v => (object)v).ToList();
        if (pt.IsEnum) return Enum.GetValues(pt).Cast<object>().ToList();
        if (pt.IsValueType && (typeof(IUnaryOp).IsAssignableFrom(pt) || typeof(IBinaryOp).IsAssignableFrom(pt))) return Build(pt).ToList();
        throw new InvalidOperationException($"{op.Name}: no sample values for constructor parameter {p.Name} of type {pt.Name}; teach ElementwiseSpecTests to build it");
    }

    // ---- checks -----------------------------------------------------------------------------

    /// <summary>Parses the spec and checks its name, arity, inputs, parameter count and literals.</summary>
    private static Expr CheckShape(ElementwiseSpec spec, string opName, int arity)
    {
        Assert.Equal(opName, spec.Name);
        Assert.Equal(arity, spec.Arity);
        Expr e;
        try { e = Expr.Parse(spec.Expression); }
        catch (FormatException ex) { throw new Xunit.Sdk.XunitException($"{spec}: {ex.Message}"); }
        var inputs = arity == 1 ? new[] { "x" } : ["a", "b"];
        foreach (var v in e.Inputs)
            Assert.True(inputs.Contains(v), $"{spec}: input {v} is not one of {string.Join(", ", inputs)}");
        Assert.True(e.HighestParameter + 1 == spec.Parameters.Count,
            $"{spec}: {spec.Parameters.Count} parameters but the highest used is p{e.HighestParameter}");
        foreach (double lit in e.Literals)
            Assert.True((double)(float)lit == lit, $"{spec}: literal {lit} is not exact in float32");
        return e;
    }

    private static void AssertSame(double expected, Func<double> evaluate, string what)
    {
        double actual;
        try { actual = evaluate(); }
        catch (Xunit.Sdk.XunitException ex) { throw new Xunit.Sdk.XunitException($"{what}: {ex.Message}"); }
        bool same = double.IsNaN(expected) ? double.IsNaN(actual) : BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual);
        Assert.True(same, $"{what}: Apply gives {Show(expected)}, the expression {Show(actual)}");
    }

    private static string Show(double v) => v == 0 && double.IsNegative(v) ? "-0" : v.ToString("R", CultureInfo.InvariantCulture);

    // ---- the expression vocabulary, evaluated in double ---------------------------------------

    /// <summary>A parsed expression of the <see cref="ElementwiseSpec"/> vocabulary (C precedence), evaluated in double.</summary>
    private abstract class Expr
    {
        public HashSet<string> Inputs { get; private init; } = [];
        public int HighestParameter { get; private init; } = -1;
        public List<double> Literals { get; private init; } = [];

        public double Evaluate(double x = double.NaN, double a = double.NaN, double b = double.NaN, IReadOnlyList<double>? p = null) =>
            Eval(new Env(x, a, b, p ?? []));

        protected abstract double Eval(Env env);

        protected readonly record struct Env(double X, double A, double B, IReadOnlyList<double> P);

        public static Expr Parse(string text)
        {
            var parser = new Parser(text);
            var e = parser.Conditional();
            if (parser.Peek() != "") throw new FormatException($"unexpected '{parser.Peek()}' at {parser.Pos} in \"{text}\"");
            return new Root(e, parser.Inputs, parser.HighestParameter, parser.Literals);
        }

        private sealed class Root : Expr
        {
            private readonly Expr _e;
            public Root(Expr e, HashSet<string> inputs, int highest, List<double> literals)
            {
                _e = e;
                Inputs = inputs;
                HighestParameter = highest;
                Literals = literals;
            }
            protected override double Eval(Env env) => _e.Eval(env);
        }

        private sealed class Num(double v) : Expr { protected override double Eval(Env env) => v; }

        private sealed class Var(string name) : Expr
        {
            protected override double Eval(Env env) => name switch
            {
                "x" => env.X,
                "a" => env.A,
                "b" => env.B,
                _ => env.P[int.Parse(name[1..], CultureInfo.InvariantCulture)],
            };
        }

        private sealed class Negate(Expr e) : Expr { protected override double Eval(Env env) => -e.Eval(env); }

        private sealed class Binary(string op, Expr l, Expr r) : Expr
        {
            protected override double Eval(Env env)
            {
                double u = l.Eval(env), v = r.Eval(env);
                return op switch
                {
                    "+" => u + v,
                    "-" => u - v,
                    "*" => u * v,
                    "/" => u / v,
                    "==" => u == v ? 1 : 0,
                    "!=" => u != v ? 1 : 0,
                    "<" => u < v ? 1 : 0,
                    "<=" => u <= v ? 1 : 0,
                    ">" => u > v ? 1 : 0,
                    _ => u >= v ? 1 : 0,
                };
            }
        }

        // C: the condition is true when it is non-zero (NaN included); only the chosen branch is evaluated
        private sealed class Conditional(Expr c, Expr t, Expr f) : Expr
        {
            protected override double Eval(Env env) => c.Eval(env) != 0 ? t.Eval(env) : f.Eval(env);
        }

        private sealed class Call(string name, Expr[] args) : Expr
        {
            public static readonly Dictionary<string, int> Arity = new()
            {
                ["exp"] = 1, ["log"] = 1, ["sqrt"] = 1, ["fabs"] = 1, ["tanh"] = 1, ["floor"] = 1, ["ceil"] = 1,
                ["trunc"] = 1, ["rint"] = 1, ["pow"] = 2, ["fmin"] = 2, ["fmax"] = 2,
            };

            protected override double Eval(Env env)
            {
                double u = args[0].Eval(env), v = args.Length > 1 ? args[1].Eval(env) : 0;
                return name switch
                {
                    "exp" => Math.Exp(u),
                    "log" => Math.Log(u),
                    "sqrt" => Math.Sqrt(u),
                    "fabs" => Math.Abs(u),
                    "tanh" => Math.Tanh(u),
                    "floor" => Math.Floor(u),
                    "ceil" => Math.Ceiling(u),
                    "trunc" => Math.Truncate(u),
                    "rint" => Math.Round(u, MidpointRounding.ToEven),
                    "pow" => Math.Pow(u, v),
                    "fmin" => CMinMax(u, v, max: false),
                    _ => CMinMax(u, v, max: true),
                };
            }

            // C fmin/fmax: a NaN argument yields the other; zeros of different signs are unspecified (an error here)
            private static double CMinMax(double u, double v, bool max)
            {
                if (double.IsNaN(u)) return v;
                if (double.IsNaN(v)) return u;
                if (u == 0 && v == 0 && double.IsNegative(u) != double.IsNegative(v))
                    throw new Xunit.Sdk.XunitException($"{(max ? "fmax" : "fmin")}(±0, ∓0): the sign of the result is unspecified in C; the expression must not depend on it");
                return max ? (u > v ? u : v) : (u < v ? u : v);
            }
        }

        /// <summary>Recursive descent: conditional → equality → relational → additive → multiplicative → unary → primary.</summary>
        private sealed class Parser(string text)
        {
            public int Pos;
            public readonly HashSet<string> Inputs = [];
            public int HighestParameter = -1;
            public readonly List<double> Literals = [];

            public string Peek()
            {
                while (Pos < text.Length && text[Pos] == ' ') Pos++;
                if (Pos >= text.Length) return "";
                char c = text[Pos];
                if (char.IsAsciiLetter(c) || c == '_')
                {
                    int e = Pos;
                    while (e < text.Length && (char.IsAsciiLetterOrDigit(text[e]) || text[e] == '_')) e++;
                    return text[Pos..e];
                }
                if (char.IsAsciiDigit(c) || c == '.')
                {
                    int e = Pos;
                    while (e < text.Length && (char.IsAsciiDigit(text[e]) || text[e] == '.')) e++;
                    if (e < text.Length && text[e] is 'e' or 'E')
                    {
                        e++;
                        if (e < text.Length && text[e] is '+' or '-') e++;
                        while (e < text.Length && char.IsAsciiDigit(text[e])) e++;
                    }
                    return text[Pos..e];
                }
                if (Pos + 1 < text.Length && text.Substring(Pos, 2) is "==" or "!=" or "<=" or ">=") return text.Substring(Pos, 2);
                if ("+-*/<>?:(),".Contains(c)) return c.ToString();
                throw new FormatException($"unexpected character '{c}' at {Pos} in \"{text}\"");
            }

            private string Next()
            {
                string t = Peek();
                if (t == "") throw new FormatException($"unexpected end of \"{text}\"");
                Pos += t.Length;
                return t;
            }

            private void Expect(string token)
            {
                string t = Next();
                if (t != token) throw new FormatException($"expected '{token}' but found '{t}' at {Pos - t.Length} in \"{text}\"");
            }

            public Expr Conditional()
            {
                var c = Equality();
                if (Peek() != "?") return c;
                Next();
                var t = Conditional();
                Expect(":");
                var f = Conditional();
                return new Conditional(c, t, f);
            }

            private Expr Equality()
            {
                var e = Relational();
                while (Peek() is "==" or "!=") e = new Binary(Next(), e, Relational());
                return e;
            }

            private Expr Relational()
            {
                var e = Additive();
                while (Peek() is "<" or "<=" or ">" or ">=") e = new Binary(Next(), e, Additive());
                return e;
            }

            private Expr Additive()
            {
                var e = Multiplicative();
                while (Peek() is "+" or "-") e = new Binary(Next(), e, Multiplicative());
                return e;
            }

            private Expr Multiplicative()
            {
                var e = Unary();
                while (Peek() is "*" or "/") e = new Binary(Next(), e, Unary());
                return e;
            }

            private Expr Unary()
            {
                if (Peek() != "-") return Primary();
                Next();
                return new Negate(Unary());
            }

            private Expr Primary()
            {
                string t = Next();
                if (t == "(")
                {
                    var e = Conditional();
                    Expect(")");
                    return e;
                }
                if (char.IsAsciiDigit(t[0]) || t[0] == '.')
                {
                    if (!double.TryParse(t, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double v))
                        throw new FormatException($"bad number '{t}' in \"{text}\"");
                    Literals.Add(v);
                    return new Num(v);
                }
                if (!char.IsAsciiLetter(t[0]) && t[0] != '_') throw new FormatException($"unexpected '{t}' in \"{text}\"");
                if (Peek() == "(")
                {
                    if (!Call.Arity.TryGetValue(t, out int arity)) throw new FormatException($"function {t} is not in the vocabulary (\"{text}\")");
                    Next();
                    var args = new List<Expr> { Conditional() };
                    while (Peek() == ",") { Next(); args.Add(Conditional()); }
                    Expect(")");
                    if (args.Count != arity) throw new FormatException($"{t} takes {arity} argument(s), got {args.Count} in \"{text}\"");
                    return new Call(t, [.. args]);
                }
                if (t is "x" or "a" or "b")
                {
                    Inputs.Add(t);
                    return new Var(t);
                }
                if (t.Length > 1 && t[0] == 'p' && t[1..].All(char.IsAsciiDigit) && (t.Length == 2 || t[1] != '0'))
                {
                    HighestParameter = Math.Max(HighestParameter, int.Parse(t[1..], CultureInfo.InvariantCulture));
                    return new Var(t);
                }
                throw new FormatException($"identifier {t} is not x, a, b or a parameter pN (\"{text}\")");
            }
        }
    }
}
