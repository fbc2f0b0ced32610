using PlasticityDsl.Rules;
using PlasticityDsl.Runtime;

// Three classes, each a Gaussian blob around its own centre in 8 dimensions; a seeded generator, so every run is alike.
var random = new Random(1);
float[][] centres = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray())];
(float[] X, int Label) Sample()
{
    int label = random.Next(centres.Length);
    return ([.. centres[label].Select(c => c + 0.2f * (float)(random.NextDouble() - 0.5))], label);
}

double Accuracy(OnlineLearner learner)
{
    int correct = 0;
    for (int i = 0; i < 300; i++)
    {
        var (x, label) = Sample();
        if (learner.Predict(x) == label) correct++;
    }
    return correct / 300.0;
}

// An 8-16-3 MLP trained online, one sample per step, by the kernel the generator built from rules/my_bp.rule.
var network = new Mlp([8, 16, 3]);
network.Initialize(InitScheme.Xavier, seed: 1);
var learner = new OnlineLearner(network, MyBpRule.Instance);
float[] theta = new float[10];   // t0 … t9; my_bp reads t0, the learning rate
theta[0] = 0.1f;
double before = Accuracy(learner);
for (int step = 0; step < 3000; step++)
{
    var (x, label) = Sample();
    learner.Step(x, label, MyBpRule.Instance, theta);
}

Console.WriteLine(FormattableString.Invariant($"accuracy before {before:F3} after {Accuracy(learner):F3}"));
