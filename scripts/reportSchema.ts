// Generates report/report.schema.json, the JSON Schema of report.json, from the TypeScript type
// `Report` (report/report.ts) with the compiler's own type checker, so the report is described
// once (issue 12: the schema used to be a third, hand-written description beside the types and
// SCHEMA.md). `npm run schema` writes it; test/report-schema.test.ts fails when it is stale.
//
// What it maps: interfaces and object literals (properties in declaration order, optional ones
// not required, no unknown fields), string/number/boolean/null, literal types and unions of them
// (enum or const), arrays, index signatures and Record<string, X> (additionalProperties), a
// named interface or alias used more than once as a $def. JSDoc tags on a property refine it:
// @integer, @minimum N, @pattern RE, and @legacyOptional (reports written before the field
// existed still validate without it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

import type { JsonSchema } from '../report/schema';

const ROOT = path.resolve(__dirname, '..');
export const REPORT_TS = path.join(ROOT, 'report', 'report.ts');
export const SCHEMA_FILE = path.join(ROOT, 'report', 'report.schema.json');

export function generateReportSchema(): JsonSchema {
  const program = ts.createProgram([REPORT_TS], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, resolveJsonModule: true, esModuleInterop: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(REPORT_TS)!;
  const reportDecl = sf.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Report')!;
  const defs: Record<string, JsonSchema> = {};
  const defining = new Set<string>();

  /** The project's own named object types become $defs (lib types such as Array do not). */
  function defName(type: ts.Type): string | null {
    const sym = type.aliasSymbol ?? type.getSymbol();
    if (!sym || !(sym.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) return null;
    const file = sym.declarations?.[0]?.getSourceFile().fileName ?? '';
    if (file.includes('node_modules') || !file.startsWith(ROOT)) return null;
    // lower-case first letter: the $defs of the hand-written schema were named so (#/$defs/verification)
    return sym.name[0]!.toLowerCase() + sym.name.slice(1);
  }

  function tags(decl: ts.Node | undefined): Map<string, string> {
    const out = new Map<string, string>();
    if (!decl) return out;
    for (const t of ts.getJSDocTags(decl)) out.set(t.tagName.text, typeof t.comment === 'string' ? t.comment.trim() : '');
    return out;
  }

  function objectSchema(type: ts.Type): JsonSchema {
    const props = checker.getPropertiesOfType(type);
    const index = type.getStringIndexType();
    if (!props.length && index) return { type: 'object', additionalProperties: schemaOf(index) };
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const p of props) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      const t = tags(decl);
      let s = schemaOf(checker.getNonNullableType(checker.getTypeOfSymbol(p)), !!(checker.getTypeOfSymbol(p).flags & ts.TypeFlags.Union) && isNullable(checker.getTypeOfSymbol(p)));
      if (t.has('integer')) s = { ...s, type: retype(s.type, 'integer') };
      if (t.has('minimum')) s = { ...s, minimum: Number(t.get('minimum')) };
      if (t.has('pattern')) s = { ...s, pattern: t.get('pattern')! };
      const doc = ts.displayPartsToString(p.getDocumentationComment(checker)).replace(/\s+/g, ' ').trim();
      if (doc) s = { ...s, description: doc };
      properties[p.name] = s;
      if (!(p.flags & ts.SymbolFlags.Optional) && !t.has('legacyOptional')) required.push(p.name);
    }
    return { type: 'object', required, properties, additionalProperties: index ? schemaOf(index) : false };
  }

  const isNullable = (t: ts.Type): boolean => t.isUnion() && t.types.some((x) => x.flags & ts.TypeFlags.Null);

  /** 'number' → 'integer' in a type or type list. */
  function retype(type: JsonSchema['type'], to: string): JsonSchema['type'] {
    if (Array.isArray(type)) return type.map((x) => (x === 'number' ? to : x));
    return type === 'number' ? to : type;
  }

  const withNull = (s: JsonSchema, nullable: boolean): JsonSchema => {
    if (!nullable) return s;
    if (s.enum) return { ...s, enum: [...s.enum, null] };
    if ('const' in s) return { enum: [s.const, null] };
    const base = s.type ?? 'object';
    return { ...s, type: [...(Array.isArray(base) ? base : [base]), 'null'] };
  };

  function schemaOf(type: ts.Type, nullable = false): JsonSchema {
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (type.isUnion()) {
      const parts = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
      const hasNull = nullable || type.types.some((t) => t.flags & ts.TypeFlags.Null);
      if (parts.length === 1) return schemaOf(parts[0]!, hasNull);
      const boolLits = parts.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
      const rest = parts.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
      if (boolLits.length === 2 && rest.length === 0) return withNull({ type: 'boolean' }, hasNull);
      if (parts.every((t) => t.isStringLiteral() || t.isNumberLiteral())) return withNull({ enum: parts.map((t) => (t as ts.LiteralType).value) }, hasNull);
      const prim = parts.map((t) => schemaOf(t));
      if (prim.every((s) => typeof s.type === 'string' && Object.keys(s).length === 1)) return withNull({ type: prim.map((s) => s.type as string) }, hasNull);
      return withNull({ type: 'object' }, hasNull); // a union of shapes: checked no deeper
    }
    if (type.flags & ts.TypeFlags.String) return withNull({ type: 'string' }, nullable);
    if (type.flags & ts.TypeFlags.Number) return withNull({ type: 'number' }, nullable);
    if (type.flags & ts.TypeFlags.Boolean) return withNull({ type: 'boolean' }, nullable);
    if (type.flags & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isStringLiteral() || type.isNumberLiteral()) return withNull({ const: type.value }, nullable);
    if (type.flags & ts.TypeFlags.BooleanLiteral) return withNull({ const: checker.typeToString(type) === 'true' }, nullable);
    if (checker.isArrayType(type) || checker.isTupleType(type)) {
      const args = checker.getTypeArguments(type as ts.TypeReference);
      const item = checker.isTupleType(type) ? {} : schemaOf(args[0]!); // no tuple in the report
      return withNull({ type: 'array', items: item }, nullable);
    }
    if (type.flags & ts.TypeFlags.Object) {
      const name = defName(type);
      if (!name) return withNull(objectSchema(type), nullable);
      if (!defs[name] && !defining.has(name)) {
        defining.add(name);
        defs[name] = objectSchema(type);
      }
      return nullable ? { type: ['object', 'null'], $ref: `#/$defs/${name}` } : { $ref: `#/$defs/${name}` };
    }
    throw new Error(`scripts/reportSchema.ts: no JSON Schema for the type ${checker.typeToString(type)}`);
  }

  const root = objectSchema(checker.getTypeAtLocation(reportDecl.name));
  const sortedDefs = Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]!]));
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'xsave-report/1', title: 'xsave-harness report (generated from report/report.ts by scripts/reportSchema.ts; do not edit)', ...root, $defs: sortedDefs };
}

export const schemaText = (s: JsonSchema): string => JSON.stringify(s, null, 1) + '\n';

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, schemaText(generateReportSchema()));
  process.stdout.write(`${path.relative(ROOT, SCHEMA_FILE)}\n`);
}
