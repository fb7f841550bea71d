using VecQ.Tensors;

namespace VecQ.Autograd;

// The fully connected layer's function (PyTorch's convention: weight is [out, in]).
public static partial class Functions
{
    /// <summary>
    /// y = x·Wᵀ + b. x: [N…, in], weight: [out, in], bias: [out] or null → y: [N…, out].
    /// dx = dy·W, dW = dyᵀ·x, db = Σ_N dy (leading dimensions flattened into N).
    /// </summary>
    /// <example><code>using var h = Functions.Linear(x, w, b); // [64, 784] · [128, 784]ᵀ + [128] → [64, 128]</code></example>
    public static Variable Linear(Variable x, Variable weight, Variable? bias = null)
    {
        if (weight.Value.Rank != 2) throw new ArgumentException($"linear: weight {weight.Describe()} must be 2-D [out, in]");
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (x.Value.Rank == 0 || x.Shape[^1] != inF)
            throw new ArgumentException($"linear: input {x.Describe()} must end in {inF} features for weight [{outF}, {inF}]");
        if (bias != null && !Shape.Equal(bias.Shape, [outF]))
            throw new ArgumentException($"linear: bias {bias.Describe()} must be [{outF}]");
        int[] xs = x.Shape;
        int[] ys = [.. xs[..^1], outF];
        using var x2 = x.Value.Reshape(-1, inF);                 // [M, in]
        using var wt = weight.Value.T();                         // [in, out] view
        using var xw = x2.MatMul(wt);                            // [M, out]
        using var z = bias != null ? xw.Add(bias.Value) : Saved.NewRef(xw);
        var y = z.Reshape(ys);
        bool hasBias = bias != null;
        Variable[] inputs = hasBias ? [x, weight, bias!] : [x, weight];
        return Graph.Record("linear", y, inputs, [x2, weight.Value], (g, ctx) =>
        {
            Tensor xv = ctx.Saved[0], w = ctx.Saved[1];
            using var g2 = g.Reshape(-1, outF);                  // [M, out]
            Tensor? dx = null, dw = null, db = null;
            if (ctx.NeedsGrad(0))
            {
                using var d = g2.MatMul(w);                      // [M, in]
                dx = d.Reshape(xs);
            }
            if (ctx.NeedsGrad(1))
            {
                using var gt = g2.T();
                dw = gt.MatMul(xv);                              // [out, in]
            }
            if (hasBias && ctx.NeedsGrad(2)) db = g2.Sum([0]);
            return hasBias ? [dx, dw, db] : [dx, dw];
        });
    }
}
