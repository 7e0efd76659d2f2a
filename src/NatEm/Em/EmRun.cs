using System.Globalization;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Em;

/// <summary>How an EM run shows its progress (console in the CLI, silent in tests).</summary>
public interface IEmObserver
{
    TrainingResult Train(string title, Trainer trainer, bool resume, CancellationToken cancel);
    T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage);
    void Message(string line);
}

public sealed class SilentEmObserver : IEmObserver
{
    public TrainingResult Train(string title, Trainer trainer, bool resume, CancellationToken cancel) => trainer.Run(resume, null, cancel);
    public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) => stage(new SynchronousProgress<(int, int)>(_ => { }));
    public void Message(string line) { }
}

/// <summary>
/// The EM procedure of Sun &amp; Yang (ICML 2020) over a prepared data directory, resumable at every stage:
/// round 0 trains the AR model q₀ on the real pairs D₀; round k distills q_{k−1} into a NAR model p_k
/// (M-step), lets p_k pick the most likely of q_{k−1}'s N-best candidates for each source (selection → Dₖ),
/// and trains qₖ on Dₖ (E-step). A final NAR model is distilled from q_K.
/// <para>Run directory: <c>em_state.json</c> (finished stages and per-round figures), <c>ar0/</c>,
/// <c>roundK/{distill,nar,nbest,scores,ar}/</c>, <c>roundK/selected.bin</c>, <c>final/{distill,nar}/</c>,
/// <c>report.json</c>, <c>report.md</c>, <c>em.png</c>; <c>model</c> and <c>teacher</c> link to the results.</para>
/// </summary>
public sealed class EmRun
{
    private const string StateFile = "em_state.json";
    private const int LikelihoodSample = 2000;
    private readonly PreparedData data;
    private readonly EmOptions options;
    private readonly string runDir;
    private readonly IEmObserver observer;
    private readonly CancellationToken cancel;
    private readonly ParallelSplit train, valid;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private EmState state;
    private int trainingStagesLeft;

    public EmRun(PreparedData data, EmOptions options, string runDir, bool resume, IEmObserver? observer = null, CancellationToken cancel = default)
    {
        options.Validate();
        this.data = data;
        this.options = options;
        this.runDir = runDir;
        this.observer = observer ?? new SilentEmObserver();
        this.cancel = cancel;
        train = Limit(data.Split("train"), options.TrainLimit);
        valid = Limit(data.Split("valid"), options.ValidLimit);
        // The decoding passes' widths are bounded now rather than after hours of training.
        var teacher = options.InitialAr is { } initialAr ? ModelStore.ReadManifest(initialAr).Config : options.Architecture.Resolve(ModelKind.Autoregressive, data.Tokenizer.VocabSize);
        Distillation.BatchSize(teacher, train.Source, options.NBest, "--nbest", DecodingMemory.DefaultBudgetBytes);
        Distillation.BatchSize(teacher, train.Source, options.DistillBeam, "--distill-beam", DecodingMemory.DefaultBudgetBytes);
        var statePath = Path.Combine(runDir, StateFile);
        if (File.Exists(statePath) && !resume)
            throw NatEmException.In(runDir, "already holds an EM run; pass --resume to continue it or choose a new --out", ExitCodes.Usage);
        state = File.Exists(statePath) ? ReadState(statePath) : new EmState();
        if (state.Options is { } saved && !SameOptionsIgnoringPrecision(saved, JsonSerializer.Serialize(options, ModelStore.Json)))
            throw NatEmException.In(statePath, "was started with different EM options; resume with the same options", ExitCodes.Usage);
        state = state with { Options = JsonSerializer.Serialize(options, ModelStore.Json) };
        AtomicFile.CreateDirectory(runDir);
        SaveState();
    }

