using System.Diagnostics;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Text;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Evaluation;

/// <summary>Options of <see cref="TrainingBenchmark"/>.</summary>
public sealed record TrainingBenchmarkOptions
{
    /// <summary>One of <see cref="TransformerConfig.PresetNames"/>.</summary>
    public string Preset { get; init; } = "small";
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Untimed updates first (allocator and kernel warm-up).</summary>
    public int WarmupUpdates { get; init; } = 2;
    public int TimedUpdates { get; init; } = 6;
    public IReadOnlyList<Precision> Precisions { get; init; } = [Precision.Fp32, Precision.Bf16];

    public void Validate()
    {
        if (WarmupUpdates < 0 || TimedUpdates < 1) throw new NatEmException("--warmup must be ≥ 0 and --updates ≥ 1", ExitCodes.Usage);
        if (MaxTokens < 16) throw new NatEmException("--max-tokens must be at least 16", ExitCodes.Usage);
        if (Precisions.Count == 0) throw new NatEmException("--precision needs at least one precision", ExitCodes.Usage);
        _ = TransformerConfig.Preset(Preset, SpecialTokens.Count + 1);
    }
}

/// <summary>
/// Target tokens per second of one trainer: the median over the timed updates (forward, backward, clipping, Adam);
/// <paramref name="TimedTargetTokens"/>, the target tokens those updates trained on, shows that every trainer had the same batches.
/// </summary>
public sealed record TrainingThroughput(string Name, double MedianTargetTokensPerSecond, double MinTargetTokensPerSecond, double MaxTargetTokensPerSecond, long TimedTargetTokens);

/// <summary>
/// Training throughput of the NatEm AR trainer in each precision, beside libtorch's own <c>nn.Transformer</c> of the
/// same shape (d, heads, layers, FFN, vocabulary; fp32, label-smoothed cross entropy, Adam, clipping) on the same
/// first batches, as a peer reference for what this machine's libtorch does with such a model.
/// </summary>
public static class TrainingBenchmark
{
    public const string PeerName = "libtorch nn.Transformer (fp32)";

    public static IReadOnlyList<TrainingThroughput> Run(ParallelExamples train, int vocabSize, TrainingBenchmarkOptions options, IProgress<string>? progress = null)
    {
        options.Validate();
        var config = TransformerConfig.Preset(options.Preset, vocabSize);
        var trainingOptions = new TrainingOptions
        {
            MaxTokens = options.MaxTokens, MaxUpdates = options.WarmupUpdates + options.TimedUpdates, LogEvery = 1, ValidateEvery = 0,
            Threads = torch.get_num_threads(), WarmupUpdates = 100,
        };
        var results = new List<TrainingThroughput>();
        foreach (var precision in options.Precisions)
        {
            var name = $"NatEm AR {options.Preset} ({precision.ToString().ToLowerInvariant()})";
            progress?.Report(name);
            var runDir = Path.Combine(Path.GetTempPath(), $"natem-bench-training-{Guid.NewGuid():N}");
            try
            {
                var perUpdate = new List<(double TokensPerSecond, long Tokens)>();
                var trainer = new Trainer(TranslationModels.Create(ModelKind.Autoregressive, config, seed: 1), trainingOptions with { Precision = precision },
                    runDir, train, null, new ModelDirectoryContents(new TokenizerInfo(TokenizerFiles.Bpe, vocabSize, 0, 0, []), "", new JsonObject()));
                trainer.Run(false, new SynchronousProgress<TrainingProgress>(p => { if (p.Update > options.WarmupUpdates) perUpdate.Add((p.TokensPerSecond, p.TargetTokens)); }));
                results.Add(Summary(name, perUpdate));
            }
            finally
            {
                if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            }
        }
        progress?.Report(PeerName);
        results.Add(Summary(PeerName, PeerTokensPerSecond(train, config, trainingOptions, options.WarmupUpdates)));
        return results;
    }

    private static TrainingThroughput Summary(string name, List<(double TokensPerSecond, long Tokens)> updates)
    {
        var sorted = updates.Select(u => u.TokensPerSecond).Order().ToList();
        return new TrainingThroughput(name, sorted[sorted.Count / 2], sorted[0], sorted[^1], updates.Sum(u => u.Tokens));
    }

    /// <summary>
    /// The peer: token embedding + <c>nn.Transformer</c> (post-norm, as libtorch builds it) + output projection, trained
    /// on the trainer's first batches (same batcher and seed). Sequence-first tensors, as libtorch's C++ module takes them.
    /// </summary>
    private static List<(double TokensPerSecond, long Tokens)> PeerTokensPerSecond(ParallelExamples train, TransformerConfig c, TrainingOptions o, int warmup)
    {
        torch.manual_seed(1);
        var embedding = nn.Embedding(c.VocabSize, c.ModelDim, padding_idx: SpecialTokens.Pad);
        var transformer = nn.Transformer(c.ModelDim, c.Heads, c.EncoderLayers, c.DecoderLayers, c.FeedForwardDim, c.Dropout);
        var projection = nn.Linear(c.ModelDim, c.VocabSize);
        var parameters = embedding.parameters().Concat(transformer.parameters()).Concat(projection.parameters()).ToList();
        var adam = optim.Adam(parameters, 1e-4, o.AdamBeta1, o.AdamBeta2, o.AdamEpsilon);
        var batches = TokenBatcher.Batches(train.Sources.Select(s => s.Length + 1).ToList(), train.Targets.Select(t => t.Length).ToList(),
            o.MaxTokens, o.Seed * 1_000_003, skipOverBudget: true);
        var perUpdate = new List<(double, long)>();
        for (int update = 0; update < o.MaxUpdates && update < batches.Count; update++)
        {
            using var scope = torch.NewDisposeScope();
            var sources = batches[update].Select(i => train.Sources[i]).ToList();
            var targets = batches[update].Select(i => train.Targets[i]).ToList();
            var clock = Stopwatch.StartNew();
            var source = SequenceTensors.Source(sources);
            var targetInput = SequenceTensors.Pad(targets, prependBos: true);
            var targetOutput = SequenceTensors.Pad(targets, appendEos: true);
            long length = targetInput.shape[1];
            var causal = ones(length, length, dtype: ScalarType.Bool).triu(1).to_type(ScalarType.Float32) * float.NegativeInfinity;
            causal = causal.nan_to_num(0.0); // 0·(−∞) is NaN below the diagonal
            // Masks in libtorch's order: source, target (causal), memory, then the key-padding masks of source, target, memory.
            var hidden = transformer.call(embedding.forward(source).transpose(0, 1), embedding.forward(targetInput).transpose(0, 1),
                null!, causal, null!, source.eq(SpecialTokens.Pad), targetInput.eq(SpecialTokens.Pad), source.eq(SpecialTokens.Pad));
            var logits = projection.forward(hidden.transpose(0, 1));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, c.VocabSize), targetOutput.reshape(-1),
                ignore_index: SpecialTokens.Pad, label_smoothing: o.LabelSmoothing);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, o.ClipNorm);
            adam.step();
            adam.zero_grad();
            long tokens = targets.Sum(t => t.Length + 1L);
            if (update >= warmup) perUpdate.Add((tokens / clock.Elapsed.TotalSeconds, tokens));
        }
        return perUpdate;
    }
}
