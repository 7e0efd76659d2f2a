using System.Diagnostics;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;
torch.set_num_threads(2);
var data = PreparedData.Load(args.Length > 0 ? args[0] : "prepared/bible");
var train = data.Split("train");
var batches = TokenBatcher.Batches(train.Source.Select(s => s.Length + 1).ToList(), train.Target.Select(t => t.Length + 1).ToList(), 4096, 1);
var model = new ArTransformer(TransformerConfig.Preset("small", data.Tokenizer.VocabSize));
var crit = new ArCriterion(0.1);
var opt = optim.Adam(model.parameters(), 1e-4);
Console.WriteLine($"params {model.parameters().Sum(p => p.numel())}");
{ var a = randn(1024,1024); var sw0 = Stopwatch.StartNew(); for (int i=0;i<20;i++) a.matmul(a).Dispose(); Console.WriteLine($"matmul GFLOP/s {20*2.0*1024*1024*1024/sw0.Elapsed.TotalSeconds/1e9:F1}"); }
for (int step = 0; step < 6; step++)
{
    var b = batches[step];
    using var scope = torch.NewDisposeScope();
    var src = b.Select(i => train.Source[i]).ToList(); var tgt = b.Select(i => train.Target[i]).ToList();
    var sw = Stopwatch.StartNew();
    var (loss, stats) = crit.Forward(model, src, tgt);
    var f = sw.Elapsed.TotalMilliseconds;
    loss.backward();
    var bw = sw.Elapsed.TotalMilliseconds - f;
    opt.step(); opt.zero_grad();
    var total = sw.Elapsed.TotalMilliseconds;
    Console.WriteLine($"batch {b.Length} sents, tgt tokens {stats.Tokens}, padded {src.Max(s=>s.Length+1)}x{b.Length}: fwd {f:F0} ms bwd {bw:F0} ms total {total:F0} ms -> {stats.Tokens / total * 1000:F0} tok/s");
}
