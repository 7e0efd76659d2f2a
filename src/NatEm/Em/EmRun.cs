using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Evaluation;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Em;

/// <summary>How an EM run shows its progress (console in the CLI, silent in tests). It reports; the run does the work.</summary>
public interface IEmObserver
{
    /// <summary>Shows a training stage while <paramref name="train"/> runs it, with the progress it reports.</summary>
    TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train);
    T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage);
    void Message(string line);
}

public sealed class SilentEmObserver : IEmObserver
{
    public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) => train(new SynchronousProgress<TrainingProgress>(_ => { }));
    public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) => stage(new SynchronousProgress<(int, int)>(_ => { }));
    public void Message(string line) { }
}

/// <summary>
/// The EM procedure of Sun &amp; Yang (ICML 2020) over a prepared data directory, resumable at every stage of its
/// <see cref="EmPlan"/>: round 0 trains the AR model q₀ on the real pairs D₀; round k distills q_{k−1} into a NAR
/// model p_k (M-step), lets p_k pick the most likely of q_{k−1}'s N-best candidates for each source (selection → Dₖ),
/// and trains qₖ on Dₖ (E-step). A final NAR model is distilled from q_K. Within a round, each model is loaded once.
/// <para>Run directory: <c>em_state.json</c> (finished stages and per-round figures), <c>ar0/</c>,
/// <c>roundK/{distill,nar,nbest,scores,ar}/</c>, <c>roundK/selected.bin</c>, <c>final/{distill,nar}/</c>;
/// <c>model</c> and <c>teacher</c> link to the results. The caller writes the report (<see cref="EmReportWriter"/>).</para>
/// </summary>
public sealed partial class EmRun
{
    private const string StateFile = "em_state.json";

    /// <summary>What an EM run writes into its directory: its state, stage folders, result links and the caller's report.</summary>
    public static readonly OutputKind RunKind = new("an EM run directory (natem em)", new Regex(
        $@"^({Regex.Escape(StateFile)}|ar0|round\d+|final|(model|teacher)(\.\d+\.tmp)?|{string.Join("|", EmReportWriter.Files.Select(Regex.Escape))})$"));
    private const int LikelihoodSample = 2000;
    private readonly PreparedData data;
    private readonly EmOptions options;
    private readonly EmPlan plan;
    private readonly string runDir;
    private readonly IEmObserver observer;
    private readonly CancellationToken cancel;
    private readonly ParallelSplit train, valid;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private EmState state;
    /// <summary>The latest model of each kind, as a checkpoint directory: given (--initial-ar/--initial-nar) until a stage trains one.</summary>
    private string? latestAr, latestNar;

    public EmRun(PreparedData data, EmOptions options, string runDir, bool resume, IEmObserver? observer = null, CancellationToken cancel = default)
        : this(data, options, runDir, resume, shardWorker: false, observer, cancel)
    {
    }

    private EmRun(PreparedData data, EmOptions options, string runDir, bool resume, bool shardWorker, IEmObserver? observer, CancellationToken cancel)
    {
        options.Validate();
        this.data = data;
        this.options = options;
        plan = new EmPlan(options);
        this.runDir = runDir;
        this.observer = observer ?? new SilentEmObserver();
        this.cancel = cancel;
        train = Limit(data.Split("train"), options.TrainLimit);
        valid = Limit(data.Split("valid"), options.ValidLimit);
        // The decoding passes' widths are bounded now rather than after hours of training.
        var teacher = options.InitialAr is { } initialAr ? PreparedDataModels.ReadMatching(initialAr, ModelKind.Autoregressive, data).Config : options.Architecture.Resolve(ModelKind.Autoregressive, data.Tokenizer.VocabSize);
        if (options.InitialNar is { } initialNar) PreparedDataModels.ReadMatching(initialNar, ModelKind.NonAutoregressive, data);
        Distillation.BatchSize(teacher, train.Source, options.NBest, "--nbest", DecodingMemory.DefaultBudgetBytes);
        Distillation.BatchSize(teacher, train.Source, options.DistillBeam, "--distill-beam", DecodingMemory.DefaultBudgetBytes);
        var statePath = Path.Combine(runDir, StateFile);
        if (File.Exists(statePath) && !resume && !shardWorker)
            throw NatEmException.In(runDir, "already holds an EM run; pass --resume to continue it or choose a new --out", ExitCodes.Usage);
        state = File.Exists(statePath) ? ReadState(statePath) : new EmState();
        if (state.Options is { } saved && !SameOptionsIgnoringHardware(saved, JsonSerializer.Serialize(options, OnDiskJson.Options)))
            throw NatEmException.In(statePath, "was started with different EM options; resume with the same options", ExitCodes.Usage);
        state = state with { Options = JsonSerializer.Serialize(options, OnDiskJson.Options) };
        // A shard worker reads the run's state; only the run writes it.
        if (shardWorker) return;
        AtomicFile.CreateDirectory(runDir);
        SaveState();
    }

