namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// How <see cref="Sgemm.RunImplicitB"/> covers the m rows of A with register tiles: <see cref="Full"/> panels
/// of MR rows, then <see cref="Edge"/> panels of the kernel's EdgeRows (m = 6·4 + 4·2 = 32 on AVX2, so no
/// FMAs are wasted), or, when no such split exists, one partial panel through the spill tile.
/// Every panel is stored MR floats wide per k step, as <see cref="Packing.PackA"/> writes it.
/// </summary>
internal readonly struct PanelPlan
{
    /// <summary>Panels of MR rows.</summary>
    public readonly int Full;
    /// <summary>Panels of EdgeRows rows after the full ones.</summary>
    public readonly int Edge;
    /// <summary>Rows of the last, partial panel after those (0 for none).</summary>
    public readonly int Partial;

    /// <summary>The plan for <paramref name="m"/> rows with <paramref name="kern"/>.</summary>
    public PanelPlan(in SgemmKernel kern, int m)
    {
        int mr = kern.MR, e = kern.EdgeRows, r = m % mr;
        Full = m / mr;
        if (r == 0) return;
        if (e > 0 && r % e == 0) Edge = r / e;
        else if (e > 0 && Full > 0 && (r + mr) % e == 0) { Full--; Edge = (r + mr) / e; }
        else Partial = r;
    }

    /// <summary>Packed panels (each MR·kc floats per K block).</summary>
    public int Panels => Full + Edge + (Partial > 0 ? 1 : 0);

    /// <summary>Whether panel <paramref name="q"/> is an EdgeRows panel (run by the kernel's edge variant).</summary>
    public bool IsEdge(int q) => q >= Full && q < Full + Edge;

    /// <summary>First row of A (and C) that panel <paramref name="q"/> covers.</summary>
    public int FirstRow(int q, in SgemmKernel kern) => q <= Full ? q * kern.MR : Full * kern.MR + (q - Full) * kern.EdgeRows;

    /// <summary>Rows that panel <paramref name="q"/> covers.</summary>
    public int Rows(int q, in SgemmKernel kern) => q < Full ? kern.MR : IsEdge(q) ? kern.EdgeRows : Partial;

    /// <summary>Rows the register tiles compute (m plus what the partial panel wastes).</summary>
    public int ComputedRows(in SgemmKernel kern) => (Full + (Partial > 0 ? 1 : 0)) * kern.MR + Edge * kern.EdgeRows;
}
