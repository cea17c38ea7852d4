/** An IAM role's ARN, in any partition, with the characters IAM allows in a role's path and name. */
export const IAM_ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/**
 * Whether two identity strings name the same principal. Case is ignored (e-mail addresses, AAD
 * object ids, IAM names all compare so), and an IAM role is the same principal as every session
 * of it (`arn:aws:sts::<account>:assumed-role/<role>/<session>`), whatever the role's path.
 */
export function sameIdentity(a: string, b: string): boolean {
  const left = a.trim().toLowerCase();
  const right = b.trim().toLowerCase();
  if (left === right) return true;
  const roleA = roleOf(left);
  const roleB = roleOf(right);
  if (!roleA || !roleB || roleA.key !== roleB.key) return false;
  // Two different sessions of one role are two people (IAM Identity Center names sessions by user).
  return roleA.session === undefined || roleB.session === undefined;
}

function roleOf(arn: string): { key: string; session?: string } | undefined {
  const role = /^arn:[^:]+:iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(arn);
  if (role) return { key: `${role[1]}:${role[2]}` };
  const session = /^arn:[^:]+:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  return session ? { key: `${session[1]}:${session[2]}`, session: session[3] } : undefined;
}
