using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PlasticityDsl.Language;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Compiler;
using PlasticityDsl.Tests.Cli;

namespace PlasticityDsl.Tests.RuleCompilation;

/// <summary>
/// The front end and the emitter on at least 100,000 generated and mutated inputs: no input makes them throw, every
/// failure comes with diagnostics located inside the text, and what compiles emits C# that Roslyn compiles.
/// Deterministic: inputs are a function of a fixed seed and their index, whatever the threads do.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20_250_611;
    private const int GeneratedInputs = 100_000;
    private const int Chunk = 500;
    private static readonly string[] Stems = { "fuzz", "fuzz", "fuzz", "fuzz_rule", "Fuzz-2", "bad name", "9lives", "x\"*/", "" };

    [Fact]
    public void Generated_and_mutated_inputs_never_crash_the_front_end_or_the_emitter()
    {
        var clock = Stopwatch.StartNew();
        var fixedInputs = new List<string>();
        foreach (string text in ExampleTexts().Concat(RuleFuzzer.MatrixTerms.Select(t => "dW = t0*" + t)))
        {
            for (int length = 0; length <= text.Length; length++)
            {
                fixedInputs.Add(text.Substring(0, length)); // every prefix
                fixedInputs.Add(text.Substring(length)); // and every suffix
            }
        }

        fixedInputs.AddRange(RuleFuzzer.LongInputs());

        var failures = new ConcurrentQueue<Failure>();
        var tally = new Tally();
        Parallel.For(0, fixedInputs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => Check(Stems[0], fixedInputs[i], tally, failures));
        output.WriteLine($"{fixedInputs.Count} prefixes, suffixes and long inputs in {clock.Elapsed.TotalSeconds:F1} s");

        int chunks = (GeneratedInputs + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, chunk =>
        {
            var random = new Random(Seed + chunk);
            for (int i = 0; i < Chunk; i++)
            {
                string text = (i % 5) switch
                {
                    0 => RuleFuzzer.RandomTokens(random),
                    1 => RuleFuzzer.WellFormed(random),
                    2 => RuleFuzzer.Mutate(random, RuleFuzzer.WellFormed(random)),
                    3 => RuleFuzzer.Mutate(random, random.Next(2) == 0 ? RuleFuzzer.RandomTokens(random) : ExampleTexts()[random.Next(ExampleTexts().Count)]),
                    _ => RuleFuzzer.Mutate(random, RuleFuzzer.Mutate(random, RuleFuzzer.WellFormed(random))),
                };
                Check(Stems[random.Next(Stems.Length)], text, tally, failures);
            }
        });

        output.WriteLine($"{tally.Total} inputs in {clock.Elapsed.TotalSeconds:F1} s: {tally.Succeeded} compiled, {tally.SyntaxErrors} syntax errors, {tally.OtherErrors} other diagnostics");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {tally.Total} inputs broke the compiler:\n" + Summarize(failures));
        Assert.True(tally.Total >= GeneratedInputs + fixedInputs.Count);
        // The sweep means something only if it reaches every stage.
        Assert.True(tally.Succeeded >= 2_000, $"only {tally.Succeeded} inputs compiled");
        Assert.True(tally.SyntaxErrors >= 20_000, $"only {tally.SyntaxErrors} syntax errors");
        Assert.True(tally.OtherErrors >= 2_000, $"only {tally.OtherErrors} inputs failed after parsing");
    }

    [Fact]
    public void Rules_that_compile_emit_CSharp_that_Roslyn_compiles_without_errors()
    {
        // A few hundred distinct kernels from the well-formed generator (lightly mutated now and then), in
        // compilations of up to 60 kernels with distinct class names, against the references RuleCompiler uses.
        var random = new Random(Seed);
        var kernels = new Dictionary<string, (string Text, string Source)>(StringComparer.Ordinal);
        for (int attempt = 0; attempt < 20_000 && kernels.Count < 300; attempt++)
        {
            string text = random.Next(4) == 0 ? RuleFuzzer.Mutate(random, RuleFuzzer.WellFormed(random)) : RuleFuzzer.WellFormed(random);
            CompiledRule compiled = RuleFrontEnd.Compile("fuzz" + attempt, text);
            if (compiled.Model is null) continue;
            string source = KernelEmitter.Emit(compiled.Model);
            string body = source.Replace(compiled.Model.ClassName, "K", StringComparison.Ordinal);
            kernels.TryAdd(body, (text, source)); // distinct kernels, not distinct names
        }

        Assert.True(kernels.Count >= 200, $"only {kernels.Count} distinct kernels compiled");
        var batch = new List<SyntaxTree>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var rules = new Dictionary<SyntaxTree, string>();
        int compiledBatches = 0;
        void Flush()
        {
            if (batch.Count == 0) return;
            CSharpCompilation compilation = RuleCompiler.CreateCompilation("FuzzBatch" + compiledBatches++, batch);
            problems.AddRange(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
                .Select(d => $"{d} in the kernel of {(d.Location.SourceTree is { } t && rules.TryGetValue(t, out string? rule) ? Escape(rule) : "?")}"));
            batch.Clear();
            names.Clear();
        }

        foreach ((string text, string source) in kernels.Values)
        {
            SyntaxTree tree = CSharpSyntaxTree.ParseText(source, RuleCompiler.ParseOptions);
            Assert.Empty(tree.GetDiagnostics());
            string className = tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax>().First().Identifier.ValueText;
            if (!names.Add(className) || batch.Count == 60)
            {
                Flush();
                names.Add(className);
            }

            batch.Add(tree);
            rules[tree] = text;
        }

        Flush();
        output.WriteLine($"{kernels.Count} kernels in {compiledBatches} compilations");
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
    }

    /// <summary>Digits outside ASCII pass char.IsDigit; they must be a syntax error, not a FormatException.</summary>
    [Theory]
    [InlineData("dW = \u0663*W")]
    [InlineData("dW = \uFF11*W")]
    [InlineData("dW = 1e\u0663*W")]
    [InlineData("dW = 1.\u0663*W")]
    [InlineData("dW = 2\u0660*W")]
    public void Non_ASCII_digits_are_a_diagnostic_not_a_crash(string text)
    {
        var failures = new ConcurrentQueue<Failure>();
        Check("x", text, new Tally(), failures);
        Assert.True(failures.IsEmpty, Summarize(failures));
        Assert.False(RuleFrontEnd.Compile("x", text).Succeeded);
    }

    /// <summary>Nesting far deeper than the in-process sweep dares: the compiler, run as `plasticity check` in its own
    /// process, must answer with diagnostics or success, never die of a stack overflow.</summary>
    [Theory]
    [InlineData("parentheses")]
    [InlineData("negations")]
    [InlineData("calls")]
    public void Deep_nesting_does_not_crash_the_compiler_process(string kind)
    {
        const int depth = 20_000;
        string text = kind switch
        {
            "parentheses" => "dW = " + new string('(', depth) + "W" + new string(')', depth),
            "negations" => "dW = " + new string('-', depth) + "W",
            _ => "dW = " + string.Concat(Enumerable.Repeat("exp(", depth)) + "W" + new string(')', depth),
        };
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("deep.rule"), text);
        var result = CliRunner.Run(dir.Path, "check", "deep.rule");
        Assert.True(result.ExitCode is 0 or 1, $"`plasticity check` on {depth} nested {kind} ended with exit code {result.ExitCode}: {Truncate(result.Error)}");
        if (result.ExitCode == 1) Assert.StartsWith("deep.rule(1,", result.Output, StringComparison.Ordinal);
    }

    /// <summary>Small files whose expansion by distributivity, or by substituting <c>let</c> bindings, is exponential:
    /// the compiler, run as `plasticity check` in its own process with a 768 MB heap, must answer within 30 s (a
    /// diagnostic such as "too many terms", or success), not hang or run out of memory.</summary>
    [Theory]
    [InlineData("binomials")]
    [InlineData("lets")]
    public async Task Exponential_expansion_is_refused_in_bounded_time_and_memory(string kind)
    {
        string text = kind == "binomials"
            ? "dW = " + string.Join("*", Enumerable.Range(0, 24).Select(i => $"(t{i % 10} + t{(i + 1) % 10})")) + "*W\n"
            : "let a0 = W\n" + string.Concat(Enumerable.Range(1, 40).Select(i => $"let a{i} = a{i - 1} + a{i - 1}\n")) + "dW = t3*a40\n";
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("blowup.rule"), text);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "plasticity.dll"), "check", "blowup.rule" }) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x30000000";
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool finished = true;
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                finished = false;
                process.Kill(entireProcessTree: true);
            }
        }

        string output = await stdout, error = await stderr;
        Assert.True(finished, $"`plasticity check` on {Escape(text)} was still running after 30 s");
        Assert.True(process.ExitCode is 0 or 1, $"`plasticity check` ended with exit code {process.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s: {Truncate(error)}");
        if (process.ExitCode == 1)
        {
            Assert.True(output.StartsWith("blowup.rule(", StringComparison.Ordinal) && !error.Contains("Unhandled exception", StringComparison.Ordinal),
                $"`plasticity check` failed without a diagnostic after {clock.Elapsed.TotalSeconds:F0} s: {Truncate(error)}");
        }
    }

    private static IReadOnlyList<string> ExampleTexts() => ExampleTextsCache.Value;

    private static readonly Lazy<IReadOnlyList<string>> ExampleTextsCache = new(() => RuleFiles.Paths.Select(File.ReadAllText).ToArray());

    private sealed class Tally
    {
        private int _total, _succeeded, _syntax, _other;
        public int Total => _total;
        public int Succeeded => _succeeded;
        public int SyntaxErrors => _syntax;
        public int OtherErrors => _other;

        public void Count(CompiledRule compiled)
        {
            Interlocked.Increment(ref _total);
            if (compiled.Succeeded) Interlocked.Increment(ref _succeeded);
            else if (compiled.Diagnostics.Any(d => d.Code == DiagnosticCode.SyntaxError)) Interlocked.Increment(ref _syntax);
            else Interlocked.Increment(ref _other);
        }
    }

    /// <summary>Runs one input through the front end and, if it compiles, the emitter; records whatever breaks an
    /// invariant instead of stopping, so that one run lists every kind of failure.</summary>
    private static void Check(string stem, string text, Tally tally, ConcurrentQueue<Failure> failures)
    {
        CompiledRule compiled;
        try
        {
            compiled = RuleFrontEnd.Compile(stem, text);
        }
        catch (Exception ex)
        {
            failures.Enqueue(new($"RuleFrontEnd.Compile threw {ex.GetType().Name}", $"{Truncate(ex.Message)} on {Escape(text)}"));
            return;
        }

        tally.Count(compiled);
        if (compiled.Model is not null)
        {
            if (compiled.Diagnostics.Count > 0) failures.Enqueue(new("a compiled rule has diagnostics", $"{compiled.Diagnostics[0]} on {Escape(text)}"));
            try
            {
                string emitted = KernelEmitter.Emit(compiled.Model);
                if (!emitted.Contains("class " + compiled.Model.ClassName + " ", StringComparison.Ordinal)) failures.Enqueue(new("the kernel class is missing", Escape(text)));
            }
            catch (Exception ex)
            {
                failures.Enqueue(new($"KernelEmitter.Emit threw {ex.GetType().Name}", $"{Truncate(ex.Message)} on {Escape(text)}"));
            }

            return;
        }

        if (compiled.Diagnostics.Count == 0)
        {
            failures.Enqueue(new("failed without a diagnostic", Escape(text)));
            return;
        }

        foreach (RuleDiagnostic d in compiled.Diagnostics)
        {
            string? problem = d.Code == DiagnosticCode.InternalError ? "an internal error"
                : string.IsNullOrWhiteSpace(d.Message) ? "an empty message"
                : d.Message.Any(char.IsControl) ? "a control character in the message"
                : SpanProblem(d.Span, text);
            if (problem is not null) failures.Enqueue(new($"{d.Id} with {problem}", $"{d.Span} `{Truncate(d.Message)}` on {Escape(text)}"));
        }
    }

    /// <summary>Null when the span lies inside the text and its lines/columns are those of its offsets ('\n' ends a line).</summary>
    internal static string? SpanProblem(SourceSpan span, string text)
    {
        if (span.Start < 0 || span.Length < 0 || span.Start + span.Length > text.Length) return "a span outside the text";
        if ((span.StartLine, span.StartColumn) != LineColumn(text, span.Start)) return "a span start whose line/column is not its offset's";
        if ((span.EndLine, span.EndColumn) != LineColumn(text, span.Start + span.Length)) return "a span end whose line/column is not its offset's";
        return null;
    }

    private static (int Line, int Column) LineColumn(string text, int offset)
    {
        int line = 0, lineStart = 0;
        for (int i = 0; i < offset; i++)
        {
            if (text[i] == '\n') { line++; lineStart = i + 1; }
        }

        return (line, offset - lineStart);
    }

    private sealed record Failure(string Kind, string Detail);

    /// <summary>Each kind of failure with its count and its first examples.</summary>
    private static string Summarize(IEnumerable<Failure> failures) => string.Join("\n", failures
        .GroupBy(f => f.Kind)
        .OrderByDescending(g => g.Count())
        .Select(g => $"{g.Count()} × {g.Key}, e.g.\n" + string.Join("\n", g.Take(3).Select(f => "    " + f.Detail))));

    private static string Truncate(string s) => s.Length <= 300 ? s : s.Substring(0, 300) + "…";

    /// <summary>The input as a C# string literal (cut after 300 characters), so that a failure can be pasted into a test.</summary>
    internal static string Escape(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text.Length <= 300 ? text : text.Substring(0, 300))
        {
            if (c is '"' or '\\') sb.Append('\\').Append(c);
            else if (c >= 0x20 && c < 0x7f) sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
        }

        sb.Append('"');
        if (text.Length > 300) sb.Append($" (+{text.Length - 300} more characters)");
        return sb.ToString();
    }
}
