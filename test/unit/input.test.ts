import { INPUT_LIMITS, inputSizeProblem, migrationInputSchema, migrationWorkflowId, describeIssues } from '../../workflows/input';

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

  test('an input over the documented size is refused with its size, the limit and its biggest field', () => {
    const skipComponents = Array.from({ length: 3000 }, (_, i) => `kds-team.app-component-number-${i}`);
    expect(inputSizeProblem({ ...valid, options: { skipComponents } })).toMatch(
      /^the input is 1\d\d KiB, more than the 64 KiB accepted; the biggest field is options\.skipComponents \(1\d\d KiB\): shorten it/,
    );
    expect(inputSizeProblem(valid)).toBeUndefined();
    expect(inputSizeProblem({ ...valid, requestedBy: 'ü'.repeat(INPUT_LIMITS.inputBytes / 2) })).toContain('the biggest field is requestedBy'); // UTF-8 bytes, not characters
  });

  test('fields have documented lengths', () => {
    expect(issues({ ...valid, requestedBy: 'x'.repeat(201) })).toBe('requestedBy: must be at most 200 characters');
    expect(issues({ ...valid, source: { ...valid.source, name: 'a'.repeat(64) } })).toContain('source.name: must be at most 63 characters');
    expect(issues({ ...valid, options: { skipComponents: Array.from({ length: 501 }, (_, i) => `c${i}`) } })).toBe('options.skipComponents: at most 500 components');
    expect(issues({ ...valid, destination: { ...valid.destination, url: `https://${'a'.repeat(2050)}.com` } })).toContain('destination.url: must be at most 2048 characters');
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
