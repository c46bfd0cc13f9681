using System.CommandLine;
using Unsup;
using Unsup.Cli;
using Unsup.Cli.Commands;

NativeAllocator.Configure();   // before the first tensor: libtorch reads its allocator settings once

var root = new RootCommand(
    "Unsup: unsupervised deep learning on images — MoCo contrastive pretraining and SYMNet diffeomorphic registration.\n\n" +
    "Examples:\n" +
    "  unsup demo                      run a short end-to-end demo on built-in data\n" +
    "  unsup info                      versions, device, threads, data locations\n" +
    "  unsup inspect scan.nii.gz       header and summary of a NIfTI/npy/npz/IDX/image file");
GlobalOptions.AddTo(root);
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(MocoCommands.Create());
root.Subcommands.Add(SymnetCommands.Create());
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(AffineCommand.Create());
root.Subcommands.Add(DevCommands.Create());

return Cli.Run(root, args);
