using VecQ.Autograd;
using VecQ.Tensors;

namespace VecQ.Nn;

/// <summary>
/// A multi-layer LSTM with PyTorch's semantics and parameter names (<c>weight_ih_l{k}</c> [4H, In],
/// <c>weight_hh_l{k}</c> [4H, H], <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c> [4H], <c>…_reverse</c> for the
/// backward direction; gate order i, f, g, o), so PyTorch and TorchSharp load its checkpoints. Input
/// [T, B, In] ([B, T, In] with batchFirst); output [T, B, D·H] and the final states h_n, c_n: [L·D, B, H]
/// (D = 2 when bidirectional). Each layer and direction runs as one graph node (<see cref="Functions.Lstm"/>):
/// the input projection of the whole sequence is one GEMM, each step one recurrent GEMM and one fused cell.
/// </summary>
/// <example><code>
/// using var lstm = new Lstm(128, 70, batchFirst: true);
/// var (y, (hn, cn)) = lstm.Forward(x, null);   // x: [B, T, 128] → y: [B, T, 70], hn, cn: [1, B, 70]
/// </code></example>
public sealed class Lstm : Module
{
    private readonly Rng? _dropoutRng;

    /// <summary>Creates the layers, initialised as PyTorch does: every weight and bias uniform in ±1/√hidden.</summary>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, Rng? rng = null, Device? device = null)
    {
        if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0)
            throw new ArgumentException($"LSTM: input_size {inputSize}, hidden_size {hiddenSize} and num_layers {numLayers} must be positive");
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentException($"LSTM: dropout {dropout} must be in [0, 1]");
        (InputSize, HiddenSize, NumLayers, HasBias, BatchFirst, Dropout, Bidirectional) =
            (inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional);
        var r = rng ?? Init.DefaultRng;
        double bound = 1 / Math.Sqrt(hiddenSize);
        var cells = new List<Direction>();
        for (int layer = 0; layer < numLayers; layer++)
            for (int d = 0; d < Directions; d++)
            {
                string suffix = $"_l{layer}" + (d == 1 ? "_reverse" : "");
                int inSize = layer == 0 ? inputSize : hiddenSize * Directions;
                var wIh = RegisterParameter("weight_ih" + suffix, Tensor.Empty([4 * hiddenSize, inSize]));   // [4H, In]
                var wHh = RegisterParameter("weight_hh" + suffix, Tensor.Empty([4 * hiddenSize, hiddenSize])); // [4H, H]
                var bIh = bias ? RegisterParameter("bias_ih" + suffix, Tensor.Empty([4 * hiddenSize])) : null;  // [4H]
                var bHh = bias ? RegisterParameter("bias_hh" + suffix, Tensor.Empty([4 * hiddenSize])) : null;
                foreach (var p in new[] { wIh, wHh, bIh, bHh }) if (p != null) Init.Uniform(p.Data, r, -bound, bound);
                cells.Add(new Direction(wIh, wHh, bIh, bHh, d == 1));
            }
        Cells = cells;
        _dropoutRng = rng;
        if (device is { } dev) To(dev);
    }

    /// <summary>Features per input step.</summary>
    public int InputSize { get; }
    /// <summary>H, the hidden (and cell) state size.</summary>
    public int HiddenSize { get; }
    /// <summary>L, the number of stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>Whether each layer has b_ih and b_hh.</summary>
    public bool HasBias { get; }
    /// <summary>True when inputs and outputs are [B, T, F] instead of [T, B, F].</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout probability on the outputs of every layer but the last (training only).</summary>
    public double Dropout { get; }
    /// <summary>Whether every layer also runs from the last step to the first and concatenates both outputs.</summary>
    public bool Bidirectional { get; }
    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    private IReadOnlyList<Direction> Cells { get; }

    private sealed record Direction(Parameter WIh, Parameter WHh, Parameter? BIh, Parameter? BHh, bool Reverse);

    /// <summary>The output sequence only (what a Sequential chain passes on).</summary>
    public override Variable Forward(Variable x)
    {
        var (y, (h, c)) = Forward(x, null);
        h.Dispose(); c.Dispose();
        return y;
    }

    /// <summary>
    /// Runs the LSTM from the initial states (h0, c0): [L·D, B, H] (zeros when null). Returns the output
    /// [T, B, D·H] ([B, T, D·H] with batchFirst) and (h_n, c_n): [L·D, B, H], layer-major as PyTorch orders them.
    /// </summary>
    public (Variable Output, (Variable H, Variable C) State) Forward(Variable x, (Variable H, Variable C)? state)
    {
        if (x.Value.Rank != 3 || x.Shape[2] != InputSize)
            throw new ArgumentException($"LSTM({InputSize}, {HiddenSize}): input {x.Describe()} must be {(BatchFirst ? "[B, T, " : "[T, B, ")}{InputSize}]");
        int batch = BatchFirst ? x.Shape[0] : x.Shape[1];
        int[] stateShape = [NumLayers * Directions, batch, HiddenSize];
        if (state is { } st)
            foreach (var (name, v) in new[] { ("h0", st.H), ("c0", st.C) })
                if (!Shape.Equal(v.Shape, stateShape))
                    throw new ArgumentException($"LSTM({InputSize}, {HiddenSize}): {name} {v.Describe()} must be {Shape.Format(stateShape)} (layers·directions, batch, hidden)");
        var owned = new List<Variable>();                     // intermediates this call creates and releases
        try
        {
            Variable layerIn = BatchFirst ? Own(owned, Functions.Transpose(x, 0, 1)) : x;   // [T, B, In]
            int steps = layerIn.Shape[0];
            using var zeros = state is null ? new Variable(Tensor.Zeros([batch, HiddenSize], x.Value.DType, x.Value.Device)) : null;
            var hn = new List<Variable>(); var cn = new List<Variable>();
            for (int layer = 0; layer < NumLayers; layer++)
            {
                var outs = new List<Variable>();
                for (int d = 0; d < Directions; d++)
                {
                    int k = layer * Directions + d;
                    var cell = Cells[k];
                    var h0 = state is { } s0 ? Own(owned, Functions.Select(s0.H, 0, k)) : zeros!;   // [B, H]
                    var c0 = state is { } s1 ? Own(owned, Functions.Select(s1.C, 0, k)) : zeros!;
                    using var wIh = new ParameterLease(cell.WIh, Training);
                    using var wHh = new ParameterLease(cell.WHh, Training);
                    using var bIh = new ParameterLease(cell.BIh, Training);
                    using var bHh = new ParameterLease(cell.BHh, Training);
                    var packed = Own(owned, Functions.Lstm(layerIn, h0, c0, wIh.Value!, wHh.Value!, bIh.Value, bHh.Value, cell.Reverse)); // [T + 1, B, H]
                    outs.Add(Own(owned, Functions.Narrow(packed, 0, 0, steps)));                    // [T, B, H]
                    hn.Add(Own(owned, Functions.Select(packed, 0, cell.Reverse ? 0 : steps - 1)));  // [B, H]
                    cn.Add(Own(owned, Functions.Select(packed, 0, steps)));
                }
                var y = outs.Count == 1 ? outs[0] : Own(owned, Functions.Concat(outs, 2));         // [T, B, D·H]
                if (layer < NumLayers - 1 && Dropout > 0 && Training) y = Own(owned, Functions.Dropout(y, Dropout, _dropoutRng ?? Init.DefaultRng));
                layerIn = y;
            }
            Variable output;
            if (BatchFirst) output = Functions.Transpose(layerIn, 0, 1);                         // [B, T, D·H]
            else { owned.Remove(layerIn); output = layerIn; }
            var hState = Functions.Stack(hn, 0);                                                    // [L·D, B, H]
            var cState = Functions.Stack(cn, 0);
            return (Traced(output), (hState, cState));
        }
        finally { foreach (var v in owned) v.Dispose(); }
    }

    private static Variable Own(List<Variable> owned, Variable v) { owned.Add(v); return v; }
}
