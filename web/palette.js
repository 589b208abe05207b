// Cluster colours shared by the map and the whole-collection reachability plot, so that a cluster has one colour in
// both: Tableau 10 without its grey, which marks images in no cluster. Colours repeat beyond nine clusters, so nearby
// clusters may share one: the pictures show where families lie, the clusters view says which is which.
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
export const NOISE = '#b8b8b8';

/** The colour of a cluster index as the map and the plot publish it (−1: in no cluster). */
export const colourOf = (cluster) => (cluster < 0 ? NOISE : PALETTE[cluster % PALETTE.length]);
