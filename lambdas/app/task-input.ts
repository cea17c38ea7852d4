import type * as z from 'zod';

/**
 * Reads the workflow's input to one of its task steps. Only the state machine calls these steps,
 * so a shape it never sends is a defect, thrown as a TypeError naming the fields at fault.
 */
export function parseTaskInput<Schema extends z.ZodType>(
  step: string,
  schema: Schema,
  input: unknown,
): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new TypeError(`${step} input is malformed: ${fields}`);
  }
  return parsed.data;
}
