using NatEm.Data;
using NatEm.Modeling;

namespace NatEm.Tests.Em;

/// <summary>
/// A prepared data directory made from a synthetic word-mapping "language pair" (target = source words
/// mapped one-to-one and reversed), small enough for end-to-end EM tests.
/// </summary>
public static class TinyPreparedData
{
    private static readonly string[] SourceWords = ["red", "blue", "cat", "dog", "sees", "eats", "big", "small", "the", "a", "fish", "bird"];
    private static readonly string[] TargetWords = ["rojo", "azul", "gato", "perro", "ve", "come", "grande", "chico", "el", "un", "pez", "ave"];

    public static PreparedData Create(int trainPairs = 120, int seed = 3, int merges = 30)
    {
        var dir = SyntheticTask.TempDir();
        var random = new Random(seed);
        string Write(string name, int count)
        {
            var path = Path.Combine(dir, name);
            var lines = new List<string> { "en\tes" };
            for (int i = 0; i < count; i++)
            {
                var words = Enumerable.Range(0, random.Next(2, 6)).Select(_ => random.Next(SourceWords.Length)).ToArray();
                lines.Add($"{string.Join(' ', words.Select(w => SourceWords[w]))}\t{string.Join(' ', words.Reverse().Select(w => TargetWords[w]))}");
            }
            File.WriteAllLines(path, lines);
            return path;
        }
        var options = new PrepareOptions
        {
            OutputDirectory = Path.Combine(dir, "prepared"),
            Train = new CorpusInput.Tsv(Write("train.tsv", trainPairs)),
            Valid = new CorpusInput.Tsv(Write("valid.tsv", 12)),
            Test = new CorpusInput.Tsv(Write("test.tsv", 12)),
            Merges = merges,
        };
        DataPreparer.Prepare(options, null);
        return PreparedData.Load(options.OutputDirectory);
    }

    /// <summary>Saves an untrained `tiny` model over the data's vocabulary as a model directory named <paramref name="name"/>; returns its path.</summary>
    public static string SaveUntrainedModel(PreparedData data, ModelKind kind, int seed, string name)
    {
        var dir = Path.Combine(SyntheticTask.TempDir(), name);
        var model = TranslationModels.Create(kind, TransformerConfig.Preset("tiny", data.Tokenizer.VocabSize), seed);
        ModelStore.Save(dir, new ModelManifest { Kind = kind, Config = model.Config, Tokenizer = data.Manifest.Tokenizer }, model, data.Directory);
        return dir;
    }
}
