namespace VecQ.Quant;

/// <summary>
/// Bit-packing of k-bit codes (1 ≤ k ≤ 16) into int32 words, little-endian bit order: code i occupies
/// bits [i·k, i·k + k) of one bit stream, least significant bit first; stream bit b is bit (b mod 32)
/// of word ⌊b/32⌋; each code is stored as its k-bit two's complement (c &amp; (2^k − 1)) and
/// sign-extended on unpacking. Unused high bits of the last word are zero. Written little-endian,
/// the words' bytes are the same stream packed LSB-first into bytes. See PACKED_FORMAT.md.
/// </summary>
/// <example><code>
/// int[] words = PackedCodes.Pack(new[] { -2, -1, 0, 1 }, bits: 2);   // one word: 0b01_00_11_10
/// var back = new int[4];
/// PackedCodes.Unpack(words, 2, back);                                  // -2, -1, 0, 1
/// </code></example>
public static class PackedCodes
{
    /// <summary>Number of int32 words holding <paramref name="count"/> codes of <paramref name="bits"/> bits.</summary>
    /// <example><code>int n = PackedCodes.WordCount(33, 3); // 4 (99 bits)</code></example>
    public static int WordCount(long count, int bits)
    {
        CheckBits(bits);
        if (count < 0) throw new ArgumentException($"packed codes: count {count} must be >= 0");
        long words = (count * bits + 31) / 32;
        if (words > int.MaxValue) throw new ArgumentException($"packed codes: {count} codes of {bits} bits do not fit in one array");
        return (int)words;
    }

    /// <summary>Packs codes in [−2^(k−1), 2^(k−1) − 1] into words.</summary>
    /// <exception cref="ArgumentException">bits outside 1..16, or a code out of range (the message names it).</exception>
    /// <example><code>int[] w = PackedCodes.Pack(codes, 4);</code></example>
    public static int[] Pack(ReadOnlySpan<int> codes, int bits)
    {
        var words = new int[WordCount(codes.Length, bits)];
        int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
        ulong mask = (1UL << bits) - 1, acc = 0;
        int filled = 0, w = 0;
        for (int i = 0; i < codes.Length; i++)
        {
            int c = codes[i];
            if (c < lo || c > hi) throw new ArgumentException($"packed codes: code {c} at index {i} is outside [{lo}, {hi}] for {bits} bits");
            acc |= ((ulong)(uint)c & mask) << filled;
            filled += bits;
            if (filled >= 32)
            {
                words[w++] = (int)(uint)acc;
                acc >>= 32;
                filled -= 32;
            }
        }
        if (filled > 0) words[w] = (int)(uint)acc;
        return words;
    }

    /// <summary>Unpacks <paramref name="codes"/>.Length codes (sign-extended) from words written by <see cref="Pack"/>.</summary>
    /// <exception cref="ArgumentException">bits outside 1..16 or a word count that does not match.</exception>
    /// <example><code>var codes = new int[count]; PackedCodes.Unpack(words, 4, codes);</code></example>
    public static void Unpack(ReadOnlySpan<int> words, int bits, Span<int> codes)
    {
        int expected = WordCount(codes.Length, bits);
        if (words.Length != expected)
            throw new ArgumentException($"packed codes: {codes.Length} codes of {bits} bits need {expected} words, got {words.Length}");
        ulong mask = (1UL << bits) - 1, acc = 0;
        int filled = 0, w = 0, shift = 32 - bits;
        for (int i = 0; i < codes.Length; i++)
        {
            if (filled < bits)
            {
                acc |= (ulong)(uint)words[w++] << filled;
                filled += 32;
            }
            int raw = (int)(acc & mask);
            acc >>= bits;
            filled -= bits;
            codes[i] = (raw << shift) >> shift;   // sign-extend the k-bit two's complement
        }
    }

    private static void CheckBits(int bits)
    {
        if (bits < 1 || bits > WeightQuantizer.MaxBits)
            throw new ArgumentException($"packed codes: bits {bits} is out of range 1..{WeightQuantizer.MaxBits}");
    }
}
