namespace PlasticityDsl.Generator;

/// <summary>Names of pipeline steps, for incrementality tests.</summary>
public static class TrackingNames
{
    public const string Compiled = nameof(Compiled);
    public const string Model = nameof(Model);
    public const string Kernels = nameof(Kernels);
    public const string BrokenRules = nameof(BrokenRules);
}
