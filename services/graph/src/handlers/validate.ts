import { KernosError } from '@kernos/errors';

/**
 * Returns the trimmed value of a text field or throws invalid_argument naming it. Lengths count Unicode code
 * points, so a limit means the same for "é" and "e".
 */
export function textField(field: string, value: string, { required, max }: { required: boolean; max: number }): string {
  const trimmed = value.trim();
  if (required && trimmed === '') throw new KernosError('invalid_argument', `${field} is required`);
  const length = [...trimmed].length;
  if (length > max) throw new KernosError('invalid_argument', `${field} is ${length} characters long; at most ${max} are allowed`);
  return trimmed;
}
