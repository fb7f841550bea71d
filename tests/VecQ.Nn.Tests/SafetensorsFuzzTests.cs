using VecQ.Tensors;
using VecQ.Tests.Shared;

namespace VecQ.Nn.Tests;

/// <summary>
/// Seeded mutation fuzzing of the safetensors reader (which also reads packed .vecq files): 10,000 mutants of a valid
/// file must each parse or fail with the reader's own <see cref="InvalidDataException"/> naming the file, allocating no
/// more than a small multiple of the file's size (a header claiming a huge tensor is refused before anything is allocated).
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private sealed class Parsed(SafetensorsFile f) : IDisposable
    {
        public void Dispose() { foreach (var t in f.Tensors.Values) t.Dispose(); }
    }

    [Fact]
    public void TenThousandMutants_ParseOrThrowInvalidDataNamingTheFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vecq-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "good.safetensors");
            using (var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]))
            using (var b = Tensor.FromArray(new[] { 7, 8, 9 }, [3]))
            using (var c = Tensor.FromArray(new double[] { 0.5 }, [1]))
                Safetensors.Save(path, [new("a", a), new("b", b), new("c", c)], new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "ünïcode" });
            byte[] good = File.ReadAllBytes(path);
            int header = 8 + (int)BitConverter.ToUInt64(good, 0);
            var (parsed, refused) = Mutator.Run<InvalidDataException>(good, header, 10_000, 13, (m, name) => new Parsed(Safetensors.Parse(m, name)));
            Assert.True(refused > 5_000 && parsed > 0, $"parsed {parsed}, refused {refused}: the mutants should mostly be refused");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
