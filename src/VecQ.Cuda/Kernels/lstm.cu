// The fused LSTM cell (IFusedLstmCell), one thread per (row, unit), as the reference backend writes it (gate order i, f, g,
// o; exp and tanh are CUDA's, within an ulp or two of the host's). gates, acts: [B, 4H]; bias: [4H] or null;
// cPrev, c, h, dh, dc, dcPrev: [B, H]; all contiguous. acts may be gates, dcPrev may be dc (each element is read first).

template <typename T> __device__ __forceinline__ T Sigma(T z) { return (T)1 / ((T)1 + exp(-z)); }

template <typename T> __device__ void CellT(long long n, int hidden, const T* gates, const T* bias, const T* cPrev, T* acts, T* c, T* h)
{
    FOR_EACH(s, n)
    {
        long long r = s / hidden;
        int j = (int)(s % hidden);
        long long g0 = r * 4 * hidden + j;
        T bi = bias ? bias[j] : (T)0, bf = bias ? bias[hidden + j] : (T)0, bg = bias ? bias[2 * hidden + j] : (T)0, bo = bias ? bias[3 * hidden + j] : (T)0;
        T i = Sigma(gates[g0] + bi), f = Sigma(gates[g0 + hidden] + bf);
        T g = tanh(gates[g0 + 2 * hidden] + bg), o = Sigma(gates[g0 + 3 * hidden] + bo);
        acts[g0] = i; acts[g0 + hidden] = f; acts[g0 + 2 * hidden] = g; acts[g0 + 3 * hidden] = o;
        T cn = f * cPrev[s] + i * g;
        c[s] = cn;
        h[s] = o * tanh(cn);
    }
}
extern "C" __global__ void lstm_cell_f32(long long n, int hidden, const float* gates, const float* bias, const float* cPrev, float* acts, float* c, float* h)
{ CellT<float>(n, hidden, gates, bias, cPrev, acts, c, h); }
extern "C" __global__ void lstm_cell_f64(long long n, int hidden, const double* gates, const double* bias, const double* cPrev, double* acts, double* c, double* h)
{ CellT<double>(n, hidden, gates, bias, cPrev, acts, c, h); }

template <typename T> __device__ void CellBackT(long long n, int hidden, const T* acts, const T* cPrev, const T* c, const T* dh, const T* dc, T* dgates, T* dcPrev)
{
    FOR_EACH(s, n)
    {
        long long r = s / hidden;
        int j = (int)(s % hidden);
        long long g0 = r * 4 * hidden + j;
        T i = acts[g0], f = acts[g0 + hidden], g = acts[g0 + 2 * hidden], o = acts[g0 + 3 * hidden];
        T t = tanh(c[s]), dhs = dh[s];
        T dcTotal = dc[s] + dhs * o * ((T)1 - t * t);
        dgates[g0] = dcTotal * g * i * ((T)1 - i);
        dgates[g0 + hidden] = dcTotal * cPrev[s] * f * ((T)1 - f);
        dgates[g0 + 2 * hidden] = dcTotal * i * ((T)1 - g * g);
        dgates[g0 + 3 * hidden] = dhs * t * o * ((T)1 - o);
        dcPrev[s] = dcTotal * f;
    }
}
extern "C" __global__ void lstm_cell_back_f32(long long n, int hidden, const float* acts, const float* cPrev, const float* c, const float* dh, const float* dc, float* dgates, float* dcPrev)
{ CellBackT<float>(n, hidden, acts, cPrev, c, dh, dc, dgates, dcPrev); }
extern "C" __global__ void lstm_cell_back_f64(long long n, int hidden, const double* acts, const double* cPrev, const double* c, const double* dh, const double* dc, double* dgates, double* dcPrev)
{ CellBackT<double>(n, hidden, acts, cPrev, c, dh, dc, dgates, dcPrev); }
