using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NatEm.Cli.Serving;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Serving;
using TorchSharp;

namespace NatEm.Tests.Serving;

public class TranslationServerTests(ServingModels models) : IClassFixture<ServingModels>
{
    private static async Task<JsonElement> PostAsync(HttpClient client, object body, HttpStatusCode expected)
    {
        using var response = await client.PostAsJsonAsync(TranslationServer.TranslatePath, body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {json}");
        return json;
    }

    private static Task<string> MetricsOf(HttpClient client) => client.GetStringAsync(TranslationServer.MetricsPath);

    private static async Task<string> ErrorOf(HttpResponseMessage response, HttpStatusCode expected)
    {
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(expected, response.StatusCode);
        return json.GetProperty("error").GetString()!;
    }

    [Fact]
    public async Task Nar_translations_equal_the_translator_and_the_decoder_can_be_chosen()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;
        // Decoder names are case-insensitive, as on the command line.
        foreach (var (decoder, name) in new[] { (NarDecoder.Odd, "odd"), (NarDecoder.Argmax, "ARGMAX"), (NarDecoder.Dedup, "Dedup") })
        {
            var expected = Translator.For(models.Nar, new TranslationOptions { Nar = new NarDecodingOptions { Decoder = decoder } }).Translate(models.Texts);

            var json = await PostAsync(client, new { texts = models.Texts, decoder = name }, HttpStatusCode.OK);

            var translations = json.GetProperty("translations").EnumerateArray().ToList();
            Assert.Equal(expected.Select(t => t.Text), translations.Select(t => t.GetProperty("text").GetString()));
            Assert.All(expected.Zip(translations), pair => Assert.Equal(pair.First.Score, pair.Second.GetProperty("score").GetDouble(), 4));
            Assert.Equal("tiny-nar", json.GetProperty("model").GetString());
            Assert.True(json.GetProperty("elapsed_ms").GetDouble() > 0);
        }
    }

