using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using PlasticityDsl.Runtime;
using Xunit;

namespace PlasticityDsl.Tests.Packaging;

/// <summary>
/// The packages as a new user gets them: the solution packed to a temporary feed, a brand-new console project that
/// references PlasticityDsl from that feed only, trains with its own rule, fails to build on a broken rule with the
/// rule's diagnostic alone, and the plasticity tool installed from the same feed.
/// </summary>
public class ConsumerTests
{
    private static readonly TimeSpan CommandLimit = TimeSpan.FromMinutes(5);

    [Fact]
    public void A_new_console_project_trains_with_its_own_rule_from_the_packages()
    {
        string repository = RepositoryRoot();
        string configuration = BuildConfiguration();
        string version = typeof(Mlp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        using var work = new TempDirectory();
        string feed = Directory.CreateDirectory(work.File("feed")).FullName;
        // Its own package folder: a PlasticityDsl of the same version cached by an earlier build can never be used.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Directory.CreateDirectory(work.File("packages")).FullName };

        // Not --no-build: the tool's portable `any` package is built for its own runtime identifier, which the solution's
        // build does not produce (the libraries are up to date and only packed).
        Run(repository, environment, "pack", "PlasticityDsl.sln", "-c", configuration, "--disable-build-servers", "-o", feed);
        // The tool is a pointer package and, with the binaries and symbols, its linux-x64 (ReadyToRun) and `any` packages.
        Assert.True(File.Exists(Path.Combine(feed, $"PlasticityDsl.Cli.{version}.nupkg")), $"PlasticityDsl.Cli.{version}.nupkg is missing from the feed");
        foreach (string id in new[] { "PlasticityDsl", "PlasticityDsl.Compiler", "PlasticityDsl.Cli.linux-x64", "PlasticityDsl.Cli.any", "PlasticityDsl.Testing" })
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.nupkg")), $"{id}.{version}.nupkg is missing from the feed");
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.snupkg")), $"{id}.{version}.snupkg is missing from the feed");
        }

        string sources = Run(work.Path, environment, "nuget", "list", "source", "--format", "Detailed");
        File.WriteAllText(work.File("nuget.config"), NuGetConfig(feed, EnabledSources(sources)));
        Run(work.Path, environment, "new", "console", "-o", "App", "--no-restore");
        string app = work.File("App");
        Run(app, environment, "add", "package", "PlasticityDsl", "--version", version);

        string example = Path.Combine(repository, "examples", "package-consumer");
        File.Copy(Path.Combine(example, "Program.cs"), Path.Combine(app, "Program.cs"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(app, "rules"));
        string rule = Path.Combine(app, "rules", "my_bp.rule");
        File.Copy(Path.Combine(example, "rules", "my_bp.rule"), rule);

        Run(app, environment, "build", "-c", "Release", "--disable-build-servers");
        // The package's props: methods optimized at their first call and no dynamic PGO, as the plasticity tool runs them.
        string runtimeConfig = File.ReadAllText(Path.Combine(app, "bin", "Release", "net10.0", "App.runtimeconfig.json"));
        Assert.Matches(@"""System\.Runtime\.TieredCompilation\.QuickJitForLoops"":\s*false", runtimeConfig);
        Assert.Matches(@"""System\.Runtime\.TieredCompilation\.QuickJit"":\s*false", runtimeConfig);
        Assert.Matches(@"""System\.Runtime\.TieredPGO"":\s*false", runtimeConfig);
        string trained = Run(app, environment, "run", "-c", "Release", "--no-build");
        Match accuracy = Regex.Match(trained, @"accuracy before ([0-9.]+) after ([0-9.]+)");
        Assert.True(accuracy.Success, trained);
        Assert.True(double.Parse(accuracy.Groups[2].Value, CultureInfo.InvariantCulture) >= 0.9, trained);

        // A shape error: the build fails with PDSL1002 located in the rule file, and no C# error where Program.cs names MyBpRule.
        File.WriteAllText(rule, "dW = e_l*y_<l-1>' + y_l*y_l'\n");
        var (exitCode, broken) = Start(app, environment, "build", "-c", "Release", "--disable-build-servers");
        Assert.NotEqual(0, exitCode);
        Assert.Matches(@"rules[/\\]my_bp\.rule\(1,\d+\): error PDSL1002: ", broken);
        Assert.DoesNotMatch(@"error CS\d+", broken);

        // The package makes PlasticityDslNamespace compiler-visible: an invalid one is PDSL0008, located in the rule file.
        var (_, badNamespace) = Start(app, environment, "build", "-c", "Release", "--disable-build-servers", "-p:PlasticityDslNamespace=My.class");
        Assert.Matches(@"rules[/\\]my_bp\.rule\(1,1\): error PDSL0008: `My\.class` \(set by the PlasticityDslNamespace property\)", badNamespace);

        // Opted out of the **/*.rule default, the project compiles no rule: no PDSL diagnostic, and MyBpRule is unknown
        // (not incremental: with the rule gone from the inputs, the first build's App.dll would look up to date).
        var (optedOutExit, optedOut) = Start(app, environment, "build", "-c", "Release", "--disable-build-servers", "--no-incremental", "-p:PlasticityDslIncludeRules=false");
        Assert.NotEqual(0, optedOutExit);
        Assert.DoesNotContain("PDSL", optedOut);
        Assert.Contains("error CS0103: The name 'MyBpRule' does not exist", optedOut);

        string tools = work.File("tools");
        Run(work.Path, environment, "tool", "install", "--tool-path", tools, "PlasticityDsl.Cli", "--version", version);
        string installedPackage = OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64 ? "plasticitydsl.cli.linux-x64" : "plasticitydsl.cli.any";
        Assert.True(Directory.Exists(Path.Combine(tools, ".store", "plasticitydsl.cli", version, installedPackage)), $"the tool installed is not {installedPackage}");
        // The installed tool runs with the settings docs/performance.md measured: methods optimized at once, no dynamic PGO.
        string toolConfig = File.ReadAllText(Assert.Single(Directory.GetFiles(Path.Combine(tools, ".store"), "plasticity.runtimeconfig.json", SearchOption.AllDirectories)));
        Assert.Matches(@"""System\.Runtime\.TieredCompilation\.QuickJitForLoops"":\s*false", toolConfig);
        Assert.Matches(@"""System\.Runtime\.TieredCompilation\.QuickJit"":\s*false", toolConfig);
        Assert.Matches(@"""System\.Runtime\.TieredPGO"":\s*false", toolConfig);
        string plasticity = Path.Combine(tools, OperatingSystem.IsWindows() ? "plasticity.exe" : "plasticity");
        Assert.Equal(version, RunProgram(plasticity, work.Path, environment, "--version").Trim());
        var (checkExit, check) = StartProgram(plasticity, work.Path, environment, "check", rule);
        Assert.Equal(1, checkExit);
        Assert.Contains("my_bp.rule(1,", check);
        Assert.Contains("error PDSL1002", check);
    }

    /// <summary>The feed for PlasticityDsl* and nothing else; every other package from the sources the machine already uses.</summary>
    private static string NuGetConfig(string feed, IReadOnlyList<string> otherSources)
    {
        var config = new StringBuilder();
        config.AppendLine("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        config.AppendLine("<configuration>");
        config.AppendLine($"  <packageSources><add key=\"plasticity-feed\" value=\"{feed}\" /></packageSources>");
        config.AppendLine("  <packageSourceMapping>");
        config.AppendLine("    <packageSource key=\"plasticity-feed\"><package pattern=\"PlasticityDsl*\" /></packageSource>");
        foreach (string source in otherSources) config.AppendLine($"    <packageSource key=\"{source}\"><package pattern=\"*\" /></packageSource>");
        config.AppendLine("  </packageSourceMapping>");
        config.AppendLine("</configuration>");
        return config.ToString();
    }

    /// <summary>The names in <c>dotnet nuget list source</c>'s lines "  1.  NAME [Enabled]".</summary>
    private static List<string> EnabledSources(string listing) =>
        Regex.Matches(listing, @"^\s*\d+\.\s+(.+?)\s+\[Enabled\]\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PlasticityDsl.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException($"no PlasticityDsl.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The configuration this test assembly was built in (…/bin/CONFIGURATION/net10.0/): the packages are packed from the same build.</summary>
    private static string BuildConfiguration() =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private static string Run(string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var (exitCode, output) = Start(directory, environment, arguments);
        Assert.True(exitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {exitCode}:\n{output}");
        return output;
    }

    private static string RunProgram(string program, string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var (exitCode, output) = StartProgram(program, directory, environment, arguments);
        Assert.True(exitCode == 0, $"{program} {string.Join(' ', arguments)} exited with {exitCode}:\n{output}");
        return output;
    }

    private static (int ExitCode, string Output) Start(string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartProgram("dotnet", directory, environment, arguments);

    /// <summary>Runs a program to its end; standard output and error together.</summary>
    private static (int ExitCode, string Output) StartProgram(string program, string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        // The test host's MSBuild settings belong to the repository's build, not to the new project's.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment) start.Environment[name] = value;

        using Process process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(CommandLimit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {CommandLimit}:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }
}
