// Some components have other IDs on other stacks (the Snowflake writer differs between AWS, Azure and GCP
// stacks). A configuration keeps its component when the destination offers it; otherwise it moves to the first
// equivalent the destination's API index lists.
export const EQUIVALENT_COMPONENTS: Record<string, readonly string[]> = {
  'keboola.wr-db-snowflake': ['keboola.wr-snowflake-blob-storage', 'keboola.wr-db-snowflake-gcs', 'keboola.wr-db-snowflake-gcs-s3'],
  'keboola.wr-snowflake-blob-storage': ['keboola.wr-db-snowflake', 'keboola.wr-db-snowflake-gcs', 'keboola.wr-db-snowflake-gcs-s3'],
  'keboola.wr-db-snowflake-gcs': ['keboola.wr-db-snowflake-gcs-s3', 'keboola.wr-db-snowflake', 'keboola.wr-snowflake-blob-storage'],
  'keboola.wr-db-snowflake-gcs-s3': ['keboola.wr-db-snowflake-gcs', 'keboola.wr-db-snowflake', 'keboola.wr-snowflake-blob-storage'],
};

/** The destination's ID for a component, or undefined when the destination has neither it nor an equivalent. */
export function translateComponentId(componentId: string, destinationComponents: ReadonlySet<string>): string | undefined {
  if (destinationComponents.has(componentId)) return componentId;
  return EQUIVALENT_COMPONENTS[componentId]?.find((candidate) => destinationComponents.has(candidate));
}
