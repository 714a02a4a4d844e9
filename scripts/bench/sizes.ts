export interface Size {
  name: string;
  tables: number;
  rows: number;
  configurations: number;
  tableConcurrency: number;
  configurationConcurrency: number;
  /** The emulators' storage job duration while this size runs (default: `--job-delay-ms`). */
  jobDelayMs?: number;
  /** Projects migrated at once on the one worker, each with its own source and destination project (default 1). */
  projects?: number;
}

// ~105 bytes of CSV per row (6 columns, quoted).
export const SIZES: Record<string, Size> = {
  small: { name: 'small', tables: 10, rows: 1_000, configurations: 50, tableConcurrency: 4, configurationConcurrency: 8 },
  medium: { name: 'medium', tables: 50, rows: 20_000, configurations: 500, tableConcurrency: 4, configurationConcurrency: 8 },
  large: { name: 'large', tables: 200, rows: 10_000, configurations: 2_000, tableConcurrency: 8, configurationConcurrency: 8 },
  '1gb': { name: '1gb', tables: 8, rows: 1_250_000, configurations: 100, tableConcurrency: 4, configurationConcurrency: 8 },
  // a fifth of huge, for a linear extrapolation when huge does not fit in the time at hand
  huge1k: { name: 'huge1k', tables: 1_000, rows: 10, configurations: 4_000, tableConcurrency: 16, configurationConcurrency: 16 },
  huge: { name: 'huge', tables: 5_000, rows: 10, configurations: 20_000, tableConcurrency: 16, configurationConcurrency: 16 },
  // real Storage API jobs take seconds: what the job latency costs when tables, not bytes, dominate
  latency: { name: 'latency', tables: 500, rows: 10, configurations: 50, tableConcurrency: 16, configurationConcurrency: 8, jobDelayMs: 2_000 },
  // fairness of one worker between migrations started at the same time
  many: { name: 'many', tables: 20, rows: 1_000, configurations: 50, tableConcurrency: 4, configurationConcurrency: 8, projects: 10 },
};

export const COLUMNS = ['id', 'name', 'email', 'amount', 'updated_at', 'note'];

export function tableIds(size: Size): string[] {
  return Array.from({ length: size.tables }, (_, i) => `in.c-bench${Math.floor(i / 100)}.t${i}`);
}

export const bucketOf = (tableId: string) => tableId.split('.').slice(0, 2).join('.');

/** Tables, configurations and buckets of one project: the entities of entities/s. */
export const entityCount = (size: Size) => size.tables + size.configurations + new Set(tableIds(size).map(bucketOf)).size;
