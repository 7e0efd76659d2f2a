using System.Diagnostics;
using System.Threading.Channels;
using NatEm.Decoding;
using TorchSharp;

namespace NatEm.Serving;

/// <summary>Decodes a batch of token-id sources with one set of options; results in input order.</summary>
public delegate Translation[] BatchDecoder(IReadOnlyList<int[]> sources, TranslationOptions options);

/// <summary>
/// Dynamic batching for a translation service. Requests are queued whole; a dispatcher splits them into
/// sentences and groups sentences that share decoding options into batches, decoded when the batch reaches
/// the token budget or when its first sentence has waited MaxDelay. Dedicated worker threads decode the
/// batches and each request completes, in input order, once all of its sentences are decoded.
/// <see cref="Complete"/> stops accepting requests and drains the queue. The queue is bounded by
/// MaxQueuedSentences, and a cancelled request's sentences leave it without being decoded.
/// </summary>
public sealed class TranslationBatcher : IAsyncDisposable
{
    private readonly BatchDecoder decode;
    private readonly BatchingOptions options;
    /// <summary>The clock of MaxDelay (a fake one in tests, so that they need no wall-clock windows).</summary>
    private readonly TimeProvider time;
    private readonly Channel<PendingRequest> requests = Channel.CreateUnbounded<PendingRequest>(new UnboundedChannelOptions { SingleReader = true });
    // Bounded so that, while every worker is busy, sentences keep queueing up and form bigger batches.
    private readonly Channel<Batch> batches;
    private readonly Task completion;
    private int queuedSentences;

    public TranslationBatcher(BatchDecoder decode, BatchingOptions options, TimeProvider? time = null)
    {
        options.Validate();
        this.decode = decode;
        this.options = options;
        this.time = time ?? TimeProvider.System;
        batches = Channel.CreateBounded<Batch>(new BoundedChannelOptions(options.Workers) { SingleWriter = true });
        var workers = Enumerable.Range(0, options.Workers).Select(StartWorker).ToArray();
        completion = Task.WhenAll([DispatchAsync(), .. workers]);
    }

    /// <summary>
    /// A batcher decoding each batch in one forward pass (split only where the memory budget requires), with the
    /// translator <paramref name="translatorFor"/> gives for the batch's options.
    /// </summary>
    public static TranslationBatcher For(Func<TranslationOptions, Translator> translatorFor, BatchingOptions options) =>
        new((sources, decoding) => translatorFor(decoding).WithBatchSize(Math.Max(1, sources.Count)).TranslateIds(sources), options);

    /// <summary>Raised on a worker thread after every decoded batch.</summary>
    public event Action<BatchReport>? BatchDecoded;

    /// <summary>Sentences accepted but not yet taken by a worker.</summary>
    public int QueuedSentences => Volatile.Read(ref queuedSentences);

    /// <summary>Finishes when the queue is drained after <see cref="Complete"/>.</summary>
    public Task Completion => completion;

    /// <summary>How long a client refused for a full queue is asked to wait: about the time a batch takes.</summary>
    public static readonly TimeSpan QueueFullRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Queues the sources of one request; the task fails with the decoder's exception if its batch fails.
    /// Cancelling <paramref name="cancel"/> cancels the task and drops the sentences no worker has taken yet.
    /// </summary>
    /// <exception cref="ServiceUnavailableException">The queue is full, or the batcher has been completed.</exception>
    public Task<Translation[]> TranslateAsync(IReadOnlyList<int[]> sources, TranslationOptions decoding, CancellationToken cancel = default)
    {
        if (sources.Count == 0) return Task.FromResult<Translation[]>([]);
        var request = new PendingRequest(sources, decoding, time.GetTimestamp());
        if (Interlocked.Add(ref queuedSentences, sources.Count) > options.MaxQueuedSentences)
        {
            Interlocked.Add(ref queuedSentences, -sources.Count);
            throw new ServiceUnavailableException($"the queue is full ({options.MaxQueuedSentences} texts waiting at most); retry later", QueueFullRetryAfter);
        }
        if (!requests.Writer.TryWrite(request))
        {
            Interlocked.Add(ref queuedSentences, -sources.Count);
            throw new ServiceUnavailableException("the translation service is shutting down");
        }
        return cancel.CanBeCanceled ? WithCancellation(request, cancel) : request.Task;
    }

    private async Task<Translation[]> WithCancellation(PendingRequest request, CancellationToken cancel)
    {
        using var registration = cancel.Register(() => Interlocked.Add(ref queuedSentences, -request.Cancel(cancel)));
        return await request.Task;
    }

    /// <summary>Stops accepting requests; queued ones are decoded without waiting for MaxDelay.</summary>
    public void Complete() => requests.Writer.TryComplete();

    public async ValueTask DisposeAsync()
    {
        Complete();
        await completion;
    }

