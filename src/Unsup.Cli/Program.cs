using System.CommandLine;

var root = new RootCommand("unsup");
root.Subcommands.Add(Unsup.Cli.Commands.DevCommands.Create());
return root.Parse(args).Invoke();
