// The JSON Schema of report.json ("xsave-report/1", explained field by field in SCHEMA.md) and a
// small validator for the subset of JSON Schema it uses (type, const, enum, required,
// properties, additionalProperties, items, minimum, pattern, $ref to $defs). No dependency:
// the CLI validates inputs of merge-reports with it, the tests validate every report.

import { PROPERTY_IDS, PROVED_PROPERTY_IDS } from '../properties/claims';

export type JsonSchema = {
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
};

const int: JsonSchema = { type: 'integer', minimum: 0 };
const str: JsonSchema = { type: 'string' };
const strOrNull: JsonSchema = { type: ['string', 'null'] };
const counts: JsonSchema = { type: 'object', additionalProperties: int };
const propId: JsonSchema = { enum: [...PROPERTY_IDS] };
const outcome: JsonSchema = { enum: ['intact', 'aborted', 'incomplete', 'lost'] };
const fixupMode: JsonSchema = { enum: ['kernel-default', 'none', 'pve'] };
const obj = (properties: Record<string, JsonSchema>, extra: Partial<JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  additionalProperties: false,
  ...extra,
});

/** obj() with some properties optional (fields added later, present only when they apply). */
const optional = (keys: string[], properties: Record<string, JsonSchema>): JsonSchema => ({ ...obj(properties), required: Object.keys(properties).filter((k) => !keys.includes(k)) });
// decision: added with the decision-space table (issue 14 item 3); older reports lack it
const propertyCoverage = optional(['decision'], { cases: int, batches: int, classes: counts, extra: counts, decision: counts });
const propertyDecision = obj({
  cases: int,
  feasible: int,
  reached: int,
  cells: { type: 'array', items: obj({ cell: { type: 'string', pattern: '^[01]{6}$' }, feasible: { type: 'boolean' }, cases: int }) },
});
const nullable = (s: JsonSchema): JsonSchema => ({ ...s, type: ['object', 'null'] });
const strs: JsonSchema = { type: 'array', items: str };
const num: JsonSchema = { type: 'number', minimum: 0 };
const intOrNull: JsonSchema = { type: ['integer', 'null'], minimum: 0 };
const proofStatus: JsonSchema = { enum: ['proved', 'counterexample'] };
const claimIdProof: JsonSchema = { enum: [...PROVED_PROPERTY_IDS] };
const stryker = obj({ total: int, killed: int, timeout: int, survived: int, noCoverage: int, ignored: int, errors: int, score: num, scoreCovered: num });
const explanation: JsonSchema = {
  ...obj({ file: str, line: { type: 'integer', minimum: 1 }, endLine: { type: 'integer', minimum: 1 }, mutator: str, original: str, replacement: str, class: str, explanation: str }),
  required: ['file', 'line', 'class', 'explanation'],
};

