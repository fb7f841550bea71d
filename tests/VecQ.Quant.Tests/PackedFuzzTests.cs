using VecQ.Nn;
using VecQ.Tensors;
using VecQ.Tests.Shared;

namespace VecQ.Quant.Tests;

/// <summary>
/// Seeded mutation fuzzing of the packed .vecq reader: 10,000 mutants of an exported 2-bit model (most edits in its
/// safetensors header, where the packing description lives) must each load or fail with <see cref="InvalidDataException"/>
/// naming the file, allocating no more than a small multiple of its size.
/// </summary>
public sealed class PackedFuzzTests
{
    [Fact]
    public void TenThousandMutants_LoadOrThrowInvalidDataNamingTheFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vecq-packed-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "good.vecq");
            using (var model = new LeNet5(c1: 2, c2: 2, hidden: 4, rng: new Rng(1)))
            {
                model.Quantize(new QuantizeConfig { WeightBits = 2 });
                PackedModel.Export(model, path, new Dictionary<string, string> { ["model"] = "lenet5-tiny" });
            }
            byte[] good = File.ReadAllBytes(path);
            int header = 8 + (int)BitConverter.ToUInt64(good, 0);
            var (parsed, refused) = Mutator.Run<InvalidDataException>(good, header, 10_000, 17, (m, name) =>
            {
                string file = Path.Combine(dir, name + ".vecq");   // the reader takes a path
                File.WriteAllBytes(file, m);
                try { return PackedModel.Load(file); }
                finally { File.Delete(file); }
            });
            Assert.True(refused > 5_000 && parsed > 0, $"loaded {parsed}, refused {refused}: the mutants should mostly be refused");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