    /// <summary>Runs (or resumes) every stage and returns the report.</summary>
    public EmReport Run()
    {
        trainingStagesLeft = 2 * options.Iterations + 2;
        var teacherDir = options.InitialAr ?? TrainStage("ar0", ModelKind.Autoregressive, options.ArTraining, train.Target, warmStartFrom: null);
        var previousTargets = (IReadOnlyList<int[]>)train.Target;
        string? previousNar = null;
        var rounds = new List<RoundReport>();
        rounds.Add(EvaluateStage("round0", new RoundReport { Round = "0 (q₀)", TargetEntropy = CorpusStatistics.UnigramEntropyBits(train.Target) }, teacherDir, nar: null));

        for (int k = 1; k <= options.Iterations; k++)
        {
            var round = $"round{k}";
            var times = new Dictionary<string, double>();
            var teacher = LoadAr(teacherDir);
            var distilled = Timed(times, "distill", () => Distill($"{round}/distill", teacher));
            var narDir = Timed(times, "nar", () => TrainStage($"{round}/nar", ModelKind.NonAutoregressive, options.NarTraining, distilled,
                options.WarmStartNar ? previousNar : null));
            var candidates = Timed(times, "nbest", () => Decoding($"{round}/nbest", options.NBest, () => observer.Stage($"{round}: {options.NBest}-best of q{k - 1}", progress =>
                Distillation.NBest(teacher, train.Source, options.NBest, Path.Combine(runDir, round, "nbest"), progress, cancel))));
            // Scoring the candidates adds time but no beams: its cost is folded into the N-best pass's.
            var (selected, selectedLogLikelihood) = Timed(times, "select", () => Decoding($"{round}/scores", 0, () => Select(round, LoadNar(narDir), candidates)));
            var arDir = Timed(times, "ar", () => TrainStage($"{round}/ar", ModelKind.Autoregressive, options.ArTraining, selected,
                options.WarmStartAr ? teacherDir : null));

            var report = new RoundReport
            {
                Round = k.ToString(CultureInfo.InvariantCulture),
                SelectedLogLikelihood = selectedLogLikelihood,
                ChangedFraction = CorpusStatistics.ChangedFraction(previousTargets, selected),
                TargetEntropy = CorpusStatistics.UnigramEntropyBits(distilled),
                NarTrainNll = NarNll(LoadNar(narDir), distilled),
                StageSeconds = times,
            };
            rounds.Add(EvaluateStage(round, report, teacherDir, narDir));
            previousTargets = selected;
            previousNar = narDir;
            teacherDir = arDir;
        }

        var finalTimes = new Dictionary<string, double>();
        var finalTeacher = LoadAr(teacherDir);
        var finalTargets = Timed(finalTimes, "distill", () => Distill("final/distill", finalTeacher));
        var finalNar = Timed(finalTimes, "nar", () => TrainStage("final/nar", ModelKind.NonAutoregressive, options.NarTraining, finalTargets,
            options.WarmStartNar ? previousNar : null));
        rounds.Add(EvaluateStage("final", new RoundReport
        {
            Round = $"final (p from q{options.Iterations})",
            TargetEntropy = CorpusStatistics.UnigramEntropyBits(finalTargets),
            NarTrainNll = NarNll(LoadNar(finalNar), finalTargets),
            StageSeconds = finalTimes,
        }, teacherDir, finalNar));

        PointLink("model", finalNar);
        PointLink("teacher", teacherDir);
        var result = new EmReport(rounds, Path.Combine(runDir, "model"), Path.Combine(runDir, "teacher"));
        EmReportWriter.Write(runDir, result);
        return result;
    }

    private string TrainStage(string name, ModelKind kind, TrainingOptions training, IReadOnlyList<int[]> targets, string? warmStartFrom)
    {
        trainingStagesLeft--;
        var dir = Path.Combine(runDir, name);
        var best = Path.Combine(dir, "checkpoint_best");
        if (state.Finished.Contains(name)) return best;

        if (options.BudgetMinutes is { } budget)
        {
            double reserved = state.DecodingBeams > 0 ? state.DecodingMinutes / state.DecodingBeams * EmBudget.DecodingBeamsAfter(name, options) : 0;
            training = training with
            {
                MaxMinutes = EmBudget.TrainingStageMinutes(budget, state.ElapsedMinutes + clock.Elapsed.TotalMinutes, trainingStagesLeft + 1, reserved),
            };
        }
        var model = TranslationModels.Create(kind, options.Architecture.Resolve(kind, data.Tokenizer.VocabSize), training.Seed);
        if (warmStartFrom is not null && !Directory.Exists(Path.Combine(dir, "checkpoint_last"))) ModelStore.LoadWeights(warmStartFrom, model);
        var provenance = new JsonObject { ["em_stage"] = name, ["data"] = Path.GetFullPath(data.Directory), ["warm_start"] = warmStartFrom };
        var trainer = new Trainer(model, training, dir, new ParallelExamples(train.Source, targets), ParallelExamples.Of(valid),
            ModelDirectoryContents.From(data, provenance), m => ValidationBleu.Score(m, data.Tokenizer, valid));
        observer.Train(name, trainer, resume: true, cancel);
        Finish(name);
        return best;
    }

    private int[][] Distill(string name, ArTransformer teacher) => Decoding(name, options.DistillBeam, () =>
        observer.Stage($"{name} (beam {options.DistillBeam})", progress =>
            Distillation.BestTranslations(teacher, train.Source, options.DistillBeam, Path.Combine(runDir, name), progress, cancel)));

