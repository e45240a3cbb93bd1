// report/report.schema.json is generated from the TypeScript types (scripts/reportSchema.ts,
// `npm run schema`): the committed file must be what the generator gives now.
import * as fs from 'node:fs';
import { SCHEMA_FILE, generateReportSchema, schemaText } from '../scripts/reportSchema';
import { REPORT_SCHEMA, validate } from '../report/schema';

const fresh = generateReportSchema();

test('report/report.schema.json is fresh; if not: npm run schema', () => {
  expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText(fresh));
  expect(REPORT_SCHEMA).toEqual(fresh);
});

test('the generated schema follows the types: required and optional fields, enums, nullable references, JSDoc refinements', () => {
  const claim = fresh.$defs!['claim']!;
  expect(claim.required).toContain('counterexamples');
  expect(claim.required).not.toContain('unconfirmed'); // optional in the type
  expect(claim.properties!['result']).toEqual({ enum: ['holds', 'fails', 'not-run'] });
  expect(claim.properties!['id']!.pattern).toBe('^[A-Za-z0-9_-]+$');
  expect(fresh.properties!['schema']).toEqual({ const: 'xsave-report/1' });
  expect(fresh.properties!['shards']).toEqual({ type: ['object', 'null'], $ref: '#/$defs/shardsInfo' });
  expect(fresh.required).not.toContain('verification'); // @legacyOptional
  expect(fresh.$defs!['findingRecord']!.properties!['numRuns']).toMatchObject({ type: 'integer', minimum: 1 });
});

test('negative control: the generated schema refuses what the types forbid, naming the field', () => {
  const shards = { count: 0, present: [1], missing: [], inputs: ['a.json'], extra: 1 };
  expect(validate(shards, { $ref: '#/$defs/shardsInfo' }, fresh)).toEqual(['$.count: 0 is below the minimum 1', '$: unknown field "extra"']);
  expect(validate({ ...shards, count: 1.5, extra: undefined, inputs: [3] }, { $ref: '#/$defs/shardsInfo' }, fresh)).toEqual(['$.count: expected integer, got number', '$.inputs[0]: expected string, got integer', '$: unknown field "extra"']);
});
