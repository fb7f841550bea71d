// The fused optimizer updates (IFusedOptimizer), elementwise over contiguous tensors: the reference backend's rules in its
// order of operations, every factor rounded to T once, compiled without FMA contraction, so the results are its bits.
//   SGD:  g ← grad + wd·p;  b ← g (first step) or μ·b + (1 − dampening)·g;  g ← g + μ·b (Nesterov) or b;  p ← p − lr·g
//   Adam: g ← grad + wd·p (L2) | p ← decay·p (AdamW);  m ← m·β1 + (1 − β1)·g;  v ← v·β2 + (1 − β2)·g·g;
//         p ← p − stepSize·m / (√v / √bc2 + ε)

template <typename T> __device__ void SgdT(long long n, T* p, const T* grad, T* buf, double lr_, double wd_, double mu_, double omd_,
    int decay, int momentum, int first, int nesterov)
{
    const T lr = (T)lr_, wd = (T)wd_, mu = (T)mu_, oneMinusDampening = (T)omd_;
    FOR_EACH(i, n)
    {
        T gi = grad[i];
        if (decay) gi += wd * p[i];
        if (momentum)
        {
            T bi = first ? gi : mu * buf[i] + oneMinusDampening * gi;
            buf[i] = bi;
            gi = nesterov ? gi + mu * bi : bi;
        }
        p[i] -= lr * gi;
    }
}
extern "C" __global__ void sgd_f32(long long n, float* p, const float* g, float* b, double lr, double wd, double mu, double omd, int decay, int momentum, int first, int nesterov)
{ SgdT<float>(n, p, g, b, lr, wd, mu, omd, decay, momentum, first, nesterov); }
extern "C" __global__ void sgd_f64(long long n, double* p, const double* g, double* b, double lr, double wd, double mu, double omd, int decay, int momentum, int first, int nesterov)
{ SgdT<double>(n, p, g, b, lr, wd, mu, omd, decay, momentum, first, nesterov); }

template <typename T> __device__ void AdamT(long long n, T* p, const T* grad, T* m, T* v, double b1_, double omb1_, double b2_, double omb2_,
    double stepSize_, double bc2Sqrt_, double eps_, double wd_, double decay_, int l2, int decoupled)
{
    const T beta1 = (T)b1_, oneMinusBeta1 = (T)omb1_, beta2 = (T)b2_, oneMinusBeta2 = (T)omb2_;
    const T stepSize = (T)stepSize_, bc2Sqrt = (T)bc2Sqrt_, eps = (T)eps_, wd = (T)wd_, decay = (T)decay_;
    FOR_EACH(i, n)
    {
        T pi = p[i], gi = grad[i];
        if (l2) gi += wd * pi;
        if (decoupled) pi *= decay;
        T mi = m[i] * beta1 + oneMinusBeta1 * gi;
        T vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        T denom = sqrt(vi) / bc2Sqrt + eps;
        p[i] = pi - stepSize * mi / denom;
    }
}
extern "C" __global__ void adam_f32(long long n, float* p, const float* g, float* m, float* v, double b1, double omb1, double b2, double omb2,
    double stepSize, double bc2Sqrt, double eps, double wd, double decay, int l2, int decoupled)
{ AdamT<float>(n, p, g, m, v, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps, wd, decay, l2, decoupled); }
extern "C" __global__ void adam_f64(long long n, double* p, const double* g, double* m, double* v, double b1, double omb1, double b2, double omb2,
    double stepSize, double bc2Sqrt, double eps, double wd, double decay, int l2, int decoupled)
{ AdamT<double>(n, p, g, m, v, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps, wd, decay, l2, decoupled); }
