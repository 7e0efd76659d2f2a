using System.Reflection;
using NetArchTest.Rules;

namespace NatEm.Tests.ArchitectureRules;

/// <summary>ARCHITECTURE.md's dependency rules, checked on the built assemblies, so that its claims cannot rot.</summary>
public class ArchitectureTests
{
    /// <summary>The library's namespaces in ARCHITECTURE.md's order: each uses only the ones before it (and the root namespace).</summary>
    public static readonly string[] Layers = ["IO", "Text", "Data", "Modeling", "Decoding", "Training", "Evaluation", "Em", "Serving"];

    /// <summary>
    /// The types that may name both model classes (ARCHITECTURE.md, "A model's kind"): the generator factory, the loader,
    /// and code that uses an AR and a NAR model together, each as what it is.
    /// </summary>
    private static readonly string[] BothModelClasses =
    [
        "NatEm.Decoding.CtcGenerator", "NatEm.Decoding.Generators", "NatEm.Decoding.NarGenerator", "NatEm.Decoding.SequenceScoring",
        "NatEm.Em.EmRun", "NatEm.Modeling.ModelStore", "NatEm.Modeling.TranslationModels",
    ];

    private static readonly Assembly Library = typeof(NatEmException).Assembly;
    private static readonly Assembly Cli = typeof(NatEm.Cli.Commands.CommandCatalog).Assembly;

    public static TheoryData<string> LayerData => new(Layers);

    [Theory]
    [MemberData(nameof(LayerData))]
    public void ANamespaceOfTheLibraryDependsOnNoLaterOneNorOnTheCli(string layer)
    {
        // The root namespace's facade (NatEmTranslator and its options) sits on top of every layer, as the CLI does.
        string[] later = [.. Layers.SkipWhile(l => l != layer).Skip(1).Select(l => $"NatEm.{l}"), "NatEm.Cli", "NatEm.NatEmTranslator", "NatEm.NatEmTranslatorOptions"];

        var result = Types.InAssembly(Library).That().ResideInNamespace($"NatEm.{layer}").ShouldNot().HaveDependencyOnAny(later).GetResult();

        Assert.True(result.IsSuccessful, $"NatEm.{layer} must not use {string.Join(", ", later)}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void TheRootNamespaceDependsOnNoOtherButItsFacade()
    {
        var result = Types.InAssembly(Library).That().ResideInNamespaceMatching("^NatEm$").And().DoNotHaveNameStartingWith("NatEmTranslator")
            .ShouldNot().HaveDependencyOnAny([.. Layers.Select(l => $"NatEm.{l}"), "NatEm.Cli"]).GetResult();

        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void EveryTypeOfTheLibraryIsInTheRootOrALayer()
    {
        var stray = Types.InAssembly(Library).GetTypes()
            .Where(t => t.Namespace is { } ns && ns != "NatEm" && !Layers.Contains(ns["NatEm.".Length..]) && ns.StartsWith("NatEm", StringComparison.Ordinal))
            .Select(t => t.FullName).ToList();

        Assert.Empty(stray);
    }

    [Fact]
    public void OnlyTheTypesArchitectureMdNamesUseBothModelClasses()
    {
        var both = Types.InAssemblies([Library, Cli]).That().HaveDependencyOnAll("NatEm.Modeling.ArTransformer", "NatEm.Modeling.NarTransformer").GetTypes()
            .Select(Outermost).Select(t => t.FullName!).Distinct().Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(BothModelClasses, both);
    }

    /// <summary>A nested type (a closure, an iterator) counts as the type that declares it.</summary>
    private static Type Outermost(Type type) => type.DeclaringType is { } outer ? Outermost(outer) : type;
}
