using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using NatEm.Evaluation;

namespace NatEm.Cli.Commands;

/// <summary>`natem score`: sacreBLEU-compatible BLEU, chrF and chrF++ of a hypothesis file against a reference file.</summary>
public static class ScoreCommand
{
    /// <summary>The most decimals printed: a double has about 17 significant digits, so more would only print noise.</summary>
    private const int MaxWidth = 17;

    public static Command Create()
    {
        var reference = new Option<string>("--ref") { Description = "Reference translations, one per line (UTF-8)", Required = true };
        var hypothesis = new Option<string>("--hyp") { Description = "System translations, one per line (UTF-8)", Required = true };
        var metric = EnumOptions.Choice("--metric", "Metric to compute", ["bleu", "chrf", "chrf++"], "bleu");
        var tokenize = EnumOptions.Choice("--tokenize", "BLEU tokenizer", [.. BleuTokenizer.Names], new BleuOptions().Tokenizer.Name);
        var lowercase = new Option<bool>("--lowercase") { Description = "Case-insensitive scoring" };
        var smooth = EnumOptions.Choice("--smooth", "BLEU smoothing method", [.. Bleu.SmoothingNames], Bleu.SmoothingName(new BleuOptions().Smoothing));
        var smoothValue = new Option<double?>("--smooth-value") { Description = $"Value for floor (default {Bleu.DefaultFloorValue}) or add-k (default {Bleu.DefaultAddKValue}) smoothing" };
        var sentenceLevel = new Option<bool>("--sentence-level") { Description = "Print one score per hypothesis line (BLEU uses effective order, as sacreBLEU does)" };
        var json = SharedOptions.Json();
        var width = new Option<int>("--width") { Description = $"Decimals of the printed score, 0 to {MaxWidth}", DefaultValueFactory = _ => 2 };

        var command = new Command("score", "Score translations with sacreBLEU 2.4.3-compatible BLEU, chrF or chrF++") { reference, hypothesis, metric, tokenize, lowercase, smooth, smoothValue, sentenceLevel, json, width };

        command.SetAction(parseResult => CliErrors.Run(parseResult, () =>
        {
            var metricName = parseResult.GetValue(metric)!;
            bool isBleu = metricName == "bleu";
            foreach (var bleuOnly in new Option[] { tokenize, smooth, smoothValue })
            {
                if (!isBleu && parseResult.GetResult(bleuOnly) is { Implicit: false })
                    throw new NatEmException($"{bleuOnly.Name} applies to --metric bleu only", ExitCodes.Usage);
            }
            int decimals = parseResult.GetValue(width);
            if (decimals is < 0 or > MaxWidth) throw new NatEmException($"--width must be between 0 and {MaxWidth}, not {decimals}", ExitCodes.Usage);
            bool perSentence = parseResult.GetValue(sentenceLevel), asJson = parseResult.GetValue(json);

            Func<string, IReadOnlyList<string>, MetricScore> sentenceScore;
            Func<IReadOnlyList<string>, IReadOnlyList<IReadOnlyList<string>>, MetricScore> corpusScore;
            if (isBleu)
            {
                var bleu = new Bleu(new BleuOptions
                {
                    Tokenizer = BleuTokenizer.FromName(parseResult.GetValue(tokenize)!),
                    Lowercase = parseResult.GetValue(lowercase),
                    Smoothing = Bleu.ParseSmoothing(parseResult.GetValue(smooth)!),
                    SmoothValue = parseResult.GetValue(smoothValue),
                    EffectiveOrder = perSentence,
                });
                sentenceScore = bleu.SentenceScore;
                corpusScore = bleu.CorpusScore;
            }
            else
            {
                var options = metricName == "chrf++" ? ChrfOptions.ChrfPlusPlus : new ChrfOptions();
                var chrf = new Chrf(options with { Lowercase = parseResult.GetValue(lowercase) });
                sentenceScore = chrf.SentenceScore;
                corpusScore = chrf.CorpusScore;
            }

            var (hypotheses, references) = EvaluationFiles.ReadParallel(parseResult.GetValue(hypothesis)!, parseResult.GetValue(reference)!);
            var output = parseResult.InvocationConfiguration.Output;
            void Print(MetricScore score) => output.WriteLine(
                asJson ? ToJson(score, decimals, indented: !perSentence) : score.Format(decimals, withSignature: true));

            if (perSentence)
            {
                for (int i = 0; i < hypotheses.Count; i++) Print(sentenceScore(hypotheses[i], [.. references.Select(stream => stream[i])]));
            }
            else
            {
                Print(corpusScore(hypotheses, references));
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// sacreBLEU's JSON: name, score rounded to the printed width, signature, verbose_score and the signature
    /// fields, followed by the full statistics of the score.
    /// </summary>
    private static string ToJson(MetricScore score, int width, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = indented,
            IndentSize = 1,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keeps "chrF2++" readable, like ensure_ascii=False
        }))
        {
            writer.WriteStartObject();
            writer.WriteString("name", score.Name);
            // float(f"{score:.{width}f}") in sacreBLEU
            writer.WriteNumber("score", double.Parse(score.FormatScore(width), CultureInfo.InvariantCulture));
            writer.WriteString("signature", score.Signature);
            if (score.Verbose.Length > 0) writer.WriteString("verbose_score", score.Verbose);
            foreach (var (key, value) in score.SignatureFields) writer.WriteString(key, value);
            switch (score)
            {
                case BleuScore bleu:
                    WriteArray(writer, "counts", bleu.Counts, (w, v) => w.WriteNumberValue(v));
                    WriteArray(writer, "totals", bleu.Totals, (w, v) => w.WriteNumberValue(v));
                    WriteArray(writer, "precisions", bleu.Precisions, (w, v) => w.WriteNumberValue(v));
                    writer.WriteNumber("bp", bleu.Bp);
                    writer.WriteNumber("ratio", bleu.Ratio);
                    writer.WriteNumber("sys_len", bleu.SysLen);
                    writer.WriteNumber("ref_len", bleu.RefLen);
                    break;
                case ChrfScore chrf:
                    writer.WriteNumber("char_order", chrf.CharOrder);
                    writer.WriteNumber("word_order", chrf.WordOrder);
                    writer.WriteNumber("beta", chrf.Beta);
                    break;
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteArray<T>(Utf8JsonWriter writer, string name, IReadOnlyList<T> values, Action<Utf8JsonWriter, T> write)
    {
        writer.WriteStartArray(name);
        foreach (var value in values) write(writer, value);
        writer.WriteEndArray();
    }
}
