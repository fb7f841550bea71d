using System.Text;

namespace VecQ.Tensors;

/// <summary>
/// What an elementwise op computes, in a form a kernel generator can compile: the op's name, a C-like
/// expression for one output element, and the op's scalar parameters. One generic generator (e.g. a CUDA
/// backend that builds kernels with NVRTC) serves every op: it pastes <see cref="Expression"/> into a
/// kernel template and passes <see cref="Parameters"/> as kernel arguments.
/// </summary>
/// <remarks>
/// <para><b>Inputs.</b> A unary op's expression reads <c>x</c>; a binary op's reads <c>a</c> and <c>b</c>.
/// Parameters are <c>p0</c>, <c>p1</c>, … in the order of <see cref="Parameters"/>; an expression uses
/// exactly <c>p0</c> … <c>p(n−1)</c> for <c>n</c> parameters.</para>
/// <para><b>Vocabulary</b> (valid CUDA C, and nothing else):</para>
/// <list type="bullet">
/// <item>numbers: decimal literals such as <c>0</c>, <c>6</c>, <c>0.5</c> (exactly representable in float32);</item>
/// <item>arithmetic: <c>+ - * /</c> and unary <c>-</c>, with C precedence and parentheses;</item>
/// <item>comparisons <c>== != &lt; &lt;= &gt; &gt;=</c> (1 where true, 0 where false, as in C; NaN compares
/// unequal to everything, so <c>a != a</c> tests for NaN) and the conditional <c>c ? u : v</c>;</item>
/// <item>functions: <c>exp log sqrt fabs tanh floor ceil trunc</c> (one argument), <c>rint</c> (round half to
/// even, the default rounding mode), <c>pow(u, v)</c>, and <c>fmin(u, v)</c> / <c>fmax(u, v)</c> with C
/// semantics (a NaN argument yields the other one; for two zeros the sign of the result is unspecified,
/// so an expression must not rely on it).</item>
/// </list>
/// <para><b>Element type.</b> An expression means the same thing for float32 and float64: every input,
/// parameter, literal and intermediate has the element type <c>T</c>, and every operation is rounded to
/// <c>T</c> — exactly what the scalar definition <c>Apply&lt;T&gt;</c> does. Function names are generic: a
/// float32 generator maps them to the float forms (<c>exp</c> → <c>expf</c>, <c>fabs</c> → <c>fabsf</c>, …),
/// emits literals as float (<c>0.5f</c>) and passes parameters rounded to float (<c>(float)p</c>, as
/// <c>T.CreateTruncating</c> does on the CPU); a float64 generator uses the names as they are. To keep each
/// operation rounded on its own, compile without fused multiply-add contraction (NVRTC <c>--fmad=false</c>)
/// and without fast math.</para>
/// <para>Two specs with the same <see cref="Arity"/> and <see cref="Expression"/> compile to the same kernel;
/// the parameters are its runtime arguments.</para>
/// </remarks>
/// <example><code>
/// var spec = new Clamp(-1, 1).Spec; // clamp: "x &lt; p0 ? p0 : x &gt; p1 ? p1 : x", parameters [-1, 1]
/// </code></example>
public sealed class ElementwiseSpec
{
    private readonly double[] _parameters;

    /// <summary>Describes an op.</summary>
    /// <param name="name">The op's name (its <c>Name</c>).</param>
    /// <param name="arity">1 for a unary op (expression over <c>x</c>), 2 for a binary op (over <c>a</c>, <c>b</c>).</param>
    /// <param name="expression">The expression for one output element (see the remarks for the vocabulary).</param>
    /// <param name="parameters">The values of <c>p0</c>, <c>p1</c>, ….</param>
    /// <example><code>var spec = new ElementwiseSpec("affine", 1, "x * p0 + p1", 2.0, 0.5);</code></example>
    public ElementwiseSpec(string name, int arity, string expression, params double[] parameters)
    {
        if (arity is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(arity), arity, "elementwise spec: arity must be 1 or 2");
        Name = name;
        Arity = arity;
        Expression = expression;
        _parameters = (double[])parameters.Clone();
    }

    /// <summary>The op's name (as its <c>Name</c>).</summary>
    public string Name { get; }
    /// <summary>1 (inputs <c>x</c>) or 2 (inputs <c>a</c>, <c>b</c>).</summary>
    public int Arity { get; }
    /// <summary>The expression for one output element.</summary>
    public string Expression { get; }
    /// <summary>The values of <c>p0</c>, <c>p1</c>, … in order.</summary>
    public IReadOnlyList<double> Parameters => _parameters;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {Expression}" + (_parameters.Length == 0 ? "" : $" with [{string.Join(", ", _parameters)}]");

    /// <summary>
    /// The unary spec of "this binary op with one operand fixed to a scalar": the expression with
    /// <paramref name="tensorInput"/> (<c>a</c> or <c>b</c>) renamed to <c>x</c> and the other input
    /// replaced by a new last parameter holding <paramref name="scalar"/>.
    /// </summary>
    internal static ElementwiseSpec WithScalar(ElementwiseSpec binary, string name, string tensorInput, double scalar)
    {
        string scalarInput = tensorInput == "a" ? "b" : "a";
        string parameter = $"p{binary._parameters.Length}";
        string expression = RenameIdentifiers(binary.Expression, id => id == tensorInput ? "x" : id == scalarInput ? parameter : id);
        return new ElementwiseSpec(name, 1, expression, [.. binary._parameters, scalar]);
    }

    /// <summary>Rewrites every identifier token (not parts of names, not exponents of numbers) through <paramref name="rename"/>.</summary>
    internal static string RenameIdentifiers(string expression, Func<string, string> rename)
    {
        var sb = new StringBuilder(expression.Length + 8);
        int i = 0;
        while (i < expression.Length)
        {
            char c = expression[i];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = i;
                while (i < expression.Length && (char.IsAsciiLetterOrDigit(expression[i]) || expression[i] == '_')) i++;
                sb.Append(rename(expression[start..i]));
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expression.Length && char.IsAsciiDigit(expression[i + 1])))
            {
                int start = i;
                while (i < expression.Length && (char.IsAsciiDigit(expression[i]) || expression[i] == '.')) i++;
                if (i < expression.Length && expression[i] is 'e' or 'E')
                {
                    i++;
                    if (i < expression.Length && expression[i] is '+' or '-') i++;
                    while (i < expression.Length && char.IsAsciiDigit(expression[i])) i++;
                }
                sb.Append(expression, start, i - start);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        return sb.ToString();
    }
}
