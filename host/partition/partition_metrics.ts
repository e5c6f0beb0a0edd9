// A partition's ring and backpressure figures (PartitionSet.metrics()). In a
// module of its own, free of Node types, because the library's public types
// (PipelineStats) include it and must compile without @types/node.
export interface PartitionMetrics {
  partition: number;
  inputFill: number;
  inputCapacity: number;
  /** inputFill / inputCapacity. */
  inputLevel: number;
  outputFill: number;
  outputLevel: number;
  staged: number;
  /** Total time this partition's input was full (source asked to pause), ms. */
  blockedMs: number;
  blocked: boolean;
  /** Records (data and control) accepted for this partition. */
  accepted: number;
  /** Output records drained from this partition. */
  emitted: number;
}
