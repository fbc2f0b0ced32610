using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.Compilation;
using PlasticityDsl.Runtime.Data;

namespace PlasticityDsl.Cli.Commands;

/// <summary>The one place where expected failures become a message and an exit code instead of a stack trace.</summary>
internal static class CliErrors
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (RuleCompilationException ex)
        {
            // Compiler-style, as `plasticity check` prints them: path(line,col): error PDSLxxxx: message.
            Console.Error.WriteLine(ex.Message);
            return Failed;
        }
        catch (Exception ex) when (Expected(ex is AggregateException all ? all.Flatten().InnerExceptions[0] : ex) is { } failure)
        {
            Console.Error.WriteLine("error: " + failure.Message);
            return failure is UsageException ? Usage : failure is OperationCanceledException ? 130 : Failed;
        }
    }

    /// <summary>Failures a user can act on; anything else is a bug and keeps its stack trace.</summary>
    private static Exception? Expected(Exception ex) =>
        ex is UsageException or DataFileException or TrainingDivergedException or ArgumentException or FormatException
            or IOException or InvalidDataException or UnauthorizedAccessException or OperationCanceledException or System.Text.Json.JsonException
            ? ex
            : null;
}

/// <summary>A bad command-line value, reported with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
