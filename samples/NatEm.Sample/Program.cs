// Translates text with a NatEm model directory through the NatEm package's entry point, NatEmTranslator.
//   dotnet run --project samples/NatEm.Sample -- MODEL_DIR [TEXT ...]     (no TEXT: one text per line of stdin)
using NatEm;
using NatEm.Decoding;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: NatEm.Sample MODEL_DIR [TEXT ...]   (without TEXT, reads one text per line from stdin)");
    return 2;
}

string[] texts = args.Length > 1 ? args[1..] : [.. ReadLines(Console.In)];
try
{
    // Options of both model kinds may be given; those of the other kind are ignored.
    using var translator = NatEmTranslator.Load(args[0], new NatEmTranslatorOptions
    {
        Decoding = new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Odd }, BatchSize = 32 },
        Threads = Math.Min(2, Environment.ProcessorCount),
    });
    foreach (var translation in translator.Translate(texts)) Console.WriteLine(translation);
    return 0;
}
catch (NatEmException e)
{
    // One line naming the file or option; the exit code says which kind of problem it is.
    Console.Error.WriteLine($"NatEm.Sample: {e.Message}");
    return e.ExitCode;
}

static IEnumerable<string> ReadLines(TextReader reader)
{
    while (reader.ReadLine() is { } line) yield return line;
}
