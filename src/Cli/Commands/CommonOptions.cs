using System.CommandLine;
using System.Globalization;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
using PlasticityDsl.Compiler;
using PlasticityDsl.Runtime.Experiments;

namespace PlasticityDsl.Cli.Commands;

/// <summary>Options shared by the training commands, and the parsing of their values.</summary>
internal static class CommonOptions
{
    public static Option<string?> Data() => new("--data") { Description = "directory holding the MNIST IDX files (default: $PLASTICITY_DATA, else a cache fetched on first use)" };

    public static Option<string> Layers(string defaultValue) => new("--layers") { Description = "layer sizes, input first", DefaultValueFactory = _ => defaultValue };

    public static Option<int> Samples(int defaultValue = 5000) => new("--samples") { Description = "training samples (online, batch size 1)", DefaultValueFactory = _ => defaultValue };

    public static Option<int> EvalEvery(int defaultValue) => new("--eval-every") { Description = "measure test accuracy every K samples", DefaultValueFactory = _ => defaultValue };

    public static Option<string> Activation() => new("--activation") { Description = "hidden activation: softplus (beta=10), relu, tanh, elu", DefaultValueFactory = _ => "softplus" };

    public static Option<string> Feedback() => new("--feedback")
    {
        Description = "sym: errors travel down through W (backprop); fa: through fixed random B, Xavier-initialized independently of W (feedback alignment), plastic if the rule has dB",
        DefaultValueFactory = _ => "sym",
    };

    public static FeedbackMode ParseFeedback(string text) =>
        FeedbackModes.Names.Contains(text)
            ? FeedbackModes.Parse(text)
            : throw new UsageException($"--feedback: `{text}` is not one of {string.Join(", ", FeedbackModes.Names)}");

    public static Option<int> Hidden() => new("--hidden") { Description = "hidden units n_h of the recurrent network (delayed-memory task)", DefaultValueFactory = _ => Runtime.Recurrent.RecurrentRunSpec.DefaultHidden };

    public static int CheckHidden(int hidden) => hidden >= 1 ? hidden : throw new UsageException("--hidden must be at least 1");

    public static Option<string> Order() => new("--order") { Description = "file: training images in file order from the first; shuffle: a seeded permutation", DefaultValueFactory = _ => "shuffle" };

