using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PlasticityDsl.Language;
using PlasticityDsl.Runtime;
using PlasticityDsl.Language.Emit;
using PlasticityDsl.Language.Lowering;

namespace PlasticityDsl.Compiler;

/// <summary>
/// Compiles a <c>.rule</c> file at run time into the same kernel the source generator builds into a project:
/// the generator's pipeline (<see cref="RuleFrontEnd.Compile"/>, then <see cref="KernelEmitter.Emit"/>), then Roslyn
/// in memory, then a load into a private <see cref="AssemblyLoadContext"/>. Results are cached per process by a
/// SHA-256 of (name, text): compiling the same rule again returns the same instance. Thread-safe.
/// </summary>
/// <remarks>
/// References are the framework assemblies among the app's trusted platform assemblies, plus this runtime assembly
/// and the assemblies it references (found in the same list); no reference pack is needed. The app must run from
/// assemblies on disk (not a single-file bundle).
/// </remarks>
public static class RuleCompiler
{
    private static readonly ConcurrentDictionary<string, Lazy<Outcome>> Cache = new(StringComparer.Ordinal);
    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(LoadReferences, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>C# as the SDK that builds the generator's output reads it.</summary>
    internal static CSharpParseOptions ParseOptions { get; } = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);

    /// <summary>Compiles the rule <paramref name="text"/>, named <paramref name="name"/> unless a <c>rule Name</c>
    /// header names it, into a kernel.</summary>
    /// <exception cref="RuleCompilationException">The rule has errors (located in <paramref name="text"/>, reported
    /// as <c>NAME.rule(line,col)</c>), or the compiler failed on it (<see cref="RuleCompilationException.IsInternal"/>).</exception>
    /// <exception cref="ArgumentException">The rule is of another kind (a recurrent rule: use <see cref="Compile{TKernel}"/>).</exception>
    public static IPlasticityRule Compile(string text, string name = "rule") => Compile<IPlasticityRule>(text, name);

    /// <summary>Reads and compiles a <c>.rule</c> file; its stem names the rule unless a header does. Diagnostics are
    /// located in <paramref name="path"/> as given.</summary>
    /// <exception cref="RuleCompilationException">The rule has errors, or the compiler failed on it.</exception>
    /// <exception cref="ArgumentException">The rule is of another kind (a recurrent rule: use <see cref="CompileFile{TKernel}"/>).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IPlasticityRule CompileFile(string path) => CompileFile<IPlasticityRule>(path);

