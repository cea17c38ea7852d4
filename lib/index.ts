export * from './action-approvals';
export * from './action-approvals-stack';
export { ApprovalFunctions, type ApprovalFunctionsProps } from './approval-functions';
export { ApprovalTables, type ApprovalTablesProps } from './approval-tables';
export { ApprovalsAlarms, type ApprovalsAlarmsProps } from './approvals-alarms';
export { DecisionApi, type DecisionApiProps } from './decision-api';
export { OutcomeQueues, type DeadLetterQueues, type OutcomeQueuesProps } from './outcome-queues';
export { secureBucket, type SecureBucketProps } from './secure-bucket';
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