    public static IReadOnlyList<int> ParseLayers(string text)
    {
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new UsageException($"--layers: `{text}` is not a comma-separated list of positive integers, e.g. 784,170,130,100,70,10");
        }
        catch (OverflowException)
        {
            throw new UsageException($"--layers: `{text}` has a size that is too large");
        }
    }

    public static SampleOrder ParseOrder(string text) => text switch
    {
        "file" => SampleOrder.File,
        "shuffle" => SampleOrder.Shuffle,
        _ => throw new UsageException($"--order: `{text}` is not one of file, shuffle"),
    };

    public const string RuleDescription = "a built-in rule name (a file stem of examples/rules) or the path of any .rule file, compiled on the fly";

    /// <summary>
    /// The rule <paramref name="nameOrPath"/> names: a path (it ends with <c>.rule</c>, contains a directory
    /// separator, or is an existing file that is not also a built-in name) is compiled at run time by
    /// <see cref="RuleCompiler"/>, whose <see cref="RuleCompilationException"/> CliErrors prints compiler-style with
    /// exit code 1; anything else is a built-in rule (a file stem of examples/rules).
    /// </summary>
    public static IPlasticityRule Rule(string nameOrPath)
    {
        IPlasticityRule? builtIn = GeneratedRules.All.FirstOrDefault(r => r.Name == nameOrPath);
        bool looksLikePath = nameOrPath.EndsWith(".rule", StringComparison.OrdinalIgnoreCase)
            || nameOrPath.Contains(Path.DirectorySeparatorChar) || nameOrPath.Contains(Path.AltDirectorySeparatorChar);
        if (looksLikePath || (builtIn is null && File.Exists(nameOrPath)))
        {
            if (!File.Exists(nameOrPath)) throw new UsageException($"--rule: `{nameOrPath}`: no such rule file");
            return RuleCompiler.CompileFile(nameOrPath);
        }

        if (GeneratedRules.Recurrent.Any(r => r.Name == nameOrPath))
        {
            throw new UsageException($"--rule: `{nameOrPath}` is a recurrent rule; it trains the recurrent network of the delayed-memory task: `plasticity train --rule {nameOrPath} …`, `plasticity grid --rule {nameOrPath} …` or `plasticity reproduce fig7`");
        }
        return builtIn
            ?? throw new UsageException($"--rule: no rule named `{nameOrPath}`; built-in rules: {string.Join(", ", GeneratedRules.All.Select(r => r.Name))}; or give the path of a .rule file");
    }

    /// <summary>A layer rule (<see cref="Rule"/>) or a recurrent one (<see cref="RecurrentRule"/>), whichever <paramref name="nameOrPath"/> names.</summary>
    public static ICompiledRule AnyRule(string nameOrPath) =>
        GeneratedRules.Recurrent.FirstOrDefault(r => r.Name == nameOrPath) as ICompiledRule
        ?? (GeneratedRules.All.Any(r => r.Name == nameOrPath) || !File.Exists(nameOrPath) ? Rule(nameOrPath) : RuleCompiler.CompileFile<ICompiledRule>(nameOrPath));

    /// <summary>The recurrent rule <paramref name="nameOrPath"/> names: a built-in (bptt, bptt_oja) or a .rule file with dWh/dWx/dWo.</summary>
    public static IRecurrentRule RecurrentRule(string nameOrPath)
    {
        if (GeneratedRules.Recurrent.FirstOrDefault(r => r.Name == nameOrPath) is { } builtIn) return builtIn;
        if (File.Exists(nameOrPath)) return RuleCompiler.CompileFile<IRecurrentRule>(nameOrPath);
        throw new UsageException($"--rule: no recurrent rule named `{nameOrPath}`; built-in recurrent rules: {string.Join(", ", GeneratedRules.Recurrent.Select(r => r.Name))}; or give the path of a .rule file");
    }

    /// <summary>Parses <c>t0=0.01,t2=0.001</c> into θ (t0..t9). A coefficient the rule does not read, or one
    /// it reads but is not given, is an error: a silent zero would train a different rule.</summary>
    public static float[] ParseTheta(string text, ICompiledRule rule)
    {
        float[] theta = NewTheta(rule);
        var given = new HashSet<int>();
        foreach ((int k, float value) in Assignments("--theta", text, rule))
        {
            given.Add(k);
            theta[k] = value;
        }

        // Parameters have defaults; t0..t9 do not.
        int[] missing = rule.Coefficients.Where(k => k < RunSpec.CoefficientCount && !given.Contains(k)).ToArray();
        if (missing.Length > 0)
        {
            throw new UsageException($"--theta: rule `{rule.Name}` reads {string.Join(", ", missing.Select(k => "t" + k))}; give {(missing.Length == 1 ? "it" : "them")}, e.g. --theta {string.Join(",", rule.Coefficients.Where(k => k < RunSpec.CoefficientCount).Select(k => $"t{k}=0.01"))}");
        }

        return theta;
    }

    /// <summary>The θ indices and values of <c>t0=0.01,t2=0.001</c> (or parameter names); each at most once.</summary>
    public static IEnumerable<(int Index, float Value)> Assignments(string option, string text, ICompiledRule rule)
    {
        var given = new HashSet<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2) throw new UsageException($"{option}: `{part}` is not of the form NAME=VALUE (tK with K in 0..9, or a parameter)");
            int k = ParseCoefficient(option, pair[0], rule);
            float value = ParseValue(option, pair[1]);
            if (!given.Add(k)) throw new UsageException($"{option}: {pair[0]} is given twice");
            yield return (k, value);
        }
    }

    /// <summary>θ for a rule: t0..t9 zero, then its parameters at their defaults.</summary>
    public static float[] NewTheta(ICompiledRule rule)
    {
        var theta = new float[RunSpec.CoefficientCount + rule.Parameters.Count];
        foreach (RuleParameter p in rule.Parameters) theta[p.Index] = p.Default;
        return theta;
    }

    public static int ParseCoefficient(string option, string name, ICompiledRule rule)
    {
        if (rule.Parameters.FirstOrDefault(p => p.Name == name) is { } parameter) return parameter.Index;
        if (name.Length != 2 || name[0] != 't' || !char.IsAsciiDigit(name[1]))
        {
            throw new UsageException($"{option}: `{name}` is neither a coefficient t0..t9 nor a parameter of rule `{rule.Name}`{(rule.Parameters.Count == 0 ? "" : " (" + string.Join(", ", rule.Parameters.Select(p => p.Name)) + ")")}");
        }

        int k = name[1] - '0';
        if (!rule.Coefficients.Contains(k))
        {
            throw new UsageException($"{option}: rule `{rule.Name}` does not use t{k}; it reads {Describe(rule)}");
        }

        return k;
    }

    public static float ParseValue(string option, string text)
    {
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
        {
            throw new UsageException($"{option}: `{text}` is not a finite number (use a '.' decimal point)");
        }

        // A silent zero would train a different rule.
        if (value == 0 && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double exact) && exact != 0)
        {
            throw new UsageException($"{option}: `{text}` is too small for single precision and would become 0 (the smallest is about 1.4e-45)");
        }

        return value;
    }

    /// <summary><see cref="FeedbackModes.CheckRule"/>, naming the option that gives the network its own B.</summary>
    public static void CheckFeedback(FeedbackMode mode, IPlasticityRule rule)
    {
        try
        {
            FeedbackModes.CheckRule(mode, rule);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{ex.Message} Use --feedback fa.", ex);
        }
    }

    /// <summary><see cref="RunSpec.Validate"/>, its complaints being about command-line values (exit code 2), each
    /// named by the option that sets it.</summary>
    public static void Validate(RunSpec spec) => AsUsage(spec.Validate);

    /// <summary><see cref="Runtime.Recurrent.RecurrentRunSpec.Validate"/>, its complaints being about command-line values (exit code 2).</summary>
    public static void Validate(Runtime.Recurrent.RecurrentRunSpec spec) => AsUsage(spec.Validate);

    private static void AsUsage(Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.ParamName is { } setting && SpecOptions.TryGetValue(setting, out string? option)
                ? $"{option} {ex.Message.Replace($" (Parameter '{setting}')", "", StringComparison.Ordinal).TrimEnd('.')}"
                : ex.Message);
        }
    }

    /// <summary>The option behind each setting that <see cref="RunSpec.Validate"/> or <see cref="Runtime.Recurrent.RecurrentRunSpec.Validate"/> checks.</summary>
    private static readonly Dictionary<string, string> SpecOptions = new(StringComparer.Ordinal)
    {
        [nameof(RunSpec.Layers)] = "--layers",
        [nameof(RunSpec.Theta)] = "--theta",
        [nameof(RunSpec.Samples)] = "--samples",
        [nameof(RunSpec.EvalEvery)] = "--eval-every",
        [nameof(Runtime.Recurrent.RecurrentRunSpec.Hidden)] = "--hidden",
    };

    /// <summary>The file a --rule value names, or null for a built-in rule (or none).</summary>
    public static string? RulePath(string? nameOrPath) =>
        nameOrPath is not null && !GeneratedRules.All.Any(r => r.Name == nameOrPath) && !GeneratedRules.Recurrent.Any(r => r.Name == nameOrPath) && File.Exists(nameOrPath)
            ? nameOrPath
            : null;

    /// <summary>Checks --samples and --eval-every as <see cref="RunSpec.Validate"/> would, before any data is read.</summary>
    public static void CheckSamples(int samples, int evalEvery)
    {
        AtLeast("--samples", samples);
        AtLeast("--eval-every", evalEvery);
        if ((samples - 1L) / evalEvery + 2 > RunSpec.MaxEvaluations)
        {
            throw new UsageException($"--samples {samples} with --eval-every {evalEvery} asks for {(samples - 1L) / evalEvery + 2} evaluations per run; at most {RunSpec.MaxEvaluations} are kept (raise --eval-every)");
        }
    }

    /// <summary>Checks --seeds for <paramref name="configurations"/> configurations against <see cref="SeedSweep.MaxRuns"/>.</summary>
    public static int CheckSeeds(int seeds, long configurations, int min = 1)
    {
        AtLeast("--seeds", seeds, min);
        try
        {
            SeedSweep.CheckRunCount(configurations, seeds);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException("--seeds: " + ex.Message);
        }

        return seeds;
    }

    /// <summary>Checks a count option: at least <paramref name="min"/>.</summary>
    public static int AtLeast(string option, int value, int min = 1) =>
        value >= min ? value : throw new UsageException($"{option} must be at least {min}, not {value}");

    private static string Describe(ICompiledRule rule) =>
        rule.Coefficients.Count == 0 ? "no coefficient" : string.Join(", ", rule.Coefficients.Select(rule.CoefficientName));
}
