/** The collector's version, reported in heartbeats and claims. */
export const EDGE_VERSION = "0.1.0"
