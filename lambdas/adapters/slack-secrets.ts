import type { SecretSource } from '../app/ports';

/** Each Slack secret's two settings: a Secrets Manager secret id, or the value itself. */
export const SLACK_SECRET_SETTINGS = {
  SLACK_BOT_TOKEN: 'SLACK_BOT_TOKEN_SECRET_ID',
  SLACK_SIGNING_SECRET: 'SLACK_SIGNING_SECRET_ID',
} as const;

/**
 * Reads a Slack secret from the Secrets Manager secret its `…_SECRET_ID` setting names, or, in
 * local mode, as plain text from its own setting. Plain secrets in a Lambda's environment are
 * readable by anyone who can read the function's configuration, so they are refused there.
 */
export async function slackSecretFromEnvironment(
  env: NodeJS.ProcessEnv,
  secrets: SecretSource,
  name: keyof typeof SLACK_SECRET_SETTINGS,
): Promise<string | undefined> {
  const secretId = env[SLACK_SECRET_SETTINGS[name]];
  if (secretId) return (await secrets.get(secretId)).trim();
  const plainValue = env[name];
  if (!plainValue) return undefined;
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    throw new Error(
      `${name} is for local mode only; in AWS Lambda set ${SLACK_SECRET_SETTINGS[name]} to a Secrets Manager secret`,
    );
  }
  return plainValue;
}
