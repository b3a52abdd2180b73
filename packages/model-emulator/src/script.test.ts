import { describe, expect, it } from 'vitest';
import { createScriptBook } from './script.js';

const input = (lastUserText: string, model = 'm', user?: string) => ({ model, user, lastUserText });

describe('createScriptBook', () => {
  it('serves a rule’s responses in order, then falls back to default', () => {
    const book = createScriptBook();
    book.add({ responses: [{ content: 'one' }, { content: 'two' }] });
    expect(book.take(input('x'))).toEqual({ content: 'one' });
    expect(book.take(input('x'))).toEqual({ content: 'two' });
    expect(book.take(input('x'))).toBeUndefined();
  });

  it('matches on model, user and substring, first matching rule first', () => {
    const book = createScriptBook();
    book.add({ model: 'big', responses: [{ content: 'big' }] });
    book.add({ user: 'alice', contains: 'weather', responses: [{ content: 'alice weather' }] });
    book.add({ responses: [{ content: 'anything' }] });
    expect(book.take(input('weather?', 'm', 'alice'))).toEqual({ content: 'alice weather' });
    expect(book.take(input('weather?', 'big'))).toEqual({ content: 'big' });
    expect(book.take(input('hello', 'm', 'alice'))).toEqual({ content: 'anything' });
    expect(book.size()).toBe(0);
  });

  it('cycles for `times` and keeps going forever when asked', () => {
    const book = createScriptBook();
    book.add({ contains: 'a', times: 3, responses: [{ content: '1' }, { content: '2' }] });
    book.add({ contains: 'b', times: 'forever', responses: [{ content: 'b' }] });
    expect([1, 2, 3, 4].map(() => book.take(input('a')))).toEqual([{ content: '1' }, { content: '2' }, { content: '1' }, undefined]);
    for (let i = 0; i < 10; i++) expect(book.take(input('b'))).toEqual({ content: 'b' });
    book.clear();
    expect(book.take(input('b'))).toBeUndefined();
  });
});
