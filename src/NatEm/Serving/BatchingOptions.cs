namespace NatEm.Serving;

/// <summary>How <see cref="TranslationBatcher"/> groups queued sentences into decoding batches.</summary>
public sealed record BatchingOptions
{
    /// <summary>
    /// Padded source tokens (sentences × longest source) a batch may hold; a batch is decoded as soon as it is
    /// full. A single longer sentence still forms a batch of its own.
    /// </summary>
    public int MaxBatchTokens { get; init; } = 4096;
    /// <summary>
    /// How long the first sentence of a batch waits for company before the batch is decoded anyway.
    /// Zero decodes whatever is queued at once; with MaxBatchTokens 1 this turns batching off.
    /// </summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(10);
    /// <summary>Decoding threads, each taking the next ready batch.</summary>
    public int Workers { get; init; } = 1;
    /// <summary>
    /// Sentences that may wait for a worker; a request that would go beyond is refused at once
    /// (<see cref="ServiceUnavailableException"/>) rather than queued for longer than any client waits.
    /// </summary>
    public int MaxQueuedSentences { get; init; } = 1024;

    /// <summary>Longer delays would only stall requests (and overflow deadline arithmetic for huge values).</summary>
    public static readonly TimeSpan MaxDelayLimit = TimeSpan.FromMinutes(1);

    public void Validate()
    {
        if (MaxBatchTokens < 1) throw new NatEmException("--max-batch-tokens must be at least 1", ExitCodes.Usage);
        if (MaxDelay < TimeSpan.Zero || MaxDelay > MaxDelayLimit)
            throw new NatEmException($"--max-delay-ms must be between 0 and {MaxDelayLimit.TotalMilliseconds}", ExitCodes.Usage);
        if (Workers < 1) throw new NatEmException("--workers must be at least 1", ExitCodes.Usage);
        if (MaxQueuedSentences < 1) throw new NatEmException("--max-queued-texts must be at least 1", ExitCodes.Usage);
    }
}

/// <summary>What one decoded batch did: sentences, padded source tokens, output tokens and decoding time.</summary>
public sealed record BatchReport(int Sentences, int PaddedSourceTokens, int OutputTokens, TimeSpan Elapsed);

/// <summary>The batcher refused a request: its queue is full or it is shutting down. A server answers 503.</summary>
public sealed class ServiceUnavailableException(string message, TimeSpan? retryAfter = null) : Exception(message)
{
    /// <summary>When a retry may succeed; null when the service is going away.</summary>
    public TimeSpan? RetryAfter => retryAfter;
}
