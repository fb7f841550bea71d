using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Differentiable functions over <see cref="Variable"/>s. Each family lives in its own file
/// (Elementwise, Unary, Scalar, Reduce, Shape, Join, MatMul, Linear, Conv, Pool, Softmax, Loss,
/// BatchNorm, Dropout, Index, StraightThrough) with the forward call into Tensor ops and the
/// backward formula right beside it. Broadcasting is undone by <see cref="Broadcast.SumToShape"/>.
/// </summary>
/// <example><code>
/// using var h = Functions.Relu(Functions.Linear(x, w1, b1));
/// using var loss = Functions.SoftmaxCrossEntropy(Functions.Linear(h, w2, b2), labels);
/// loss.Backward();
/// </code></example>
public static partial class Functions
{
    // ---- binary elementwise ops with broadcasting --------------------------------------

    /// <summary>a + b (broadcast). da = Σ_broadcast dy, db = Σ_broadcast dy.</summary>
    /// <example><code>using var y = Functions.Add(x, bias); // [N, C] + [C]</code></example>
    public static Variable Add(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Graph.Record("add", a.Value.Add(b.Value), [a, b], [], (g, ctx) =>
        [
            ctx.NeedsGrad(0) ? Broadcast.SumToShape(g, sa) : null,
            ctx.NeedsGrad(1) ? Broadcast.SumToShape(g, sb) : null,
        ]);
    }

    /// <summary>a − b (broadcast). da = Σ dy, db = −Σ dy.</summary>
    /// <example><code>using var d = Functions.Sub(pred, target);</code></example>
    public static Variable Sub(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Graph.Record("sub", a.Value.Sub(b.Value), [a, b], [], (g, ctx) =>
        [
            ctx.NeedsGrad(0) ? Broadcast.SumToShape(g, sa) : null,
            ctx.NeedsGrad(1) ? NegSumTo(g, sb) : null,
        ]);
    }

    /// <summary>a · b (broadcast). da = Σ dy·b, db = Σ dy·a.</summary>
    /// <example><code>using var y = Functions.Mul(x, scale); // [N, C] · [1, C]</code></example>
    public static Variable Mul(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Graph.Record("mul", a.Value.Mul(b.Value), [a, b], [a.Value, b.Value], (g, ctx) =>
        {
            Tensor av = ctx.Saved[0], bv = ctx.Saved[1];
            return [
                ctx.NeedsGrad(0) ? MulSumTo(g, bv, sa) : null,
                ctx.NeedsGrad(1) ? MulSumTo(g, av, sb) : null,
            ];
        });
    }

    /// <summary>a / b (broadcast). da = Σ dy/b, db = −Σ dy·a/b².</summary>
    /// <example><code>using var r = Functions.Div(x, norm);</code></example>
    public static Variable Div(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Graph.Record("div", a.Value.Div(b.Value), [a, b], [a.Value, b.Value], (g, ctx) =>
        {
            Tensor av = ctx.Saved[0], bv = ctx.Saved[1];
            Tensor? da = null, db = null;
            if (ctx.NeedsGrad(0))
            {
                using var q = g.Div(bv);
                da = Broadcast.SumToShape(q, sa);
            }
            if (ctx.NeedsGrad(1))
            {
                using var ga = g.Mul(av);
                using var b2 = bv.Mul(bv);
                using var q = ga.Div(b2);
                db = NegSumTo(q, sb);
            }
            return [da, db];
        });
    }

    /// <summary>Elementwise maximum (broadcast); at ties the gradient is split equally, as PyTorch.</summary>
    /// <example><code>using var y = Functions.Maximum(a, b);</code></example>
    public static Variable Maximum(Variable a, Variable b) => MinMax("maximum", a, b, max: true);

    /// <summary>Elementwise minimum (broadcast); at ties the gradient is split equally.</summary>
    /// <example><code>using var y = Functions.Minimum(a, b);</code></example>
    public static Variable Minimum(Variable a, Variable b) => MinMax("minimum", a, b, max: false);

    private static Variable MinMax(string name, Variable a, Variable b, bool max)
    {
        int[] sa = a.Shape, sb = b.Shape;
        var y = max ? a.Value.Maximum(b.Value) : a.Value.Minimum(b.Value);
        return Graph.Record(name, y, [a, b], [a.Value, b.Value], (g, ctx) =>
        {
            Tensor av = ctx.Saved[0], bv = ctx.Saved[1];
            // wa = 1 where a wins, ½ at ties, 0 where b wins; wb = 1 − wa
            using var wins = max ? av.Gt(bv) : av.Lt(bv);
            using var ties = av.Eq(bv);
            using var half = ties.Mul(0.5);
            using var wa = wins.Add(half);
            Tensor? da = null, db = null;
            if (ctx.NeedsGrad(0)) da = MulSumTo(g, wa, sa);
            if (ctx.NeedsGrad(1))
            {
                using var wb = 1.0 - wa;
                db = MulSumTo(g, wb, sb);
            }
            return [da, db];
        });
    }

    /// <summary>
    /// cond != 0 ? a : b (all broadcast together); cond is a constant mask (e.g. from
    /// <c>x.Value.Gt(0)</c>, same dtype as a). da = Σ dy where cond, db = Σ dy elsewhere.
    /// </summary>
    /// <example><code>using var mask = x.Value.Gt(0); using var y = Functions.Where(mask, x, zeros);</code></example>
    public static Variable Where(Tensor cond, Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Graph.Record("where", Tensor.Where(cond, a.Value, b.Value), [a, b], [cond], (g, ctx) =>
        {
            var c = ctx.Saved[0];
            using var zero = Tensor.Zeros([], g.DType, g.Device);
            Tensor? da = null, db = null;
            if (ctx.NeedsGrad(0))
            {
                using var ga = Tensor.Where(c, g, zero);
                da = Broadcast.SumToShape(ga, sa);
            }
            if (ctx.NeedsGrad(1))
            {
                using var gb = Tensor.Where(c, zero, g);
                db = Broadcast.SumToShape(gb, sb);
            }
            return [da, db];
        });
    }

    // Σ_broadcast(g · t) down to shape.
    private static Tensor MulSumTo(Tensor g, Tensor t, int[] shape)
    {
        using var p = g.Mul(t);
        return Broadcast.SumToShape(p, shape);
    }

    // −Σ_broadcast(g) down to shape.
    private static Tensor NegSumTo(Tensor g, int[] shape)
    {
        using var s = Broadcast.SumToShape(g, shape);
        return s.Neg();
    }
}