    /// <summary>
    /// Runs (or resumes) the stages of the plan in order and returns the report; the caller writes it. A round's
    /// report is made when its last stage is done, before the next round starts.
    /// </summary>
    public EmReport Run()
    {
        latestAr = options.InitialAr;
        latestNar = options.InitialNar;
        IReadOnlyList<int[]> previousTargets = train.Target;
        var rounds = new List<RoundReport>();
        var round = new RoundWork(EmRound.Initial, latestAr is null ? null : LoadWhenNeeded(latestAr, LoadAr));
        try
        {
            foreach (var stage in plan.Stages)
            {
                if (stage.Round != round.Round)
                {
                    rounds.Add(Report(round, previousTargets));
                    previousTargets = round.Selection?.Selected ?? previousTargets;
                    round = NextRound(round, stage.Round);
                }
                Timed(round.Times, stage.Step == EmStep.Scores ? "select" : stage.Step.ToString().ToLowerInvariant(), () => RunStage(stage, round));
            }
            rounds.Add(Report(round, previousTargets));
            PointLink("model", latestNar!);
            PointLink("teacher", latestAr!);
            return new EmReport(rounds, Path.Combine(runDir, "model"), Path.Combine(runDir, "teacher"));
        }
        finally
        {
            round.Dispose();
        }
    }

