using System.CommandLine;
using System.Globalization;
using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;
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

    /// <summary>The built-in rule named <paramref name="name"/> (a file stem of examples/rules).</summary>
    public static IPlasticityRule Rule(string name) =>
        GeneratedRules.All.FirstOrDefault(r => r.Name == name)
        ?? throw new UsageException($"--rule: no rule named `{name}`; built-in rules: {string.Join(", ", GeneratedRules.All.Select(r => r.Name))}");

    /// <summary>Parses <c>t0=0.01,t2=0.001</c> into θ (t0..t9). A coefficient the rule does not read, or one
    /// it reads but is not given, is an error: a silent zero would train a different rule.</summary>
    public static float[] ParseTheta(string text, IPlasticityRule rule)
    {
        var theta = new float[RunSpec.CoefficientCount];
        var given = new HashSet<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2) throw new UsageException($"--theta: `{part}` is not of the form tK=VALUE with K in 0..9");
            int k = ParseCoefficient("--theta", pair[0], rule);
            float value = ParseValue("--theta", pair[1]);
            if (!given.Add(k)) throw new UsageException($"--theta: t{k} is given twice");
            theta[k] = value;
        }

        int[] missing = rule.Coefficients.Where(k => !given.Contains(k)).ToArray();
        if (missing.Length > 0)
        {
            throw new UsageException($"--theta: rule `{rule.Name}` reads {string.Join(", ", missing.Select(k => "t" + k))}; give {(missing.Length == 1 ? "it" : "them")}, e.g. --theta {string.Join(",", rule.Coefficients.Select(k => $"t{k}=0.01"))}");
        }

        return theta;
    }

    /// <summary>`tK` → K, checking that the rule reads t_K.</summary>
    public static int ParseCoefficient(string option, string name, IPlasticityRule rule)
    {
        if (name.Length != 2 || name[0] != 't' || !char.IsAsciiDigit(name[1]))
        {
            throw new UsageException($"{option}: `{name}` is not a coefficient name t0..t9");
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

        return value;
    }

    private static string Describe(IPlasticityRule rule) =>
        rule.Coefficients.Count == 0 ? "no coefficient" : string.Join(", ", rule.Coefficients.Select(k => "t" + k));
}
