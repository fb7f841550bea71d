using VecQ.Tensors;

namespace VecQ.Autograd;

// One LSTM layer in one direction as one graph node: forward over the whole sequence, backward through time.
public static partial class Functions
{
    /// <summary>
    /// One LSTM layer in one direction (PyTorch's equations, gate order i, f, g, o) over x: [T, B, In] from
    /// h0, c0: [B, H] with weight_ih: [4H, In], weight_hh: [4H, H] and the biases b_ih, b_hh: [4H] (either may
    /// be null). reverse runs from the last step to the first. Returns one tensor [T + 1, B, H]: rows 0…T−1 are
    /// the outputs h_t in time order, row T is the final cell state c_n (h_n is row T−1, or row 0 when
    /// reverse); narrow it to take each part, and the gradients of all of them flow back through this node.
    /// </summary>
    /// <example><code>
    /// using var packed = Functions.Lstm(x, h0, c0, wIh, wHh, bIh, bHh, reverse: false); // [T + 1, B, H]
    /// using var y = Functions.Narrow(packed, 0, 0, T);                                    // [T, B, H]
    /// </code></example>
    public static Variable Lstm(Variable x, Variable h0, Variable c0, Variable weightIh, Variable weightHh, Variable? biasIh, Variable? biasHh, bool reverse)
    {
        if (x.Value.Rank != 3 || weightHh.Value.Rank != 2)
            throw new ArgumentException($"lstm: input {x.Describe()} must be [T, B, input_size] and weight_hh {weightHh.Describe()} [4·hidden, hidden]");
        Tensor? bias = (biasIh, biasHh) switch
        {
            (null, null) => null,
            ({ } a, null) => a.Value.Contiguous(),
            (null, { } b) => b.Value.Contiguous(),
            ({ } a, { } b) => a.Value.Add(b.Value),
        };
        int steps = x.Shape[0], batch = x.Shape[1], hidden = weightHh.Shape[1];
        var packed = Tensor.Empty([steps + 1, batch, hidden], x.Value.DType, x.Value.Device);   // [T + 1, B, H]: outputs, then c_n
        LstmSequence seq;
        try
        {
            using var outRows = packed.Narrow(0, 0, Math.Max(steps, 0));                           // the forward writes h_t here
            using (bias) seq = RnnOps.LstmForward(x.Value, h0.Value, c0.Value, weightIh.Value, weightHh.Value, bias, reverse, outRows);
        }
        catch { packed.Dispose(); throw; }
        using (seq)
        {
            using (var last = packed.Select(0, steps)) using (var cn = seq.LastCell()) last.CopyFrom(cn);
            var inputs = new List<Variable> { x, h0, c0, weightIh, weightHh };
            if (biasIh != null) inputs.Add(biasIh);
            if (biasHh != null) inputs.Add(biasHh);
            Tensor[] saved = [x.Value, h0.Value, weightIh.Value, weightHh.Value, seq.Output, seq.Cells, seq.Acts];
            return Graph.Record("lstm", packed, inputs.ToArray(), saved, (g, ctx) =>
            {
                var s = ctx.Saved;
                var kept = new LstmSequence(s[4], s[5], s[6], reverse);                              // the node owns these; not disposed here
                using var dOut = g.Narrow(0, 0, steps);                                            // [T, B, H]
                using var dcN = g.Select(0, steps);                                                // [B, H]
                bool biasGrad = inputs.Count > 5 && Enumerable.Range(5, inputs.Count - 5).Any(ctx.NeedsGrad);
                var grads = RnnOps.LstmBackward(kept, s[0], s[1], s[2], s[3], dOut, dcN, inputGrad: ctx.NeedsGrad(0),
                    stateGrad: ctx.NeedsGrad(1) || ctx.NeedsGrad(2), weightGrad: ctx.NeedsGrad(3) || ctx.NeedsGrad(4), biasGrad);
                var result = new Tensor?[inputs.Count];
                result[0] = grads.Dx; result[1] = grads.Dh0; result[2] = grads.Dc0; result[3] = grads.DWih; result[4] = grads.DWhh;
                if (inputs.Count > 5) result[5] = grads.DBias;
                if (inputs.Count > 6) result[6] = grads.DBias?.Clone();
                return result;
            });
        }
    }
}
