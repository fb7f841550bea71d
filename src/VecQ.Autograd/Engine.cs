using VecQ.Tensors;

namespace VecQ.Autograd;

/// <summary>
/// Reverse-mode traversal. Iterative (no recursion, so deep graphs such as long unrolled LSTMs
/// are fine): a depth-first walk counts, for every node reachable from the root, how many
/// consumers will send it a gradient; then nodes run in topological order (Kahn's algorithm), each
/// as soon as all its consumers have contributed. A node's incoming gradient is disposed right
/// after its backward consumed it, and its saved tensors are released unless retainGraph.
/// </summary>
internal static class Engine
{
    public static void Run(Variable root, Tensor seed, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"backward: {root.Describe()} does not require grad and has no graph node; it was computed under NoGrad, or from inputs none of which requires grad (set RequiresGrad = true on the parameters)");
        if (root.Node == null)
        {
            using var own = seed.Clone();   // the caller keeps seed: the leaf gets its own copy
            Accumulate(root, own);
            return;
        }

        var pendingConsumers = CountConsumers(root.Node);
        var pending = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance) { [root.Node] = Saved.NewRef(seed) };
        var ready = new Stack<Node>();
        ready.Push(root.Node);
        try
        {
            while (ready.Count > 0)
            {
                var node = ready.Pop();
                Tensor?[] grads;
                if (pending.Remove(node, out var grad))
                {
                    using (grad) grads = RunNode(node, grad);
                }
                else grads = new Tensor?[node.Edges.Length]; // nothing reached it: still release the inputs' counts
                if (!retainGraph) node.Release();

                for (int i = 0; i < grads.Length; i++)
                {
                    var edge = node.Edges[i];
                    var g = grads[i];
                    if (edge == null) { g?.Dispose(); continue; }
                    if (g != null && !Shape.Equal(g.Dims, edge.Shape))
                    {
                        string message = $"backward of '{node.Name}' returned a gradient {g.ShapeText} for input {i} of shape {Shape.Format(edge.Shape)}";
                        DisposeRest(grads, i);
                        throw new InvalidOperationException(message);
                    }
                    if (edge.Leaf != null)
                    {
                        if (g != null) { Accumulate(edge.Leaf, g); g.Dispose(); }
                        continue;
                    }
                    var producer = edge.Node!;
                    if (g != null)
                    {
                        if (pending.Remove(producer, out var sofar))
                        {
                            pending[producer] = sofar.Add(g);
                            sofar.Dispose();
                            g.Dispose();
                        }
                        else pending[producer] = g;
                    }
                    if (--pendingConsumers[producer] == 0) ready.Push(producer);
                }
            }
        }
        finally
        {
            foreach (var t in pending.Values) t.Dispose();
        }
    }

    // Depth-first over the nodes reachable from root (explicit stack): for each node, how many
    // edges of reachable nodes point at it. Refuses released graphs before any work is done.
    private static Dictionary<Node, int> CountConsumers(Node root)
    {
        var counts = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance) { [root] = 0 };
        var stack = new Stack<Node>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            if (node.IsReleased)
                throw new InvalidOperationException(
                    $"Trying to backward through the graph a second time (or through a graph whose saved tensors were already freed): node '{node.Name}' was released by an earlier Backward(). " +
                    "Saved intermediate values are freed when Backward() runs; pass retainGraph: true to the first Backward() if you need to backward through the graph again");
            foreach (var edge in node.Edges)
            {
                if (edge?.Node is not Node producer) continue;
                if (counts.TryGetValue(producer, out int c)) counts[producer] = c + 1;
                else { counts[producer] = 1; stack.Push(producer); }
            }
        }
        return counts;
    }

    private static Tensor?[] RunNode(Node node, Tensor grad)
    {
        try
        {
            return node.RunBackward(grad);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException && !e.Message.StartsWith("backward of", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"backward of '{node.Name}' failed: {e.Message}", e);
        }
    }

    // leaf.Grad += g. Grad is always a contiguous tensor whose storage the leaf alone holds (never a
    // view shared with the graph), so optimizers may update it in place. A first gradient that is
    // already such a tensor (the usual case: a backward function's fresh result) is taken over by
    // reference instead of copied (fc1's 1.6 M-element gradient in LeNet5, every step).
    private static void Accumulate(Variable leaf, Tensor g)
    {
        if (!leaf.RequiresGrad) return;
        if (leaf.Grad == null)
        {
            bool whole = g.IsContiguous && g.Offset == 0 && g.Numel == g.Storage.Length && g.Storage.IsExclusive;
            leaf.Grad = whole ? Saved.NewRef(g) : g.Clone();   // the caller disposes g: NewRef's reference is then the only one
            return;
        }
        var sum = leaf.Grad.Add(g);
        leaf.Grad.Dispose();
        leaf.Grad = sum;
    }

    private static void DisposeRest(Tensor?[] grads, int from)
    {
        for (int i = from; i < grads.Length; i++) grads[i]?.Dispose();
    }
}
