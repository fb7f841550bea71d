using System.Text;
using VecQ.Tensors;

namespace VecQ.Cuda;

/// <summary>
/// CUDA kernels generated from an op's <see cref="ElementwiseSpec"/>: the expression pasted into a strided grid-stride
/// loop, for float32 or float64 (ElementwiseSpec's remarks: function names mapped to the float forms, every literal
/// and parameter rounded to the element type, compiled without FMA contraction). One module per (arity, expression,
/// dtype); the parameters are a runtime argument.
/// </summary>
/// <example><code>string src = ElementwiseKernels.Source(new Exp().Spec, DType.Float32); // kernel "ew" over x</code></example>
public static class ElementwiseKernels
{
    /// <summary>The kernel's entry point in every generated module.</summary>
    public const string Entry = "ew";

    private static readonly HashSet<string> Functions = ["exp", "log", "sqrt", "fabs", "tanh", "floor", "ceil", "trunc", "rint", "pow", "fmin", "fmax"];

    /// <summary>The module key of a spec for a dtype (two specs with the same arity and expression share it).</summary>
    public static string Key(ElementwiseSpec spec, DType dtype) => $"ew{spec.Arity}_{dtype.Name()}_{Hash(spec.Expression)}";

    /// <summary>The complete CUDA source (prelude included) of the kernel for <paramref name="spec"/> over <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">A dtype other than float32/float64, more parameters than the kernels take, or a token outside the spec vocabulary.</exception>
    public static string Source(ElementwiseSpec spec, DType dtype)
    {
        if (dtype is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"cuda elementwise {spec.Name}: {dtype.Name()} tensors are not supported (float32 or float64)");
        if (spec.Parameters.Count > ElementwiseParams.Most)
            throw new ArgumentException($"cuda elementwise {spec.Name}: {spec.Parameters.Count} parameters, at most {ElementwiseParams.Most}");
        string t = dtype == DType.Float32 ? "float" : "double";
        var sb = new StringBuilder(4096);
        sb.Append(KernelCompiler.EmbeddedSource("common.cuh")).Append('\n');
        sb.Append($"typedef {t} T;\nstruct Params {{ double v[{ElementwiseParams.Most}]; }};\n");
        sb.Append($"// {spec.Name}: {spec.Expression}\n");
        string inputs = spec.Arity == 1 ? "Desc xd, const T* x" : "Desc ad, const T* a, Desc bd, const T* b";
        sb.Append($"extern \"C\" __global__ void {Entry}(long long n, {inputs}, Desc yd, T* y, Params prm)\n{{\n");
        for (int p = 0; p < spec.Parameters.Count; p++) sb.Append($"    const T p{p} = (T)prm.v[{p}];\n");
        sb.Append("    FOR_EACH(i, n)\n    {\n");
        if (spec.Arity == 1) sb.Append("        const T x_ = x[OffsetOf(xd, i)];\n");
        else sb.Append("        const T a_ = a[OffsetOf(ad, i)];\n        const T b_ = b[OffsetOf(bd, i)];\n");
        sb.Append($"        y[OffsetOf(yd, i)] = (T)({Translate(spec, dtype)});\n    }}\n}}\n");
        return sb.ToString();
    }

    /// <summary>The expression in CUDA C for the dtype: inputs renamed (x → x_), functions mapped, literals cast to T.</summary>
    internal static string Translate(ElementwiseSpec spec, DType dtype)
    {
        string e = spec.Expression;
        bool f32 = dtype == DType.Float32;
        var sb = new StringBuilder(e.Length * 2);
        int i = 0;
        while (i < e.Length)
        {
            char c = e[i];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int s = i;
                while (i < e.Length && (char.IsAsciiLetterOrDigit(e[i]) || e[i] == '_')) i++;
                string id = e[s..i];
                if (id is "x" or "a" or "b") sb.Append(id).Append('_');
                else if (id.Length > 1 && id[0] == 'p' && int.TryParse(id.AsSpan(1), out int p) && p < spec.Parameters.Count) sb.Append(id);
                else if (Functions.Contains(id)) sb.Append(f32 ? id + "f" : id);
                else throw new ArgumentException($"cuda elementwise {spec.Name}: '{id}' in \"{e}\" is not in the spec vocabulary");
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < e.Length && char.IsAsciiDigit(e[i + 1])))
            {
                int s = i;
                while (i < e.Length && (char.IsAsciiDigit(e[i]) || e[i] == '.')) i++;
                if (i < e.Length && e[i] is 'e' or 'E')
                {
                    i++;
                    if (i < e.Length && e[i] is '+' or '-') i++;
                    while (i < e.Length && char.IsAsciiDigit(e[i])) i++;
                }
                sb.Append("((T)").Append(e, s, i - s).Append(')');
            }
            else if ("+-*/()<>=!?:, ".Contains(c)) { sb.Append(c); i++; }
            else throw new ArgumentException($"cuda elementwise {spec.Name}: character '{c}' in \"{e}\" is not in the spec vocabulary");
        }
        return sb.ToString();
    }

    private static string Hash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h.ToString("x16");
    }
}
