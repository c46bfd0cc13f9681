using System.Diagnostics;
using System.Globalization;
using Unsup.Data;
using Unsup.Moco.Augment;
using Unsup.Moco.Models;
using Unsup.Training;
using static TorchSharp.torch;

namespace Unsup.Bench.Moco;

/// <summary>
/// The supervised upper bound for the README's MoCo table: the same encoder MoCo pretrains (ResNet-18, CIFAR stem,
/// 1-channel input, --width) trained end to end with labels on the Fashion-MNIST training set (cross-entropy, SGD
/// momentum 0.9, wd 5e-4, per-step cosine, crops of area --crop-min-scale..1 and flips), then top-1 on the 10,000 test
/// images. A bench, not a user verb: it answers "how far is self-supervision from labels at this width and budget".
/// Writes OUT/supervised.md and OUT/supervised.log.
/// </summary>
public static class SupervisedBench
{
    public static int Run(BenchArgs a, string outDir)
    {
        string dir = a.String("data") ?? "/usr/share/datasets/fashion-mnist";
        int width = a.Int("width", 16), stemStride = a.Int("stem-stride", 1), batch = a.Int("batch", 256), epochs = a.Int("epochs", 15);
        double lr = a.Double("lr", 0.1), minutes = a.Double("minutes", 120), cropMin = a.Double("crop-min-scale", 0.5);
        Directory.CreateDirectory(outDir);
        string logPath = Path.Combine(outDir, "supervised.log");
        File.WriteAllText(logPath, "");
        void Log(string s) { var line = $"{DateTime.Now:HH:mm:ss} {s}"; Console.WriteLine(line); File.AppendAllText(logPath, line + "\n"); }

        TorchRuntime.Seed(0);
        using var train = FashionMnist.Load(dir, train: true);
        using var test = FashionMnist.Load(dir, train: false);
        var trainLabels = tensor(train.Labels!);
        var testLabels = tensor(test.Labels!);
        var model = new ResNet(new ResNetOptions(18, width, InChannels: 1, CifarStem: true, NumClasses: 10, StemStride: stemStride));
        var normalize = Normalize.FashionMnist;
        var crop = new RandomResizedCrop(28, cropMin);
        var flip = new RandomHorizontalFlip();
        long stepsPerEpoch = train.Count / batch, totalSteps = stepsPerEpoch * epochs;
        var optimizer = optim.SGD(model.parameters(), lr, momentum: 0.9, weight_decay: 5e-4);
        var schedule = LrSchedule.Cosine(totalSteps);
        var generator = new Generator(0);
        Log($"supervised ResNet-18 width {width} ({model.Options.StemName} stem, 1 channel), batch {batch}, lr {lr} cosine over {epochs} epochs " +
            $"({totalSteps} steps), crops {cropMin}-1 + flip, time limit {minutes} min");

        var clock = Stopwatch.StartNew();
        long step = 0;
        bool stoppedEarly = false;
        double final = double.NaN;
        for (int epoch = 0; epoch < epochs && !stoppedEarly; epoch++)
        {
            model.train();
            var order = randperm(train.Count, generator: generator);
            double lossSum = 0;
            long stepsDone = 0;
            for (long b = 0; b < stepsPerEpoch; b++, step++)
            {
                using var scope = NewDisposeScope();
                schedule.Apply(optimizer, step);
                var idx = order.narrow(0, b * batch, batch);
                var x = MocoAugmentation.ToUnitFloat(train.Images.index_select(0, idx));
                x = normalize.Apply(flip.Apply(crop.Apply(x, generator), generator));
                var loss = nn.functional.cross_entropy(model.call(x), trainLabels.index_select(0, idx));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                stepsDone++;
                if (clock.Elapsed.TotalMinutes > minutes) { stoppedEarly = true; step++; break; }
            }
            final = Accuracy(model, test.Images, testLabels, normalize);
            Log($"epoch {epoch + 1}: loss {lossSum / stepsDone:F4} over {stepsDone} steps, test top-1 {final:F2} %, {clock.Elapsed.TotalMinutes:F1} min");
        }
        string note = stoppedEarly ? $"stopped by the {minutes}-min limit at step {step} of {totalSteps}" : "schedule completed";
        Log($"final test top-1 {final:F2} % after {clock.Elapsed.TotalMinutes:F1} min ({note})");
        File.WriteAllText(Path.Combine(outDir, "supervised.md"), string.Create(CultureInfo.InvariantCulture, $"""
            # Supervised upper bound (Fashion-MNIST)

            | encoder | training | test top-1 |
            |---|---|---|
            | ResNet-18 width {width}, {model.Options.StemName} stem, trained with labels | {epochs} epochs cosine, batch {batch}, lr {lr}, crops {cropMin}-1 + flip, {clock.Elapsed.TotalMinutes:F0} min ({note}) | **{final:F2} %** |

            Command: `dotnet run --project bench/Unsup.Bench.Moco -c Release -- supervised --width {width} --stem-stride {stemStride} --epochs {epochs} --minutes {minutes}`

            """));
        return 0;
    }

    static double Accuracy(ResNet model, Tensor images, Tensor labels, Normalize normalize)
    {
        model.eval();
        using var noGrad = no_grad();
        long correct = 0;
        for (long i = 0; i < images.shape[0]; i += 1000)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(1000, images.shape[0] - i);
            var x = normalize.Apply(MocoAugmentation.ToUnitFloat(images.narrow(0, i, n)));
            correct += model.call(x).argmax(1).eq(labels.narrow(0, i, n)).sum().item<long>();
        }
        return 100.0 * correct / images.shape[0];
    }
}
