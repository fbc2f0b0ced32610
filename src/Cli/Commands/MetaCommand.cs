using System.CommandLine;
using PlasticityDsl.Runtime;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// <c>plasticity meta …</c>: meta-learning of rule coefficients. Each subcommand is one <c>Create</c> method in its own
/// file, added to the group here; rule lookup goes through <see cref="DifferentiableRule"/>.
/// </summary>
internal static class MetaCommand
{
    public static Command Create()
    {
        var command = new Command("meta", "Meta-learn rule coefficients: exact meta-gradients of online episodes (reverse mode from the compiler's adjoint kernels, forward mode for rules without them).");
        command.Subcommands.Add(MetaGradientCommand.Create());
        command.Subcommands.Add(MetaTrainCommand.Create());
        return command;
    }

    /// <summary>
    /// The one place the meta commands turn <c>--rule</c> into a rule with a tangent kernel: any rule
    /// <see cref="CommonOptions.Rule"/> finds (built-in or compiled from a .rule file) whose kernel the compiler could
    /// differentiate. For one it could not, the error gives the compiler's reason (e.g. a function without a
    /// derivative in the language), recompiled from the rule's own source.
    /// </summary>
    public static IDifferentiableRule DifferentiableRule(string nameOrPath)
    {
        IPlasticityRule rule = CommonOptions.Rule(nameOrPath);
        if (rule is IDifferentiableRule differentiable) return differentiable;
        string? reason = PlasticityDsl.Language.RuleFrontEnd.Compile(rule.Name, rule.Source).Model?.NotDifferentiable;
        throw new UsageException($"--rule: rule `{rule.Name}` has no tangent kernel, so its meta-gradient cannot be computed in forward mode: {reason ?? "it does not implement IDifferentiableRule"}");
    }
}