    /// <summary>Runs one stage on what the earlier stages of its round produced.</summary>
    private void RunStage(EmStage stage, RoundWork round)
    {
        switch (stage.Step)
        {
            case EmStep.Ar:
                // q₀ learns the real pairs D₀; qₖ learns the round's selection Dₖ.
                latestAr = TrainStage(stage, options.ArTraining, round.Selection?.Selected ?? train.Target, options.WarmStartAr ? latestAr : null);
                break;
            case EmStep.Distill:
                round.Distilled = Distill(round.Round, round.Teacher!);
                break;
            case EmStep.Nar:
                latestNar = TrainStage(stage, options.NarTraining, round.Distilled!, options.WarmStartNar ? latestNar : null);
                round.Nar = LoadWhenNeeded(latestNar, LoadNar);
                break;
            case EmStep.NBest:
                round.Candidates = NBest(round.Round, round.Teacher!);
                break;
            case EmStep.Scores:
                // Without a NAR stage in the round (--initial-nar), the latest NAR model scores the candidates. Scoring
                // adds time but no beams: its cost is folded into the N-best pass's.
                round.Nar ??= LoadWhenNeeded(latestNar!, LoadNar);
                round.Selection = Decoding(stage, () => Select(round.Round, round.Nar, round.Candidates!));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(stage), stage, "no such EM step");
        }
    }

    /// <summary>
    /// The next round, taught by the latest AR model: q_{k−1} teaches round k. A teacher that already taught (or, as
    /// q₀, was trained by) the finished round stays loaded; the finished round's other models are freed.
    /// </summary>
    private RoundWork NextRound(RoundWork finished, EmRound next)
    {
        var teacher = finished.Teacher is { } kept && kept.Dir == latestAr ? kept : LoadWhenNeeded(latestAr!, LoadAr);
        if (teacher == finished.Teacher) finished.Teacher = null;
        finished.Dispose();
        return new RoundWork(next, teacher);
    }

    /// <summary>The round's report, from what its stages produced; <paramref name="previousTargets"/> is D_{k−1}.</summary>
    private RoundReport Report(RoundWork round, IReadOnlyList<int[]> previousTargets)
    {
        // Round 0 starts with no teacher unless --initial-ar gives q₀: it reports the q₀ it trained.
        round.Teacher ??= LoadWhenNeeded(latestAr!, LoadAr);
        var number = round.Round.Number.ToString(CultureInfo.InvariantCulture);
        return EvaluateStage(round.Round, () => new RoundReport
        {
            Round = round.Round == EmRound.Initial ? "0 (q₀)" : round.Round.IsFinal ? $"final (p from q{options.Iterations})" : number,
            SelectedLogLikelihood = round.Selection?.MeanLogLikelihoodPerToken,
            Selection = round.Selection?.Statistics ?? [],
            ChangedFraction = round.Selection is { } selection ? CorpusStatistics.ChangedFraction(previousTargets, selection.Selected) : null,
            // Round 0 has no NAR model: its figure is the real targets'.
            TargetEntropy = CorpusStatistics.UnigramEntropyBits(round.Distilled ?? train.Target),
            NarTrainNll = round.Nar is { } nar && round.Distilled is { } distilled ? NarNll(nar.Value, distilled) : null,
            StageSeconds = round.Times,
        }, round.Teacher, round.Nar);
    }

    private string TrainStage(EmStage stage, TrainingOptions training, IReadOnlyList<int[]> targets, string? warmStartFrom)
    {
        var kind = stage.Trains ?? throw new ArgumentException($"{stage} trains no model", nameof(stage));
        var dir = stage.Directory(runDir);
        var best = Path.Combine(dir, "checkpoint_best");
        if (state.Finished.Contains(stage.Name)) return best;

        if (options.BudgetMinutes is { } budget)
        {
            double minutesPerBeam = state.DecodingBeams > 0 ? state.DecodingMinutes / state.DecodingBeams : 0;
            training = training with { MaxMinutes = plan.TrainingMinutes(stage, budget, state.ElapsedMinutes + clock.Elapsed.TotalMinutes, minutesPerBeam) };
        }
        var initial = warmStartFrom is null
            ? new InitialModel(kind, options.Architecture.Resolve(kind, data.Tokenizer.VocabSize))
            : InitialModel.FineTune(warmStartFrom, kind, data, options.Architecture);
        var job = new TrainingJob(initial, training, dir, data,
            new ParallelExamples(train.Source, targets), ParallelExamples.Of(valid), new JsonObject { ["em_stage"] = stage.Name },
            m => ValidationBleu.Score(m, data.Tokenizer, valid));
        observer.Training(stage.Name, job.SkippedExamplesWarning, progress => job.Run(resume: true, progress, cancel, observer.Message));
        Finish(stage);
        return best;
    }

    private IReadOnlyList<int[]> Distill(EmRound round, LazyModel<ArTransformer> teacher)
    {
        var stage = new EmStage(round, EmStep.Distill);
        return Decoding(stage, () => observer.Stage($"{stage} (beam {options.DistillBeam})", progress => DistillPass(round, teacher).Run(progress, cancel).Entries));
    }

    private CandidateLists<int[]> NBest(EmRound round, LazyModel<ArTransformer> teacher)
    {
        var stage = new EmStage(round, EmStep.NBest);
        return Decoding(stage, () => observer.Stage($"{round}: {options.NBest}-best of q{round.Number - 1}", progress =>
            NBestPass(round, teacher).Run(progress, cancel)));
    }

    // The decoding passes over the training sources, run whole here and shard by shard by RunShard (EmRun.Shards.cs).
    private ChunkedPass<int[]> DistillPass(EmRound round, LazyModel<ArTransformer> teacher) =>
        Distillation.BestTranslations(() => teacher.Value, teacher.WeightsSha256, train.Source, options.DistillBeam, new EmStage(round, EmStep.Distill).Directory(runDir),
            options.ChunkSize, cancel);

    private ChunkedPass<int[]> NBestPass(EmRound round, LazyModel<ArTransformer> teacher) =>
        Distillation.NBest(() => teacher.Value, teacher.WeightsSha256, train.Source, options.NBest, new EmStage(round, EmStep.NBest).Directory(runDir), options.ChunkSize, cancel);

    private ChunkedPass<float> ScoresPass(EmRound round, LazyModel<NarTransformer> nar, CandidateLists<int[]> candidates) =>
        new ChunkedStage<float>(new EmStage(round, EmStep.Scores).Directory(runDir), ChunkCodec<float>.Floats,
            StageInputs.Decoding("NAR", nar.WeightsSha256, $"scores of the {candidates.PerSource} candidates sha256 {StageInputs.Digest(candidates.Entries)}", train.Source),
            options.ChunkSize).Pass(candidates.SourceCount, candidates.PerSource, (start, length) =>
            {
                var chunk = candidates.Slice(start, length);
                var sources = chunk.SourceOfEachEntry().Select(i => train.Source[start + i]).ToList();
                return chunk.With(SequenceScoring.NarLogLikelihood(nar.Value, sources, chunk.Entries).Select(s => (float)s).ToArray());
            });

    /// <summary>
    /// Runs a pass over the training sources and records its cost (minutes per beam), from which later training
    /// stages reserve time for the passes still to come. A pass is recorded once: rerun on resume, it is read from
    /// its cache and costs nothing.
    /// </summary>
    private T Decoding<T>(EmStage pass, Func<T> run)
    {
        PauseIfUnfinished(pass);
        var watch = Stopwatch.StartNew();
        var result = run();
        if (!state.DecodingPasses.Contains(pass.Name))
        {
            state = state with
            {
                DecodingPasses = [.. state.DecodingPasses, pass.Name],
                DecodingMinutes = state.DecodingMinutes + watch.Elapsed.TotalMinutes,
                DecodingBeams = state.DecodingBeams + pass.Beams(options),
            };
            SaveState();
        }
        return result;
    }

    /// <summary>The selection step: for every source, the candidate the NAR model scores best under the selection criterion.</summary>
    private (int[][] Selected, double MeanLogLikelihoodPerToken, IReadOnlyList<SelectionStatistics> Statistics) Select(EmRound round, LazyModel<NarTransformer> nar, CandidateLists<int[]> candidates)
    {
        var selectedPath = Path.Combine(round.Directory(runDir), "selected.bin");
        var scores = observer.Stage($"{round}: NAR scores of {candidates.PerSource} candidates", progress => ScoresPass(round, nar, candidates).Run(progress, cancel));
        var (choice, statistics) = EmSelection.ChooseAndCompare(scores, candidates, options.SelectionScore);
        var selected = candidates.Pick(choice);
        if (!File.Exists(selectedPath)) TokenIdFile.Write(selectedPath, selected);
        int unscorable = EmSelection.Unscorable(scores);
        if (unscorable > 0) observer.Message($"{round}: {unscorable} sources have no candidate the NAR model can score (CTC: none fits its positions); each keeps the beam's first");
        // Those sources' −∞ would swamp the mean: it averages the scored ones.
        var scored = Enumerable.Range(0, choice.Length).Where(i => !float.IsNegativeInfinity(scores[i, choice[i]])).ToList();
        double totalScore = scored.Sum(i => (double)scores[i, choice[i]]);
        long totalTokens = scored.Sum(i => (long)selected[i].Length + 1);
        return (selected, totalScore / Math.Max(1, totalTokens), statistics);
    }

    /// <summary>
    /// The round's report: <paramref name="figures"/> (computed only when the round has no saved report) and the valid
    /// BLEU of the round's AR teacher and NAR model, saved in em_state.json.
    /// </summary>
    private RoundReport EvaluateStage(EmRound round, Func<RoundReport> figures, LazyModel<ArTransformer> teacher, LazyModel<NarTransformer>? nar)
    {
        if (state.Reports.TryGetValue(round.Name, out var saved)) return saved;
        var report = figures();
        var times = new Dictionary<string, double>(report.StageSeconds);
        report = Timed(times, "eval", () =>
        {
            var r = report with { ArValidBleu = ValidationBleu.Score(teacher.Value, data.Tokenizer, valid) };
            if (nar is null) return r;
            // ODD for a length model; a CTC model decodes by its own rule (argmax, then collapse) through the same call,
            // and its raw tokens are that output (Generation.RawTokens), so its two BLEU figures are equal.
            var odd = Generators.Create(nar.Value, new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Odd } }).Generate(valid.Source)
                .Select(g => (Tokens: g.Hypotheses[0].Tokens, Raw: g.RawTokens ?? [], PredictedLength: g.PredictedLength ?? 0)).ToList();
            var bleu = new Bleu();
            string Text(IEnumerable<int> ids) => data.Tokenizer.Decode(ids);
            return r with
            {
                NarValidBleuOdd = bleu.CorpusScore(odd.Select(o => Text(o.Tokens)).ToList(), valid.TargetText).Score,
                NarValidBleuArgmax = bleu.CorpusScore(odd.Select(o => Text(o.Raw)).ToList(), valid.TargetText).Score,
                RepetitionRate = OutputStatistics.RepetitionRate(odd.Select(o => o.Raw)),
                LengthAccuracy = OutputStatistics.LengthAccuracy(odd.Select(o => o.PredictedLength).ToList(), valid.Target.Select(t => t.Length).ToList()),
            };
        });
        report = report with { StageSeconds = times };
        state = state with { Reports = new Dictionary<string, RoundReport>(state.Reports) { [round.Name] = report } };
        SaveState();
        observer.Message($"{round}: AR valid BLEU {report.ArValidBleu:F2}" + (nar is null ? "" : $", NAR valid BLEU odd {report.NarValidBleuOdd:F2} / argmax {report.NarValidBleuArgmax:F2}, repetition {report.RepetitionRate:P1}"));
        return report;
    }

    private double NarNll(NarTransformer nar, IReadOnlyList<int[]> targets)
    {
        int count = Math.Min(LikelihoodSample, targets.Count);
        var scores = SequenceScoring.NarLogLikelihood(nar, train.Source.Take(count).ToList(), targets.Take(count).ToList());
        // A CTC model gives −∞ to a target longer than its grid; the figure averages over the targets it can score.
        var scored = Enumerable.Range(0, count).Where(i => double.IsFinite(scores[i])).ToList();
        return -scored.Sum(i => scores[i]) / Math.Max(1, scored.Sum(i => (long)targets[i].Length + 1));
    }

    private void Timed(Dictionary<string, double> times, string stage, Action run) => Timed(times, stage, () =>
    {
        run();
        return true;
    });

    private T Timed<T>(Dictionary<string, double> times, string stage, Func<T> run)
    {
        var watch = Stopwatch.StartNew();
        var result = run();
        times[stage] = times.GetValueOrDefault(stage) + watch.Elapsed.TotalSeconds;
        return result;
    }

    // Models loaded by the EM run only decode or score, in their stage's training precision, with weights cast once.
    private ArTransformer LoadAr(string dir) => ModelStore.LoadArForDecoding(dir, options.ArTraining.Precision);
    private NarTransformer LoadNar(string dir) => ModelStore.LoadNarForDecoding(dir, options.NarTraining.Precision);

    private static LazyModel<T> LoadWhenNeeded<T>(string dir, Func<string, T> load) where T : class, ITranslationModel => new(dir, () => load(dir));

    /// <summary>A model loaded when first needed (a resumed round may need none) and freed once its stages are over.</summary>
    private sealed class LazyModel<T>(string dir, Func<T> load) : IDisposable where T : class, ITranslationModel
    {
        private T? model;
        public T Value => model ??= load();
        public string Dir => dir;

        /// <summary>Identifies the weights in the caches of the passes this model computes.</summary>
        public string WeightsSha256 => ModelStore.WeightsSha256(dir);

        public void Dispose()
        {
            model?.Module.Dispose();
            model = null;
        }
    }

    /// <summary>A round in progress: the models it uses and what its stages produced, from which its report is made.</summary>
    private sealed class RoundWork(EmRound round, LazyModel<ArTransformer>? teacher) : IDisposable
    {
        public EmRound Round => round;
        /// <summary>The AR model that teaches the round (q_{k−1}); round 0's is q₀.</summary>
        public LazyModel<ArTransformer>? Teacher { get; set; } = teacher;
        /// <summary>The round's NAR model pₖ: the one it trains or, without a NAR stage, the one that scores its candidates.</summary>
        public LazyModel<NarTransformer>? Nar { get; set; }
        /// <summary>The teacher's best translations of the training sources: the NAR model's targets.</summary>
        public IReadOnlyList<int[]>? Distilled { get; set; }
        public CandidateLists<int[]>? Candidates { get; set; }
        public (int[][] Selected, double MeanLogLikelihoodPerToken, IReadOnlyList<SelectionStatistics> Statistics)? Selection { get; set; }
        public Dictionary<string, double> Times { get; } = [];

        public void Dispose()
        {
            Nar?.Dispose();
            Teacher?.Dispose();
        }
    }

    private static ParallelSplit Limit(ParallelSplit split, int? limit) => limit is { } n ? split.Take(n) : split;

    /// <summary>
    /// Whether two serialized <see cref="EmOptions"/> agree on everything but how the machine runs them: the training
    /// precision (checkpoints are fp32 either way; runs from before it existed lack it) and the thread count, which a
    /// run may change when it resumes, as `train-ar`/`train-nar --resume` may. An option that is null counts as
    /// absent, so that a run from before an optional setting existed still resumes.
    /// </summary>
    private static bool SameOptionsIgnoringHardware(string saved, string current)
    {
        static JsonNode? Comparable(string json)
        {
            // Through EmOptions and back, so that a run saved when an enum was still written as a number compares equal.
            var node = JsonSerializer.SerializeToNode(JsonSerializer.Deserialize<EmOptions>(json, OnDiskJson.Options), OnDiskJson.Options);
            foreach (var training in new[] { "ar_training", "nar_training" })
                foreach (var hardware in new[] { "precision", "threads", "resolved_threads" })
                    (node?[training] as JsonObject)?.Remove(hardware);
            if (node is JsonObject top)
                foreach (var name in top.Where(p => p.Value is null).Select(p => p.Key).ToList())
                    top.Remove(name);
            return node;
        }
        return JsonNode.DeepEquals(Comparable(saved), Comparable(current));
    }

    private void Finish(EmStage stage)
    {
        state = state with { Finished = [.. state.Finished, stage.Name] };
        SaveState();
    }

    private void SaveState()
    {
        state = state with { ElapsedMinutes = state.ElapsedMinutes + clock.Elapsed.TotalMinutes };
        clock.Restart();
        AtomicFile.WriteAllText(Path.Combine(runDir, StateFile), JsonSerializer.Serialize(state, OnDiskJson.Options));
    }

    private static EmState ReadState(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<EmState>(File.ReadAllText(path), OnDiskJson.Options) ?? throw NatEmException.In(path, "empty EM state");
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"corrupt EM state: {e.Message}");
        }
    }

    /// <summary>Points RUN/name at the checkpoint directory <paramref name="target"/> resolves to.</summary>
    private void PointLink(string name, string target)
    {
        var resolved = new DirectoryInfo(target).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(target);
        AtomicFile.PointLink(Path.Combine(runDir, name), Path.GetRelativePath(Path.GetFullPath(runDir), resolved));
    }

    private sealed record EmState
    {
        public string? Options { get; init; }
        public List<string> Finished { get; init; } = [];
        public Dictionary<string, RoundReport> Reports { get; init; } = [];
        public double ElapsedMinutes { get; init; }
        /// <summary>Minutes spent in decoding passes over the training sources, and the sum of their beam sizes.</summary>
        public double DecodingMinutes { get; init; }
        public int DecodingBeams { get; init; }
        public List<string> DecodingPasses { get; init; } = [];
    }
}
