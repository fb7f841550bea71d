namespace VecQ.Tests.Shared;

/// <summary>
/// Seeded mutation of valid files for the readers' fuzz tests (linked into each test project that fuzzes a reader):
/// 1–4 byte edits (flipped bits, random bytes, JSON punctuation and digits; three in four inside the first
/// <c>header</c> bytes), a truncation, or a few bytes inserted.
/// </summary>
internal static class Mutator
{
    private const string JsonBytes = "{}[]\",:0123456789-e";

    /// <summary>One mutant of <paramref name="good"/>, drawn from <paramref name="r"/>.</summary>
    public static byte[] Mutate(byte[] good, int header, Random r)
    {
        switch (r.Next(8))
        {
            case 0: return good[..r.Next(good.Length)];                                  // truncated
            case 1:
            {
                int at = r.Next(good.Length + 1);                                          // bytes inserted
                var extra = new byte[1 + r.Next(8)];
                r.NextBytes(extra);
                return [.. good[..at], .. extra, .. good[at..]];
            }
            default:
            {
                var m = (byte[])good.Clone();
                int edits = 1 + r.Next(4);
                for (int e = 0; e < edits; e++)
                {
                    int at = r.Next(4) < 3 ? r.Next(Math.Min(header, m.Length)) : r.Next(m.Length);
                    m[at] = r.Next(3) switch { 0 => (byte)(m[at] ^ (1 << r.Next(8))), 1 => (byte)r.Next(256), _ => (byte)JsonBytes[r.Next(JsonBytes.Length)] };
                }
                return m;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on <paramref name="count"/> mutants: each must succeed or throw an exception of
    /// type <typeparamref name="TError"/> (the reader's own) whose message names the mutant, allocating at most
    /// 64 bytes per byte of the mutant plus 64 KiB. Returns (parsed, refused).
    /// </summary>
    public static (int Parsed, int Refused) Run<TError>(byte[] good, int header, int count, int seed, Func<byte[], string, IDisposable?> read)
        where TError : Exception
    {
        var r = new Random(seed);
        int parsed = 0, refused = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] m = Mutate(good, header, r);
            string name = $"mutant-{i}";
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(m, name)?.Dispose();
                parsed++;
            }
            catch (TError e)
            {
                Assert.True(e.Message.Contains(name), $"mutant {i}: the error does not name the file: {e.Message}");
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"mutant {i} ({m.Length} bytes): {e.GetType().Name} escaped the reader: {e.Message}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated <= 64L * m.Length + (64 << 10), $"mutant {i}: {allocated} bytes allocated for a {m.Length}-byte file");
        }
        return (parsed, refused);
    }
}