    [Fact]
    public async Task Ar_translations_equal_the_translator_with_an_nbest_list_on_request()
    {
        var (server, client) = await ServingModels.StartAsync(models.Ar, new ServeOptions { Decoding = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3 } } });
        await using var _ = server;
        var expected = Translator.For(models.Ar, new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3, NBest = 2 } }).Translate(models.Texts);

        var json = await PostAsync(client, new { texts = models.Texts, nbest = 2 }, HttpStatusCode.OK);

        var translations = json.GetProperty("translations").EnumerateArray().ToList();
        Assert.Equal(expected.Select(t => t.Text), translations.Select(t => t.GetProperty("text").GetString()));
        Assert.Equal(expected.Select(t => t.NBest[1].Text), translations.Select(t => t.GetProperty("nbest")[1].GetProperty("text").GetString()));
        var single = await PostAsync(client, new { texts = models.Texts[..1] }, HttpStatusCode.OK);
        Assert.False(single.GetProperty("translations")[0].TryGetProperty("nbest", out var _), "nbest only when asked for");
    }

    [Fact]
    public async Task Concurrent_clients_each_get_their_own_translations_and_requests_share_batches()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { Batching = new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(20) } });
        await using var _ = server;
        var expected = models.Texts.ToDictionary(text => text, text => Translator.For(models.Nar, new TranslationOptions()).Translate([text])[0].Text);

        const int clients = 32, requestsPerClient = 3;
        var failures = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var wrong = new List<string>();
            for (int r = 0; r < requestsPerClient; r++)
            {
                // Each request has its own texts in its own order, 1 to 3 of them.
                var texts = Enumerable.Range(0, 1 + (c + r) % 3).Select(k => models.Texts[(c * 5 + r * 3 + k) % models.Texts.Length]).ToArray();
                var json = await PostAsync(client, new { texts }, HttpStatusCode.OK);
                var got = json.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()).ToArray();
                if (!got.SequenceEqual(texts.Select(t => expected[t]))) wrong.Add($"client {c} request {r}");
            }
            return wrong;
        }))).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Empty(failures.SelectMany(f => f));
        var metrics = await MetricsOf(client);
        Assert.Contains($"natem_http_requests_total{{endpoint=\"/v1/translate\",status=\"200\"}} {clients * requestsPerClient}", metrics);
        var batches = long.Parse(metrics.Split('\n').Single(l => l.StartsWith("natem_batch_sentences_count ", StringComparison.Ordinal)).Split(' ')[1]);
        Assert.True(batches < clients * requestsPerClient, $"{batches} batches for {clients * requestsPerClient} requests: nothing was batched");
    }

    [Fact]
    public async Task Inputs_beyond_max_input_tokens_are_translated_truncated_and_counted()
    {
        var options = new ServeOptions { Decoding = new TranslationOptions { MaxInputTokens = 3 } };
        var (server, client) = await ServingModels.StartAsync(models.Nar, options);
        await using var _ = server;
        string longText = string.Join(' ', models.Texts), shortText = "a";
        var expected = Translator.For(models.Nar, options.Decoding).Translate([longText, shortText]);

        var json = await PostAsync(client, new { texts = new[] { longText, shortText } }, HttpStatusCode.OK);

        Assert.Equal(expected.Select(t => t.Text), json.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()));
        Assert.Contains("natem_truncated_inputs_total 1\n", await MetricsOf(client));
        // A request that overrides the decoder is truncated and counted alike.
        await PostAsync(client, new { texts = new[] { longText }, decoder = "argmax" }, HttpStatusCode.OK);
        Assert.Contains("natem_truncated_inputs_total 2\n", await MetricsOf(client));
    }

    [Fact]
    public async Task Limits_and_malformed_requests_are_client_errors()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { MaxTexts = 2, MaxChars = 20, MaxBodyBytes = 300 });
        await using var _ = server;

        Assert.Contains("at most 2", (await PostAsync(client, new { texts = new[] { "a", "b", "c" } }, HttpStatusCode.RequestEntityTooLarge)).GetProperty("error").GetString());
        Assert.Contains("texts[1]", (await PostAsync(client, new { texts = new[] { "a", new string('x', 21) } }, HttpStatusCode.RequestEntityTooLarge)).GetProperty("error").GetString());
        using (var announced = new StringContent($"{{\"texts\": [\"{new string('x', 400)}\"]}}", Encoding.UTF8, "application/json"))
            Assert.Contains("300 bytes", await ErrorOf(await client.PostAsync(TranslationServer.TranslatePath, announced), HttpStatusCode.RequestEntityTooLarge));
        // The same limit when the client does not announce the length.
        using (var chunked = new StringContent($"{{\"texts\": [\"{new string('x', 400)}\"]}}", Encoding.UTF8, "application/json"))
        {
            chunked.Headers.ContentLength = null;
            var request = new HttpRequestMessage(HttpMethod.Post, TranslationServer.TranslatePath) { Content = chunked, Headers = { TransferEncodingChunked = true } };
            Assert.Contains("300 bytes", await ErrorOf(await client.SendAsync(request), HttpStatusCode.RequestEntityTooLarge));
        }
        foreach (var body in new[] { "{\"texts\": [\"a\"", "{\"texts\": \"a\"}", "{\"texts\": [1]}", "{\"texts\": [\"a\"], \"nbest\": \"2\"}", "{\"txts\": [\"a\"]}", "[]", "null", "{}", "{\"texts\": [null]}" })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            await ErrorOf(await client.PostAsync(TranslationServer.TranslatePath, content), HttpStatusCode.BadRequest);
        }
        Assert.StartsWith("this is a non-autoregressive (NAR) model, so --nbest does not apply",
            (await PostAsync(client, new { texts = new[] { "a" }, nbest = 2 }, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Equal("decoder must be Argmax, Dedup or Odd, not 'best'", (await PostAsync(client, new { texts = new[] { "a" }, decoder = "best" }, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        // Still serving after all that.
        Assert.Single((await PostAsync(client, new { texts = new[] { "red cat" } }, HttpStatusCode.OK)).GetProperty("translations").EnumerateArray());
    }

    [Fact]
    public async Task Ar_only_and_nar_only_options_are_rejected_for_the_other_kind()
    {
        var (server, client) = await ServingModels.StartAsync(models.Ar, new ServeOptions { Decoding = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 2 } } });
        await using var _ = server;

        // The library's option-kind rule and range checks, as the command line reports them.
        Assert.Equal("this is an autoregressive (AR) model, so --decoder does not apply; use --beam, --length-penalty or --nbest, or give a NAR model",
            (await PostAsync(client, new { texts = new[] { "a" }, decoder = "odd" }, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Equal("--nbest must be between 1 and --beam (2)", (await PostAsync(client, new { texts = new[] { "a" }, nbest = 3 }, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Equal("--nbest must be between 1 and --beam (2)", (await PostAsync(client, new { texts = new[] { "a" }, nbest = 0 }, HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Equal(2, (await PostAsync(client, new { texts = new[] { "a" }, nbest = 2 }, HttpStatusCode.OK)).GetProperty("translations")[0].GetProperty("nbest").GetArrayLength());
    }

    [Fact]
    public async Task A_ctc_model_is_described_as_decoded_by_ctc_whatever_the_decoder_option()
    {
        var ctc = models.Nar with
        {
            Model = TranslationModels.Create(ModelKind.NonAutoregressive,
                models.Nar.Model.Config with { NarLoss = NarLoss.Ctc, Upsample = 2, DecoderInput = NarDecoderInput.UniformCopy }, seed: 7),
        };
        var (server, client) = await ServingModels.StartAsync(ctc);
        await using var _ = server;

        var model = (await client.GetFromJsonAsync<JsonElement>(TranslationServer.ModelsPath)).GetProperty("models")[0];
        Assert.Equal("{\"decoder\":\"ctc\",\"length_beam\":1}", model.GetProperty("decoding").GetRawText());
    }

    [Fact]
    public async Task Health_models_and_metrics_describe_the_server()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar);
        await using var _ = server;
        await PostAsync(client, new { texts = models.Texts[..3] }, HttpStatusCode.OK);
        await PostAsync(client, new { texts = Array.Empty<string>(), decoder = "dedup" }, HttpStatusCode.OK);
        await PostAsync(client, new { texts = new[] { "a" }, nbest = 1 }, HttpStatusCode.BadRequest);

        Assert.Equal("ok", (await client.GetFromJsonAsync<JsonElement>(TranslationServer.HealthPath)).GetProperty("status").GetString());
        var model = (await client.GetFromJsonAsync<JsonElement>(TranslationServer.ModelsPath)).GetProperty("models")[0];
        Assert.Equal("tiny-nar", model.GetProperty("name").GetString());
        Assert.Equal("non-autoregressive", model.GetProperty("kind").GetString());
        Assert.Equal(ModelStore.FormatVersionOf(WeightsFormat.TorchSharp), model.GetProperty("format_version").GetInt32());
        Assert.Equal(models.Nar.Tokenizer.VocabSize, model.GetProperty("vocab_size").GetInt32());
        Assert.Equal(models.Nar.Manifest.Config.ModelDim, model.GetProperty("config").GetProperty("model_dim").GetInt32());
        Assert.Equal("odd", model.GetProperty("decoding").GetProperty("decoder").GetString());

        using var response = await client.GetAsync(TranslationServer.MetricsPath);
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString());
        var metrics = await response.Content.ReadAsStringAsync();
        Assert.Contains("natem_http_requests_total{endpoint=\"/v1/translate\",status=\"200\"} 2", metrics);
        Assert.Contains("natem_http_requests_total{endpoint=\"/v1/translate\",status=\"400\"} 1", metrics);
        Assert.Contains("natem_http_requests_total{endpoint=\"/healthz\",status=\"200\"} 1", metrics);
        Assert.Contains("natem_request_duration_seconds_count 3", metrics);
        Assert.Contains("natem_batch_sentences_bucket{le=\"+Inf\"} 1", metrics);
        Assert.Contains("natem_batch_sentences_sum 3", metrics);
        Assert.Contains("natem_queued_sentences 0\n", metrics);
        Assert.Matches(@"natem_translated_tokens_total [1-9]\d*\n", metrics);
        Assert.Matches(@"natem_tokens_per_second [1-9]", metrics);
    }

    [Fact]
    public async Task Stopping_answers_a_request_still_waiting_for_its_batch()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { Batching = new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit } });
        var expected = Translator.For(models.Nar, new TranslationOptions()).Translate(models.Texts[..2]);
        var pending = PostAsync(client, new { texts = models.Texts[..2] }, HttpStatusCode.OK);
        var queued = Task.Run(async () =>
        {
            await ServeProcess.PollAsync(async () => (await MetricsOf(client)).Contains("natem_queued_sentences 2\n"), TimeSpan.FromSeconds(30), "two queued sentences in /metrics");
        });
        await queued.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(pending.IsCompleted, "the request should wait for its batch's delay");

        var started = DateTime.UtcNow;
        await server.StopAsync();
        var json = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        await server.DisposeAsync();

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "stopping should not wait for the batch delay");
        Assert.Equal((1, 0), server.ShutdownCounts);
        Assert.Equal(expected.Select(t => t.Text), json.GetProperty("translations").EnumerateArray().Select(t => t.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Stopping_answers_503_to_what_is_unanswered_at_the_shutdown_deadline_and_counts_it()
    {
        // 64 texts through beam 4 take far longer than a 1 ms grace period; the batch waits for its delay until the stop.
        var options = new ServeOptions
        {
            Decoding = new TranslationOptions { Beam = new BeamSearchOptions { Beam = 4 } },
            Batching = new BatchingOptions { MaxDelay = BatchingOptions.MaxDelayLimit },
            ShutdownTimeout = TimeSpan.FromMilliseconds(1),
        };
        var (server, client) = await ServingModels.StartAsync(models.Ar, options);
        var texts = Enumerable.Range(0, 64).Select(i => models.Texts[i % models.Texts.Length] + " " + models.Texts[(i + 1) % models.Texts.Length]).ToArray();
        var pending = client.PostAsJsonAsync(TranslationServer.TranslatePath, new { texts });
        var queued = Task.Run(async () =>
        {
            while (!(await MetricsOf(client)).Contains("natem_queued_sentences 64\n")) await Task.Delay(20);
        });
        await queued.WaitAsync(TimeSpan.FromSeconds(30));

        await server.StopAsync();
        using var response = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        await server.DisposeAsync();

        Assert.Contains("--shutdown-timeout-s", await ErrorOf(response, HttpStatusCode.ServiceUnavailable));
        Assert.Equal((0, 1), server.ShutdownCounts);
        Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => new ServeOptions { ShutdownTimeout = TimeSpan.Zero }.Validate()).ExitCode);
    }

    /// <summary>A copy of the NAR model with NaN weights: decoding rejects its NaN scores, standing in for any decoding failure.</summary>
    private LoadedModel UndecodableModel()
    {
        var model = ModelStore.Load(models.Nar.Directory);
        using (torch.no_grad())
            foreach (var (_, weights) in model.Model.Module.state_dict()) weights.fill_(float.NaN);
        return model;
    }

    [Fact]
    public async Task A_decoding_failure_is_a_500_with_an_error_id_and_the_server_keeps_serving()
    {
        var (server, client) = await ServingModels.StartAsync(UndecodableModel());
        await using var _ = server;

        foreach (var attempt in Enumerable.Range(0, 2))
        {
            var json = await PostAsync(client, new { texts = new[] { "red cat" } }, HttpStatusCode.InternalServerError);
            Assert.Contains("translation failed", json.GetProperty("error").GetString());
            Assert.Matches("^[0-9a-f]{12}$", json.GetProperty("id").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(TranslationServer.HealthPath)).StatusCode);
    }

    [Fact]
    public async Task The_load_generator_reports_every_request()
    {
        var (server, client) = await ServingModels.StartAsync(models.Nar, new ServeOptions { ApiKeys = [new ApiKeyEntry("load-test-key")] });
        await using var _ = server;
        client.DefaultRequestHeaders.Authorization = new("Bearer", "load-test-key");

        var result = await LoadGenerator.RunAsync(new LoadTestOptions { Url = client.BaseAddress!, Texts = models.Texts, Clients = 4, Requests = 10, TextsPerRequest = 2, ApiKey = "load-test-key" });

        Assert.Equal((10, 0, 20), (result.Requests, result.Failed, result.Sentences));
        Assert.True(result.P50Ms > 0 && result.P50Ms <= result.P90Ms && result.P90Ms <= result.P99Ms);
        Assert.Equal(result.Requests / result.Seconds, result.RequestsPerSecond, 6);
        Assert.Contains("natem_http_requests_total{endpoint=\"/v1/translate\",status=\"200\"} 10", await MetricsOf(client));
    }
}
