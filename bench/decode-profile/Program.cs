// Times the pieces of AR incremental decoding (bench/log/2026-11-30-ar-step-overhead.md).
// Usage: dotnet run -c Release -- AR_MODEL SENTENCES MODE THREADS, MODE one of all | search | micro | step | beam4 | attn | layout | nar | sig;
// data from /work/runs/data (NATEM_DATA overrides). MKL_PATCH=0 leaves oneMKL's vendor check alone. Mode nar times the
// pieces of NAR odd decoding at batch 1 (model: NAR_MODEL, default /work/runs/glat-vanilla/checkpoint_best).
using System.Diagnostics;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

if (Environment.GetEnvironmentVariable("MKL_PATCH") != "0") Console.WriteLine($"mkl patch: {MklOnAmd.Apply()}");
torch.set_num_threads(args.Length > 3 ? int.Parse(args[3]) : 2);
string arDir = args.Length > 0 ? args[0] : "/work/runs/teacher/checkpoints/update_0002500";
int limit = args.Length > 1 ? int.Parse(args[1]) : 64;
string what = args.Length > 2 ? args[2] : "all";
if (what == "sig") { foreach (var m in typeof(torch.nn.functional).GetMethods().Where(m => m.Name.Contains("scaled_dot"))) Console.WriteLine(m + " (" + string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name + (p.HasDefaultValue ? "=" + p.DefaultValue : ""))) + ")"); return; }
var data = PreparedData.Load(Environment.GetEnvironmentVariable("NATEM_DATA") ?? "/work/runs/data");
var test = data.Split("test").Take(limit);
var loaded = ModelStore.Load(arDir, ModelKind.Autoregressive);
var ar = (ArTransformer)loaded.Model;
ar.FreezeForInference(Precision.Fp32);
ar.eval();

double Time(int reps, Action a) { a(); var sw = Stopwatch.StartNew(); for (int i = 0; i < reps; i++) a(); return sw.Elapsed.TotalMilliseconds * 1000 / reps; }