export const REPORT_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'xsave-report/1',
  title: 'xsave-harness report',
  ...obj({
    schema: { const: 'xsave-report/1' },
    kind: { enum: ['fuzz', 'review', 'merged'] },
    partial: { type: 'boolean' },
    partialReasons: { type: 'array', items: str },
    run: { $ref: '#/$defs/run' },
    environment: { $ref: '#/$defs/environment' },
    claims: { type: 'array', items: { $ref: '#/$defs/claim' } },
    coverage: { $ref: '#/$defs/coverage' },
    findings: { type: 'array', items: { $ref: '#/$defs/finding' } },
    negativeControls: { type: 'array', items: { $ref: '#/$defs/negativeControl' } },
    matrix: { $ref: '#/$defs/matrix' },
    shards: { type: ['object', 'null'], $ref: '#/$defs/shards' },
    errors: { type: 'array', items: str },
    verification: { type: ['object', 'null'], $ref: '#/$defs/verification' },
    realKernels: { type: ['object', 'null'] },
    knownFindings: { type: 'array', items: { $ref: '#/$defs/knownFinding' } },
    lifecycle: { type: ['object', 'null'] },
    decisionSpace: { type: ['object', 'null'], $ref: '#/$defs/decisionSpace' },
  }),
  // verification was added later: reports written before it (without the field) stay valid
  required: ['schema', 'kind', 'partial', 'partialReasons', 'run', 'environment', 'claims', 'coverage', 'findings', 'negativeControls', 'matrix', 'shards', 'errors'],
  $defs: {
    decisionSpace: obj({
      axes: strs,
      byProperty: obj({ P1: propertyDecision, P2: propertyDecision, P3: propertyDecision, P4: propertyDecision, P5: propertyDecision }),
    }),
    verification: obj({
      killMatrix: { $ref: '#/$defs/killMatrix' },
      proof: { type: ['object', 'null'], $ref: '#/$defs/proof' },
      mutation: { $ref: '#/$defs/mutation' },
    }),
    killMatrix: obj({
      source: str,
      available: { type: 'boolean' },
      error: strOrNull,
      seed: { type: ['integer', 'null'] },
      secondsPerMutant: { type: ['number', 'null'], minimum: 0 },
      recordedAt: strOrNull,
      recordedCommit: strOrNull,
      properties: { type: 'array', items: propId },
      catalogue: strs,
      staleness: obj({ stale: { type: 'boolean' }, missing: strs, extra: strs, changed: strs }),
      rows: {
        type: 'array',
        items: obj({
          mutant: str,
          description: str,
          control: { type: 'boolean' },
          expectedKiller: { type: ['string', 'null'], enum: [...PROPERTY_IDS, null] },
          equivalent: strOrNull,
          verdict: { enum: ['killed', 'equivalent', 'survived', 'equivalent-but-killed', 'control-ok', 'control-killed'] },
          killedBy: { type: 'array', items: propId },
          expectedKillerKilled: { type: ['boolean', 'null'] },
          cells: obj(
            Object.fromEntries(
              PROPERTY_IDS.map((p) => [p, nullable(obj({ killed: { type: 'boolean' }, numRuns: int, recordedTimeToKillMs: intOrNull, reason: strOrNull }))]),
            ),
          ),
          recordedElapsedMs: intOrNull,
        }),
      },
      summary: obj({ mutants: int, killed: int, equivalent: int, survived: int, score: num, ok: { type: 'boolean' } }),
      notKilled: strs,
      unexpectedKills: strs,
    }),
    proof: obj({
      fixup: str,
      description: str,
      claims: { type: 'array', items: obj({ id: claimIdProof, title: str, statement: str }) },
      groups: { type: 'array', items: obj({ label: str, kernels: strs }) },
      domain: strs,
      assumption: str,
      levels: { type: 'array', items: obj({ claim: str, status: str, what: str }) },
      runs: {
        type: 'array',
        items: obj({
          invariant: { type: 'boolean' },
          claims: { type: 'object', additionalProperties: proofStatus },
          results: { type: 'array', items: obj({ claim: claimIdProof, level: { enum: ['header fields', 'bytes'] }, group: str, kernels: strs, status: proofStatus, violation: strOrNull }) },
          proved: { type: 'boolean' },
        }),
      },
      brokenFixups: {
        type: ['array', 'null'],
        items: obj({
          name: str,
          description: str,
          mutant: strOrNull,
          claims: { type: 'object', additionalProperties: obj({ status: proofStatus, counterexampleGroups: strs, groups: int }) },
          levels: { type: 'object', additionalProperties: obj({ fields: str, bytes: str }) },
        }),
      },
    }),
    mutation: obj({
      source: str,
      available: { type: 'boolean' },
      error: strOrNull,
      origin: obj({ commit: strOrNull, date: strOrNull, framework: strOrNull, mutate: strs, mergedFrom: { type: 'array', items: obj({ input: str, files: strs }) } }),
      totals: stryker,
      files: { type: 'array', items: obj({ file: str, counts: stryker, sourceChanged: { type: ['boolean', 'null'] } }) },
      survivors: {
        type: 'array',
        items: obj({
          file: str,
          line: { type: 'integer', minimum: 1 },
          column: { type: 'integer', minimum: 0 },
          mutator: str,
          original: str,
          replacement: str,
          status: { enum: ['Survived', 'NoCoverage'] },
          class: strOrNull,
          explanation: strOrNull,
        }),
      },
      explanations: obj({ source: str, available: { type: 'boolean' }, error: strOrNull, entries: int, unmatched: { type: 'array', items: explanation } }),
      unexplained: int,
      byClass: counts,
    }),
    shard: obj({ index: { type: 'integer', minimum: 1 }, count: { type: 'integer', minimum: 1 } }),
    run: optional(['seedText'], {
      seed: { type: 'integer' },
      seedSource: { enum: ['date', 'option', 'fixed'] },
      seedText: str,
      shard: { type: ['object', 'null'], $ref: '#/$defs/shard' },
      workers: { type: ['integer', 'null'], minimum: 1 },
      budgetSeconds: { type: ['number', 'null'], minimum: 0 },
      batchRuns: { type: 'integer', minimum: 1 },
      maxFindings: { type: ['integer', 'null'], minimum: 1 },
      stopReason: strOrNull,
      fixup: obj({ name: str, path: strOrNull }),
      backend: { const: 'model' },
      properties: { type: 'array', items: propId },
      timing: {
        ...obj({ startedAt: str, finishedAt: str, elapsedSeconds: { type: 'number', minimum: 0 }, casesPerSecond: { type: 'number', minimum: 0 } }),
        type: ['object', 'null'],
      },
    }),
    environment: obj({
      deterministic: { type: 'boolean' },
      node: str,
      platform: strOrNull,
      arch: strOrNull,
      osRelease: strOrNull,
      cpus: { type: ['integer', 'null'], minimum: 1 },
      harnessVersion: str,
      packages: { type: 'object', additionalProperties: str },
      runningKernel: { ...obj({ release: str, variant: str }), type: ['object', 'null'] },
    }),
    claim: optional(['unconfirmed'], {
      id: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
      title: str,
      statement: str,
      method: obj({
        kind: { enum: ['random', 'exhaustive', 'proof', 'kvm-conformance'] },
        description: str,
        cases: { type: ['integer', 'null'], minimum: 0 },
        batches: { type: ['integer', 'null'], minimum: 0 },
        seed: { type: ['integer', 'null'] },
      }),
      result: { enum: ['holds', 'fails', 'not-run'] },
      findings: { type: 'array', items: str },
      counterexamples: { type: 'array', items: str },
      note: strOrNull,
      unconfirmed: strs,
    }),
    coverage: obj({
      cases: int,
      batches: int,
      byProperty: obj({ P1: propertyCoverage, P2: propertyCoverage, P3: propertyCoverage, P4: propertyCoverage, P5: propertyCoverage }),
      ioctl: obj({ cases: int, valid: int, leaked: int, other: int, rejected: int }),
    }),
    finding: obj({
      key: { type: 'string', pattern: '^[a-z0-9._-]+$' },
      property: propId,
      title: str,
      reason: str,
      error: strOrNull,
      seed: { type: 'integer' },
      numRuns: { type: 'integer', minimum: 1 },
      path: strOrNull,
      caseId: { type: ['string', 'null'], pattern: '^[a-z0-9._-]+$' },
      file: strOrNull,
      duplicate: { type: 'boolean' },
      rerun: str,
      replay: strOrNull,
      case: { type: ['object', 'null'] },
      caseError: strOrNull,
      counterexample: strOrNull,
      shard: { type: ['integer', 'null'], minimum: 1 },
    }),
    negativeControl: obj({
      fixup: str,
      description: str,
      caughtBy: propId,
      caught: { type: 'boolean' },
      seed: { type: 'integer' },
      numRuns: { type: 'integer', minimum: 1 },
      reason: strOrNull,
      path: strOrNull,
      caseId: strOrNull,
    }),
    shards: obj({
      count: { type: 'integer', minimum: 1 },
      present: { type: 'array', items: { type: 'integer', minimum: 1 } },
      missing: { type: 'array', items: { type: 'integer', minimum: 1 } },
      inputs: { type: 'array', items: str },
    }),
    // hosts: issue 14 item 6; absent in older reports
    matrix: optional(['hosts', 'unconfirmed'], {
      description: str,
      fixup: str,
      sourceHost: str,
      targetHosts: obj({ pku: str, 'no-pku': str }),
      hosts: obj({ sources: strs, targets: strs }),
      guestModels: obj({ 'no-xsave': str, 'xsave-no-pku': str, pku: str }),
      guestState: str,
      sources: { type: 'array', items: str },
      targets: { type: 'array', items: obj({ kernel: str, fixup: fixupMode, patched: { type: 'boolean' }, label: str }) },
      qemu: { type: 'array', items: str },
      conditions: {
        type: 'array',
        // sourceHost, targetHost: issue 14 item 6; absent in older reports
        items: optional(['sourceHost', 'targetHost'], { sourceHost: str, targetHost: str, hostPku: { enum: ['pku', 'no-pku'] }, qemu: { enum: ['qemu-8.0', 'qemu-8.2'] }, guest: { enum: ['no-xsave', 'xsave-no-pku', 'pku'] } }),
      },
      paths: {
        type: 'array',
        items: obj({
          source: str,
          target: str,
          fixup: fixupMode,
          patched: { type: 'boolean' },
          verdict: { enum: ['safe', 'refused', 'unsafe'] },
          counts: obj({ intact: int, aborted: int, incomplete: int, lost: int }),
          infeasible: int,
          problems: { type: 'array', items: str },
          outcomes: { type: 'array', items: outcome },
          feasible: { type: 'array', items: { type: 'boolean' } },
          leaked: { type: 'array', items: { type: 'boolean' } },
          fixupFired: { type: 'array', items: { type: 'boolean' } },
          details: { type: 'array', items: strOrNull },
        }),
      },
      unconfirmed: { type: 'array', items: obj({ subject: str, statement: str }) },
    }),
    knownFinding: obj({
      id: str,
      title: str,
      about: { enum: ['patch', 'kernel'] },
      evidence: str,
      replay: str,
      unconfirmed: strOrNull,
      reproduces: { type: 'boolean' },
    }),
  },
};

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
