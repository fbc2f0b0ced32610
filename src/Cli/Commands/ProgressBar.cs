using System.Diagnostics;

namespace PlasticityDsl.Cli.Commands;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal (never in logs or CI).</summary>
/// <param name="start">Samples already done when the bar starts (a resumed run), left out of the rate.</param>
internal sealed class ProgressBar(int total, string label, int start = 0)
{
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Report(int done)
    {
        if (!_enabled) return;
        const int width = 30;
        int filled = (int)((long)width * done / Math.Max(total, 1));
        double rate = (done - start) / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{total} ({rate:F0}/s)");
        if (done >= total) Console.Error.WriteLine();
    }
}
