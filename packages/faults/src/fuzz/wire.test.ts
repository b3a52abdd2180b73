import { create, toBinary } from '@bufbuild/protobuf';
import { headers } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KernosError, errorCodes } from '@kernos/errors';
import { decodeReply, handle } from '@kernos/service-kit';
import { common } from '@kernos/wire';
import { allContracts, mutatedBytesArbitrary, requestBytesArbitrary, validBytesArbitrary } from '../wire-fuzz.js';

// Every request decoder exactly as a service runs it (service-kit's handle(), in front of every handler), and
// every reply decoder as the kernel client runs it: random bytes, damaged messages and well-formed ones. Seeded
// and bounded, so a failure names its seed and replays.
const runs = { numRuns: 300, seed: 20_261_127 };
const span = trace.getTracer('fuzz').startSpan('fuzz');
const contracts = allContracts();

describe('request decoders (service-kit handle)', () => {
  it('covers every contract in @kernos/wire', () => {
    expect(contracts.length).toBeGreaterThanOrEqual(8);
  });

  for (const contract of contracts) {
    it(`${contract.subject}: any payload is decoded or refused with invalid_argument naming the subject`, async () => {
      let reached = 0;
      const binding = handle(contract, async () => {
        reached += 1;
        return {};
      });
      await fc.assert(
        fc.asyncProperty(requestBytesArbitrary(contract.request), async (bytes) => {
          try {
            await binding.run(bytes, { subject: contract.subject, headers: undefined, span });
          } catch (error) {
            expect(error).toBeInstanceOf(KernosError);
            const { code, message, retryable } = error as KernosError;
            expect({ code, retryable }).toEqual({ code: 'invalid_argument', retryable: false });
            expect(message).toContain(`${contract.subject}: request is not a valid ${contract.request.typeName}`);
          }
        }),
        runs,
      );
      // The generator really produced decodable requests too, so the handler path was exercised.
      expect(reached).toBeGreaterThan(0);
    });

    it(`${contract.subject}: every well-formed request reaches the handler`, async () => {
      const binding = handle(contract, async () => ({}));
      await fc.assert(
        fc.asyncProperty(validBytesArbitrary(contract.request), async (bytes) => {
          await binding.run(bytes, { subject: contract.subject, headers: undefined, span });
        }),
        { ...runs, numRuns: 100 },
      );
    });
  }
});

describe('reply decoders (kernel client)', () => {
  for (const contract of contracts) {
    it(`${contract.subject}: a reply is decoded, or becomes a KernosError naming the subject`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedBytesArbitrary(contract.reply), validBytesArbitrary(contract.reply)), (bytes) => {
          try {
            decodeReply(contract, undefined, bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(KernosError);
            expect((error as KernosError).code).toBe('internal');
            expect((error as KernosError).message).toContain(`${contract.subject}: reply is not a valid ${contract.reply.typeName}`);
          }
        }),
        runs,
      );
    });
  }

  it('a service error with any status and body becomes a KernosError with a known code', () => {
    const [contract] = contracts;
    const errorBody = fc.oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc
        .record({ code: fc.oneof(fc.constantFrom(...errorCodes), fc.string({ maxLength: 12 })), message: fc.string({ maxLength: 40 }), retryable: fc.boolean() })
        .map((body) => toBinary(common.ErrorBodySchema, create(common.ErrorBodySchema, body))),
    );
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 999 }).map(String), fc.string({ minLength: 1, maxLength: 6 })), fc.string({ maxLength: 40 }), errorBody, (status, description, body) => {
        const h = headers();
        h.set('Nats-Service-Error-Code', status);
        h.set('Nats-Service-Error', description);
        let thrown: unknown;
        try {
          decodeReply(contract!, h, body);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(KernosError);
        expect(errorCodes).toContain((thrown as KernosError).code);
        expect((thrown as KernosError).message).not.toBe('');
      }),
      runs,
    );
  });
});