    /// <summary>
    /// Runs a pass over the training sources and records its cost (minutes per beam), from which later training
    /// stages reserve time for the passes still to come. A pass is recorded once: rerun on resume, it is read from
    /// its cache and costs nothing.
    /// </summary>
    private T Decoding<T>(string pass, int beams, Func<T> run)
    {
        var watch = Stopwatch.StartNew();
        var result = run();
        if (!state.DecodingPasses.Contains(pass))
        {
            state = state with
            {
                DecodingPasses = [.. state.DecodingPasses, pass],
                DecodingMinutes = state.DecodingMinutes + watch.Elapsed.TotalMinutes,
                DecodingBeams = state.DecodingBeams + beams,
            };
            SaveState();
        }
        return result;
    }

    /// <summary>The selection step: for every source, the candidate the NAR model scores best under the selection criterion.</summary>
    private (int[][] Selected, double MeanLogLikelihoodPerToken) Select(string round, NarTransformer nar, int[][] candidates)
    {
        var selectedPath = Path.Combine(runDir, round, "selected.bin");
        int n = options.NBest;
        var scores = observer.Stage($"{round}: NAR scores of {n} candidates", progress =>
            new ChunkedStage<float>(Path.Combine(runDir, round, "scores"), ChunkCodec<float>.Floats).Run(train.Count, n, (start, length) =>
            {
                var sources = Enumerable.Range(start * n, length * n).Select(row => train.Source[row / n]).ToList();
                var rows = candidates.AsSpan(start * n, length * n).ToArray();
                return SequenceScoring.NarLogLikelihood(nar, sources, rows).Select(s => (float)s).ToArray();
            }, progress, cancel));
        var choice = EmSelection.Choose(EmSelection.Comparable(scores, candidates, options.SelectionScore), n);
        var selected = choice.Select((c, i) => candidates[i * n + c]).ToArray();
        if (!File.Exists(selectedPath)) TokenIdFile.Write(selectedPath, selected);
        double totalScore = choice.Select((c, i) => (double)scores[i * n + c]).Sum();
        long totalTokens = selected.Sum(s => (long)s.Length + 1);
        return (selected, totalScore / Math.Max(1, totalTokens));
    }

    private RoundReport EvaluateStage(string name, RoundReport report, string teacherDir, string? nar)
    {
        if (state.Reports.TryGetValue(name, out var saved)) return saved;
        var times = new Dictionary<string, double>(report.StageSeconds);
        report = Timed(times, "eval", () =>
        {
            var r = report with { ArValidBleu = ValidationBleu.Score(LoadAr(teacherDir), data.Tokenizer, valid) };
            if (nar is null) return r;
            var model = LoadNar(nar);
            var odd = new NarGenerator(model, new NarDecodingOptions { Decoder = NarDecoder.Odd }).Generate(valid.Source);
            var bleu = new Bleu();
            string Text(IEnumerable<int> ids) => data.Tokenizer.Decode(ids);
            return r with
            {
                NarValidBleuOdd = bleu.CorpusScore(odd.Select(o => Text(o.Tokens)).ToList(), valid.TargetText).Score,
                NarValidBleuArgmax = bleu.CorpusScore(odd.Select(o => Text(o.RawArgmax)).ToList(), valid.TargetText).Score,
                RepetitionRate = OutputStatistics.RepetitionRate(odd.Select(o => o.RawArgmax)),
                LengthAccuracy = OutputStatistics.LengthAccuracy(odd.Select(o => o.PredictedLength).ToList(), valid.Target.Select(t => t.Length).ToList()),
            };
        });
        report = report with { StageSeconds = times };
        state = state with { Reports = new Dictionary<string, RoundReport>(state.Reports) { [name] = report } };
        SaveState();
        observer.Message($"{name}: AR valid BLEU {report.ArValidBleu:F2}" + (nar is null ? "" : $", NAR valid BLEU odd {report.NarValidBleuOdd:F2} / argmax {report.NarValidBleuArgmax:F2}, repetition {report.RepetitionRate:P1}"));
        return report;
    }

    private double NarNll(NarTransformer nar, IReadOnlyList<int[]> targets)
    {
        int count = Math.Min(LikelihoodSample, targets.Count);
        var scores = SequenceScoring.NarLogLikelihood(nar, train.Source.Take(count).ToList(), targets.Take(count).ToList());
        return -scores.Sum() / Math.Max(1, targets.Take(count).Sum(t => (long)t.Length + 1));
    }

    private T Timed<T>(Dictionary<string, double> times, string stage, Func<T> run)
    {
        var watch = Stopwatch.StartNew();
        var result = run();
        times[stage] = times.GetValueOrDefault(stage) + watch.Elapsed.TotalSeconds;
        return result;
    }

    // Models loaded by the EM run only decode or score, in their stage's training precision, with weights cast once.
    private ArTransformer LoadAr(string dir) => (ArTransformer)LoadForDecoding(dir, ModelKind.Autoregressive, options.ArTraining.Precision);
    private NarTransformer LoadNar(string dir) => (NarTransformer)LoadForDecoding(dir, ModelKind.NonAutoregressive, options.NarTraining.Precision);

