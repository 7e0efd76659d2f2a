using NatEm.Cli.Serving;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Em;

namespace NatEm.Tests.Serving;

/// <summary>
/// Untrained tiny AR and NAR models with a real BPE tokenizer (from <see cref="TinyPreparedData"/>), saved and
/// loaded as model directories, and the data's test sentences to translate. Shared by the server tests.
/// </summary>
public sealed class ServingModels
{
    public LoadedModel Ar { get; }
    public LoadedModel Nar { get; }
    public string[] Texts { get; }

    public ServingModels()
    {
        var data = TinyPreparedData.Create();
        Ar = ModelStore.Load(TinyPreparedData.SaveUntrainedModel(data, ModelKind.Autoregressive, seed: 7, "tiny-ar"));
        Nar = ModelStore.Load(TinyPreparedData.SaveUntrainedModel(data, ModelKind.NonAutoregressive, seed: 7, "tiny-nar"));
        Texts = data.Split("test").SourceText;
    }

    /// <summary>A started server on a free loopback port, with a client whose base address is the server; no warm-up batch unless asked (it would share the queue with what a test measures).</summary>
    public static async Task<(TranslationServer Server, HttpClient Client)> StartAsync(LoadedModel model, ServeOptions? options = null, bool warmUp = false)
    {
        var server = TranslationServer.Create(model, (options ?? new ServeOptions()) with { Urls = "http://127.0.0.1:0" });
        await server.StartAsync(warmUp);
        return (server, new HttpClient { BaseAddress = new Uri(server.Urls.Single()), Timeout = TimeSpan.FromSeconds(60) });
    }
}
