using VecQ.Autograd;
using VecQ.Tensors;
using static VecQ.Nn.Tests.TestUtil;

namespace VecQ.Nn.Tests;

using Autograd = VecQ.Autograd.Autograd;

/// <summary>
/// The residual building blocks against PyTorch/torchvision (tools/fixtures/make_model_fixtures.py): torchvision's
/// BasicBlock and InvertedResidual and the authors' pre-activation unit, loaded strictly from the reference's state
/// dict; train-mode output, every gradient (input and parameters), the running statistics after the step and the
/// eval-mode output.
/// </summary>
public class BlockFixtureTests
{
    public static TheoryData<string> Cases => new() { "basic", "preact", "preact_id", "invres", "invres_t1" };

    private static Module Build(string name) => name switch
    {
        "basic" => new BasicBlock(4, 8, stride: 2, rng: new Rng(1)),
        "preact" => new PreActBlock(4, 8, stride: 2, projection: true, rng: new Rng(1)),
        "preact_id" => new PreActBlock(8, 8, rng: new Rng(1)),
        "invres" => new InvertedResidual(8, 8, 1, 6, bnEps: 1e-3, rng: new Rng(1)),
        "invres_t1" => new InvertedResidual(8, 16, 2, 1, bnEps: 1e-3, rng: new Rng(1)),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        var file = Safetensors.Load(FixturePath("blocks.safetensors"));
        var t = file.Tensors;
        try
        {
            string p = name + ".";
            using var block = Build(name);
            var state = t.Where(kv => kv.Key.StartsWith(p + "state.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[(p.Length + 6)..], kv => kv.Value);
            block.LoadStateDict(state);   // strict: the names are PyTorch's

            using var x = new Variable(t[p + "x"].Clone(), requiresGrad: true);
            using var y = block.Forward(x);                          // train mode: batch statistics
            AssertClose(t[p + "y"], y.Value, name + " train output");
            y.Backward(t[p + "r"]);
            AssertClose(t[p + "grad.x"], x.Grad!, name + " grad x", rtol: 1e-3, scaleAtol: 5e-4);
            foreach (var (n, prm) in block.NamedParameters())
                AssertClose(t[p + "grad." + n], prm.Grad!, $"{name} grad {n}", rtol: 1e-3, scaleAtol: 5e-4);   // BN backward cancels: ~1e-4 of scale in float32
            Assert.Equal(t.Keys.Count(k => k.StartsWith(p + "grad.", StringComparison.Ordinal)) - 1, block.NamedParameters().Count());
            foreach (var (n, b) in block.NamedBuffers())
                if (b.Value.DType == DType.Int32) Assert.Equal(t[p + "after." + n].Item(), b.Value.Item());
                else AssertClose(t[p + "after." + n], b.Value, $"{name} after step {n}");

            block.Eval();
            using (Autograd.NoGrad())
            using (var e = block.Forward(x))
                AssertClose(t[p + "eval_y"], e.Value, name + " eval output");
        }
        finally
        {
            foreach (var v in t.Values) v.Dispose();
        }
    }
}
