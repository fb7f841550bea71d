using System.Text;
using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// The outcome of <see cref="GradCheck.Run"/>: whether every element passed, the largest
/// absolute error, and where the worst element (largest error relative to its tolerance) is.
/// </summary>
/// <example><code>var r = GradCheck.Check(f, inputs); Console.WriteLine(r.MaxAbsError);</code></example>
public sealed record GradCheckResult(
    bool Passed, double MaxAbsError, double WorstRatio, int WorstInput, int WorstElement,
    int[][] InputShapes, double[][] Analytic, double[][] Numeric, double Atol, double Rtol)
{
    /// <summary>A diagnosis: the worst input and element with both values, and the first values of that input.</summary>
    public string Describe()
    {
        if (WorstInput < 0) return "gradcheck: no float input elements to check";
        var sb = new StringBuilder();
        double a = Analytic[WorstInput][WorstElement], n = Numeric[WorstInput][WorstElement];
        sb.Append(Passed ? "gradcheck passed" : "gradcheck FAILED")
          .Append($": worst at input {WorstInput} {Shape.Format(InputShapes[WorstInput])}, element {WorstElement} {Shape.Format(Unravel(WorstElement, InputShapes[WorstInput]))}: ")
          .Append($"analytic {a:G8}, numeric {n:G8}, |diff| {Math.Abs(a - n):G3} vs tolerance atol + rtol·|numeric| = {Atol + Rtol * Math.Abs(n):G3}; ")
          .Append($"max |diff| over all inputs {MaxAbsError:G3}");
        sb.Append($"\n  input {WorstInput}, first values (analytic vs numeric):");
        for (int j = 0; j < Math.Min(6, Numeric[WorstInput].Length); j++)
        {
            double aj = Analytic[WorstInput][j], nj = Numeric[WorstInput][j];
            bool ok = Math.Abs(aj - nj) <= Atol + Rtol * Math.Abs(nj);
            sb.Append($"\n    [{j}] {aj,14:G8} {nj,14:G8} {(ok ? "OK" : "NOT OK")}");
        }
        return sb.ToString();
    }

    private static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 0) continue;
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}

/// <summary>Thrown by <see cref="GradCheck.Check"/> when an analytic gradient disagrees with the finite differences.</summary>
/// <example><code>Assert.Throws&lt;GradCheckException&gt;(() => GradCheck.Check(buggyOp, inputs));</code></example>
public sealed class GradCheckException(string message) : Exception(message);
