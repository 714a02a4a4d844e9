import { migrationInputSchema, migrationWorkflowId, describeIssues } from '../../workflows/input';

const valid = {
  source: { url: 'https://connection.keboola.com', projectId: 101, tokenRef: 'env:SOURCE_TOKEN' },
  destination: { url: 'https://connection.eu-central-1.keboola.com/', projectId: '201', tokenRef: 'file:/run/secrets/eu' },
};

function issues(input: unknown): string {
  const result = migrationInputSchema.safeParse(input);
  if (result.success) throw new Error('expected the input to be rejected');
  return describeIssues(result.error);
}

describe('migration input', () => {
  test('accepts stack URLs, numeric project IDs and token references, with defaults', () => {
    const input = migrationInputSchema.parse(valid);
    expect(input.destination).toEqual({ url: 'https://connection.eu-central-1.keboola.com', projectId: 201, tokenRef: 'file:/run/secrets/eu' });
    expect(input.requireApproval).toBe(true);
    expect(input.options.tableConcurrency).toBe(4);
    expect(migrationWorkflowId(input)).toBe('migrate-connection.keboola.com-101-to-connection.eu-central-1.keboola.com');
  });

  test('names the wrong field and says what is expected', () => {
    expect(issues({ ...valid, source: { ...valid.source, url: 'connection.keboola.com' } })).toMatch(/^source\.url: must be a URL/);
    expect(issues({ ...valid, source: { ...valid.source, url: 'https://connection.keboola.com/v2/storage' } })).toContain('without a path');
    expect(issues({ ...valid, destination: { ...valid.destination, projectId: 'abc' } })).toContain('destination.projectId');
  });

  test('refuses a raw token where a reference belongs', () => {
    expect(issues({ ...valid, source: { ...valid.source, tokenRef: '101-abcdefghijklmnopqrstuvwxyz' } })).toContain('never the token itself');
  });

  test('refuses the same project as source and destination', () => {
    expect(issues({ ...valid, destination: { ...valid.source } })).toContain('same project');
  });
});
