using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Data;
using PlasticityDsl.Runtime.IO;

namespace PlasticityDsl.Cli.Commands;

/// <summary>
/// The one place where failures become a message and an exit code instead of a stack trace. Exit codes
/// (docs/reliability.md): 0 success; 1 the work failed (a data or rule file is bad, training diverged, a write
/// failed, out of memory); 2 the command line is wrong (a bad value, an output that cannot be used, a locked
/// directory); 3 an internal error (a bug: one line, and the stack trace only with PLASTICITY_DEBUG=1);
/// 130 interrupted.
/// </summary>
internal static class CliErrors
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Internal = 3;
    public const int Interrupted = 130;

    /// <summary>Set to see the stack trace of an internal error.</summary>
    public const string DebugVariable = "PLASTICITY_DEBUG";

    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex)
        {
            return Report(ex);
        }
    }

    /// <summary>Prints <paramref name="ex"/> as one message and returns its exit code.</summary>
    public static int Report(Exception ex)
    {
        Exception failure = ex is AggregateException all ? all.Flatten().InnerExceptions[0] : ex;
        switch (failure)
        {
            case RuleCompilationException:
                // Compiler-style, as `plasticity check` prints them: path(line,col): error PDSLxxxx: message.
                Console.Error.WriteLine(failure.Message);
                return Failed;
            case UsageException or OutputPathException:
                Console.Error.WriteLine("error: " + failure.Message);
                return Usage;
            case OperationCanceledException:
                Console.Error.WriteLine("error: " + failure.Message);
                return Interrupted;
            case OutOfMemoryException:
                Console.Error.WriteLine("error: out of memory; lower --samples, --seeds, the layer sizes or the parallelism");
                return Failed;
            case DataFileException or TrainingDivergedException or ArgumentException or FormatException or IOException
                or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException:
                Console.Error.WriteLine("error: " + failure.Message);
                return Failed;
            default:
                Console.Error.WriteLine($"internal error: {failure.GetType().Name}: {failure.Message}");
                Console.Error.WriteLine(Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 }
                    ? failure.ToString()
                    : $"this is a bug in plasticity; please report it with the command line (set {DebugVariable}=1 to see the stack trace)");
                return Internal;
        }
    }
}

/// <summary>A bad command-line value, reported with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
