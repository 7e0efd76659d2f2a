using AngleSharp;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace NatEm.Cli.Serving;

/// <summary>
/// One LibreTranslate <c>q</c> text cut into the sentences the model translates, and put back together around
/// their translations. Plain text: each non-blank line (the models are trained on single sentences). HTML: each
/// text node, parsed and re-serialized by AngleSharp, so tags, attributes and entities stay as they were; text inside
/// code, scripts, styles, <c>translate="no"</c> elements and Mastodon's mention and hashtag links is kept as is.
/// </summary>
public sealed class TranslatableText
{
    private static readonly HtmlParser Parser = new();
    private static readonly string[] UntranslatedElements = ["SCRIPT", "STYLE", "CODE", "PRE", "KBD", "SAMP", "TEXTAREA"];

    private readonly IReadOnlyList<Piece> pieces;
    private readonly Func<string> serialize;

    private TranslatableText(IReadOnlyList<Piece> pieces, Func<string> serialize)
    {
        this.pieces = pieces;
        this.serialize = serialize;
    }

    /// <summary>The texts to translate, in order.</summary>
    public IReadOnlyList<string> Segments => [.. pieces.Select(p => p.Text)];

    /// <summary>The text with every segment replaced by its translation (same order as <see cref="Segments"/>).</summary>
    public string Rebuild(IReadOnlyList<string> translations)
    {
        if (translations.Count != pieces.Count) throw new ArgumentException($"{pieces.Count} translations expected, got {translations.Count}", nameof(translations));
        for (int i = 0; i < pieces.Count; i++) pieces[i].Write(translations[i]);
        return serialize();
    }

    public static TranslatableText Parse(string text, bool html) => html ? Html(text) : Plain(text);

    /// <summary>Lines, each translated without its surrounding whitespace; line ends are normalized to \n, as LibreTranslate does.</summary>
    public static TranslatableText Plain(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var pieces = new List<Piece>();
        for (int i = 0; i < lines.Length; i++)
        {
            int line = i;
            if (Piece.Around(lines[i], translated => lines[line] = translated) is { } piece) pieces.Add(piece);
        }
        return new TranslatableText(pieces, () => string.Join('\n', lines));
    }

    /// <summary>An HTML fragment (as in a Mastodon post): its translatable text nodes.</summary>
    public static TranslatableText Html(string html)
    {
        var document = Parser.ParseDocument("");
        var nodes = Parser.ParseFragment(html, document.Body!);
        var pieces = new List<Piece>();
        foreach (var node in nodes)
            foreach (var textNode in node.DescendantsAndSelf<IText>())
                if (IsTranslated(textNode) && Piece.Around(textNode.Data, translated => textNode.Data = translated) is { } piece)
                    pieces.Add(piece);
        return new TranslatableText(pieces, () => string.Concat(nodes.Select(n => n.ToHtml())));
    }

    private static bool IsTranslated(IText text)
    {
        for (var element = text.ParentElement; element is not null; element = element.ParentElement)
        {
            if (UntranslatedElements.Contains(element.TagName)) return false;
            if (element.GetAttribute("translate") is { } translate && translate.Equals("no", StringComparison.OrdinalIgnoreCase)) return false;
            if (element.TagName == "A" && element.ClassList.Contains("mention")) return false;
        }
        return true;
    }

    /// <summary>A translatable text without its leading and trailing whitespace, which <see cref="Write"/> restores.</summary>
    private sealed record Piece(string Text, string Leading, string Trailing, Action<string> Replace)
    {
        public void Write(string translation) => Replace(Leading + translation + Trailing);

        /// <summary>Null for text with no letter or digit (punctuation, spaces), which stays as it is.</summary>
        public static Piece? Around(string text, Action<string> replace)
        {
            if (!text.Any(char.IsLetterOrDigit)) return null;
            var core = text.Trim();
            int start = text.IndexOf(core, StringComparison.Ordinal);
            return new Piece(core, text[..start], text[(start + core.Length)..], replace);
        }
    }
}
