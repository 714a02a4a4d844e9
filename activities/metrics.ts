// What activities report to the worker's metrics (worker/metrics.ts implements it with prom-client). Optional in
// ActivityDeps: tests and tools that build activities without a worker simply leave it out.

export interface MigrationMetrics {
  /** Entities this worker created in a destination project, by type (buckets, tables, aliases, configurations, ...). */
  entitiesMigrated(type: string, count?: number): void;
  /** Table data moved: `export` = written from the source into the snapshot, `import` = loaded into the destination. */
  bytesCopied(direction: 'export' | 'import', bytes: number): void;
  /** An activity attempt that failed, by activity and failure type (InvalidToken, StackUnavailable, ...). */
  activityFailed(activityType: string, failureType: string): void;
}
