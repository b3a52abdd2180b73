import { create, ScalarType, toBinary, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { contracts, type Contract } from '@kernos/wire';

/** Every contract in @kernos/wire, found by walking `contracts`, so a subject added later is fuzzed too. */
export function allContracts(): Contract[] {
  return Object.values(contracts).flatMap((group) => Object.values(group as Record<string, Contract>));
}

/** Any value of one scalar type, including its extremes. */
function scalarArbitrary(type: ScalarType, longAsString: boolean): fc.Arbitrary<unknown> {
  const long = (min: bigint, max: bigint) => fc.bigInt({ min, max }).map((v) => (longAsString ? v.toString() : v));
  switch (type) {
    case ScalarType.STRING:
      return fc.oneof(fc.string({ maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('', ' ', '{}', 'null', '../..', '\u0000'));
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 24 });
    case ScalarType.DOUBLE:
      return fc.double();
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer();
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return long(0n, 2n ** 64n - 1n);
    default:
      return long(-(2n ** 63n), 2n ** 63n - 1n);
  }
}

/** Known enum numbers mostly, now and then an unknown one (proto3 enums are open). */
function enumArbitrary(desc: DescEnum): fc.Arbitrary<number> {
  return fc.oneof({ arbitrary: fc.constantFrom(...desc.values.map((v) => v.number)), weight: 4 }, { arbitrary: fc.integer({ min: -5, max: 1000 }), weight: 1 });
}

function singleArbitrary(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarArbitrary(field.scalar, field.longAsString);
    case 'enum':
      return enumArbitrary(field.enum);
    case 'message':
      return messageInitArbitrary(field.message, depth + 1);
    case 'list': {
      const element =
        field.listKind === 'scalar'
          ? scalarArbitrary(field.scalar, field.longAsString)
          : field.listKind === 'enum'
            ? enumArbitrary(field.enum)
            : messageInitArbitrary(field.message, depth + 1);
      return fc.array(element, { maxLength: depth > 2 ? 0 : 3 });
    }
    case 'map': {
      const key = scalarArbitrary(field.mapKey, false).map((k) => String(k));
      const value =
        field.mapKind === 'scalar' ? scalarArbitrary(field.scalar, false) : field.mapKind === 'enum' ? enumArbitrary(field.enum) : messageInitArbitrary(field.message, depth + 1);
      return fc.dictionary(key, value, { maxKeys: depth > 2 ? 0 : 3 });
    }
  }
}

/**
 * An init object for `create(schema, init)` with every field set or left out at random, oneofs included,
 * recursing into message fields a few levels deep: well-formed messages of any contract, new ones included.
 */
export function messageInitArbitrary(schema: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of schema.members) {
    if (member.kind === 'oneof') {
      const choices = member.fields.map((field) => singleArbitrary(field, depth).map((value) => ({ case: field.localName, value })));
      parts[member.localName] = fc.oneof(fc.constant(undefined), ...choices);
    } else if (depth > 3 && member.fieldKind === 'message') {
      parts[member.localName] = fc.constant(undefined);
    } else {
      parts[member.localName] = fc.option(singleArbitrary(member, depth), { nil: undefined });
    }
  }
  return fc.record(parts).map((init) => Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)));
}

/** Encoded well-formed messages of a schema. */
export function validBytesArbitrary(schema: DescMessage): fc.Arbitrary<Uint8Array> {
  return messageInitArbitrary(schema).map((init) => toBinary(schema, create(schema, init as never)));
}

/** Well-formed bytes, damaged: truncated, a byte flipped, garbage appended or spliced in. */
export function mutatedBytesArbitrary(schema: DescMessage): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(validBytesArbitrary(schema), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.constantFrom('truncate', 'flip', 'append', 'splice'))
    .map(([bytes, at, value, extra, how]) => {
      const position = bytes.length === 0 ? 0 : at % bytes.length;
      switch (how) {
        case 'truncate':
          return bytes.slice(0, position);
        case 'flip': {
          const copy = bytes.length === 0 ? new Uint8Array([value]) : bytes.slice();
          copy[position] = (copy[position] ?? 0) ^ (value || 1);
          return copy;
        }
        case 'append':
          return new Uint8Array([...bytes, ...extra]);
        default:
          return new Uint8Array([...bytes.slice(0, position), ...extra, ...bytes.slice(position)]);
      }
    });
}

/** What a peer could send on a subject: random bytes, damaged messages, and well-formed ones. */
export function requestBytesArbitrary(schema: DescMessage): fc.Arbitrary<Uint8Array> {
  return fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedBytesArbitrary(schema), validBytesArbitrary(schema));
}

/** A seeded, fixed sample of request payloads for one contract (for sending over a real connection). */
export function randomPayloads(contract: Contract, count: number, seed: number): Uint8Array[] {
  return fc.sample(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedBytesArbitrary(contract.request)), { numRuns: count, seed });
}
