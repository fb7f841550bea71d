using VecQ.Autograd;
using VecQ.Datasets;
using VecQ.Nn;
using VecQ.Quant.Integer;
using VecQ.Tensors;

namespace VecQ.Cli.Training;

/// <summary>`vecq eval` and `vecq predict` on a packed file: the integer path (<see cref="QuantizedModel"/>).</summary>
internal static class IntegerEval
{
    /// <summary>The integer model of a packed file, or null (with one line on stderr saying why) when it does not run as integers.</summary>
    public static QuantizedModel? TryLoad(string path, Output output)
    {
        try
        {
            return QuantizedModel.Load(path);
        }
        catch (InvalidDataException e) when (e.Message.Contains("cannot run as integers", StringComparison.Ordinal))
        {
            output.Err.WriteLine($"{e.Message}; evaluating the float simulation instead (the same results, dequantized weights)");
            return null;
        }
    }

    /// <summary>Accuracy and mean cross-entropy of the integer path; with <paramref name="fake"/>, also the float simulation's accuracy and how many predictions differ.</summary>
    public static (double Accuracy, double Loss, (double Accuracy, int Differ)? Compared) Evaluate(QuantizedModel q, DataLoader loader, Module? fake)
    {
        long correct = 0, fakeCorrect = 0, seen = 0;
        int differ = 0;
        double lossSum = 0;
        fake?.Eval();
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                var logits = q.Forward(batch.Images);                          // [B, classes]
                var labels = batch.Labels.ToArray<int>();
                int k = q.NumClasses;
                int[]? fakePred = null;
                if (fake != null)
                    using (Autograd.Autograd.NoGrad())
                    using (var scope = TensorScope.Begin())
                    using (var am = fake.Forward(new Variable(fake.Device == Device.Cpu ? batch.Images.Clone() : batch.Images.To(fake.Device))).Value.ArgMax(1))
                        fakePred = am.ToArray<int>();
                for (int i = 0; i < labels.Length; i++)
                {
                    var row = logits.AsSpan(i * k, k);
                    int best = 0;
                    for (int j = 1; j < k; j++) if (row[j] > row[best]) best = j;
                    double max = row[best], sum = 0;
                    foreach (float v in row) sum += Math.Exp(v - max);
                    lossSum += max + Math.Log(sum) - row[labels[i]];
                    if (best == labels[i]) correct++;
                    if (fakePred != null)
                    {
                        if (fakePred[i] == labels[i]) fakeCorrect++;
                        if (fakePred[i] != best) differ++;
                    }
                }
                seen += labels.Length;
            }
        double n = Math.Max(seen, 1);
        return (correct / n, lossSum / n, fake is null ? null : (fakeCorrect / n, differ));
    }
}
