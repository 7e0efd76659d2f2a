using NatEm.Cli.Commands;
using NatEm.Cli.Serving;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Tests.Shipped;

namespace NatEm.Tests.Serving;

/// <summary>serve's page at /, in a real browser: Debian's chromium, headless, at a phone's width, on the shipped NAR model.</summary>
public class WebPageTests
{
    private const string Sentence = "In the beginning God created the heavens and the earth.";

    [ChromiumFact]
    public async Task The_page_translates_a_typed_sentence_in_headless_chromium()
    {
        var model = ModelStore.Load(ShippedModelTests.RepositoryPath(DemoCommand.ShippedNar));
        Assert.Equal(new LanguagePair("en", "es"), model.Manifest.Languages);
        var translator = Translator.For(model);
        var expected = translator.Translate([Sentence])[0].Text;
        // The serve default's own phrase ("odd, length beam 1"; a CTC model: "ctc, length beam 1").
        var decoding = System.Text.RegularExpressions.Regex.Escape(translator.Generator.DescribeOptions().Phrase);
        var (server, _) = await ServingModels.StartAsync(model);
        await using var __ = server;
        const int phoneWidth = 412;
        await using var browser = await HeadlessChromium.StartAsync(phoneWidth, 860);

        await browser.NavigateAsync(server.Urls.Single() + "/", "document.body.dataset.ready === 'true'");
        Assert.Equal("English → Spanish", (await browser.EvaluateAsync("document.getElementById('pair').textContent"))!.GetValue<string>());
        await browser.TypeAsync("#source", Sentence);
        await browser.ClickAsync("#translate");
        await browser.WaitForAsync("document.getElementById('result').textContent.length > 0 || !document.getElementById('error').hidden");

        Assert.Equal("", (await browser.EvaluateAsync("document.getElementById('error').textContent"))!.GetValue<string>());
        Assert.Equal(expected, (await browser.EvaluateAsync("document.getElementById('result').textContent"))!.GetValue<string>());
        Assert.Matches($@"^{decoding} · server \d+\.\d ms · round trip \d+ ms$", (await browser.EvaluateAsync("document.getElementById('timing').textContent"))!.GetValue<string>());
        // Readable on a phone: nothing wider than the screen, so no sideways scrolling.
        Assert.True((await browser.EvaluateAsync("document.documentElement.scrollWidth"))!.GetValue<double>() <= phoneWidth);

        var png = await browser.ScreenshotAsync();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        File.WriteAllBytes(Path.Combine(SyntheticTask.TempDir(), "page.png"), png);
        // bench/screenshot-page.sh sets this to refresh the README's screenshot.
        if (Environment.GetEnvironmentVariable("NATEM_PAGE_SCREENSHOT") is { Length: > 0 } keep) File.WriteAllBytes(keep, png);
    }
}
