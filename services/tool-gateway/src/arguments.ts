import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { KernosError } from '@kernos/errors';
import type { CatalogTool } from './catalog.js';

/** How many problems one error message lists; a model needs the first few, not a wall of text. */
const maxProblems = 5;
/** How many parameters the "it takes" hint lists. */
const maxParameters = 12;

/**
 * Parses a call's arguments_json. An empty string means "no arguments", which is what a caller sends for a
 * tool without parameters.
 */
export function parseArgumentsJson(json: string): Record<string, unknown> {
  if (json.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new KernosError('invalid_argument', `arguments_json is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new KernosError('invalid_argument', `arguments_json must be a JSON object of named arguments, got ${kind}`);
  }
  return value as Record<string, unknown>;
}

export interface ArgumentValidatorOptions {
  /**
   * Called once per schema that cannot be compiled; such a tool is called unchecked, because the server checks
   * its own arguments anyway and a gateway-side schema quirk must not make a tool uncallable (default: ignore).
   */
  onUncompilableSchema?: (tool: CatalogTool, error: Error) => void;
}

export interface ArgumentValidator {
  /** Throws KernosError('invalid_argument') naming every bad argument (up to a few) and what the tool takes. */
  check(tool: CatalogTool, args: Record<string, unknown>): void;
}

/**
 * Checks arguments against a tool's inputSchema before the call leaves the gateway: the model gets a precise,
 * actionable error at once, and a tool server never sees malformed input.
 */
export function createArgumentValidator(options: ArgumentValidatorOptions = {}): ArgumentValidator {
  // Servers declare their dialect with $schema; MCP says a schema without one is JSON Schema 2020-12.
  const ajvOptions: Options = { strict: false, allErrors: true, validateSchema: false, useDefaults: false, coerceTypes: false };
  const dialects = {
    draft07: withFormats(new Ajv(ajvOptions)),
    draft2019: withFormats(new Ajv2019(ajvOptions)),
    draft2020: withFormats(new Ajv2020(ajvOptions)),
  };
  const compiled = new WeakMap<object, ValidateFunction | 'unchecked'>();

  const validatorFor = (tool: CatalogTool): ValidateFunction | 'unchecked' => {
    const cached = compiled.get(tool.inputSchema);
    if (cached) return cached;
    const { $schema, $id: _id, ...schema } = tool.inputSchema as Record<string, unknown>;
    const dialect = typeof $schema !== 'string' ? dialects.draft2020 : /2020-12/.test($schema) ? dialects.draft2020 : /2019-09/.test($schema) ? dialects.draft2019 : dialects.draft07;
    let validate: ValidateFunction | 'unchecked';
    try {
      // $id is dropped: two servers may reuse one, and Ajv refuses a second schema with the same id.
      validate = dialect.compile(schema);
    } catch (error) {
      validate = 'unchecked';
      options.onUncompilableSchema?.(tool, error as Error);
    }
    compiled.set(tool.inputSchema, validate);
    return validate;
  };

  return {
    check(tool, args) {
      const validate = validatorFor(tool);
      if (validate === 'unchecked' || validate(args)) return;
      throw new KernosError('invalid_argument', invalidArgumentsMessage(tool, validate.errors ?? []), {
        details: { tool: tool.name, problems: validate.errors?.map((e) => `${e.instancePath} ${e.keyword}`) },
      });
    },
  };
}

/** The message a model reads to fix its call: what is wrong with which argument, then what the tool takes. */
export function invalidArgumentsMessage(tool: Pick<CatalogTool, 'name' | 'inputSchema'>, errors: readonly ErrorObject[]): string {
  const problems = [...new Set(errors.filter((e) => !isUmbrella(e)).map(describeProblem))];
  const listed = problems.length > 0 ? problems : errors.map(describeProblem);
  const shown = listed.slice(0, maxProblems).join('; ') + (listed.length > maxProblems ? `; and ${listed.length - maxProblems} more` : '');
  const takes = describeParameters(tool.inputSchema);
  return `invalid arguments for tool "${tool.name}": ${shown || 'arguments do not match the input schema'}${takes ? `. It takes: ${takes}` : ''}`;
}

/** anyOf/oneOf/if report a summary after the specific errors; the specific ones say more. */
function isUmbrella(error: ErrorObject): boolean {
  return error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if';
}

function describeProblem(error: ErrorObject): string {
  const at = argumentPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const subject = at ? `argument "${at}"` : 'the arguments';
  switch (error.keyword) {
    case 'required':
      return `missing required argument "${joinPath(at, String(params.missingProperty))}"`;
    case 'additionalProperties':
      return `unknown argument "${joinPath(at, String(params.additionalProperty))}"`;
    case 'unevaluatedProperties':
      return `unknown argument "${joinPath(at, String(params.unevaluatedProperty))}"`;
    case 'type':
      return `${subject} must be of type ${String(params.type).replace(/,/g, ' or ')}`;
    case 'enum':
      return `${subject} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${subject} must be ${JSON.stringify(params.allowedValue)}`;
    case 'format':
      return `${subject} must be a valid ${String(params.format)}`;
    default:
      return `${subject} ${error.message ?? `fails "${error.keyword}"`}`;
  }
}

/** JSON pointer "/items/0/name" → "items[0].name", the way a model would write it. */
export function argumentPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : joinPath(path, segment)), '');
}

function joinPath(parent: string, child: string): string {
  return parent ? `${parent}.${child}` : child;
}

/** "message (string, required), count (number)" from the top-level properties, to show the right shape. */
export function describeParameters(schema: unknown): string {
  const { properties, required } = (schema ?? {}) as { properties?: Record<string, { type?: unknown; enum?: unknown[] }>; required?: unknown };
  if (!properties || typeof properties !== 'object') return '';
  const requiredNames = new Set(Array.isArray(required) ? required.map(String) : []);
  const names = Object.keys(properties);
  const parts = names.slice(0, maxParameters).map((name) => {
    const property = properties[name] ?? {};
    const type = Array.isArray(property.type) ? property.type.join(' or ') : typeof property.type === 'string' ? property.type : property.enum ? 'enum' : 'any';
    return `${name} (${type}${requiredNames.has(name) ? ', required' : ''})`;
  });
  if (names.length > maxParameters) parts.push(`... ${names.length - maxParameters} more`);
  return parts.length > 0 ? parts.join(', ') : 'no arguments';
}

type AnyAjv = Ajv | Ajv2019 | Ajv2020;
type FormatsPlugin = (ajv: AnyAjv) => AnyAjv;

/** ajv-formats is CommonJS; under Node's ESM interop its function may arrive as the default or as .default. */
function withFormats<A extends AnyAjv>(ajv: A): A {
  const moduleValue = formatsModule as unknown as FormatsPlugin | { default: FormatsPlugin };
  const addFormats = typeof moduleValue === 'function' ? moduleValue : moduleValue.default;
  addFormats(ajv);
  return ajv;
}
