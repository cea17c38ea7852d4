import fc from 'fast-check';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';

// Names every plain object answers to through its prototype.
const INHERITED = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
] as const;

describe('Class: IamDataReference', () => {
  it('describes a real action in its canonical case', async () => {
    await expect(new IamDataReference().describeAction('S3:getobject')).resolves.toMatchObject({
      name: 's3:GetObject',
      accessLevels: ['Read'],
    });
  });
});

describe('Attack class 4: a failure touches only its own request', () => {
  it.each(INHERITED.map((name) => [name]))('knows no action named "s3:%s"', async (name) => {
    await expect(new IamDataReference().describeAction(`s3:${name}`)).resolves.toBeUndefined();
  });

  it.each(INHERITED.map((name) => [name]))('knows no service named "%s"', async (name) => {
    await expect(new IamDataReference().describeAction(`${name}:GetObject`)).resolves.toBeUndefined();
  });

  it('answers unknown, never throws, for inherited names in any case and position', async () => {
    const iam = new IamDataReference();
    const inherited = fc
      .constantFrom(...INHERITED)
      .chain((name) => fc.constantFrom(name, name.toUpperCase(), name[0].toUpperCase() + name.slice(1)));
    const service = fc.oneof(inherited, fc.constantFrom('s3', 'iam', 'dynamodb', 'lambda'));
    const action = fc.oneof(inherited, fc.constantFrom('GetObject', 'CreateRole'));
    await fc.assert(
      fc.asyncProperty(service, action, async (serviceName, actionName) => {
        fc.pre(
          INHERITED.some((name) =>
            [serviceName, actionName].some((part) => part.toLowerCase() === name.toLowerCase()),
          ),
        );
        await expect(iam.describeAction(`${serviceName}:${actionName}`)).resolves.toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});
