import { describe, expect, it } from 'vitest';
import { createAdmission } from './admission/admission.js';
import { TicketBook, type TicketRecord } from './tickets.js';

const setup = (notify: (record: TicketRecord) => Promise<void | 'gone'>) => {
  const admission = createAdmission({
    endpoints: [{ name: 'e', baseUrl: 'http://e.local/v1', model: 'm', maxConcurrent: 1, policy: 'fifo' }],
    leaseTtlMs: 600_000,
  });
  return { admission, book: new TicketBook({ admission, notify }) };
};
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TicketBook', () => {
  it('grants at once when a slot is free, queues otherwise, and is idempotent per ticket id', async () => {
    const notified: string[] = [];
    const { admission, book } = setup(async (r) => void notified.push(`${r.ticketId}:${r.state}`));
    expect((await book.enqueue('a', 'e', {}, 'wf-a')).state).toBe('granted');
    const b = await book.enqueue('b', 'e', {}, 'wf-b');
    expect(b.state).toBe('queued');
    expect(await book.enqueue('b', 'e', {}, 'wf-b')).toBe(b);
    expect(admission.stats()[0]).toMatchObject({ active: 1, queued: 1 });
    admission.release(book.get('a')!.grant!.id);
    await settle();
    expect(book.get('b')!.state).toBe('granted');
    // Only the queued ticket is signalled; the immediate grant went back in the reply.
    expect(notified).toEqual(['b:granted']);
    await expect(book.enqueue('x', 'nope', {})).rejects.toMatchObject({ code: 'not_found' });
    expect(book.get('x')).toBeUndefined();
  });

  it('withdraws a grant whose workflow is gone, so the slot goes to the next ticket at once', async () => {
    const { admission, book } = setup(async (r) => (r.ticketId === 'gone' ? 'gone' : undefined));
    await book.enqueue('holder', 'e', {}, 'wf');
    await book.enqueue('gone', 'e', {}, 'wf-gone');
    await book.enqueue('next', 'e', {}, 'wf-next');
    admission.release(book.get('holder')!.grant!.id);
    await settle();
    await settle();
    expect(book.get('gone')!.state).toBe('failed');
    expect(book.get('next')!.state).toBe('granted');
  });

  it('withdraw takes a queued ticket out of the queue', async () => {
    const { admission, book } = setup(async () => undefined);
    await book.enqueue('holder', 'e', {});
    await book.enqueue('w', 'e', {});
    expect(book.withdraw('w')).toBe(true);
    await settle();
    expect(book.get('w')).toMatchObject({ state: 'failed', error: { code: 'conflict' } });
    expect(admission.stats()[0]!.queued).toBe(0);
    expect(book.withdraw('never')).toBe(false);
  });
});