    private static ITranslationModel LoadForDecoding(string dir, ModelKind kind, Precision precision)
    {
        var model = ModelStore.LoadModel(dir, kind);
        model.FreezeForInference(precision);
        return model;
    }

    private static ParallelSplit Limit(ParallelSplit split, int? limit) => limit is { } n ? split.Take(n) : split;

    /// <summary>
    /// Whether two serialized <see cref="EmOptions"/> agree on everything but the training precision, which a run may
    /// change when it resumes (checkpoints are fp32 either way) and which runs from before it existed lack.
    /// </summary>
    private static bool SameOptionsIgnoringPrecision(string saved, string current)
    {
        static JsonNode? WithoutPrecision(string json)
        {
            var node = JsonNode.Parse(json);
            foreach (var training in new[] { "ar_training", "nar_training" })
                (node?[training] as JsonObject)?.Remove("precision");
            return node;
        }
        return JsonNode.DeepEquals(WithoutPrecision(saved), WithoutPrecision(current));
    }

    private void Finish(string stage)
    {
        state = state with { Finished = [.. state.Finished, stage] };
        SaveState();
    }

    private void SaveState()
    {
        state = state with { ElapsedMinutes = state.ElapsedMinutes + clock.Elapsed.TotalMinutes };
        clock.Restart();
        AtomicFile.WriteAllText(Path.Combine(runDir, StateFile), JsonSerializer.Serialize(state, ModelStore.Json));
    }

    private static EmState ReadState(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<EmState>(File.ReadAllText(path), ModelStore.Json) ?? throw NatEmException.In(path, "empty EM state");
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"corrupt EM state: {e.Message}");
        }
    }

    /// <summary>Points RUN/name at the checkpoint directory <paramref name="target"/> resolves to.</summary>
    private void PointLink(string name, string target)
    {
        var link = Path.Combine(runDir, name);
        if (new FileInfo(link).LinkTarget is not null) File.Delete(link);
        var resolved = new DirectoryInfo(target).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(target);
        File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetFullPath(runDir), resolved));
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

/// <summary>
/// How `--budget-minutes` is split. Decoding passes over the training sources (distillation, N-best lists, their
/// scoring) cannot be stopped early, so each training stage first reserves time for the passes still to come,
/// estimated from the minutes per beam of those already run, then takes an equal share of the rest. Without the
/// reservation the last NAR stage gets what the decoding passes left over.
/// </summary>
public static class EmBudget
{
    /// <summary>Minutes for the current training stage; <paramref name="stagesLeft"/> counts it.</summary>
    public static double TrainingStageMinutes(double budget, double elapsed, int stagesLeft, double reservedForDecoding) =>
        Math.Max(0.25, (budget - elapsed - reservedForDecoding) / Math.Max(1, stagesLeft));

    /// <summary>Sum of the beam sizes of the decoding passes that come after training stage <paramref name="stage"/>.</summary>
    public static int DecodingBeamsAfter(string stage, EmOptions options)
    {
        int k = options.Iterations, distill = options.DistillBeam, nbest = options.NBest;
        int round = stage == "ar0" ? 0 : stage.StartsWith("round", StringComparison.Ordinal) ? int.Parse(stage["round".Length..stage.IndexOf('/')], CultureInfo.InvariantCulture) : k + 1;
        int beams = Math.Max(0, k - round) * (distill + nbest) + (round <= k ? distill : 0);
        // After round k's NAR stage comes round k's own N-best pass.
        return stage.EndsWith("/nar", StringComparison.Ordinal) && round >= 1 && round <= k ? beams + nbest : beams;
    }
}

/// <summary>The EM selection rule, separate so that it can be checked on hand-made scores.</summary>
public static class EmSelection
{
    /// <summary>The candidates' scores as the criterion compares them (the cached scores stay totals).</summary>
    public static IReadOnlyList<float> Comparable(IReadOnlyList<float> totals, IReadOnlyList<int[]> candidates, SelectionScore criterion) =>
        criterion == SelectionScore.Total ? totals : totals.Select((score, i) => score / (candidates[i].Length + 1)).ToArray();

    /// <summary>For each source (scores[i·n … i·n+n−1]), the index of its best-scoring candidate; ties go to the earlier (higher AR rank).</summary>
    public static int[] Choose(IReadOnlyList<float> scores, int n)
    {
        var choice = new int[scores.Count / n];
        for (int i = 0; i < choice.Length; i++)
            for (int c = 1; c < n; c++)
                if (scores[i * n + c] > scores[i * n + choice[i]]) choice[i] = c;
        return choice;
    }
}
