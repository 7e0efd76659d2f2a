using System.Diagnostics;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Text;
using NatEm.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Evaluation;

/// <summary>Options of <see cref="TrainingBenchmark"/>.</summary>
public sealed record TrainingBenchmarkOptions
{
    /// <summary>One of <see cref="TransformerConfig.PresetNames"/>.</summary>
    public string Preset { get; init; } = "small";
    /// <summary>
    /// The trainers timed: the AR model, or the NAR model (uniform-copy decoder inputs, as the recipes train it) both
    /// plain and with glancing, each beside a libtorch peer of its shape.
    /// </summary>
    public ModelKind Kind { get; init; } = ModelKind.Autoregressive;
    /// <summary>The glancing ratio of the timed NAR glancing updates (constant: the cost does not depend on it).</summary>
    public const double GlancingRatio = 0.3;
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Untimed updates first (allocator and kernel warm-up).</summary>
    public int UntimedUpdates { get; init; } = 2;
    public int TimedUpdates { get; init; } = 6;
    public IReadOnlyList<Precision> Precisions { get; init; } = [Precision.Fp32, Precision.Bf16];

    public void Validate()
    {
        if (UntimedUpdates < 0 || TimedUpdates < 1) throw new NatEmException("--untimed-updates must be ≥ 0 and --updates ≥ 1", ExitCodes.Usage);
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

/// <summary>How much of the timed batches is padding: the share of padded source and target positions.</summary>
public sealed record BatchPadding(double Source, double Target);

/// <summary>
/// Training throughput of the NatEm AR or NAR trainer in each precision, beside libtorch's own Transformer modules of
/// the same shape (d, heads, layers, FFN, vocabulary; fp32, label-smoothed cross entropy, Adam, clipping) on the same
/// first batches, as a peer reference for what this machine's libtorch does with such a model.
/// </summary>
public static class TrainingBenchmark
{
    public const string PeerName = "libtorch nn.Transformer (fp32)";
    public const string NarPeerName = "libtorch NAR peer (fp32)";

    public static IReadOnlyList<TrainingThroughput> Run(ParallelExamples train, int vocabSize, TrainingBenchmarkOptions options, IProgress<string>? progress = null)
    {
        options.Validate();
        var config = TransformerConfig.Preset(options.Preset, vocabSize);
        bool nar = options.Kind == ModelKind.NonAutoregressive;
        if (nar) config = config with { DecoderInput = NarDecoderInput.UniformCopy };
        var trainingOptions = TrainingOptionsOf(options);
        var results = new List<TrainingThroughput>();
        var trainers = nar
            ? new (string Label, GlancingSchedule? Glancing)[] { ("NAR", null), ("NAR glancing", new GlancingSchedule { Start = TrainingBenchmarkOptions.GlancingRatio, End = TrainingBenchmarkOptions.GlancingRatio }) }
            : [("AR", null)];
        foreach (var precision in options.Precisions)
        foreach (var (label, glancing) in trainers)
        {
            var name = $"NatEm {label} {options.Preset} ({precision.ToString().ToLowerInvariant()})";
            progress?.Report(name);
            var runDir = Path.Combine(Path.GetTempPath(), $"natem-bench-training-{Guid.NewGuid():N}");
            try
            {
                var perUpdate = new List<(double TokensPerSecond, long Tokens)>();
                var trainer = new Trainer(TranslationModels.Create(options.Kind, config, seed: 1), trainingOptions with { Precision = precision, Glancing = glancing },
                    runDir, train, null, new ModelDirectoryContents(new TokenizerInfo(TokenizerFiles.Bpe, vocabSize, 0, 0, []), "", new JsonObject()));
                trainer.Run(false, new SynchronousProgress<TrainingProgress>(p => { if (p.Update > options.UntimedUpdates) perUpdate.Add((p.TokensPerSecond, p.TargetTokens)); }));
                results.Add(Summary(name, perUpdate));
            }
            finally
            {
                if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            }
        }
        var peerName = nar ? NarPeerName : PeerName;
        progress?.Report(peerName);
        results.Add(Summary(peerName, nar
            ? NarPeerTokensPerSecond(train, config, trainingOptions, options.UntimedUpdates)
            : PeerTokensPerSecond(train, config, trainingOptions, options.UntimedUpdates)));
        return results;
    }

    /// <summary>The padding share of the timed batches, which every trainer above trains on.</summary>
    public static BatchPadding Padding(ParallelExamples train, TrainingBenchmarkOptions options)
    {
        var o = TrainingOptionsOf(options);
        var timed = FirstBatches(train, o).Skip(options.UntimedUpdates).Take(options.TimedUpdates).ToList();
        static double Share(IEnumerable<int[]> rows, int extra)
        {
            var lengths = rows.Select(r => r.Length + extra).ToList();
            return 1 - lengths.Sum() / (double)(lengths.Count * lengths.Max());
        }
        return new BatchPadding(
            timed.Average(b => Share(b.Select(i => train.Sources[i]), extra: 1)),
            timed.Average(b => Share(b.Select(i => train.Targets[i]), extra: 0)));
    }

    private static TrainingOptions TrainingOptionsOf(TrainingBenchmarkOptions options) => new()
    {
        MaxTokens = options.MaxTokens, MaxUpdates = options.UntimedUpdates + options.TimedUpdates, LogEvery = 1, ValidateEvery = 0,
        Threads = torch.get_num_threads(), WarmupUpdates = 100,
    };

    /// <summary>The trainer's first-epoch batches (its batcher, lengths and seed), in order.</summary>
    private static List<int[]> FirstBatches(ParallelExamples train, TrainingOptions o) =>
        TokenBatcher.Batches(train.Sources.Select(s => s.Length + 1).ToList(), train.Targets.Select(t => t.Length).ToList(),
            o.MaxTokens, o.Seed * 1_000_003, skipOverBudget: true);

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
        return TimePeer(train, o, warmup, parameters, eosTokens: 1, (sources, targets) =>
        {
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
            return nn.functional.cross_entropy(logits.reshape(-1, c.VocabSize), targetOutput.reshape(-1),
                ignore_index: SpecialTokens.Pad, label_smoothing: o.LabelSmoothing);
        });
    }

    /// <summary>
    /// The NAR peer: token embedding, libtorch's <c>TransformerEncoder</c> and <c>TransformerDecoder</c> (post-norm, no
    /// causal mask) over uniformly copied source embeddings, an output projection and a length classifier on the
    /// mean-pooled encoder output; label-smoothed token loss plus 0.1 × length loss, on the trainer's first batches.
    /// </summary>
    private static List<(double, long)> NarPeerTokensPerSecond(ParallelExamples train, TransformerConfig c, TrainingOptions o, int warmup)
    {
        torch.manual_seed(1);
        var embedding = nn.Embedding(c.VocabSize, c.ModelDim, padding_idx: SpecialTokens.Pad);
        var encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(c.ModelDim, c.Heads, c.FeedForwardDim, c.Dropout), c.EncoderLayers);
        var decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(c.ModelDim, c.Heads, c.FeedForwardDim, c.Dropout), c.DecoderLayers);
        var lengthClassifier = nn.Linear(c.ModelDim, c.MaxTargetLength + 1);
        var projection = nn.Linear(c.ModelDim, c.VocabSize);
        var parameters = new nn.Module[] { embedding, encoder, decoder, lengthClassifier, projection }.SelectMany(m => m.parameters()).ToList();
        return TimePeer(train, o, warmup, parameters, eosTokens: 0, (sources, targets) =>
        {
            var source = SequenceTensors.Source(sources);
            var target = SequenceTensors.Pad(targets);
            var lengths = SequenceTensors.Lengths(targets);
            var sourcePadding = source.eq(SpecialTokens.Pad);
            var embedded = embedding.forward(source);
            var memory = encoder.call(embedded.transpose(0, 1), null!, sourcePadding);
            var weights = sourcePadding.logical_not().to_type(ScalarType.Float32).transpose(0, 1).unsqueeze(-1);
            // keepdim named: a literal 0 alone would bind to sum's dtype overload (ScalarType 0 is Byte).
            var lengthLogits = lengthClassifier.forward((memory * weights).sum(0, keepdim: false) / weights.sum(0, keepdim: false));
            // Uniform copy: target position i of T reads source position round(i·S/T), S without eos.
            var sourceLengths = (source.ne(SpecialTokens.Pad).sum(1) - 1).clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1);
            var ratio = sourceLengths / lengths.clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1);
            var index = (arange(target.shape[1], dtype: ScalarType.Float32).unsqueeze(0) * ratio).round().to_type(ScalarType.Int64)
                .minimum(sourceLengths.to_type(ScalarType.Int64) - 1);
            var inputs = embedded.gather(1, index.unsqueeze(-1).expand(target.shape[0], target.shape[1], c.ModelDim));
            var targetPadding = SequenceTensors.LengthMask(lengths, target.shape[1]).logical_not();
            var hidden = decoder.call(inputs.transpose(0, 1), memory, null!, null!, targetPadding, sourcePadding);
            var logits = projection.forward(hidden.transpose(0, 1));
            var tokenLoss = nn.functional.cross_entropy(logits.reshape(-1, c.VocabSize), target.reshape(-1),
                ignore_index: SpecialTokens.Pad, label_smoothing: o.LabelSmoothing);
            return tokenLoss + o.LengthLossWeight * nn.functional.cross_entropy(lengthLogits, lengths.clamp(0, c.MaxTargetLength));
        });
    }

    /// <summary>
    /// Trains a peer on the trainer's first batches with Adam and clipping, timing each update from its batch's tensors
    /// to the optimizer step; <paramref name="eosTokens"/> is what each target adds to the counted tokens (AR: its eos).
    /// </summary>
    private static List<(double, long)> TimePeer(ParallelExamples train, TrainingOptions o, int warmup, List<Parameter> parameters, int eosTokens,
        Func<IReadOnlyList<int[]>, IReadOnlyList<int[]>, Tensor> loss)
    {
        var adam = optim.Adam(parameters, 1e-4, o.AdamBeta1, o.AdamBeta2, o.AdamEpsilon);
        var batches = FirstBatches(train, o);
        var perUpdate = new List<(double, long)>();
        for (int update = 0; update < o.MaxUpdates && update < batches.Count; update++)
        {
            using var scope = torch.NewDisposeScope();
            var sources = batches[update].Select(i => train.Sources[i]).ToList();
            var targets = batches[update].Select(i => train.Targets[i]).ToList();
            var clock = Stopwatch.StartNew();
            loss(sources, targets).backward();
            nn.utils.clip_grad_norm_(parameters, o.ClipNorm);
            adam.step();
            adam.zero_grad();
            long tokens = targets.Sum(t => (long)t.Length + eosTokens);
            if (update >= warmup) perUpdate.Add((tokens / clock.Elapsed.TotalSeconds, tokens));
        }
        return perUpdate;
    }
}
