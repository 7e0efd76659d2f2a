using System.CommandLine;
using NatEm.Cli.Serving;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Serving;
using TorchSharp;

namespace NatEm.Cli.Commands;

/// <summary>`natem serve`: an HTTP translation service over one AR or NAR model directory, with dynamic batching.</summary>
public static class ServeCommand
{
    private static readonly ServeOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (AR or NAR; the kind is read from model.json)", Required = true };
        var decoder = new Option<NarDecoder>("--decoder") { Description = "NAR decoder: odd, argmax or dedup (default odd)", DefaultValueFactory = _ => Defaults.Decoding.Nar.Decoder };
        var beam = new Option<int>("--beam") { Description = "AR beam size; requests may ask for up to this many n-best", DefaultValueFactory = _ => Defaults.Decoding.Beam.Beam };
        var urls = new Option<string>("--urls") { Description = "Listen addresses, ';'-separated (loopback by default; put a reverse proxy in front to expose it)", DefaultValueFactory = _ => Defaults.Urls };
        var maxBatchTokens = new Option<int>("--max-batch-tokens") { Description = "Padded source tokens per decoding batch", DefaultValueFactory = _ => Defaults.Batching.MaxBatchTokens };
        var maxDelay = new Option<double>("--max-delay-ms") { Description = "How long a batch waits for more sentences (0 with --max-batch-tokens 1 disables batching)", DefaultValueFactory = _ => Defaults.Batching.MaxDelay.TotalMilliseconds };
        var workers = new Option<int>("--workers") { Description = "Decoding threads", DefaultValueFactory = _ => Defaults.Batching.Workers };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads (default: all cores)" };
        var maxTexts = new Option<int>("--max-texts") { Description = "Texts per request", DefaultValueFactory = _ => Defaults.MaxTexts };
        var maxChars = new Option<int>("--max-chars") { Description = "Characters per text", DefaultValueFactory = _ => Defaults.MaxChars };
        var precision = PrecisionOption.ForInference();
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Request body size", DefaultValueFactory = _ => Defaults.MaxBodyBytes };

        var command = new Command("serve", "Serve a model over HTTP: POST /v1/translate, GET /healthz, /v1/models, /metrics");
        foreach (var option in new Option[] { model, decoder, beam, urls, maxBatchTokens, maxDelay, workers, threads, precision, maxTexts, maxChars, maxBody })
            command.Options.Add(option);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var modelDir = ModelArguments.Resolve(p, p.GetValue(model)!);
            var manifest = ModelStore.ReadManifest(modelDir);
            Option wrongKind = manifest.Kind == ModelKind.Autoregressive ? decoder : beam;
            if (p.GetResult(wrongKind) is { Implicit: false })
                throw new NatEmException($"{wrongKind.Name} does not apply to {ModelStore.DescribeWithArticle(manifest.Kind)} model", ExitCodes.Usage);
            if (p.GetValue(threads) is { } count)
            {
                if (count < 1) throw new NatEmException("--threads must be at least 1", ExitCodes.Usage);
                torch.set_num_threads(count);
            }
            var options = new ServeOptions
            {
                Urls = p.GetValue(urls)!,
                Decoding = new TranslationOptions
                {
                    Beam = new BeamSearchOptions { Beam = p.GetValue(beam) },
                    Nar = new NarDecodingOptions { Decoder = p.GetValue(decoder) },
                },
                Batching = new BatchingOptions
                {
                    MaxBatchTokens = p.GetValue(maxBatchTokens),
                    MaxDelay = TimeSpan.FromMilliseconds(p.GetValue(maxDelay)),
                    Workers = p.GetValue(workers),
                },
                MaxTexts = p.GetValue(maxTexts),
                MaxChars = p.GetValue(maxChars),
                MaxBodyBytes = p.GetValue(maxBody),
            };
            options.Validate();
            var loaded = ModelStore.Load(modelDir);
            loaded.Model.FreezeForInference(PrecisionOption.Resolve(p.GetValue(precision)));
            Serve(loaded, options).GetAwaiter().GetResult();
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task Serve(LoadedModel model, ServeOptions options)
    {
        await using var server = TranslationServer.Create(model, options);
        await server.StartAsync();
        Console.Error.WriteLine($"natem: serving the {ModelStore.Describe(model.Manifest.Kind)} model {model.Directory} at {string.Join(", ", server.Urls)} (Ctrl+C to stop)");
        await server.WaitForShutdownAsync();
        Console.Error.WriteLine("natem: stopped; queued requests were answered");
    }
}
