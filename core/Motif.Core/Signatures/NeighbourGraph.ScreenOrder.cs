namespace Motif.Core.Signatures;

public sealed partial class NeighbourGraph
{
    /// <summary>
    /// Where the int8 screen keeps each signature row, and which columns each position is screened against, so that
    /// images signed in parts (<see cref="NeighbourGraphOptions.Parts"/>) cost only the pairs that count.
    /// </summary>
    /// <remarks>
    /// <para>With one signature per image, positions are rows and position p is screened against [0, p): the triangle.</para>
    /// <para>With P parts (a whole and P − 1 details per image), the N images' wholes come first, image by image, then
    /// from <see cref="DetailStart"/> (N rounded up to a multiple of 4, so column groups stay aligned; the gap rows are
    /// zeros) their details, image by image. A pair counts when it holds a whole and joins two images
    /// (<see cref="FoldParts"/>), and each such pair is screened once, from the later image's side:</para>
    /// <list type="bullet">
    /// <item>whole a against the wholes of images before it, [0, a), and their details, [DetailStart, DetailStart + (P − 1)·a);</item>
    /// <item>each detail of image b against the wholes of images before it, [0, b).</item>
    /// </list>
    /// <para>A whole meets every earlier image's whole and details, and a detail every earlier image's whole; a later
    /// image's rows meet it from their side. Detail ↔ detail and same-image pairs are never screened: about N²·(2P − 1)/2
    /// pairs where the triangle of all signatures has (N·P)²/2 (4.5 N² against 12.5 N² for the 5 parts of 2 × 2
    /// details). Every bound the screen checks is per pair, so the order changes its work and never its result.</para>
    /// </remarks>
    private readonly record struct ScreenOrder(int Parts, int Images, int DetailStart)
    {
        public static ScreenOrder Of(int rows, int parts) =>
            parts == 1 ? new(1, rows, rows) : new(parts, rows / parts, (rows / parts + 3) / 4 * 4);

        /// <summary>Positions in use, gap rows included.</summary>
        public int Positions => Parts == 1 ? Images : DetailStart + Images * (Parts - 1);

        public int Position(int row) =>
            Parts == 1 ? row
            : row % Parts == 0 ? row / Parts
            : DetailStart + row / Parts * (Parts - 1) + row % Parts - 1;

        public int Row(int position)
        {
            if (Parts == 1 || position < DetailStart)
            {
                return position * Parts;
            }
            var (image, detail) = Math.DivRem(position - DetailStart, Parts - 1);
            return image * Parts + detail + 1;
        }

        /// <summary>Position p is screened against the positions [0, this) (wholes, or every row with one part).</summary>
        public int WholeColumns(int position) => position < DetailStart ? position : (position - DetailStart) / (Parts - 1);

        /// <summary>Position p is screened against [DetailStart, DetailStart + this) (details; none with one part).</summary>
        public int DetailColumns(int position) => Parts == 1 || position >= DetailStart ? 0 : position * (Parts - 1);

        /// <summary>The positions of rows [firstRow, Images × Parts): the new rows of an append. Both columns' counts grow
        /// with the position within each range.</summary>
        public IEnumerable<(int Start, int End)> PositionsFrom(int firstRow)
        {
            if (Parts == 1)
            {
                yield return (firstRow, Images);
                yield break;
            }
            var firstImage = firstRow / Parts;
            yield return (firstImage, Images);
            yield return (DetailStart + firstImage * (Parts - 1), Positions);
        }
    }
}
