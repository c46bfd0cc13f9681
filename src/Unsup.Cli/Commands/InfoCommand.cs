using System.CommandLine;
using System.Reflection;
using Spectre.Console;
using TorchSharp;

namespace Unsup.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show Unsup, TorchSharp and libtorch versions, the device, threads and where data is looked up.\n\nExample:\n  unsup info --threads 2");
        cmd.SetAction(r => { Print(r); return 0; });
        return cmd;
    }

    public static void Print(ParseResult r)
    {
            var device = GlobalOptions.Apply(r);
            var table = new Table().AddColumns("", "").HideHeaders().Border(TableBorder.Simple);
            void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("Unsup", Version(typeof(UnsupException).Assembly));
            Row("TorchSharp", Version(typeof(torch).Assembly));
            Row("libtorch", typeof(UnsupException).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                                .FirstOrDefault(a => a.Key == "LibTorch")?.Value ?? "unknown");
            Row(".NET", Environment.Version.ToString());
            Row("OS", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
            Row("device", device.ToString() + (torch.cuda.is_available() ? $" (CUDA devices: {torch.cuda.device_count()})" : " (CUDA not available)"));
            Row("threads", $"{torch.get_num_threads()} of {Environment.ProcessorCount} cores");
            Row("native memory", NativeAllocator.Description);
            foreach (var (place, path) in DataLocations.Describe(r.GetValue(GlobalOptions.DataDir)))
                Row(place, path);
            AnsiConsole.Write(table);
    }

    static string Version(Assembly a) =>
        a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? a.GetName().Version?.ToString() ?? "?";
}