    private async Task DispatchAsync()
    {
        var open = new Dictionary<TranslationOptions, Batch>();
        try
        {
            while (true)
            {
                var ready = new List<Batch>();
                while (requests.Reader.TryRead(out var request))
                {
                    for (int i = 0; i < request.Sources.Count; i++) Add(open, new BatchItem(request, i), ready);
                }
                long now = time.GetTimestamp();
                foreach (var due in open.Values.Where(b => b.Deadline <= now).ToList())
                {
                    open.Remove(due.Options);
                    ready.Add(due);
                }
                foreach (var batch in ready) await batches.Writer.WriteAsync(batch);
                if (open.Count == 0)
                {
                    if (!await requests.Reader.WaitToReadAsync()) break;
                    continue;
                }
                var wait = time.GetElapsedTime(now, open.Values.Min(b => b.Deadline));
                using var timeout = new CancellationTokenSource(wait, time);
                try
                {
                    if (!await requests.Reader.WaitToReadAsync(timeout.Token)) break;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    // The oldest open batch is due: flushed at the top of the loop.
                }
            }
            foreach (var rest in open.Values) await batches.Writer.WriteAsync(rest);
        }
        finally
        {
            batches.Writer.Complete();
        }
    }

    /// <summary>Adds an item to the open batch of its options; batches that must be decoded now go to <paramref name="ready"/>.</summary>
    private void Add(Dictionary<TranslationOptions, Batch> open, BatchItem item, List<Batch> ready)
    {
        var key = item.Request.Options;
        if (open.TryGetValue(key, out var batch) && batch.PaddedTokensWith(item) > options.MaxBatchTokens)
        {
            // The item does not fit: the batch goes as it is and the item starts a new one.
            open.Remove(key);
            ready.Add(batch);
            batch = null;
        }
        if (batch is null)
        {
            batch = new Batch(key, item.Request.QueuedAt + (long)(options.MaxDelay.TotalSeconds * time.TimestampFrequency));
            open.Add(key, batch);
        }
        batch.Add(item);
        if (batch.PaddedTokens >= options.MaxBatchTokens)
        {
            open.Remove(key);
            ready.Add(batch);
        }
    }

    private Task StartWorker(int index)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                while (batches.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    while (batches.Reader.TryRead(out var batch)) Decode(batch);
                }
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = $"natem-decode-{index}" };
        thread.Start();
        return done.Task;
    }

    private void Decode(Batch batch)
    {
        // Sentences of cancelled requests already left the queue count; they are not decoded.
        var items = batch.Items.Where(item => item.Request.TryTake()).ToList();
        Interlocked.Add(ref queuedSentences, -items.Count);
        if (items.Count == 0) return;
        var sources = items.Select(item => item.Source).ToList();
        var clock = Stopwatch.StartNew();
        Translation[] results;
        try
        {
            // Grad mode is per thread, and the scope frees this batch's tensors before the next one.
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            results = decode(sources, batch.Options);
        }
        catch (Exception e)
        {
            foreach (var item in items) item.Request.Fail(e);
            return;
        }
        for (int i = 0; i < results.Length; i++) items[i].Request.Complete(items[i].Index, results[i]);
        int paddedTokens = items.Count * items.Max(item => item.Length);
        BatchDecoded?.Invoke(new BatchReport(items.Count, paddedTokens, results.Sum(r => r.Tokens.Length), clock.Elapsed));
    }

    private sealed class PendingRequest(IReadOnlyList<int[]> sources, TranslationOptions options, long queuedAt)
    {
        private readonly TaskCompletionSource<Translation[]> result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Translation[] translations = new Translation[sources.Count];
        private readonly Lock gate = new();
        private int remaining = sources.Count;
        // Sentences no worker has taken yet (still counted as queued), and whether the request was cancelled.
        private int untaken = sources.Count;
        private bool cancelled;

        public IReadOnlyList<int[]> Sources => sources;
        public TranslationOptions Options => options;
        public long QueuedAt => queuedAt;
        public Task<Translation[]> Task => result.Task;

        public void Complete(int index, Translation translation)
        {
            translations[index] = translation;
            if (Interlocked.Decrement(ref remaining) == 0) result.TrySetResult(translations);
        }

        public void Fail(Exception error) => result.TrySetException(error);

        /// <summary>A worker takes one sentence for decoding; false if the request was cancelled.</summary>
        public bool TryTake()
        {
            lock (gate)
            {
                if (cancelled) return false;
                untaken--;
                return true;
            }
        }

        /// <summary>Cancels the request; returns how many of its sentences leave the queue.</summary>
        public int Cancel(CancellationToken cancel)
        {
            int released;
            lock (gate)
            {
                if (cancelled) return 0;
                cancelled = true;
                released = untaken;
                untaken = 0;
            }
            result.TrySetCanceled(cancel);
            return released;
        }
    }

    private sealed record BatchItem(PendingRequest Request, int Index)
    {
        public int[] Source => Request.Sources[Index];
        /// <summary>Empty sources still take a row of the batch.</summary>
        public int Length => Math.Max(1, Source.Length);
    }

    private sealed class Batch(TranslationOptions options, long deadline)
    {
        private int longest;
        public TranslationOptions Options => options;
        /// <summary>Timestamp (of the batcher's clock) at which the batch is decoded even if not full.</summary>
        public long Deadline => deadline;
        public List<BatchItem> Items { get; } = [];
        public int PaddedTokens => Items.Count * longest;
        public int PaddedTokensWith(BatchItem item) => (Items.Count + 1) * Math.Max(longest, item.Length);

        public void Add(BatchItem item)
        {
            Items.Add(item);
            longest = Math.Max(longest, item.Length);
        }
    }
}
