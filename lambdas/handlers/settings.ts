import * as z from 'zod';
import { IAM_ROLE_ARN } from '../core/identity';
import type { Environment } from './lambda-wiring';

/** A setting that names an IAM role by ARN, in any partition. */
export const roleArnSetting = z.string().regex(IAM_ROLE_ARN, 'must be an IAM role ARN');

/** A setting that holds JSON (the construct serialises maps of roles this way); pipe it to its shape. */
export const jsonSetting = z.string().transform((text, context) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    context.addIssue({ code: 'custom', message: 'is not JSON' });
    return z.NEVER;
  }
});

/**
 * A function's settings read from its environment, or an error naming each one at fault and why:
 * a function deployed with settings it cannot use fails at its first invocation, never later.
 */
export function parseSettings<Schema extends z.ZodType>(
  schema: Schema,
  environment: Environment,
): z.output<Schema> {
  const parsed = schema.safeParse(environment);
  if (!parsed.success) {
    throw new Error(
      `invalid settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
