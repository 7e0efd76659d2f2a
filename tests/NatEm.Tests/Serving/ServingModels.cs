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
        Ar = Save(data, ModelKind.Autoregressive, "tiny-ar");
        Nar = Save(data, ModelKind.NonAutoregressive, "tiny-nar");
        Texts = data.Split("test").SourceText;
    }

    private static LoadedModel Save(PreparedData data, ModelKind kind, string name)
    {
        var dir = Path.Combine(SyntheticTask.TempDir(), name);
        Directory.CreateDirectory(dir);
        var model = TranslationModels.Create(kind, TransformerConfig.Preset("tiny", data.Tokenizer.VocabSize), seed: 7);
        ModelStore.SaveManifest(dir, new ModelManifest { Kind = kind, Config = model.Config, Tokenizer = data.Manifest.Tokenizer });
        ModelStore.SaveWeights(dir, model);
        ModelStore.SaveTokenizer(dir, data.Directory, data.Manifest.Tokenizer);
        return ModelStore.Load(dir);
    }

    /// <summary>A started server on a free loopback port, with a client whose base address is the server.</summary>
    public static async Task<(TranslationServer Server, HttpClient Client)> StartAsync(LoadedModel model, ServeOptions? options = null)
    {
        var server = TranslationServer.Create(model, (options ?? new ServeOptions()) with { Urls = "http://127.0.0.1:0" });
        await server.StartAsync();
        return (server, new HttpClient { BaseAddress = new Uri(server.Urls.Single()), Timeout = TimeSpan.FromSeconds(60) });
    }
}
