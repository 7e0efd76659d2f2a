using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using NatEm.Decoding;
using NatEm.Serving;

namespace NatEm.Tests.Serving;

public class TranslationBatcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>A decoder that records its batches and "translates" a source into its ids joined by spaces.</summary>
    private sealed class RecordingDecoder
    {
        public ConcurrentQueue<(int[][] Sources, TranslationOptions Options)> Batches { get; } = new();

        public Translation[] Decode(IReadOnlyList<int[]> sources, TranslationOptions options)
        {
            Batches.Enqueue((sources.ToArray(), options));
            return sources.Select(s => new Translation(string.Join(' ', s), -s.Length, s, [])).ToArray();
        }
    }

    /// <summary>
    /// Advances the fake clock by <paramref name="step"/> until <paramref name="task"/> completes (bounded): the dispatcher
    /// may set its timer just after an advance, relative to the new time, and then needs one more step.
    /// </summary>
    private static async Task<T> AdvanceUntilDone<T>(FakeTimeProvider clock, Task<T> task, TimeSpan step)
    {
        for (int i = 0; i < 200 && !task.IsCompleted; i++)
        {
            clock.Advance(step);
            await Task.WhenAny(task, Task.Delay(50));
        }
        return await task.WaitAsync(Patience);
    }

    private static int[] Sentence(int length, int first) => Enumerable.Range(first, length).ToArray();

    [Fact]
    public async Task Sentences_are_grouped_up_to_the_padded_token_budget()
    {
        var decoder = new RecordingDecoder();
        var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxBatchTokens = 8, MaxDelay = TimeSpan.FromSeconds(30) });
        var sources = Enumerable.Range(0, 6).Select(i => Sentence(4, 10 * i)).ToArray();

        var results = await batcher.TranslateAsync(sources, new TranslationOptions()).WaitAsync(Patience);

        // 2 sentences × 4 tokens fill the budget, so all three batches are full and none waits for the delay.
        Assert.Equal([2, 2, 2], decoder.Batches.Select(b => b.Sources.Length));
        Assert.Equal(sources.Select(s => string.Join(' ', s)), results.Select(r => r.Text));
        await batcher.DisposeAsync();
    }

    [Fact]
    public async Task A_sentence_that_does_not_fit_closes_the_batch_and_padding_counts()
    {
        var decoder = new RecordingDecoder();
        await using var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxBatchTokens = 10, MaxDelay = TimeSpan.FromMilliseconds(50) });
        // 2 + 3 = padded 6; adding the 6-token sentence would pad to 3 × 6 = 18 > 10.
        int[][] sources = [Sentence(2, 1), Sentence(3, 20), Sentence(6, 40)];

        var results = await batcher.TranslateAsync(sources, new TranslationOptions()).WaitAsync(Patience);

        Assert.Equal([2, 1], decoder.Batches.Select(b => b.Sources.Length));
        Assert.Equal(sources.Select(s => string.Join(' ', s)), results.Select(r => r.Text));
    }

    [Fact]
    public async Task The_delay_flushes_a_partial_batch_that_joins_concurrent_requests()
    {
        var decoder = new RecordingDecoder();
        var clock = new FakeTimeProvider();
        await using var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxBatchTokens = 4096, MaxDelay = TimeSpan.FromMilliseconds(300) }, clock);

        var first = batcher.TranslateAsync([Sentence(3, 1)], new TranslationOptions());
        var second = batcher.TranslateAsync([Sentence(5, 7), Sentence(2, 30)], new TranslationOptions());
        clock.Advance(TimeSpan.FromMilliseconds(299));
        // Whatever the dispatcher did meanwhile, the batcher's clock has not reached the delay: nothing is decoded.
        await Task.Delay(100);
        Assert.Empty(decoder.Batches);
        Assert.False(first.IsCompleted || second.IsCompleted);
        var results = await AdvanceUntilDone(clock, Task.WhenAll(first, second), TimeSpan.FromMilliseconds(1));

        var batch = Assert.Single(decoder.Batches);
        Assert.Equal(3, batch.Sources.Length);
        Assert.Equal(["1 2 3"], results[0].Select(r => r.Text));
        Assert.Equal(["7 8 9 10 11", "30 31"], results[1].Select(r => r.Text));
    }

    [Fact]
    public async Task Different_decoding_options_never_share_a_batch()
    {
        var decoder = new RecordingDecoder();
        var clock = new FakeTimeProvider();
        await using var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(100) }, clock);
        var odd = new TranslationOptions();
        var argmax = new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Argmax } };

        // All three requests are queued within one delay of the batcher's clock, however slowly this machine runs them.
        var tasks = new[] { batcher.TranslateAsync([Sentence(2, 1)], odd), batcher.TranslateAsync([Sentence(2, 5)], argmax), batcher.TranslateAsync([Sentence(2, 9)], odd) };
        var results = await AdvanceUntilDone(clock, Task.WhenAll(tasks), TimeSpan.FromMilliseconds(100));

        Assert.Equal(2, decoder.Batches.Count);
        Assert.Contains(decoder.Batches, b => b.Options == odd && b.Sources.Length == 2);
        Assert.Contains(decoder.Batches, b => b.Options == argmax && b.Sources.Length == 1);
        Assert.Equal(["1 2", "5 6", "9 10"], results.Select(r => r[0].Text));
    }

    [Fact]
    public async Task Zero_delay_and_a_one_token_budget_decode_every_sentence_alone()
    {
        var decoder = new RecordingDecoder();
        await using var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxBatchTokens = 1, MaxDelay = TimeSpan.Zero });

        var results = await batcher.TranslateAsync([Sentence(3, 1), [], Sentence(1, 8)], new TranslationOptions()).WaitAsync(Patience);

        Assert.All(decoder.Batches, b => Assert.Single(b.Sources));
        Assert.Equal(3, decoder.Batches.Count);
        Assert.Equal(["1 2 3", "", "8"], results.Select(r => r.Text));
    }

    [Fact]
    public async Task A_failing_batch_fails_its_requests_and_later_batches_still_decode()
    {
        var calls = 0;
        Translation[] Decode(IReadOnlyList<int[]> sources, TranslationOptions options) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("decoder broke")
                : sources.Select(s => new Translation("ok", 0, s, [])).ToArray();
        await using var batcher = new TranslationBatcher(Decode, new BatchingOptions { MaxDelay = TimeSpan.Zero });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.TranslateAsync([Sentence(2, 1)], new TranslationOptions()).WaitAsync(Patience));
        var results = await batcher.TranslateAsync([Sentence(2, 1)], new TranslationOptions()).WaitAsync(Patience);

        Assert.Equal("decoder broke", error.Message);
        Assert.Equal("ok", Assert.Single(results).Text);
    }

    [Fact]
    public async Task Complete_decodes_queued_requests_at_once_and_refuses_new_ones()
    {
        var decoder = new RecordingDecoder();
        var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit });
        var queued = batcher.TranslateAsync([Sentence(2, 1), Sentence(3, 4)], new TranslationOptions());
        Assert.Equal(2, batcher.QueuedSentences);

        batcher.Complete();
        var results = await queued.WaitAsync(TimeSpan.FromSeconds(10));
        await batcher.Completion.WaitAsync(Patience);

        Assert.Equal(["1 2", "4 5 6"], results.Select(r => r.Text));
        Assert.Equal(0, batcher.QueuedSentences);
        var refused = Assert.Throws<ServiceUnavailableException>(() => { _ = batcher.TranslateAsync([Sentence(2, 1)], new TranslationOptions()); });
        Assert.Null(refused.RetryAfter);
    }

    [Fact]
    public async Task A_full_queue_refuses_requests_with_a_retry_time_until_sentences_leave_it()
    {
        var decoder = new RecordingDecoder();
        var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit, MaxQueuedSentences = 3 });
        var queued = batcher.TranslateAsync([Sentence(2, 1), Sentence(2, 3)], new TranslationOptions());
        var fits = batcher.TranslateAsync([Sentence(1, 5)], new TranslationOptions());

        var refused = Assert.Throws<ServiceUnavailableException>(() => { _ = batcher.TranslateAsync([Sentence(1, 6)], new TranslationOptions()); });
        Assert.Equal(TranslationBatcher.QueueFullRetryAfter, refused.RetryAfter);
        Assert.Equal(3, batcher.QueuedSentences);

        batcher.Complete();
        Assert.Equal(["1 2", "3 4"], (await queued.WaitAsync(Patience)).Select(r => r.Text));
        Assert.Equal(["5"], (await fits.WaitAsync(Patience)).Select(r => r.Text));
        Assert.Equal(0, batcher.QueuedSentences);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_queue_at_once_and_is_never_decoded()
    {
        var decoder = new RecordingDecoder();
        var batcher = new TranslationBatcher(decoder.Decode, new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit, MaxQueuedSentences = 2 });
        using var cancel = new CancellationTokenSource();
        var abandoned = batcher.TranslateAsync([Sentence(2, 1), Sentence(2, 3)], new TranslationOptions(), cancel.Token);
        Assert.Equal(2, batcher.QueuedSentences);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Patience));
        Assert.Equal(0, batcher.QueuedSentences);
        // Its room in the queue is free again.
        var next = batcher.TranslateAsync([Sentence(1, 7), Sentence(1, 8)], new TranslationOptions());
        batcher.Complete();
        Assert.Equal(["7", "8"], (await next.WaitAsync(Patience)).Select(r => r.Text));
        await batcher.Completion.WaitAsync(Patience);
        Assert.DoesNotContain(decoder.Batches.SelectMany(b => b.Sources), source => source[0] is 1 or 3);
        Assert.Equal(0, batcher.QueuedSentences);
    }

    [Fact]
    public void Invalid_options_are_usage_errors()
    {
        var error = Assert.Throws<NatEmException>(() => new BatchingOptions { Workers = 0 }.Validate());
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Throws<NatEmException>(() => new BatchingOptions { MaxDelay = TimeSpan.FromMinutes(2) }.Validate());
        Assert.Throws<NatEmException>(() => new BatchingOptions { MaxBatchTokens = 0 }.Validate());
        Assert.Contains("--max-queued-texts", Assert.Throws<NatEmException>(() => new BatchingOptions { MaxQueuedSentences = 0 }.Validate()).Message);
    }
}
