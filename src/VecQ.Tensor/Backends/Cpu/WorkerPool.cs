using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace VecQ.Tensors.Backends.Cpu;

/// <summary>
/// The fork-join pool every CPU kernel runs on (SGEMM, convolutions, elementwise ops through
/// <see cref="Parallelism"/>, the FMA-peak probe): <c>Run(parts, body, state)</c> runs <c>body(state, 0)</c>
/// on the calling thread and <c>body(state, t)</c> for t = 1..parts−1 on dedicated background threads,
/// and returns when all parts are done. No allocation per call (the job is a function pointer and a
/// pointer to the caller's state), and worker t always runs part t, so its thread-local packing
/// buffers stay warm; idle workers spin briefly before they block, so back-to-back kernels start without
/// waking a thread-pool thread. Calls from different threads are serialized; each one uses every core
/// anyway. A job started from inside a job runs its parts one after another on the calling thread.
/// </summary>
internal static unsafe class WorkerPool
{
    private static readonly object Gate = new();
    private static Worker[] s_workers = [];
    private static delegate*<void*, int, void> s_body;
    private static void* s_state;
    private static int s_remaining;
    private static ExceptionDispatchInfo? s_error;
    private static float* s_shared;
    private static nint s_sharedCapacity;
    [ThreadStatic] private static bool t_inJob;

    /// <summary>True on a thread that is running a part of a job (nested jobs run inline, one part after another).</summary>
    public static bool InJob => t_inJob;

    /// <summary>
    /// Scratch memory shared by all parts of the job now running (64-byte aligned, at least the
    /// <c>sharedFloats</c> asked of <c>Run</c>).
    /// Valid only inside a body started by that call; jobs never overlap, so one buffer serves them all.
    /// </summary>
    public static float* Shared => s_shared;

    /// <summary>Runs <paramref name="body"/> for part indices 0..<paramref name="parts"/>−1 in parallel.</summary>
    /// <param name="parts">Number of parts (≤ 1: runs part 0 on the calling thread only).</param>
    /// <param name="body">The work of one part: (state, part index).</param>
    /// <param name="state">Opaque pointer passed to every part; must stay valid until this returns.</param>
    /// <param name="sharedFloats">Floats of <see cref="Shared"/> scratch the parts need (only when parts ≥ 2).</param>
    public static void Run(int parts, delegate*<void*, int, void> body, void* state, nint sharedFloats = 0)
    {
        if (parts <= 1)
        {
            body(state, 0);
            return;
        }
        if (t_inJob)
        {
            if (sharedFloats > 0) throw new InvalidOperationException("A nested job cannot use the shared scratch memory.");
            for (int p = 0; p < parts; p++) body(state, p);
            return;
        }
        lock (Gate)
        {
            EnsureWorkers(parts - 1);
            EnsureShared(sharedFloats);
            s_body = body;
            s_state = state;
            s_error = null;
            Volatile.Write(ref s_remaining, parts - 1);
            for (int t = 1; t < parts; t++) s_workers[t - 1].Signal.Set();
            try
            {
                t_inJob = true;
                body(state, 0);
            }
            finally
            {
                t_inJob = false;
                // Parts claim work on demand, so the others finish about when this one does: spin (yielding,
                // never sleeping 1 ms).
                SpinWait spin = default;
                while (Volatile.Read(ref s_remaining) != 0) spin.SpinOnce(sleep1Threshold: -1);
            }
            s_error?.Throw();
        }
    }

    /// <summary>
    /// Runs body(worker, item) for every item in [0, <paramref name="count"/>) on up to <paramref name="workers"/>
    /// parts, each claiming the next unclaimed item until none is left (a part slowed down by other load just
    /// does fewer items). Worker indices are 0..workers−1, for per-worker scratch.
    /// </summary>
    public static void For(int count, int workers, Action<int, int> body)
    {
        if (count <= 0) return;
        workers = Math.Clamp(workers, 1, count);
        if (workers == 1)
        {
            for (int i = 0; i < count; i++) body(0, i);
            return;
        }
        GCHandle handle = GCHandle.Alloc(body);
        try
        {
            ForJob job = new() { Body = GCHandle.ToIntPtr(handle), Count = count, Next = -1 };
            Run(workers, &ForPart, &job);
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The state of one <see cref="For"/> call: the body (a GC handle), the item count, the last item claimed.</summary>
    private struct ForJob
    {
        public nint Body;
        public int Count, Next;
    }

    /// <summary>One part of a <see cref="For"/> call: claims items until none is left.</summary>
    private static void ForPart(void* state, int part)
    {
        var job = (ForJob*)state;
        var body = (Action<int, int>)GCHandle.FromIntPtr(job->Body).Target!;
        int i;
        while ((i = Interlocked.Increment(ref job->Next)) < job->Count) body(part, i);
    }

    /// <summary>Grows <see cref="Shared"/> to at least <paramref name="floats"/> floats (called under <see cref="Gate"/>).</summary>
    private static void EnsureShared(nint floats)
    {
        if (floats <= s_sharedCapacity) return;
        nint want = (Math.Max(floats, s_sharedCapacity * 3 / 2) + 15) & ~(nint)15;
        if (s_shared != null) NativeMemory.AlignedFree(s_shared);
        s_shared = null;
        s_sharedCapacity = 0;
        s_shared = (float*)NativeMemory.AlignedAlloc((nuint)want * sizeof(float), 64);
        s_sharedCapacity = want;
    }

    /// <summary>Starts worker threads until at least <paramref name="count"/> exist (called under <see cref="Gate"/>).</summary>
    private static void EnsureWorkers(int count)
    {
        if (s_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(s_workers, grown, s_workers.Length);
        for (int i = s_workers.Length; i < count; i++) grown[i] = new Worker(i + 1);
        s_workers = grown;
    }

    /// <summary>One background thread that runs part <see cref="_part"/> of each job.</summary>
    private sealed class Worker
    {
        /// <summary>Set by the caller to start this worker's part of the current job.</summary>
        public readonly ManualResetEventSlim Signal = new(false, spinCount: 2000);
        private readonly int _part;

        /// <summary>Starts the background thread for part <paramref name="part"/>.</summary>
        public Worker(int part)
        {
            _part = part;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"VecQ worker {part}" };
            thread.Start();
        }

        /// <summary>Waits for a job, runs this worker's part, reports completion; forever.</summary>
        private void Loop()
        {
            t_inJob = true;
            while (true)
            {
                Signal.Wait();
                Signal.Reset();
                try
                {
                    s_body(s_state, _part);
                }
                catch (Exception e)
                {
                    s_error ??= ExceptionDispatchInfo.Capture(e);
                }
                Interlocked.Decrement(ref s_remaining);
            }
        }
    }
}
