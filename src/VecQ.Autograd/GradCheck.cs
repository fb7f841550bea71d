using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Checks analytic gradients against central finite differences, in float64 on the reference
/// backend. The function's output y is reduced to the scalar L = Σ y·r with a fixed random r, so
/// one backward gives every input's ∂L/∂x, and each input element x_j is compared with
/// (L(x_j + ε) − L(x_j − ε)) / 2ε. An element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
/// Float inputs are cast to float64 and differentiated; int32 inputs (labels, indices) are passed through.
/// </summary>
/// <example><code>
/// using var a = Tensor.RandN([3, 4], new Rng(1), dtype: DType.Float64);
/// using var b = Tensor.RandN([4], new Rng(2), dtype: DType.Float64);
/// var result = GradCheck.Check(v => Functions.Mul(v[0], v[1]), [a, b]); // throws on a mismatch
/// </code></example>
public static class GradCheck
{
    /// <summary>
    /// Runs the check; returns the result when every element passes, throws
    /// <see cref="GradCheckException"/> naming the worst input and element otherwise.
    /// </summary>
    /// <param name="f">The function under test; it must be deterministic (seed any Rng inside it).</param>
    /// <param name="inputs">The inputs (any dtype; floats are cast to float64). Not modified.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance (to |numeric|).</param>
    /// <param name="seed">Seed of the random projection r.</param>
    public static GradCheckResult Check(Func<Variable[], Variable> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, ulong seed = 1234)
    {
        var result = Run(f, inputs, eps, atol, rtol, seed);
        if (!result.Passed) throw new GradCheckException(result.Describe());
        return result;
    }

    /// <summary>Like <see cref="Check"/> but returns a failing result instead of throwing.</summary>
    /// <example><code>var r = GradCheck.Run(v => Functions.Exp(v[0]), [x]); Console.WriteLine(r.Describe());</code></example>
    public static GradCheckResult Run(Func<Variable[], Variable> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, ulong seed = 1234)
    {
        using var _ = Backend.Use(Backend.Reference);
        var x64 = inputs.Select(t => t.DType.IsFloat() ? t.Cast(DType.Float64) : t.Clone()).ToArray();
        try
        {
            var analytic = Analytic(f, x64, seed, out double[] r, out int[] outShape);
            var numeric = new double[x64.Length][];
            for (int i = 0; i < x64.Length; i++)
                numeric[i] = x64[i].DType.IsFloat() ? Numeric(f, x64, i, r, outShape, eps) : [];
            return Compare(inputs, analytic, numeric, atol, rtol);
        }
        finally
        {
            foreach (var t in x64) t.Dispose();
        }
    }

    // One backward of L = Σ y·r; the float inputs' gradients (zeros where no gradient arrived).
    private static double[][] Analytic(Func<Variable[], Variable> f, Tensor[] x64, ulong seed, out double[] r, out int[] outShape)
    {
        var vars = x64.Select(t => new Variable(t.Clone(), requiresGrad: t.DType.IsFloat())).ToArray();
        try
        {
            using var y = f(vars);
            if (y.Value.DType != DType.Float64)
                throw new InvalidOperationException($"gradcheck: the function returned {y.Value.DType.Name()}; with float64 inputs it must return float64 (an op converted the dtype?)");
            outShape = y.Shape;
            using var rt = Tensor.RandN(y.Shape, new Rng(seed), dtype: DType.Float64);
            r = rt.ToArray<double>();
            if (y.RequiresGrad) y.Backward(rt);
            return vars.Select(v => !v.Value.DType.IsFloat() ? [] : v.Grad?.ToArray<double>() ?? new double[v.Value.Numel]).ToArray();
        }
        finally
        {
            foreach (var v in vars) v.Dispose();
        }
    }

    // (L(x_j + ε) − L(x_j − ε)) / 2ε for every element j of input i, under NoGrad.
    private static double[] Numeric(Func<Variable[], Variable> f, Tensor[] x64, int i, double[] r, int[] outShape, double eps)
    {
        double[] data = x64[i].ToArray<double>();
        var grad = new double[data.Length];
        using var _ = Autograd.NoGrad();
        for (int j = 0; j < data.Length; j++)
        {
            double orig = data[j];
            data[j] = orig + eps;
            double plus = Evaluate(f, x64, i, data, r, outShape);
            data[j] = orig - eps;
            double minus = Evaluate(f, x64, i, data, r, outShape);
            data[j] = orig;
            grad[j] = (plus - minus) / (2 * eps);
        }
        return grad;
    }

    private static double Evaluate(Func<Variable[], Variable> f, Tensor[] x64, int i, double[] data, double[] r, int[] outShape)
    {
        var vars = new Variable[x64.Length];
        try
        {
            for (int k = 0; k < x64.Length; k++)
                vars[k] = new Variable(k == i ? Tensor.FromArray(data, x64[k].Dims) : x64[k].Clone());
            using var y = f(vars);
            if (!Shape.Equal(y.Shape, outShape))
                throw new InvalidOperationException($"gradcheck: the output shape changed from {Shape.Format(outShape)} to {y.Value.ShapeText} between calls");
            double[] yv = y.Value.ToArray<double>();
            double sum = 0;
            for (int k = 0; k < yv.Length; k++) sum += yv[k] * r[k];
            return sum;
        }
        finally
        {
            foreach (var v in vars) v?.Dispose();
        }
    }

    private static GradCheckResult Compare(Tensor[] inputs, double[][] analytic, double[][] numeric, double atol, double rtol)
    {
        double maxAbs = 0, worstRatio = -1;
        int worstInput = -1, worstElement = -1;
        for (int i = 0; i < inputs.Length; i++)
            for (int j = 0; j < numeric[i].Length; j++)
            {
                double a = analytic[i][j], n = numeric[i][j];
                double err = Math.Abs(a - n);
                double ratio = double.IsFinite(err) ? err / (atol + rtol * Math.Abs(n)) : double.PositiveInfinity;
                maxAbs = Math.Max(maxAbs, double.IsNaN(err) ? double.PositiveInfinity : err);
                if (ratio > worstRatio || double.IsNaN(ratio)) { worstRatio = double.IsNaN(ratio) ? double.PositiveInfinity : ratio; worstInput = i; worstElement = j; }
            }
        return new GradCheckResult(worstRatio <= 1, maxAbs, worstRatio, worstInput, worstElement,
            inputs.Select(t => (int[])t.Dims.Clone()).ToArray(), analytic, numeric, atol, rtol);
    }
}
