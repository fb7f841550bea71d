using VecQ.Tensors;

namespace VecQ.Cuda;

// The fused LSTM cell (IFusedLstmCell, Kernels/lstm.cu): one kernel per step and direction instead of the op layer's
// fifteen elementwise ops; the recurrent product stays a cuBLAS call per step (RnnOps' generic recurrence).
public sealed partial class CudaBackend : IFusedLstmCell
{
    /// <inheritdoc/>
    public void LstmCell(Tensor gates, Tensor? bias, Tensor cPrev, Tensor acts, Tensor c, Tensor h)
    {
        int hidden = gates.Dims[1] / 4;
        long n = (long)gates.Dims[0] * hidden;
        Run("lstm", "lstm_cell_" + FloatSuffix("lstm_cell", gates), n,
            Args().Add(n).Add(hidden).Add(At(gates)).Add(AtOpt(bias)).Add(At(cPrev)).Add(At(acts)).Add(At(c)).Add(At(h)));
    }

    /// <inheritdoc/>
    public void LstmCellBackward(Tensor acts, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor dgates, Tensor dcPrev)
    {
        int hidden = acts.Dims[1] / 4;
        long n = (long)acts.Dims[0] * hidden;
        Run("lstm", "lstm_cell_back_" + FloatSuffix("lstm_cell_backward", acts), n,
            Args().Add(n).Add(hidden).Add(At(acts)).Add(At(cPrev)).Add(At(c)).Add(At(dh)).Add(At(dc)).Add(At(dgates)).Add(At(dcPrev)));
    }
}
