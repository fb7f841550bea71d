namespace VecQ.Tensors;

/// <summary>
/// What <see cref="RnnOps.LstmForward"/> keeps for the backward pass of one LSTM layer in one direction.
/// Dispose it when the gradient has been taken (or was not needed).
/// </summary>
/// <example><code>using var seq = RnnOps.LstmForward(x, h0, c0, wIh, wHh, bias, reverse: false); var y = seq.Output; // [T, B, H]</code></example>
public sealed class LstmSequence : IDisposable
{
    /// <summary>Wraps the three tensors (it owns them: <see cref="Dispose"/> releases each).</summary>
    public LstmSequence(Tensor output, Tensor cells, Tensor acts, bool reverse)
    {
        Output = output; Cells = cells; Acts = acts; Reverse = reverse;
    }

    /// <summary>h_t in time order: [T, B, H].</summary>
    public Tensor Output { get; }
    /// <summary>The cell state by step (not by time): [T + 1, B, H], Cells[0] = c0 and Cells[s + 1] after step s.</summary>
    public Tensor Cells { get; }
    /// <summary>The gate activations (σ(i), σ(f), tanh(g), σ(o)) by time: [T, B, 4H].</summary>
    public Tensor Acts { get; }
    /// <summary>True when the steps ran from the last time index to the first (the reverse direction).</summary>
    public bool Reverse { get; }
    /// <summary>Sequence length T.</summary>
    public int Steps => Output.Dims[0];
    /// <summary>The time index processed at step <paramref name="step"/>.</summary>
    public int TimeAt(int step) => Reverse ? Steps - 1 - step : step;
    /// <summary>The last hidden state h_n: [B, H] (a view of <see cref="Output"/>).</summary>
    public Tensor LastHidden() => Output.Select(0, TimeAt(Steps - 1));
    /// <summary>The last cell state c_n: [B, H] (a view of <see cref="Cells"/>).</summary>
    public Tensor LastCell() => Cells.Select(0, Steps);

    /// <inheritdoc/>
    public void Dispose() { Output.Dispose(); Cells.Dispose(); Acts.Dispose(); }
}

/// <summary>The gradients <see cref="RnnOps.LstmBackward"/> returns (each null when not asked for).</summary>
/// <param name="Dx">[T, B, In]</param><param name="Dh0">[B, H]</param><param name="Dc0">[B, H]</param>
/// <param name="DWih">[4H, In]</param><param name="DWhh">[4H, H]</param><param name="DBias">[4H] (for b_ih and b_hh alike)</param>
public sealed record LstmGrads(Tensor? Dx, Tensor? Dh0, Tensor? Dc0, Tensor? DWih, Tensor? DWhh, Tensor? DBias) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() { Dx?.Dispose(); Dh0?.Dispose(); Dc0?.Dispose(); DWih?.Dispose(); DWhh?.Dispose(); DBias?.Dispose(); }
}

