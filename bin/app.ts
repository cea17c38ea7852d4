#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ActionApprovalsStack } from '../lib/action-approvals-stack';
import { CONTEXT_KEY, settingsFromContext } from '../lib/settings';

// `npx cdk deploy` with the settings in cdk.json's "action-approvals" context: no code to write.
const app = new App();
const settings = settingsFromContext(app.node.tryGetContext(CONTEXT_KEY));
new ActionApprovalsStack(app, settings.stackName, {
  approvals: settings.props,
  ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
  // Environment-agnostic unless the CLI knows the account: synth works offline.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'action-approvals: zero standing privilege for AI agents (approvals, scoped sessions, audit)',
});
// Synthesis stops on any AwsSolutions finding that is not acknowledged, with its reason, in the code.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
