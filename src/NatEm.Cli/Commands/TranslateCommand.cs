using System.CommandLine;
using System.Globalization;
using NatEm.Data;
using NatEm.IO;

namespace NatEm.Cli.Commands;

/// <summary>`natem translate`: raw text lines in, detokenized translations out, one line per input line.</summary>
public static class TranslateCommand
{
    public static Command Create()
    {
        var input = new Option<string?>("--input") { Description = "UTF-8 text to translate, one sentence per line (default: stdin)" };
        var output = new Option<string?>("--output") { Description = "Where to write the translations, replaced atomically (default: stdout)" };
        var nBest = new Option<int?>("--nbest") { Description = "AR only: print the N best hypotheses per input as `i ||| text ||| score` (N ≤ --beam; an empty input gets one empty hypothesis)" };
        var decoding = new DecodingOptionsBinder(withBatchSize: true);
        var command = new Command("translate", "Translate text with a trained AR or NAR model") { decoding.All, input, output, nBest };

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            int? n = p.GetValue(nBest);
            var (translator, _) = decoding.Bind(p, n);
            var inputPath = p.GetValue(input);
            var inputName = inputPath ?? "<stdin>";
            // Streamed: read, translated and written a window at a time, whatever the input's length.
            using var reader = inputPath is null ? new Utf8LineReader(Console.OpenStandardInput(), inputName) : Utf8LineReader.Open(inputPath);

            var errors = p.InvocationConfiguration.Error;
            translator.Truncated += (index, tokens) =>
                errors.WriteLine($"natem: warning: {inputName}:{index + 1}: {tokens} subword tokens, truncated to --max-input-tokens {translator.Options.MaxInputTokens}");
            var translations = translator.TranslateStream(reader.Lines());

            IEnumerable<string> outputLines = n is null
                ? translations.Select(t => t.Text)
                : translations.SelectMany((t, i) => t.NBest.Select(h => $"{i} ||| {h.Text} ||| {h.Score.ToString("F4", CultureInfo.InvariantCulture)}"));
            if (p.GetValue(output) is { } outputPath) AtomicFile.WriteAllLines(outputPath, outputLines);
            else foreach (var line in outputLines) p.InvocationConfiguration.Output.WriteLine(line);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