    /// <summary>Compiles a rule whose kernel is a <typeparamref name="TKernel"/>: <see cref="IPlasticityRule"/> for the
    /// rules of a layer's W and B, the recurrent kernel interface for rules of Wh, Wx and Wo, or <see cref="object"/>
    /// for whichever it is.</summary>
    /// <exception cref="RuleCompilationException">The rule has errors, or the compiler failed on it.</exception>
    /// <exception cref="ArgumentException">The rule's kernel is not a <typeparamref name="TKernel"/>.</exception>
    public static TKernel Compile<TKernel>(string text, string name = "rule") where TKernel : class
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        return As<TKernel>(Compile(text, name, name + ".rule"), name);
    }

    /// <summary>Reads and compiles a <c>.rule</c> file whose kernel is a <typeparamref name="TKernel"/>.</summary>
    /// <exception cref="RuleCompilationException">The rule has errors, or the compiler failed on it.</exception>
    /// <exception cref="ArgumentException">The rule's kernel is not a <typeparamref name="TKernel"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static TKernel CompileFile<TKernel>(string path) where TKernel : class
    {
        ArgumentNullException.ThrowIfNull(path);
        string text = RuleFileReader.Read(path);
        return As<TKernel>(Compile(text, Path.GetFileNameWithoutExtension(path), path), path);
    }

    private static TKernel As<TKernel>(object kernel, string what) where TKernel : class =>
        kernel as TKernel ?? throw new ArgumentException(
            $"`{what}` compiles to a kernel of another kind ({string.Join(", ", kernel.GetType().GetInterfaces().Where(i => i.Assembly == typeof(IPlasticityRule).Assembly).Select(i => i.Name))}), not {typeof(TKernel).Name}");

    private static object Compile(string text, string name, string path)
    {
        string key = ContentHash(name, text);
        Lazy<Outcome> entry = Cache.GetOrAdd(key, k => new Lazy<Outcome>(() => Build(k, name, text), LazyThreadSafetyMode.ExecutionAndPublication));
        Outcome outcome = entry.Value;
        if (outcome.Transient)
        {
            // An unexpected exception (say, out of memory) need not be a property of the rule: try again next time.
            Cache.TryRemove(new KeyValuePair<string, Lazy<Outcome>>(key, entry));
        }

        return outcome.Kernel ?? throw new RuleCompilationException(path, outcome.Diagnostics, outcome.CSharpErrors);
    }

    /// <summary>SHA-256 of the name and the text, each length-prefixed so that no two (name, text) pairs share an input.</summary>
    internal static string ContentHash(string name, string text)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string part in new[] { name, text })
        {
            hash.AppendData(BitConverter.GetBytes(part.Length));
            hash.AppendData(Utf16Bytes(part));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    // UTF-16 code units as they are, so that lone surrogates hash distinctly (UTF-8 would replace them).
    private static ReadOnlySpan<byte> Utf16Bytes(string s) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.AsSpan());

    private static Outcome Build(string key, string name, string text)
    {
        CompiledRule compiled;
        try
        {
            compiled = RuleFrontEnd.Compile(name, text);
        }
        catch (Exception ex)
        {
            // The generator's catch-all: a diagnostic, never a crash. Not cached: it may be out of memory, not the rule.
            return Outcome.Failed(Internal($"internal compiler error ({ex.GetType().Name}: {ex.Message}); please report it with the rule file")) with { Transient = true };
        }

        if (compiled.Model is null || compiled.Diagnostics.Count > 0)
        {
            return compiled.Diagnostics.Count > 0
                ? Outcome.Failed(compiled.Diagnostics.ToArray())
                : Outcome.Failed(Internal("internal compiler error: the front end produced neither a kernel nor a diagnostic; please report it with the rule file"));
        }

        try
        {
            return Load(key, compiled.Model);
        }
        catch (Exception ex)
        {
            return Outcome.Failed(Internal($"internal compiler error while compiling the kernel ({ex.GetType().Name}: {ex.Message}); please report it with the rule file")) with { Transient = true };
        }
    }

    private static Outcome Load(string key, KernelModel model)
    {
        string source = KernelEmitter.Emit(model);
        SyntaxTree tree = CSharpSyntaxTree.ParseText(source, ParseOptions, KernelEmitter.HintName(model), Encoding.UTF8);
        string assemblyName = $"{KernelEmitter.DefaultNamespace}.{model.ClassName}.{key.Substring(0, 16)}";
        CSharpCompilation compilation = CreateCompilation(assemblyName, new[] { tree });

        using var image = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = compilation.Emit(image);
        if (!result.Success)
        {
            string[] errors = result.Diagnostics
                .Where(d => d.Severity == DiagnosticSeverity.Error)
                .Select(d => d.ToString())
                .ToArray();
            return Outcome.Failed(
                Internal($"internal compiler error: the C# emitted for rule `{model.RuleName}` does not compile ({errors.Length} error{(errors.Length == 1 ? "" : "s")}); please report it with the rule file"),
                errors);
        }

        image.Position = 0;
        Assembly runtime = typeof(IPlasticityRule).Assembly;
        var context = new KernelLoadContext(assemblyName, AssemblyLoadContext.GetLoadContext(runtime) ?? AssemblyLoadContext.Default);
        Assembly assembly = context.LoadFromStream(image);
        string typeName = $"{KernelEmitter.DefaultNamespace}.{model.ClassName}";
        object? instance = assembly.GetType(typeName, throwOnError: false)
            ?.GetProperty("Instance", BindingFlags.Public | BindingFlags.Static)
            ?.GetValue(null);
        return instance is not null && instance.GetType().GetInterfaces().Any(i => i.Assembly == runtime)
            ? new Outcome(instance, Array.Empty<RuleDiagnostic>(), Array.Empty<string>(), Transient: false)
            : Outcome.Failed(Internal($"internal compiler error: the compiled kernel has no `{typeName}.Instance` implementing a kernel interface of the runtime; please report it with the rule file"));
    }

    /// <summary>A compilation of kernel sources against the references every runtime-compiled kernel gets.</summary>
    internal static CSharpCompilation CreateCompilation(string assemblyName, IEnumerable<SyntaxTree> trees) =>
        CSharpCompilation.Create(assemblyName, trees, LazyReferences.Value, new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            optimizationLevel: OptimizationLevel.Release,
            nullableContextOptions: NullableContextOptions.Enable,
            allowUnsafe: true,
            deterministic: true));

    /// <summary>The framework's assemblies (those of the trusted platform assemblies that sit beside
    /// System.Private.CoreLib), this runtime assembly, and the assemblies it references directly.</summary>
    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        Assembly runtime = typeof(IPlasticityRule).Assembly;
        string coreLibrary = typeof(object).Assembly.Location;
        if (string.IsNullOrEmpty(runtime.Location) || string.IsNullOrEmpty(coreLibrary))
        {
            throw new InvalidOperationException("run-time rule compilation needs the app's assemblies on disk; it does not work in a single-file bundle.");
        }

        string[] trusted = (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (trusted.Length == 0)
        {
            throw new InvalidOperationException("run-time rule compilation needs the host's TRUSTED_PLATFORM_ASSEMBLIES list, which this process does not have.");
        }

        string framework = Path.GetFullPath(Path.GetDirectoryName(coreLibrary)!);
        var referencedByRuntime = new HashSet<string>(
            runtime.GetReferencedAssemblies().Select(a => a.Name ?? "").Where(n => n.Length > 0), StringComparer.OrdinalIgnoreCase);
        var bySimpleName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [Path.GetFileNameWithoutExtension(runtime.Location)] = runtime.Location,
        };
        foreach (string path in trusted)
        {
            string simpleName = Path.GetFileNameWithoutExtension(path);
            bool inFramework = string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), framework, StringComparison.Ordinal);
            if ((inFramework || referencedByRuntime.Contains(simpleName)) && File.Exists(path))
            {
                bySimpleName.TryAdd(simpleName, path);
            }
        }

        return bySimpleName.Values
            .Order(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }

    private static RuleDiagnostic[] Internal(string message) =>
        new[] { new RuleDiagnostic(DiagnosticCode.InternalError, SourceSpan.Empty, message) };

    private sealed record Outcome(object? Kernel, IReadOnlyList<RuleDiagnostic> Diagnostics, IReadOnlyList<string> CSharpErrors, bool Transient)
    {
        public static Outcome Failed(IReadOnlyList<RuleDiagnostic> diagnostics, IReadOnlyList<string>? csharpErrors = null) =>
            new(null, diagnostics, csharpErrors ?? Array.Empty<string>(), Transient: false);
    }

    /// <summary>One kernel assembly; everything it references resolves in the context that loaded the runtime, so
    /// the kernel implements that context's <see cref="IPlasticityRule"/>. Not collectible: the cache keeps every
    /// kernel for the life of the process anyway.</summary>
    private sealed class KernelLoadContext(string name, AssemblyLoadContext host) : AssemblyLoadContext(name, isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName assemblyName) => host.LoadFromAssemblyName(assemblyName);
    }
}
