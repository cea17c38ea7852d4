import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startChatCallbacks } from './chat-callbacks';
import { ActivityFeed } from './console/activity';
import { startConsole } from './console/server';
import { javaIsInstalled } from './dynamodb-local';
import { LocalRuntime } from './runtime';
import { describeActivity } from './transcript';
import { runSampleAgent } from './sample-agent';

const USAGE = `Usage: npm start [-- --persist] [--port 4280] [--no-samples] [--aws]

Runs action-approvals on this machine: DynamoDB Local (in-memory tables when Java is missing),
the workflow synthesized from the CDK construct, the local AWS gateway and the reviewer console.
Ctrl-C stops everything.

  --persist      keep tables (DynamoDB Local only) and action outputs under .local/ between runs
  --port N       the console's port (a busy port falls back to a free one); default 4280
  --no-samples   do not submit the three sample requests
  --aws          mint sessions with AWS STS and run approved actions in AWS, with your credentials
                 and the execution roles in EXECUTION_ROLES_JSON (everything else stays local)`;

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(6);
const say = (text: string) => process.stdout.write(`${elapsed()}  ${text}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      persist: { type: 'boolean', default: false },
      port: { type: 'string', default: '4280' },
      'no-samples': { type: 'boolean', default: false },
      aws: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const dataDir = join(process.cwd(), '.local');
  const feed = new ActivityFeed();
  feed.subscribe((activity) => {
    const line = describeActivity(activity);
    if (line) say(line);
  });
  const storage = javaIsInstalled() ? 'dynamodb-local' : 'in-memory';
  if (storage === 'in-memory')
    say(
      'Java not found: the tables are kept in memory for this run; install a Java runtime (e.g. `apt-get install openjdk-17-jre-headless`) to run on DynamoDB Local',
    );
  const tablesLabel =
    storage === 'in-memory'
      ? 'the in-memory tables'
      : `DynamoDB Local${values.persist ? ` (data in ${dataDir})` : ' (in memory)'}`;
  say(`starting ${tablesLabel} and synthesizing the workflow from the CDK construct…`);
  const local = await LocalRuntime.start({
    dataDir,
    storage,
    persist: values.persist,
    useAws: values.aws,
    onActivity: feed.publish,
  });
  if (local.dynamodbEndpoint) say(`DynamoDB Local on ${local.dynamodbEndpoint}`);
  say(`gateway for EventBridge, Step Functions, STS, KMS, SQS and action targets on ${local.gatewayUrl}`);
  const console = await startConsole(local, {
    port: Number(values.port),
    modeLabels: {
      sts: values.aws ? 'AWS STS (your credentials)' : 'local STS + IAM policy simulator',
      channels: ['console', ...chatChannels()],
    },
    activity: feed.subscribe,
  });
  say('MCP client configuration of the sample agent, for a desktop or IDE agent (its mcp.json):');
  process.stdout.write(
    `${JSON.stringify({ mcpServers: { 'action-approvals': local.mcpServerConfig('reporting-bot') } }, null, 2)}\n`,
  );
  say(`console ready: ${console.url}`);
  const chat = chatChannels();
  const callbacks = chat.length > 0 ? await startChatCallbacks(local.runtime) : undefined;
  if (callbacks)
    say(
      `${chat.join(' and ')} configured: expose ${callbacks.url} (/slack/interactions, /teams/messages) to receive clicks`,
    );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await console.stop();
    await callbacks?.stop();
    await local.stop();
    say('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  // The samples name sample accounts: against AWS they would only fail.
  if (!values['no-samples'] && !values.aws) {
    // A sample still waiting when Ctrl-C stops the gateway loses its connection: that is the stop.
    runSampleAgent(local, dataDir, say).catch((error: unknown) => {
      if (!stopping) fail(error);
    });
  }
}

/** Real Slack and Teams are used when their settings are in the environment; the console always. */
function chatChannels(): string[] {
  return [...(process.env.SLACK_CHANNEL_ID ? ['Slack'] : []), ...(process.env.TEAMS_APP_ID ? ['Teams'] : [])];
}

function fail(error: unknown): void {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

main().catch(fail);
