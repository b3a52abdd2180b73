import { createHash } from 'node:crypto';

/**
 * The form of a name that decides identity: Unicode NFKC (so full-width and composed forms agree), trimmed,
 * inner whitespace collapsed to one space, lower-cased. "Acme  Corp" and "acme corp" are the same entity.
 */
export function normaliseName(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/gu, ' ').toLowerCase();
}

/** sha256 as hex, cut to 32 characters (128 bits): plenty against accidental collisions, short enough to read. */
export function hash32(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('hex').slice(0, 32);
}

/** An entity's id is derived from its normalised name, so MERGE on the id de-duplicates entities. */
export function entityId(name: string): string {
  return hash32(normaliseName(name));
}

/**
 * A fact's id is a hash of normalised subject|predicate|object, so asserting the same fact again (from any run)
 * lands on the same node. A "|" or "\" inside a part is escaped first, so ("a|b", "c", "d") and ("a", "b|c", "d")
 * cannot collide.
 */
export function factId(subject: string, predicate: string, object: string): string {
  const escape = (part: string) => normaliseName(part).replace(/[\\|]/gu, (c) => `\\${c}`);
  return hash32([subject, predicate, object].map(escape).join('|'));
}

/**
 * Whether a fact's object names an entity (and so gets an OBJECT edge) or is a literal value. Literals are
 * numbers, booleans, dates and times, and prose (long or multi-line); everything else is taken as a name.
 * The graph issue may replace this guess with an explicit field on the request.
 */
export function objectNamesEntity(object: string): boolean {
  const value = object.trim();
  if (value === '' || value.length > 200 || /[\r\n]/u.test(value)) return false;
  if (/^[-+]?(\d+([.,]\d+)*|\d*\.\d+)(e[-+]?\d+)?\s*%?$/iu.test(value)) return false;
  if (/^(true|false|yes|no|null)$/iu.test(value)) return false;
  if (/^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[-+]\d{2}:?\d{2})?)?$/iu.test(value)) return false;
  return true;
}
