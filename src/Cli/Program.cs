using System.CommandLine;
using PlasticityDsl.Cli.Commands;

var root = new RootCommand("plasticity: compile synaptic plasticity rules and train networks online with them.");
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(EmitCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(GridCommand.Create());
root.Subcommands.Add(ReproduceCommand.Create());
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(MetaCommand.Create());
root.Subcommands.Add(MergeCommand.Create(root));
root.Subcommands.Add(SubmitCommand.Create(root));
return root.Parse(args).Invoke();
