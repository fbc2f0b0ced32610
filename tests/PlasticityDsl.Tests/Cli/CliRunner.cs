using System.Diagnostics;

namespace PlasticityDsl.Tests.Cli;

/// <summary>Runs the real <c>plasticity</c> program (copied beside the tests) as a user would.</summary>
internal static class CliRunner
{
    public sealed record Outcome(int ExitCode, string Output, string Error)
    {
        /// <summary>The error output of a run that must end with <paramref name="exitCode"/> (the assertion shows it otherwise).</summary>
        public string Failure(int exitCode)
        {
            Xunit.Assert.True(ExitCode == exitCode, $"exit code {ExitCode}, expected {exitCode}: {Error}");
            return Error;
        }
    }

    public static Outcome Run(string workingDirectory, params string[] args)
    {
        using Process process = Start(workingDirectory, args);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("plasticity " + string.Join(" ", args) + " did not finish");
        }

        return new Outcome(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts <c>plasticity</c> without waiting, with stdout and stderr redirected (read them, or they may fill).</summary>
    public static Process Start(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "plasticity.dll"));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        // Tests must never reach the network or a user's cache.
        start.Environment.Remove("PLASTICITY_DATA");
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(workingDirectory, "no-cache");
        return Process.Start(start)!;
    }

    /// <summary>The repository root, found from this source file's location at build time.</summary>
    public static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
}