if (what is "layout")
{
    // A linear layer's product at few rows with the weight as saved ([out, in], F.linear) against pre-transposed ([in, out], matmul).
    foreach (var (inDim, outDim) in new[] { (256, 768), (256, 256), (256, 1024), (1024, 256), (256, 8092) })
    {
        var weight = randn(outDim, inDim); var transposed = weight.t().contiguous();
        foreach (var m in new[] { 1, 4, 40, 256 })
        {
            var x = randn(m, inDim);
            int reps = m >= 40 ? 100 : 500;
            double saved = Time(reps, () => { using var s = NewDisposeScope(); nn.functional.linear(x, weight); });
            double pre = Time(reps, () => { using var s = NewDisposeScope(); x.matmul(transposed); });
            double saved2 = Time(reps, () => { using var s = NewDisposeScope(); nn.functional.linear(x, weight); });
            double pre2 = Time(reps, () => { using var s = NewDisposeScope(); x.matmul(transposed); });
            Console.WriteLine($"{inDim}->{outDim} m={m}: [out,in] linear {saved:F1}/{saved2:F1} µs, [in,out] matmul {pre:F1}/{pre2:F1} µs");
        }
    }
    return;
}
if (what is "nar")
{
    // NAR odd at batch 1, cumulatively: encode; + decode the predicted length; + log_softmax; + top-3; + read back; the whole generator.
    var nar = ModelStore.LoadNarForDecoding(Environment.GetEnvironmentVariable("NAR_MODEL") ?? "/work/runs/glat-vanilla/checkpoint_best", Precision.Fp32);
    var generator = new NarGenerator(nar, new NarDecodingOptions { Decoder = NarDecoder.Odd });
    double Each(Action<Tensor> part)
    {
        foreach (var s in test.Source.Take(4)) { using var sc = NewDisposeScope(); part(SequenceTensors.Source([s])); }
        var sw = Stopwatch.StartNew();
        foreach (var s in test.Source) { using var sc = NewDisposeScope(); part(SequenceTensors.Source([s])); }
        return sw.Elapsed.TotalMilliseconds / test.Count;
    }
    Tensor Decoded(Tensor src)
    {
        var (memory, lengthLogits) = nar.Encode(src);
        var lengths = nar.ClassToLength(lengthLogits.topk(1, dim: 1).indexes, src).reshape(-1);
        return nar.DecodeTokens(src, memory, lengths);
    }
    using var inf = torch.inference_mode();
    for (int round = 0; round < 2; round++)
    {
        double encode = Each(src => nar.Encode(src));
        double decode = Each(src => Decoded(src));
        double logSoftmax = Each(src => Decoded(src).log_softmax(-1));
        double top = Each(src => Decoded(src).log_softmax(-1).topk(3, dim: -1));
        double read = Each(src => { var (v, i) = Decoded(src).log_softmax(-1).topk(3, dim: -1); v.data<float>().ToArray(); i.to_type(ScalarType.Int32).data<int>().ToArray(); });
        double wholeAll = 0; { var sw = Stopwatch.StartNew(); foreach (var s in test.Source) generator.Generate([s]); wholeAll = sw.Elapsed.TotalMilliseconds / test.Count; }
        Console.WriteLine($"NAR odd batch 1, ms/sentence: encode {encode:F2}, +decode {decode:F2}, +log_softmax {logSoftmax:F2}, +top3 {top:F2}, +read {read:F2}; generator (all sentences) {wholeAll:F2}");
    }
    return;
}
if (what is "attn")
{
    // Fused SDPA against the manual product (matmul, softmax, dropout, matmul) per use.
    Tensor Manual(Tensor q, Tensor k, Tensor v, Tensor? mask, double p, bool train)
    {
        var scores = q.matmul(k.transpose(-2, -1)) * (1.0 / Math.Sqrt(q.shape[3]));
        if (mask is not null) scores = scores.masked_fill(mask.logical_not(), float.NegativeInfinity);
        return nn.functional.dropout(scores.softmax(-1), p, train).matmul(v);
    }
    foreach (var (name, b, t, s, masked, train) in new[] { ("training self B=96 T=40 fwd+bwd", 96, 40, 40, true, true), ("training cross B=96 T=40 S=42 fwd+bwd", 96, 40, 42, true, true),
        ("NAR decode self B=64 T=48", 64, 48, 48, true, false), ("NAR decode cross B=64 T=48 S=50", 64, 48, 50, true, false),
        ("AR step self B=4 T=1 S=30", 4, 1, 30, false, false), ("AR step cross B=4 T=1 S=50", 4, 1, 50, true, false),
        ("AR step self B=256 T=1 S=30", 256, 1, 30, false, false), ("AR step cross B=256 T=1 S=50", 256, 1, 50, true, false) })
    {
        var q = randn(b, 4, t, 64, requires_grad: train); var k = randn(b, 4, s, 64, requires_grad: train); var v = randn(b, 4, s, 64, requires_grad: train);
        var mask = masked ? (randn(b, 1, 1, s) > -2.0) : null;
        double p = train ? 0.3 : 0.0;
        int reps = b * t > 1000 ? 20 : 300;
        void Run(Func<Tensor> f) { using var sc = NewDisposeScope(); var o = f(); if (train) o.sum().backward(); }
        using var grad = train ? torch.enable_grad() : torch.no_grad();
        double fused = Time(reps, () => Run(() => nn.functional.scaled_dot_product_attention(q, k, v, mask, p)));
        double manual = Time(reps, () => Run(() => Manual(q, k, v, mask, p, train)));
        double fused2 = Time(reps, () => Run(() => nn.functional.scaled_dot_product_attention(q, k, v, mask, p)));
        double manual2 = Time(reps, () => Run(() => Manual(q, k, v, mask, p, train)));
        Console.WriteLine($"{name}: sdpa {fused:F0}/{fused2:F0} µs, manual {manual:F0}/{manual2:F0} µs");
    }
    return;
}
if (what is "step")
{
    using var inf = torch.inference_mode();
    var src = SequenceTensors.Source([test.Source[0]]);
    int b = int.Parse(Environment.GetEnvironmentVariable("ROWS") ?? "4");
    var memory = ar.Encode(src);
    var mem = memory.IndexSelect(zeros(b, dtype: ScalarType.Int64));
    var prev = full(b, 5L, dtype: ScalarType.Int64);
    // The least mean step time over REPS decodes of 48 steps: the least disturbed by the rest of the machine.
    var perStep = new List<double>();
    for (int rep = 0; rep < int.Parse(Environment.GetEnvironmentVariable("REPS") ?? "20"); rep++)
    {
        using var scope = NewDisposeScope();
        var state = ar.StartDecoding(mem, 80);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 48; i++) { using var s2 = NewDisposeScope(); ar.DecodeStep(prev, state); }
        perStep.Add(sw.Elapsed.TotalMilliseconds * 1000 / 48);
    }
    perStep.Sort();
    Console.WriteLine($"DecodeStep B={b}: least {perStep[0]:F0} µs, median {perStep[perStep.Count / 2]:F0} µs");
    return;
}
if (what is "beam4")
{
    // REPEAT runs over the sentences; the least mean is the least disturbed by the rest of the machine.
    var search = new BeamSearch(ar, new BeamSearchOptions { Beam = 4 });
    foreach (var s in test.Source.Take(2)) search.Generate([s]);
    var means = new List<double>();
    for (int run = 0; run < int.Parse(Environment.GetEnvironmentVariable("REPEAT") ?? "1"); run++)
    {
        var sw = Stopwatch.StartNew();
        foreach (var s in test.Source) search.Generate([s]);
        means.Add(sw.Elapsed.TotalMilliseconds / test.Count);
    }
    Console.WriteLine($"beam4 batch1 {means.Min():F1} ms/sentence (least of {string.Join(", ", means.Select(m => m.ToString("F1")))})");
}
if (what is "all" or "search")
foreach (var beam in new[] { 1, 4 })
{
    var search = new BeamSearch(ar, new BeamSearchOptions { Beam = beam });
    foreach (var s in test.Source.Take(4)) search.Generate([s]);
    long steps = 0; var sw = Stopwatch.StartNew();
    var outputs = new List<int[]>();
    foreach (var s in test.Source) { var h = search.Generate([s]); outputs.Add(h[0][0].Tokens); steps += h[0][0].Tokens.Length + 1; }
    double ms = sw.Elapsed.TotalMilliseconds;
    long hash = outputs.Aggregate(17L, (acc, t) => t.Aggregate(acc, (a, x) => a * 31 + x));
    Console.WriteLine($"batch1 beam {beam}: {ms / test.Count:F1} ms/sentence, {ms * 1000 / steps:F0} µs per best-output step ({steps} steps), output hash {hash}");
    foreach (var batch in new[] { 64 })
    {
        if (beam == 1 && what == "search") continue;
        sw.Restart();
        var outs = search.Generate(test.Source);
        Console.WriteLine($"batch{batch} beam {beam}: {test.Count / sw.Elapsed.TotalSeconds:F2} sent/s, same as batch1: {outs.Select(o => o[0].Tokens).Zip(outputs).All(p => p.First.SequenceEqual(p.Second))}");
    }
}

