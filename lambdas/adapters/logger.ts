import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of the runtime. Task tokens, chat signing secrets and credentials are never
 * passed to it; request ids are its correlation ids.
 */
export const logger = new Logger({ serviceName: 'action-approvals' });
