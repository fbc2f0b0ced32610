using PlasticityDsl.Runtime;
using PlasticityDsl.Runtime.MetaLearning;
using PlasticityDsl.Runtime.Reporting;
using Xunit;

namespace PlasticityDsl.Tests.MetaLearning;

/// <summary>The meta-trainer against synthetic objectives whose optimum and failures are known.</summary>
public sealed class MetaTrainerTests
{
    private static readonly string[] Names = ["t0", "t1", "t2", "t3"];

    /// <summary>
    /// Query loss 1 + Σ (θ_k − target_k)² over every k with a target (NaN: none), accuracy 1/(1 + that sum), gradient for the
    /// learned k; <see cref="Fail"/> may spoil chosen episodes. The loss does not depend on <c>learn</c>, so meta-tests (which
    /// ask for no gradient) see it too.
    /// </summary>
    private sealed class Quadratic(params double[] target) : IEpisodeObjective
    {
        public Func<Episode, EpisodeOutcome?>? Fail { get; init; }

        public List<(int Index, ulong InitSeed, int Learned)> Seen { get; } = [];

        public EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient)
        {
            Seen.Add((episode.Index, episode.InitSeed, learn.Length));
            double sum = 0;
            for (int k = 0; k < target.Length; k++)
                if (!double.IsNaN(target[k])) sum += (theta[k] - target[k]) * (theta[k] - target[k]);
            for (int i = 0; i < learn.Length; i++) gradient[i] = 2 * (theta[learn[i]] - target[learn[i]]);
            return Fail?.Invoke(episode) ?? new EpisodeOutcome(1 + sum, 1 / (1 + sum));
        }
    }

    private static EpisodeSampler Sampler(ulong seed = 5) =>
        new(EpisodeSamplerTests.Pool(), new EpisodeShape(Classes: 2, TrainPerClass: 2, QueryPerClass: 1), seed);

    private static MetaTrainerOptions Options(int episodes, params int[] learn) => new()
    {
        CoefficientNames = Names,
        Learn = learn,
        InitialTheta = [0.001f, 0.5f, 0.005f, 0f],
        Episodes = episodes,
        MetaTestEvery = 0,
    };

    private static MetaTrainingResult Run(IEpisodeObjective objective, MetaTrainerOptions options, EpisodeSampler? test = null) =>
        new MetaTrainer(objective, Sampler(), test, options).Run();

    [Fact]
    public void First_step_is_Adams_learning_rate_against_the_gradient_sign_and_unlearned_coefficients_stay()
    {
        var result = Run(new Quadratic(0.02, double.NaN, -0.01, double.NaN), Options(1, 0, 2) with { Stability = new MetaStability { KeepSigns = false } });
        // Bias-corrected Adam's first step is lr·sign(g): t0 (below its target) rises, t2 (above) falls.
        Assert.Equal(0.001f + 0.001f, result.FinalTheta[0], 1e-7f);
        Assert.Equal(0.005f - 0.001f, result.FinalTheta[2], 1e-7f);
        Assert.Equal(0.5f, result.FinalTheta[1]);
        Assert.Equal(0f, result.FinalTheta[3]);
        Assert.Equal([2 * (0.001 - 0.02), 2 * (0.005 + 0.01)], result.Episodes[0].Gradient.Select(g => Math.Round(g, 6)));
    }

    [Fact]
    public void Converges_to_the_optimum_of_a_quadratic()
    {
        var result = Run(new Quadratic(0.03, 0, 0.012, 0), Options(400, 0, 2) with { LearningRate = 3e-3 });
        Assert.Equal(0.03, result.FinalTheta[0], 1e-3);
        Assert.Equal(0.012, result.FinalTheta[2], 1e-3);
        Assert.True(result.Episodes[^1].QueryLoss < result.Episodes[0].QueryLoss);
        Assert.Equal(0, result.SkippedEpisodes);
    }

    [Fact]
    public void Default_start_is_theta0_at_1e_minus_3_and_the_rest_zero()
    {
        var trainer = new MetaTrainer(new Quadratic(0, 0, 0, 0), Sampler(), null, Options(0, 0) with { InitialTheta = null });
        Assert.Equal([0.001f, 0f, 0f, 0f], trainer.InitialTheta());
        Assert.Equal(3 * Math.Log(20), trainer.MaxQueryLoss, 12);
    }

    [Fact]
    public void Without_recovery_diverged_episodes_leave_theta_and_Adam_untouched_and_are_counted()
    {
        int[] bad = [3, 7, 8];
        var spoiled = new Quadratic(0.02, 0, 0.01, 0)
        {
            Fail = e => e.Index switch
            {
                3 => new EpisodeOutcome(double.NaN, 0.1),
                7 => new EpisodeOutcome(14.2, 0.2), // huge but finite, as the measured collapse
                8 => new EpisodeOutcome(2, 0.3, Diverged: true, DivergedStep: 117, DivergedLayer: 2),
                _ => null,
            },
        };
        var skipOnly = new MetaStability();
        var result = Run(spoiled, Options(20 + bad.Length, 0, 2) with { Stability = skipOnly });
        var clean = Run(new Quadratic(0.02, 0, 0.01, 0), Options(20, 0, 2) with { Stability = skipOnly });

        Assert.Equal(3, result.SkippedEpisodes);
        Assert.Equal(0, result.Rollbacks);
        Assert.Equal(bad, result.Episodes.Where(e => e.Skipped).Select(e => e.Episode));
        foreach (int e in bad) Assert.Equal(result.Episodes[e].Theta, result.Episodes[e + 1].Theta);
        Assert.Contains("not finite", result.Episodes[3].SkipReason, StringComparison.Ordinal);
        Assert.Contains("14.2 is above the threshold 8.987", result.Episodes[7].SkipReason, StringComparison.Ordinal);
        Assert.Contains("step 117 in layer 2", result.Episodes[8].SkipReason, StringComparison.Ordinal);
        Assert.Empty(result.Episodes[3].Gradient);
        // Adam's moments and step count did not see the bad episodes: the trajectory is the clean one with them removed.
        Assert.Equal(clean.FinalTheta, result.FinalTheta);
    }

    [Fact]
    public void A_diverged_episode_rolls_back_to_before_the_last_converged_step_and_halves_the_step()
    {
        var spoiled = new Quadratic(0.02, 0, 0.01, 0) { Fail = e => e.Index == 5 ? new EpisodeOutcome(double.NaN, 0.1) : null };
        var result = Run(spoiled, Options(12, 0, 2) with { Stability = new MetaStability { Recovery = new DivergenceRecovery() } });

        Assert.Equal(1, result.SkippedEpisodes);
        Assert.Equal(1, result.Rollbacks);
        Assert.True(result.Episodes[5].RolledBack);
        Assert.Equal([1, 1, 1, 1, 1, 0.5], result.Episodes.Take(6).Select(e => e.StepScale));
        // Episode 6 runs with the θ episode 4 ran with (the last converged one) and retakes its step, shorter: half the
        // learning rate, and no momentum (cleared at the rollback), so the step is the new gradient's share of Adam's.
        Assert.Equal(result.Episodes[4].Theta, result.Episodes[6].Theta);
        Assert.Equal(result.Episodes[4].Gradient, result.Episodes[6].Gradient);
        double fullStep = result.Episodes[5].Theta[0] - result.Episodes[4].Theta[0];
        double retaken = result.Episodes[7].Theta[0] - result.Episodes[6].Theta[0];
        Assert.True(fullStep > 0 && retaken > 0 && retaken < fullStep / 2);
        // Ten converged episodes in a row would give the full step back; here the scale is still halved.
        Assert.Equal(0.5, result.Episodes[^1].StepScale);
    }

    /// <summary>
    /// θ0 pulled towards 0.005, but every episode with θ0 below 0.003 diverges (NaN loss and gradient), as the inner loop did
    /// in Figure 8 once θ0 or Oja's θ2 approached 0. From 0.03 at a large rate Adam overshoots into that region.
    /// </summary>
    private sealed class CliffObjective : IEpisodeObjective
    {
        public EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient)
        {
            if (theta[0] < 0.003f)
            {
                gradient.Fill(double.NaN);
                return new EpisodeOutcome(double.NaN, 0.05, Diverged: true, DivergedStep: 40, DivergedLayer: 1);
            }
            double distance = theta[0] - 0.005;
            gradient[0] = 2 * distance;
            return new EpisodeOutcome(1 + distance * distance, 0.9);
        }
    }

    [Fact]
    public void A_trainer_driven_into_a_diverging_region_recovers_and_continues_where_skipping_alone_stays_stuck()
    {
        var options = Options(300, 0) with { InitialTheta = [0.03f, 0f, 0f, 0f], LearningRate = 4e-3 };
        var stuck = Run(new CliffObjective(), options);
        var recovered = Run(new CliffObjective(), options with { Stability = new MetaStability { Recovery = new DivergenceRecovery() } });

        // Skipping alone: once θ0 has stepped over the edge, no episode converges again and θ never moves.
        int firstDivergence = stuck.Episodes.First(e => e.Skipped).Episode;
        Assert.True(firstDivergence < 100);
        Assert.All(stuck.Episodes.Skip(firstDivergence), e => Assert.True(e.Skipped));
        Assert.True(stuck.FinalTheta[0] < 0.003f);

        // Recovery: the same first divergence, rolled back; θ settles at the optimum and the run keeps converging.
        Assert.Equal(firstDivergence, recovered.Episodes.First(e => e.Skipped).Episode);
        Assert.True(recovered.Rollbacks >= 1);
        Assert.Equal(recovered.Episodes.Count(e => e.RolledBack), recovered.Rollbacks);
        Assert.All(recovered.Episodes.Where(e => e.RolledBack), e => Assert.True(e.Skipped));
        Assert.All(recovered.Episodes.TakeLast(100), e => Assert.False(e.Skipped));
        Assert.Equal(0.005, recovered.FinalTheta[0], 1e-3);
        Assert.Equal(1, recovered.Episodes[^1].StepScale);
        Assert.All(recovered.Episodes, e => Assert.All(e.Theta, v => Assert.True(float.IsFinite(v))));
        Assert.All(recovered.FinalTheta, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Recovery_options_must_shrink_and_recover()
    {
        foreach (var recovery in new[] { new DivergenceRecovery { Shrink = 1 }, new DivergenceRecovery { MinStepScale = 0 }, new DivergenceRecovery { RecoverAfter = 0 } })
        {
            Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1, 0) with { Stability = new MetaStability { Recovery = recovery } }));
        }
    }

    [Fact]
    public void A_non_finite_gradient_with_a_finite_loss_is_skipped_too()
    {
        var objective = new NonFiniteGradient();
        var result = Run(objective, Options(2, 0));
        Assert.Equal(2, result.SkippedEpisodes);
        Assert.Equal(0.001f, result.FinalTheta[0]);
    }

    private sealed class NonFiniteGradient : IEpisodeObjective
    {
        public EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient)
        {
            gradient[0] = double.PositiveInfinity;
            return new EpisodeOutcome(1, 0.5);
        }
    }

    [Fact]
    public void A_loss_just_under_the_threshold_still_steps()
    {
        var objective = new Quadratic(1, 0, 0, 0) { Fail = _ => new EpisodeOutcome(4.99, 0.1) };
        var result = Run(objective, Options(3, 0) with { Stability = new MetaStability { MaxQueryLoss = 5 } });
        Assert.Equal(0, result.SkippedEpisodes);
        Assert.True(result.FinalTheta[0] > 0.001f);
    }

    [Fact]
    public void Keeping_signs_stops_a_coefficient_at_zero_instead_of_crossing_it()
    {
        // The objective pulls t2 (Oja's coefficient, say) to −0.01 from +0.005, as Adam did in the measured collapse.
        var kept = Run(new Quadratic(0.001, 0, -0.01, 0), Options(100, 2));
        var free = Run(new Quadratic(0.001, 0, -0.01, 0), Options(100, 2) with { Stability = new MetaStability { KeepSigns = false } });

        Assert.All(kept.Episodes, e => Assert.True(e.Theta[2] >= 0));
        Assert.Equal(0f, kept.FinalTheta[2]);
        Assert.True(kept.SignStops > 0);
        Assert.Equal(-0.01, free.FinalTheta[2], 2e-3);
        Assert.Equal(0, free.SignStops);
    }

    [Fact]
    public void A_coefficient_starting_at_zero_keeps_the_sign_of_its_first_step()
    {
        // t3 starts at 0; the first episodes pull it up, the later ones down: it may come back to 0, never below.
        var objective = new SwitchingTarget(switchAt: 20, first: 0.01, then: -0.01);
        var result = Run(objective, Options(120, 3));
        Assert.True(result.Episodes[20].Theta[3] > 0);
        Assert.All(result.Episodes, e => Assert.True(e.Theta[3] >= 0));
        Assert.Equal(0f, result.FinalTheta[3]);
    }

    private sealed class SwitchingTarget(int switchAt, double first, double then) : IEpisodeObjective
    {
        public EpisodeOutcome Evaluate(Episode episode, ReadOnlySpan<float> theta, ReadOnlySpan<int> learn, Span<double> gradient)
        {
            double target = episode.Index < switchAt ? first : then;
            gradient[0] = 2 * (theta[learn[0]] - target);
            return new EpisodeOutcome(1, 0.5);
        }
    }

    [Fact]
    public void Bounds_clamp_a_coefficient_and_are_counted()
    {
        var options = Options(60, 0) with { Stability = new MetaStability { Bounds = new Dictionary<int, CoefficientBounds> { [0] = new(0, 0.01) } } };
        var result = Run(new Quadratic(0.05, 0, 0, 0), options);
        Assert.Equal(0.01f, result.FinalTheta[0]);
        Assert.True(result.BoundStops > 0);
    }

    [Fact]
    public void L1_adds_lambda_times_the_sign_to_gradient_and_meta_loss()
    {
        var result = Run(new Quadratic(0.001, double.NaN, 0.005, double.NaN), Options(1, 0, 2) with { L1 = 0.5 });
        // At the optimum the query-loss gradient is 0, so only the penalty's subgradient is left.
        Assert.Equal([0.5, 0.5], result.Episodes[0].Gradient.Select(g => Math.Round(g, 6)));
        Assert.Equal(1 + 0.5 * (0.001 + 0.005), result.Episodes[0].MetaLoss, 6);
        Assert.True(result.FinalTheta[0] < 0.001f);
    }

    [Fact]
    public void Gradient_clipping_bounds_the_norm_Adam_sees()
    {
        var options = Options(1, 0, 2) with { Stability = new MetaStability { MaxGradientNorm = 0.01 } };
        var result = Run(new Quadratic(0.3, 0, 0.4, 0), options);
        double norm = Math.Sqrt(result.Episodes[0].Gradient.Sum(g => g * g));
        Assert.Equal(0.01, norm, 9);
    }

    [Fact]
    public void Per_coefficient_learning_rates_set_each_first_step()
    {
        var options = Options(1, 0, 2) with { LearningRates = new Dictionary<int, double> { [2] = 1e-4 }, Stability = new MetaStability { KeepSigns = false } };
        var result = Run(new Quadratic(1, 0, 1, 0), options);
        Assert.Equal(0.001f + 1e-3f, result.FinalTheta[0], 1e-7f);
        Assert.Equal(0.005f + 1e-4f, result.FinalTheta[2], 1e-7f);
    }

    [Fact]
    public void Moving_average_is_the_trailing_mean_of_query_accuracy()
    {
        var accuracies = new[] { 0.1, 0.2, 0.3, 0.4 };
        var objective = new Quadratic(0, 0, 0, 0) { Fail = e => new EpisodeOutcome(1, accuracies[e.Index]) };
        var result = Run(objective, Options(4, 0) with { MovingAverageWindow = 2 });
        Assert.Equal([0.1, 0.15, 0.25, 0.35], result.Episodes.Select(e => Math.Round(e.AccuracyMovingAverage, 12)));
    }

    [Fact]
    public void Meta_tests_run_the_same_held_out_episodes_before_every_N_and_at_the_end()
    {
        var objective = new Quadratic(0.02, 0, 0, 0);
        var test = Sampler(seed: 99);
        var result = Run(objective, Options(7, 0) with { MetaTestEvery = 3, MetaTestEpisodes = 4 }, test);

        Assert.Equal([0, 3, 6, 7], result.MetaTests.Select(t => t.AfterEpisodes));
        var testSeeds = Enumerable.Range(0, 4).Select(i => test.Sample(i).InitSeed).ToArray();
        Assert.Equal(7 + 4 * 4, objective.Seen.Count);
        Assert.Equal(testSeeds, objective.Seen.Take(4).Select(s => s.InitSeed));
        Assert.Equal(testSeeds, objective.Seen.TakeLast(4).Select(s => s.InitSeed));
        Assert.All(objective.Seen.Take(4), s => Assert.Equal(0, s.Learned)); // a meta-test asks for no gradient
        MetaTestRecord last = result.MetaTests[^1];
        Assert.Equal(result.FinalTheta, last.Theta);
        Assert.InRange(last.MeanAccuracy, last.AccuracyLower, last.AccuracyUpper);
        Assert.True(last.MeanAccuracy > result.MetaTests[0].MeanAccuracy);
    }

    [Fact]
    public void Same_seed_and_options_give_the_same_run_and_a_progress_line_per_episode()
    {
        var lines = new List<string>();
        var a = new MetaTrainer(new Quadratic(0.02, 0, 0.01, 0), Sampler(), null, Options(10, 0, 2)).Run(lines.Add);
        var b = Run(new Quadratic(0.02, 0, 0.01, 0), Options(10, 0, 2));
        Assert.Equal(a.Episodes.Select(e => e.Theta.ToArray()), b.Episodes.Select(e => e.Theta.ToArray()));
        Assert.Equal(10, lines.Count);
        Assert.StartsWith("meta 10/10  query acc (avg 10) ", lines[^1], StringComparison.Ordinal);
        Assert.Contains("t0=", lines[^1], StringComparison.Ordinal);
        Assert.Contains("skipped 0  rolled back 0  ETA ", lines[^1], StringComparison.Ordinal);
    }

    private sealed class CovarianceLike : ICompiledRule
    {
        public string Name => "cov";
        public string Source => "";
        public IReadOnlyList<int> Coefficients => [0, 10];
        public IReadOnlyList<RuleParameter> Parameters => [new("post_mean", 10, 0.5f)];
    }

    [Fact]
    public void Options_for_a_rule_name_theta_as_the_runtime_lays_it_out_and_final_values_key_it_by_name()
    {
        MetaTrainerOptions options = MetaTrainerOptions.ForRule(new CovarianceLike(), [0, 10]);
        Assert.Equal(["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "post_mean"], options.CoefficientNames);
        Assert.Equal([0.001f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5f], options.InitialTheta);

        var result = new MetaTrainer(new Quadratic([0.01, .. new double[9], 0.4]), Sampler(), null, options with { Episodes = 2 }).Run();
        Assert.Equal(result.FinalTheta[10], result.FinalValues()["post_mean"]);
        Assert.Equal(result.FinalTheta[0], result.FinalValues()["t0"]);
        Assert.Equal(11, result.FinalValues().Count);
    }

    [Fact]
    public void Inconsistent_options_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1)));
        Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1, 2, 0)));
        Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1, 4)));
        Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1, 0) with { InitialTheta = [0f] }));
        Assert.Throws<ArgumentException>(() => new MetaTrainer(new Quadratic(0), Sampler(), null, Options(1, 0) with { LearningRate = 0 }));
    }

    [Fact]
    public void Files_hold_settings_trajectories_and_meta_tests()
    {
        using var dir = new TempDirectory();
        var spoiled = new Quadratic(0.02, 0, 0.01, 0) { Fail = e => e.Index == 1 ? new EpisodeOutcome(double.NaN, 0) : null };
        var result = Run(spoiled, Options(3, 0, 2) with { MetaTestEvery = 2, MetaTestEpisodes = 2, Stability = new MetaStability { Recovery = new DivergenceRecovery() } }, Sampler(seed: 8));

        var (json, csv, metaTest) = MetaTrainingFiles.Write(dir.Path, "meta", result);

        string[] rows = File.ReadAllLines(csv);
        Assert.Equal("episode,t0,t1,t2,t3,meta_loss,query_loss,query_accuracy,accuracy_moving_average,skipped,skip_reason,rolled_back,step_scale", rows[0]);
        Assert.Equal(4, rows.Length);
        Assert.StartsWith("1,", rows[2], StringComparison.Ordinal);
        Assert.Contains(",NaN,NaN,0,", rows[2], StringComparison.Ordinal);
        Assert.EndsWith(",1,query loss is not finite,1,0.5", rows[2], StringComparison.Ordinal);
        Assert.Equal(["after_episodes", "t0", "t1", "t2", "t3", "mean_accuracy", "accuracy_lower", "accuracy_upper", "mean_query_loss", "diverged_episodes"], File.ReadAllLines(metaTest)[0].Split(','));
        Assert.Equal(4, File.ReadAllLines(metaTest).Length); // before, after 2, after 3

        var read = ResultsWriter.ReadJson<System.Text.Json.JsonElement>(json);
        Assert.Equal(5UL, read.GetProperty("train_seed").GetUInt64());
        Assert.Equal(8UL, read.GetProperty("test_seed").GetUInt64());
        Assert.Equal(1, read.GetProperty("skipped_episodes").GetInt32());
        Assert.Equal(["t0", "t2"], read.GetProperty("learned_names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(0.001, read.GetProperty("options").GetProperty("learning_rate").GetDouble());
        Assert.Equal(3, read.GetProperty("episodes").GetArrayLength());
        Assert.Equal(50, read.GetProperty("shape").GetProperty("train_per_class").GetInt32() * 25);
    }
}
