// The JSON Schema of report.json ("xsave-report/1"): report/report.schema.json, generated from
// the TypeScript types by scripts/reportSchema.ts (`npm run schema`; test/report-schema.test.ts
// fails when it is stale), and a small validator for the subset of JSON Schema it uses (type,
// const, enum, required, properties, additionalProperties, items, minimum, pattern, $ref to
// $defs) that names the field of every error. Before issue 12 the schema was written here by
// hand, a third description of the report beside the types and SCHEMA.md.
import schemaJson from './report.schema.json';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  pattern?: string;
  description?: string;
  $defs?: Record<string, JsonSchema>;
  $schema?: string;
  $id?: string;
  title?: string;
}

export const REPORT_SCHEMA: JsonSchema = schemaJson as JsonSchema;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(actual: string, wanted: string): boolean {
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

/** Errors of `value` against `schema` ("path: problem"), empty when valid. */
export function validate(value: unknown, schema: JsonSchema = REPORT_SCHEMA, root: JsonSchema = REPORT_SCHEMA, at = '$'): string[] {
  const errors: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const wanted = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!wanted.some((w) => typeMatches(actual, w))) return [`${at}: expected ${wanted.join(' or ')}, got ${actual}`];
    // A nullable reference: null satisfies it without looking further.
    if (actual === 'null') return [];
  }
  if (schema.$ref !== undefined) {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    const target = m ? root.$defs?.[m[1]!] : undefined;
    if (!target) return [`${at}: unresolvable $ref ${schema.$ref}`];
    errors.push(...validate(value, target, root, at));
  }
  if ('const' in schema && value !== schema.const) errors.push(`${at}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) errors.push(`${at}: ${value} is below the minimum ${schema.minimum}`);
  if (schema.pattern !== undefined && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${at}: "${value}" does not match ${schema.pattern}`);
  if (actual === 'object' && (schema.properties || schema.required || schema.additionalProperties !== undefined)) {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${at}: missing field "${k}"`);
    for (const [k, v] of Object.entries(o)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...validate(v, sub, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unknown field "${k}"`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(v, schema.additionalProperties, root, `${at}.${k}`));
    }
  }
  if (actual === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errors.push(...validate(v, schema.items!, root, `${at}[${i}]`)));
  return errors;
}

export function validateReport(value: unknown): string[] {
  return validate(value, REPORT_SCHEMA, REPORT_SCHEMA);
}
