export * from './action-approvals';
export * from './action-approvals-stack';
export {
  ApprovalWorkflow,
  STATE,
  WORKFLOW_FAILED_ERROR,
  type ApprovalWorkflowProps,
  type WorkflowFunctions,
} from './approval-workflow';
export { AuditArchive, type AuditArchiveProps } from './audit-archive';
export { AuditExports, type AuditExportsProps } from './audit-exports';
export { auditQueries, type AuditQuery } from './athena-queries';
export {
  ExecutionRoles,
  MANAGED_TAG_KEY,
  SESSION_TAG_KEYS,
  type ExecutionRoleSettings,
  type ExecutionRolesProps,
} from './execution-roles';
export {
  HandlerFunction,
  HANDLER_RUNTIME,
  type HandlerFunctionProps,
  type HandlerName,
} from './handler-function';
export { settingsFromContext, CONTEXT_KEY, type DeploymentSettings } from './settings';
