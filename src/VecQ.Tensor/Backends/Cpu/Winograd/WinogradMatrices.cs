namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The transforms of Winograd's minimal filtering algorithm F(m, r) (Lavin and Gray, 2016): m outputs of an
/// r-tap correlation from α = m + r − 1 inputs with α multiplications,
/// <code>y = Aᵀ [(G g) ⊙ (Bᵀ d)]      (2-D: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A)</code>
/// computed here by Toom–Cook from α − 1 finite points and ∞, never typed in. Correlation is the
/// transpose of linear convolution, s = E_α⁻¹ [(E_r g) ⊙ (E_m h)], where E_n evaluates a polynomial with n
/// coefficients at the points (the ∞ row takes the leading coefficient), so Aᵀ = E_mᵀ, G = E_r and
/// Bᵀ = E_α⁻ᵀ (inverted in double).
/// </summary>
/// <example><code>var f = WinogradMatrices.For(2, 5); // α = 6: AT [2×6], G [6×5], BT [6×6]</code></example>
internal sealed class WinogradMatrices
{
    /// <summary>The finite points, in the order they are used (small magnitudes first keep the transforms well conditioned).</summary>
    private static readonly double[] PointOrder = [0, 1, -1, 2, -2, 0.5, -0.5, 3, -3];

    private static readonly Dictionary<(int, int), WinogradMatrices> Cache = [];

    private WinogradMatrices(int m, int r)
    {
        M = m;
        R = r;
        Alpha = m + r - 1;
        if (Alpha - 1 > PointOrder.Length) throw new ArgumentException($"winograd F({m}, {r}): more than {PointOrder.Length} finite points needed");
        double[,] em = Evaluation(m), er = Evaluation(r), ea = Evaluation(Alpha);
        double[,] eaInv = Invert(ea);
        AT = new float[m * Alpha];
        G = new float[Alpha * r];
        BT = new float[Alpha * Alpha];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < Alpha; j++) AT[i * Alpha + j] = (float)em[j, i];
        for (int j = 0; j < Alpha; j++)
            for (int k = 0; k < r; k++) G[j * r + k] = (float)er[j, k];
        for (int i = 0; i < Alpha; i++)
            for (int j = 0; j < Alpha; j++) BT[i * Alpha + j] = (float)eaInv[j, i];
    }

    /// <summary>Outputs per tile side.</summary>
    public int M { get; }

    /// <summary>Filter taps.</summary>
    public int R { get; }

    /// <summary>Inputs per tile side, m + r − 1.</summary>
    public int Alpha { get; }

    /// <summary>Aᵀ: [m, α], row-major.</summary>
    public float[] AT { get; }

    /// <summary>G: [α, r], row-major.</summary>
    public float[] G { get; }

    /// <summary>Bᵀ: [α, α], row-major.</summary>
    public float[] BT { get; }

    /// <summary>The transforms of F(m, r), built once per (m, r).</summary>
    public static WinogradMatrices For(int m, int r)
    {
        if (m < 1 || r < 1) throw new ArgumentException($"winograd F({m}, {r}): m and r must be positive");
        lock (Cache)
        {
            if (!Cache.TryGetValue((m, r), out var w)) Cache[(m, r)] = w = new WinogradMatrices(m, r);
            return w;
        }
    }

    // E_n: [α, n]: row j < α − 1 = (1, p_j, p_j², …, p_j^(n−1)); row α − 1 (∞) = (0, …, 0, 1).
    private double[,] Evaluation(int n)
    {
        var e = new double[Alpha, n];
        for (int j = 0; j < Alpha - 1; j++)
        {
            double p = PointOrder[j], v = 1;
            for (int k = 0; k < n; k++, v *= p) e[j, k] = v;
        }
        e[Alpha - 1, n - 1] = 1;
        return e;
    }

    // Gauss–Jordan with partial pivoting (the matrix is a small, invertible Vandermonde-like one).
    private static double[,] Invert(double[,] a)
    {
        int n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var inv = new double[n, n];
        for (int i = 0; i < n; i++) inv[i, i] = 1;
        for (int col = 0; col < n; col++)
        {
            int piv = col;
            for (int r = col + 1; r < n; r++)
                if (Math.Abs(m[r, col]) > Math.Abs(m[piv, col])) piv = r;
            if (m[piv, col] == 0) throw new InvalidOperationException("winograd: singular evaluation matrix");
            for (int k = 0; k < n; k++)
            {
                (m[col, k], m[piv, k]) = (m[piv, k], m[col, k]);
                (inv[col, k], inv[piv, k]) = (inv[piv, k], inv[col, k]);
            }
            double d = m[col, col];
            for (int k = 0; k < n; k++) { m[col, k] /= d; inv[col, k] /= d; }
            for (int r = 0; r < n; r++)
            {
                if (r == col || m[r, col] == 0) continue;
                double f = m[r, col];
                for (int k = 0; k < n; k++) { m[r, k] -= f * m[col, k]; inv[r, k] -= f * inv[col, k]; }
            }
        }
        return inv;
    }
}
