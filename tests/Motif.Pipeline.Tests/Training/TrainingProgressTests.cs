using Motif.Pipeline.Training;

namespace Motif.Pipeline.Tests.Training;

public sealed class TrainingProgressTests
{
    private static TrainingEpoch Epoch(int epoch, double map, double margin = double.NaN) =>
        new(epoch, epoch, 0, [], map, $"epoch-{epoch}", $"hash-{epoch}") { ValidationMargin = margin };

    [Fact]
    public void The_best_epoch_has_the_highest_map_whatever_its_margin()
    {
        Assert.Equal(2, TrainingProgress.BestOf([Epoch(0, 0.5, 0.3), Epoch(1, 0.6, 0.01), Epoch(2, 0.7, -0.2)]).Epoch);
    }

    [Fact]
    public void On_equal_map_the_larger_margin_wins_so_a_saturated_validation_does_not_always_keep_the_base_model()
    {
        Assert.Equal(2, TrainingProgress.BestOf([Epoch(0, 1.0, 0.05), Epoch(1, 1.0, 0.04), Epoch(2, 1.0, 0.09), Epoch(3, 1.0, 0.08)]).Epoch);
        // Training that blurred the same rankings loses to the base model.
        Assert.Equal(0, TrainingProgress.BestOf([Epoch(0, 1.0, 0.05), Epoch(1, 1.0, 0.02)]).Epoch);
    }

    [Fact]
    public void Without_margins_or_on_a_full_tie_the_earliest_wins()
    {
        Assert.Equal(0, TrainingProgress.BestOf([Epoch(0, 0.8), Epoch(1, 0.8), Epoch(2, 0.7)]).Epoch);
        Assert.Equal(1, TrainingProgress.BestOf([Epoch(0, 0.8), Epoch(1, 0.8, 0.1)]).Epoch);
        Assert.Equal(0, TrainingProgress.BestOf([Epoch(0, 0.8, 0.1), Epoch(1, 0.8, 0.1)]).Epoch);
    }
}
