import { App, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import fc from 'fast-check';
import { checkNameLength, physicalName, statementId, type NameRule } from '../../lib/names';

const stackName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
const constructId = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,40}$/);
const STATE_MACHINE: NameRule = { what: 'Step Functions state machine name', maxLength: 80 };

function scopeIn(name: string, id: string): Construct {
  return new Construct(new Stack(new App(), name), id);
}

describe('Function: physicalName', () => {
  test('property: within the service’s limit and character set, whatever the stack name and construct id', () => {
    fc.assert(
      fc.property(stackName, constructId, (name, id) => {
        const derived = physicalName(scopeIn(name, id), STATE_MACHINE);
        expect(derived.length).toBeLessThanOrEqual(80);
        expect(derived).toMatch(/^[A-Za-z0-9_-]+$/);
      }),
      { numRuns: 100 },
    );
  });

  test('property: two stacks of different names never derive the same name for one construct path', () => {
    fc.assert(
      fc.property(stackName, stackName, constructId, (first, second, id) => {
        fc.pre(first !== second);
        expect(physicalName(scopeIn(first, id), STATE_MACHINE)).not.toBe(
          physicalName(scopeIn(second, id), STATE_MACHINE),
        );
      }),
      { numRuns: 100 },
    );
  });

  test('a lowercase service gets a lowercase name with its own separator', () => {
    const name = physicalName(scopeIn('Approvals-Prod', 'Exports'), {
      what: 'Glue database name',
      maxLength: 255,
      disallowed: /[^a-z0-9_]/g,
      separator: '_',
      lowercase: true,
    });
    expect(name).toMatch(/^approvals_prod_exports_[0-9a-f]{8}$/);
  });
});

describe('Function: statementId', () => {
  test('is the statement’s name and a hash of the stack and path, within 64 characters', () => {
    const id = statementId(scopeIn(`A${'b'.repeat(127)}`, 'Approvals'), 'OnlyThisSystemPublishesOutcomes');
    expect(id).toMatch(/^OnlyThisSystemPublishesOutcomes-[0-9a-f]{12}$/);
  });
});

describe('Function: checkNameLength', () => {
  test('a name over its service’s limit is refused with the limit in the message', () => {
    expect(() => checkNameLength(81, 'q'.repeat(81), { what: 'SQS queue name', maxLength: 80 })).toThrow(
      `SQS queue name "${'q'.repeat(81)}" would be 81 characters; the service allows at most 80`,
    );
  });
});
