using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.IO;
using Spectre.Console;
using static NatEm.Cli.ConsoleTables;

namespace NatEm.Cli.Commands;

/// <summary>`natem eval`: decodes a prepared split with a model and reports BLEU, chrF, speed and NAR diagnostics.</summary>
public static class EvalCommand
{
    private static readonly JsonSerializerOptions Json = new(OnDiskJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, // AR models have no NAR diagnostics
    };

    public static Command Create()
    {
        var data = SharedOptions.Data();
        var split = SharedOptions.Split();
        var limit = SharedOptions.Limit();
        var output = new Option<string?>("--output") { Description = "Also write the translations to this file, replaced atomically" };
        var json = SharedOptions.Json();
        var decoding = new DecodingOptionsBinder();
        var command = new Command("eval", "Decode a prepared split and report BLEU, chrF, speed and (NAR) repetition and length accuracy") { decoding.All, data, split, limit, output, json };

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var (translator, model) = decoding.Bind(p);
            var prepared = PreparedData.Load(p.GetValue(data)!);
            prepared.Manifest.Tokenizer.RequireSameVocabulary(model.Manifest.Tokenizer, prepared.Directory, "the prepared data", $"the model {model.Directory}");
            var sentences = prepared.Split(p.GetValue(split)!);
            if (p.GetValue(limit) is { } count) sentences = sentences.Take(count);

            var (result, translations) = SplitEvaluation.Run(model.Directory, translator, sentences);
            if (p.GetValue(output) is { } outputPath) AtomicFile.WriteAllLines(outputPath, translations.Select(t => t.Text));
            if (p.GetValue(json)) p.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(result, Json));
            else ConsoleTables.Write($"{result.Model} on {result.Split}", Table(result));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Table Table(SplitEvaluationResult r)
    {
        var table = new Table().AddColumns("metric", "value");
        table.AddRow("BLEU", F(r.Bleu));
        table.AddRow("chrF", F(r.Chrf));
        table.AddRow("sentences", r.Sentences.ToString(CultureInfo.InvariantCulture));
        table.AddRow("seconds", F(r.Seconds));
        table.AddRow("sentences/s", F(r.SentencesPerSecond, "F1"));
        table.AddRow("target tokens/s", F(r.TargetTokensPerSecond, "F1"));
        if (r.RepetitionRate is { } repetition) table.AddRow("repetition rate", F(100 * repetition) + " %");
        if (r.LengthAccuracy is { } length) table.AddRow("length accuracy", F(100 * length) + " %");
        return table;
    }
}
