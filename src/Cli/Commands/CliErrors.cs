using PlasticityDsl.Runtime;
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
        catch (UsageException ex)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return Usage;
        }
        catch (Exception ex) when (ex is DataFileException or TrainingDivergedException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return Failed;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted");
            return 130;
        }
    }
}

/// <summary>A bad command-line value, reported with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