if (what is "all" or "micro")
{
    using var inf = torch.inference_mode();
    var src = SequenceTensors.Source([test.Source[0]]);
    foreach (var b in new[] { 1, 4, 256 })
    {
        var memory = ar.Encode(src);
        var rows = zeros(b, dtype: ScalarType.Int64);
        var mem = memory.IndexSelect(rows);
        var prev = full(b, 5L, dtype: ScalarType.Int64);
        double total = 0; int n = 0; long tensors = 0;
        for (int rep = 0; rep < (b > 4 ? 2 : 5); rep++)
        {
            using var scope = NewDisposeScope();
            var state = ar.StartDecoding(mem, 80);
            for (int i = 0; i < 48; i++)
            {
                var sw = Stopwatch.StartNew();
                using var s2 = NewDisposeScope();
                var lp = ar.DecodeStep(prev, state);
                if (rep > 0) { total += sw.Elapsed.TotalMilliseconds; n++; tensors += s2.DisposablesCount; }
            }
        }
        Console.WriteLine($"DecodeStep B={b}: {total * 1000 / n:F0} µs, {tensors / (double)n:F0} tensors made per step");
    }
    var x4 = randn(4, 1, 256); var y4 = randn(4, 1, 256);
    Console.WriteLine($"op overhead: add [4,1,256] {Time(3000, () => { using var s = NewDisposeScope(); x4.add(y4); }):F1} µs, view {Time(3000, () => { using var s = NewDisposeScope(); x4.view(4, 256); }):F1} µs, dropout(eval) {Time(3000, () => { using var s = NewDisposeScope(); nn.functional.dropout(x4, 0.3, false); }):F1} µs");
    var w768 = randn(768, 256); var w1024 = randn(1024, 256); var w256 = randn(256, 1024); var wv = randn(256, 8092); var wvt = wv.t().contiguous(); var w256sq = randn(256, 256);
    foreach (var m in new[] { 1, 2, 4, 8, 16, 64, 256 })
    {
        var xm = randn(m, 256); var hm = randn(m, 1024);
        int r = m >= 64 ? 50 : 300;
        Console.WriteLine($"m={m}: linear 256->256 {Time(r, () => { using var s = NewDisposeScope(); nn.functional.linear(xm, w256sq); }):F1} 256->768 {Time(r, () => { using var s = NewDisposeScope(); nn.functional.linear(xm, w768); }):F1} 256->1024 {Time(r, () => { using var s = NewDisposeScope(); nn.functional.linear(xm, w1024); }):F1} 1024->256 {Time(r, () => { using var s = NewDisposeScope(); nn.functional.linear(hm, w256); }):F1} out x·M {Time(r, () => { using var s = NewDisposeScope(); xm.matmul(wv); }):F1} out linear(x,E) {Time(r, () => { using var s = NewDisposeScope(); nn.functional.linear(xm, wvt); }):F1} log_softmax {Time(r, () => { using var s = NewDisposeScope(); hm.log_softmax(-1); }):F1} µs");
    }
    var mat = randn(4, 8092);
    Console.WriteLine($"log_softmax [4,8092] {Time(1000, () => { using var s = NewDisposeScope(); mat.log_softmax(-1); }):F1} µs; [256,8092] {Time(50, () => { using var s = NewDisposeScope(); randn(256, 8092).log_softmax(-1); }):F1} µs (incl randn)");
    var cand = randn(1, 4 * 8092);
    Console.WriteLine($"topk 8 of [1,32368]: {Time(1000, () => { using var s = NewDisposeScope(); cand.topk(8, dim: 1); }):F1} µs; topk 8 of [4,8092] {Time(1000, () => { using var s = NewDisposeScope(); mat.topk(8, dim: 1); }):F1} µs");
    var cand64 = randn(64, 4 * 8092);
    Console.WriteLine($"topk 8 of 64x32368: {Time(100, () => { using var s = NewDisposeScope(); cand64.topk(8, dim: 1); }):F1} µs");
    var small = randn(8);
    Console.WriteLine($"data<float>().ToArray() of 8: {Time(3000, () => small.data<float>().ToArray()):F1} µs, tensor(long[4]) {Time(3000, () => { using var s = NewDisposeScope(); tensor(new long[] { 1, 2, 3, 4 }); }):F1} µs");
    var cache = randn(4, 4, 80, 64); var r4 = tensor(new long[] { 0, 0, 1, 2 });
    Console.WriteLine($"index_select cache [4,4,80,64]: {Time(1000, () => { using var s = NewDisposeScope(); cache.index_select(0, r4); }):F1} µs; narrow 40 {Time(1000, () => { using var s = NewDisposeScope(); cache.narrow(2, 0, 40).index_select(0, r4); }):F1} µs");
    var cache256 = randn(256, 4, 150, 64); var r256 = randint(0, 256, 256, dtype: ScalarType.Int64);
    Console.WriteLine($"index_select cache [256,4,150,64]: {Time(20, () => { using var s = NewDisposeScope(); cache256.index_select(0, r256); }):F1} µs; narrow 40 {Time(20, () => { using var s = NewDisposeScope(); cache256.narrow(2, 0, 40).index_select(0, r256); }):F1} µs");
    foreach (var (b, t) in new[] { (1, 20), (4, 20), (4, 48), (256, 30) })
    {
        var q = randn(b, 4, 1, 64); var k = randn(b, 4, t, 64); var v = randn(b, 4, t, 64); var mask = ones(b, 1, 1, t, dtype: ScalarType.Bool);
        int r = b > 4 ? 100 : 1000;
        Console.WriteLine($"attention q=1 B={b} T={t}: sdpa {Time(r, () => { using var s = NewDisposeScope(); nn.functional.scaled_dot_product_attention(q, k, v); }):F1} µs; sdpa+mask {Time(r, () => { using var s = NewDisposeScope(); nn.functional.scaled_dot_product_attention(q, k, v, mask); }):F1} µs; manual {Time(r, () => { using var s = NewDisposeScope(); q.matmul(k.transpose(-2, -1)).mul_(0.125).softmax(-1).matmul(v); }):F1} µs; manual+mask {Time(r, () => { using var s = NewDisposeScope(); q.matmul(k.transpose(-2, -1)).mul_(0.125).masked_fill_(mask.logical_not(), float.NegativeInfinity).softmax(-1).matmul(v); }):F1} µs; baddbmm {Time(r, () => { using var s = NewDisposeScope(); q.view(b * 4, 1, 64).bmm(k.view(b * 4, t, 64).transpose(1, 2)).mul_(0.125).softmax(-1).bmm(v.view(b * 4, t, 64)); }):F1} µs");
    }
    var ln = nn.LayerNorm(256);
    Console.WriteLine($"layernorm [4,1,256]: {Time(3000, () => { using var s = NewDisposeScope(); ln.forward(x4); }):F1} µs");
}
