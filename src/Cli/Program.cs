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
// The top-level handler: whatever escapes a command's own guard (or the parser) is still one message and an exit
// code from CliErrors, never a stack trace.
try
{
    ParseResult parsed = root.Parse(args);
    int exitCode = parsed.Invoke();
    // The parser reports its errors (unknown option, bad number) with exit code 1; they are usage errors.
    return parsed.Errors.Count > 0 && exitCode != CliErrors.Ok ? CliErrors.Usage : exitCode;
}
catch (Exception ex)
{
    return CliErrors.Report(ex);
}