/// <summary>
/// Recurrent layers at the tensor level: the LSTM cell (fused through <see cref="IFusedLstmCell"/> when the
/// backend offers it) and one LSTM layer over a whole sequence, forward and backward through time. The
/// input projection of every step is one GEMM; each step adds one recurrent GEMM and one cell kernel (the whole
/// recurrence is one kernel where the backend has <see cref="IFusedLstmRecurrence"/>).
/// </summary>
/// <example><code>using var seq = RnnOps.LstmForward(x, h0, c0, wIh, wHh, bias, reverse: false); // x: [T, B, In] → [T, B, H]</code></example>
public static class RnnOps
{
    /// <summary>
    /// One LSTM step (see <see cref="IFusedLstmCell.LstmCell"/>): gates: [B, 4H] without the bias, bias: [4H] or null,
    /// cPrev: [B, H] → acts: [B, 4H], c, h: [B, H], all contiguous. acts may be gates itself.
    /// </summary>
    /// <example><code>RnnOps.LstmCell(gates, bias, cPrev, gates, c, h);</code></example>
    public static void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        CheckCell("lstm_cell", gates, ("cPrev", cPrev), ("acts", acts), ("c", c), ("h", h));
        if (bias != null && (!Shape.Equal(bias.Dims, [gates.Dims[1]]) || bias.DType != gates.DType || !bias.IsContiguous))
            throw new ArgumentException($"lstm_cell: bias {bias.ShapeText} must be contiguous [{gates.Dims[1]}] ({gates.DType.Name()})");
        if (bias != null) Tensor.SameDevice("lstm_cell", gates, bias);
        var b = Backend.For(gates);
        if (b is IFusedLstmCell fused) fused.LstmCell(gates, bias, cPrev, acts, c, h);
        else UnfusedLstmCell(b, gates, bias, cPrev, acts, c, h);
    }

    /// <summary>Gradient of <see cref="LstmCell"/> (see <see cref="IFusedLstmCell.LstmCellBackward"/>); dcPrev may be dc itself.</summary>
    /// <example><code>RnnOps.LstmCellBackward(acts, cPrev, c, dh, dc, dgates, dc);</code></example>
    public static void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        CheckCell("lstm_cell_backward", acts, ("cPrev", cPrev), ("dgates", dgates), ("c", c), ("dh", dh), ("dc", dc), ("dcPrev", dcPrev));
        var b = Backend.For(acts);
        if (b is IFusedLstmCell fused) fused.LstmCellBackward(acts, cPrev, c, dh, dc, dgates, dcPrev);
        else UnfusedLstmCellBackward(b, acts, cPrev, c, dh, dc, dgates, dcPrev);
    }

    /// <summary>
    /// The generic form of <see cref="IFusedLstmCell.LstmCell"/> from <paramref name="b"/>'s elementwise
    /// primitives: what a backend without the fused kernel runs.
    /// </summary>
    /// <example><code>RnnOps.UnfusedLstmCell(Backend.For(gates), gates, bias, cPrev, acts, c, h);</code></example>
    public static void UnfusedLstmCell(IBackend b, Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        int hs = cPrev.Dims[1];
        using var z = Tensor.Empty(gates.Dims, gates.DType, gates.Device);             // z = gates + bias: [B, 4H]
        if (bias != null) using (var bb = bias.Expand(gates.Dims)) b.Binary(new Add(), gates, bb, z);
        else b.Copy(gates, z);
        using var a = Tensor.Empty(gates.Dims, gates.DType, gates.Device);             // [B, 4H]
        using (var src = z.Narrow(1, 0, 2 * hs)) using (var dst = a.Narrow(1, 0, 2 * hs)) b.Unary(new Sigmoid(), src, dst);
        using (var src = z.Narrow(1, 2 * hs, hs)) using (var dst = a.Narrow(1, 2 * hs, hs)) b.Unary(new Tanh(), src, dst);
        using (var src = z.Narrow(1, 3 * hs, hs)) using (var dst = a.Narrow(1, 3 * hs, hs)) b.Unary(new Sigmoid(), src, dst);
        b.Copy(a, acts);
        using var i = a.Narrow(1, 0, hs); using var f = a.Narrow(1, hs, hs);
        using var g = a.Narrow(1, 2 * hs, hs); using var o = a.Narrow(1, 3 * hs, hs);
        using var fc = Tensor.Empty(cPrev.Dims, cPrev.DType, cPrev.Device);           // [B, H]
        using var ig = Tensor.Empty(cPrev.Dims, cPrev.DType, cPrev.Device);
        b.Binary(new Mul(), f, cPrev, fc);
        b.Binary(new Mul(), i, g, ig);
        b.Binary(new Add(), fc, ig, c);
        b.Unary(new Tanh(), c, fc);
        b.Binary(new Mul(), o, fc, h);
    }

    /// <summary>
    /// The generic form of <see cref="IFusedLstmRecurrence.LstmForwardSteps"/>: per step <paramref name="b"/>'s MatMul for
    /// gates += hPrev·whhT, then its fused cell (or <see cref="UnfusedLstmCell"/> where it has none). Operands as
    /// IFusedLstmRecurrence documents them.
    /// </summary>
    /// <example><code>RnnOps.UnfusedLstmForwardSteps(Backend.For(acts), whhT, bias, h0, acts, cells, output, reverse: false);</code></example>
    public static void UnfusedLstmForwardSteps(IBackend b, Tensor whhT, Tensor? bias, Tensor h0, Tensor acts, Tensor cells, Tensor output, bool reverse)
    {
        int steps = acts.Dims[0];
        using var w3 = whhT.Unsqueeze(0);                                             // [1, H, 4H]
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;
            using var hPrev = s == 0 ? h0.Unsqueeze(0) : output.Narrow(0, reverse ? t + 1 : t - 1, 1);   // [1, B, H]
            using var gates = acts.Select(0, t);                                                        // [B, 4H]
            using var g3 = gates.Unsqueeze(0);
            using var cPrev = cells.Select(0, s);
            using var c = cells.Select(0, s + 1);
            using var h = output.Select(0, t);
            b.MatMul(hPrev, w3, g3, 1f, 1f);                                          // [1, B, H] × [1, H, 4H] added to [1, B, 4H]
            if (b is IFusedLstmCell fused) fused.LstmCell(gates, bias, cPrev, gates, c, h);
            else UnfusedLstmCell(b, gates, bias, cPrev, gates, c, h);
        }
    }

    /// <summary>
    /// The generic form of <see cref="IFusedLstmRecurrence.LstmBackwardSteps"/>: per step from the last, dh = dOutput[t]
    /// (+ dG[t_next]·W_hh by <paramref name="b"/>'s MatMul), then <see cref="LstmCellBackward"/>.
    /// </summary>
    /// <example><code>RnnOps.UnfusedLstmBackwardSteps(Backend.For(acts), whh, acts, cells, dOutput, dc, dG, reverse: false);</code></example>
    public static void UnfusedLstmBackwardSteps(IBackend b, Tensor whh, Tensor acts, Tensor cells, Tensor dOutput, Tensor dc, Tensor dG, bool reverse)
    {
        int steps = acts.Dims[0];
        using var dh = Tensor.Empty(dc.Dims, dc.DType, dc.Device);                    // [B, H]
        using var whh3 = whh.Unsqueeze(0);                                            // [1, 4H, H]
        for (int s = steps - 1; s >= 0; s--)
        {
            int t = reverse ? steps - 1 - s : s;
            using (var dy = dOutput.Select(0, t)) b.Copy(dy, dh);
            if (s < steps - 1)
                using (var next = dG.Narrow(0, reverse ? t - 1 : t + 1, 1)) using (var dh3 = dh.Unsqueeze(0))
                    b.MatMul(next, whh3, dh3, 1f, 1f);                               // dh += dgates[t_next] · W_hh
            using var a = acts.Select(0, t);
            using var cPrev = cells.Select(0, s);
            using var c = cells.Select(0, s + 1);
            using var dg = dG.Select(0, t);
            if (b is IFusedLstmCell fused) fused.LstmCellBackward(a, cPrev, c, dh, dc, dg, dc);
            else UnfusedLstmCellBackward(b, a, cPrev, c, dh, dc, dg, dc);
        }
    }

    /// <summary>The generic form of <see cref="IFusedLstmCell.LstmCellBackward"/> from elementwise primitives.</summary>
    /// <example><code>RnnOps.UnfusedLstmCellBackward(Backend.For(acts), acts, cPrev, c, dh, dc, dgates, dcPrev);</code></example>
    public static void UnfusedLstmCellBackward(IBackend b, Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        int hs = cPrev.Dims[1];
        using var i = acts.Narrow(1, 0, hs); using var f = acts.Narrow(1, hs, hs);
        using var g = acts.Narrow(1, 2 * hs, hs); using var o = acts.Narrow(1, 3 * hs, hs);
        Tensor Temp() => Tensor.Empty(cPrev.Dims, cPrev.DType, cPrev.Device);        // [B, H]
        using var t = Temp(); using var u = Temp(); using var dcTotal = Temp();
        b.Unary(new Tanh(), c, t);                                                      // t = tanh(c)
        // dĉ = dc + dh·o·(1 − t²)
        b.Binary(new Mul(), t, t, u);
        b.Unary(new Affine(-1, 1), u, u);
        b.Binary(new Mul(), u, o, u);
        b.Binary(new Mul(), u, dh, u);
        b.Binary(new Add(), u, dc, dcTotal);
        // σ'(z) = s(1 − s) for the sigmoid gates, 1 − s² for tanh
        void Gate(int k, Tensor s, Tensor factor, bool tanh)
        {
            using var d = dgates.Narrow(1, k * hs, hs);
            using var deriv = Temp();
            if (tanh) { b.Binary(new Mul(), s, s, deriv); b.Unary(new Affine(-1, 1), deriv, deriv); }
            else { b.Unary(new Affine(-1, 1), s, deriv); b.Binary(new Mul(), deriv, s, deriv); }
            using var prod = Temp();
            b.Binary(new Mul(), factor, deriv, prod);
            b.Binary(new Mul(), prod, k == 3 ? dh : dcTotal, d);
        }
        Gate(0, i, g, tanh: false);
        Gate(1, f, cPrev, tanh: false);
        Gate(2, g, i, tanh: true);
        Gate(3, o, t, tanh: false);
        b.Binary(new Mul(), dcTotal, f, dcPrev);
    }

    /// <summary>
    /// One LSTM layer in one direction over x: [T, B, In] from h0, c0: [B, H] with w_ih: [4H, In], w_hh: [4H, H]
    /// and bias: [4H] (b_ih + b_hh, or null). reverse runs the steps from t = T − 1 down to 0 (the backward half
    /// of a bidirectional layer); the outputs stay in time order.
    /// </summary>
    /// <remarks>With <paramref name="output"/> (a contiguous [T, B, H] tensor, typically a view of a larger one) the
    /// outputs are written there and the returned sequence's <see cref="LstmSequence.Output"/> is a view of it.</remarks>
    /// <example><code>using var seq = RnnOps.LstmForward(x, h0, c0, wIh, wHh, bias, reverse: false); // seq.Output: [T, B, H]</code></example>
    public static LstmSequence LstmForward(Tensor x, Tensor h0, Tensor c0, Tensor wIh, Tensor wHh, Tensor? bias, bool reverse, Tensor? output = null)
    {
        var (steps, batch, input, hidden) = CheckLayer("lstm", x, h0, c0, wIh, wHh, bias);
        if (output != null && (!Shape.Equal(output.Dims, [steps, batch, hidden]) || output.DType != x.DType || !output.IsContiguous))
            throw new ArgumentException($"lstm: output {output.ShapeText} must be contiguous [{steps}, {batch}, {hidden}] ({x.DType.Name()})");
        var b = Backend.For(x);
        var acts = Tensor.Empty([steps, batch, 4 * hidden], x.DType, x.Device);      // pre-activations, then activations in place
        output = output != null ? output.AsStrided(output.Dims, output.Strides, output.Offset) : Tensor.Empty([steps, batch, hidden], x.DType, x.Device);
        var cells = Tensor.Empty([steps + 1, batch, hidden], x.DType, x.Device);
        var seq = new LstmSequence(output, cells, acts, reverse);
        try
        {
            using (var x3 = Rows3(x)) using (var a3 = Rows3(acts)) using (var wt = Transposed3(wIh))
                b.MatMul(x3, wt, a3, 1f, 0f);                                         // [1, T·B, In] × [1, In, 4H]; the cell adds the bias
            using var biasC = bias?.Contiguous();
            using var whhT = Transposed3(wHh);                                        // [1, H, 4H]
            using var whhT2 = whhT.Select(0, 0);                                      // [H, 4H]
            using var h0c = h0.Contiguous();
            using (var first = cells.Select(0, 0)) first.CopyFrom(c0);
            if (b is IFusedLstmRecurrence fused) fused.LstmForwardSteps(whhT2, biasC, h0c, acts, cells, output, reverse);
            else UnfusedLstmForwardSteps(b, whhT2, biasC, h0c, acts, cells, output, reverse);
            return seq;
        }
        catch { seq.Dispose(); throw; }
    }

    /// <summary>
    /// Backward through time of <see cref="LstmForward"/>: dOutput: [T, B, H] (the gradient at every output,
    /// h_n's included) and dcN: [B, H] (at c_n, or null for none). x, h0, w_ih and w_hh as the forward took
    /// them. Returns the gradients asked for; one GEMM each for dx, dW_ih and dW_hh over the whole sequence.
    /// </summary>
    /// <example><code>using var g = RnnOps.LstmBackward(seq, x, h0, wIh, wHh, dy, dcN, inputGrad: true, stateGrad: true, weightGrad: true, biasGrad: true);</code></example>
    public static LstmGrads LstmBackward(LstmSequence seq, Tensor x, Tensor h0, Tensor wIh, Tensor wHh, Tensor dOutput, Tensor? dcN,
        bool inputGrad, bool stateGrad, bool weightGrad, bool biasGrad)
    {
        var (steps, batch, input, hidden) = CheckLayer("lstm_backward", x, h0, h0, wIh, wHh, null);
        if (!Shape.Equal(dOutput.Dims, seq.Output.Dims) || dOutput.DType != x.DType)
            throw new ArgumentException($"lstm_backward: dOutput {dOutput.ShapeText} must be {seq.Output.ShapeText} ({x.DType.Name()})");
        if (dcN != null && (!Shape.Equal(dcN.Dims, [batch, hidden]) || dcN.DType != x.DType))
            throw new ArgumentException($"lstm_backward: dcN {dcN.ShapeText} must be [{batch}, {hidden}] ({x.DType.Name()})");
        var b = Backend.For(x);
        var dt = x.DType; var dev = x.Device;
        Tensor? dx = null, dh0 = null, dc0 = null, dwih = null, dwhh = null, dbias = null;
        try
        {
            using var dG = Tensor.Empty([steps, batch, 4 * hidden], dt, dev);        // gate pre-activation gradients by time
            using var dc = Tensor.Empty([batch, hidden], dt, dev);
            if (dcN != null) dc.CopyFrom(dcN); else dc.Fill(0);
            using var dOut = dOutput.Contiguous();
            using var whhC = wHh.Contiguous();
            using var whh3 = whhC.Unsqueeze(0);                                       // [1, 4H, H]
            if (b is IFusedLstmRecurrence fused) fused.LstmBackwardSteps(whhC, seq.Acts, seq.Cells, dOut, dc, dG, seq.Reverse);
            else UnfusedLstmBackwardSteps(b, whhC, seq.Acts, seq.Cells, dOut, dc, dG, seq.Reverse);
            if (stateGrad)
            {
                dc0 = Tensor.Empty([batch, hidden], dt, dev);
                dc0.CopyFrom(dc);
                dh0 = Tensor.Empty([batch, hidden], dt, dev);
                using (var first = dG.Narrow(0, seq.TimeAt(0), 1)) using (var d3 = dh0.Unsqueeze(0)) b.MatMul(first, whh3, d3, 1f, 0f);
            }
            using var dG3 = Rows3(dG);                                                // [1, T·B, 4H]
            using var dGt = dG3.Transpose(1, 2);                                      // [1, 4H, T·B]
            if (inputGrad)
            {
                dx = Tensor.Empty([steps, batch, input], dt, dev);
                using var dx3 = Rows3(dx); using var wC = wIh.Contiguous(); using var w3 = wC.Unsqueeze(0);
                b.MatMul(dG3, w3, dx3, 1f, 0f);                                       // [1, T·B, 4H] × [1, 4H, In]
            }
            if (weightGrad)
            {
                dwih = Tensor.Empty([4 * hidden, input], dt, dev);
                using (var x3 = Rows3(x)) using (var d3 = dwih.Unsqueeze(0)) b.MatMul(dGt, x3, d3, 1f, 0f);
                // hPrev by time: h0 at the first step's time, else the previous step's output
                using var hPrev = Tensor.Empty([steps, batch, hidden], dt, dev);
                using (var dst = hPrev.Select(0, seq.TimeAt(0))) dst.CopyFrom(h0);
                using (var dst = hPrev.Narrow(0, seq.Reverse ? 0 : 1, steps - 1))
                using (var src = seq.Output.Narrow(0, seq.Reverse ? 1 : 0, steps - 1)) dst.CopyFrom(src);
                dwhh = Tensor.Empty([4 * hidden, hidden], dt, dev);
                using (var h3 = Rows3(hPrev)) using (var d3 = dwhh.Unsqueeze(0)) b.MatMul(dGt, h3, d3, 1f, 0f);
            }
            if (biasGrad)
                using (var rows = dG.Reshape(steps * batch, 4 * hidden)) dbias = rows.Sum([0]);
            return new LstmGrads(dx, dh0, dc0, dwih, dwhh, dbias);
        }
        catch { dx?.Dispose(); dh0?.Dispose(); dc0?.Dispose(); dwih?.Dispose(); dwhh?.Dispose(); dbias?.Dispose(); throw; }
    }

    // [T, B, F] contiguous → [1, T·B, F] view
    private static Tensor Rows3(Tensor t) => t.Reshape(1, t.Dims[0] * t.Dims[1], t.Dims[2]);

    // w: [R, C] → wᵀ as a contiguous [1, C, R] copy: copied once per sequence, it is the plain (not transposed)
    // B operand every step's small GEMM streams best
    private static Tensor Transposed3(Tensor w) { using var t = w.T(); using var c = t.Contiguous(); return c.Unsqueeze(0); }

    private static (int T, int B, int In, int H) CheckLayer(string op, Tensor x, Tensor h0, Tensor c0, Tensor wIh, Tensor wHh, Tensor? bias)
    {
        foreach (var t in new[] { x, h0, c0, wIh, wHh }) t.EnsureAlive(op);
        bias?.EnsureAlive(op);
        if (x.Rank != 3) throw new ArgumentException($"{op}: input {x.ShapeText} must be [T, B, input_size]");
        if (x.DType is not (DType.Float32 or DType.Float64)) throw new ArgumentException($"{op}: input must be float32 or float64, got {x.DType.Name()}");
        int steps = x.Dims[0], batch = x.Dims[1], input = x.Dims[2];
        if (steps < 1 || batch < 1) throw new ArgumentException($"{op}: input {x.ShapeText} needs at least one step and one sequence");
        if (wHh.Rank != 2 || wHh.Dims[0] != 4 * wHh.Dims[1])
            throw new ArgumentException($"{op}: weight_hh {wHh.ShapeText} must be [4·hidden_size, hidden_size]");
        int hidden = wHh.Dims[1];
        if (!Shape.Equal(wIh.Dims, [4 * hidden, input]))
            throw new ArgumentException($"{op}: weight_ih {wIh.ShapeText} must be [{4 * hidden}, {input}] for input {x.ShapeText} and hidden_size {hidden}");
        if (bias != null && !Shape.Equal(bias.Dims, [4 * hidden]))
            throw new ArgumentException($"{op}: bias {bias.ShapeText} must be [{4 * hidden}]");
        foreach (var (name, t) in new[] { ("h0", h0), ("c0", c0) })
            if (!Shape.Equal(t.Dims, [batch, hidden]))
                throw new ArgumentException($"{op}: {name} {t.ShapeText} must be [{batch}, {hidden}] (batch, hidden_size)");
        foreach (var t in new[] { h0, c0, wIh, wHh })
        {
            if (t.DType != x.DType) throw new ArgumentException($"{op}: all operands must be {x.DType.Name()}; got {t.ShapeText} {t.DType.Name()}");
            Tensor.SameDevice(op, x, t);
        }
        if (bias != null) { Tensor.SameDevice(op, x, bias); if (bias.DType != x.DType) throw new ArgumentException($"{op}: bias must be {x.DType.Name()}"); }
        return (steps, batch, input, hidden);
    }

    private static void CheckCell(string op, Tensor gates, params (string Name, Tensor T)[] rest)
    {
        gates.EnsureAlive(op);
        if (gates.Rank != 2 || gates.Dims[1] % 4 != 0 || !gates.IsContiguous)
            throw new ArgumentException($"{op}: gates {gates.ShapeText} must be contiguous [B, 4H]");
        int batch = gates.Dims[0], hidden = gates.Dims[1] / 4;
        foreach (var (name, t) in rest)
        {
            t.EnsureAlive(op);
            int width = name is "acts" or "dgates" ? 4 * hidden : hidden;
            if (!Shape.Equal(t.Dims, [batch, width]) || t.DType != gates.DType || !t.IsContiguous)
                throw new ArgumentException($"{op}: {name} {t.ShapeText} must be contiguous [{batch}, {width}] ({gates.DType.Name()})");
            Tensor.SameDevice(op, gates, t);
        }
    }
}
