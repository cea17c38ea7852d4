import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { WorkflowGoneError } from '../../lambdas/app/errors';
import { StepFunctionsCallbacks, type CallbackRetry } from '../../lambdas/adapters/step-functions';
import { DENIED_ERROR } from '../../lambdas/core/outcome';

const sfn = mockClient(SFNClient);
const TOKEN = 'task-token-1';
const OUTPUT = { approvers: ['alice@example.com', 'bob@example.com'] };
const SUCCESS = { taskToken: TOKEN, output: JSON.stringify(OUTPUT) };

const throttled = () =>
  new SFNServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: {},
    message: 'Rate exceeded',
  });
const timedOut = () => new TaskTimedOut({ $metadata: {}, message: 'Task Timed Out' });

function callbacks(): { callbacks: StepFunctionsCallbacks; waits: number[] } {
  const waits: number[] = [];
  const retry: CallbackRetry = { attempts: 5, firstDelayMs: 100, sleep: async (ms) => void waits.push(ms) };
  return { callbacks: new StepFunctionsCallbacks(new SFNClient({}), retry), waits };
}

describe('Adapter: StepFunctionsCallbacks', () => {
  beforeEach(() => sfn.reset());

  it('retries a throttled SendTaskSuccess with doubling waits until it goes through', async () => {
    sfn.on(SendTaskSuccessCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    const { callbacks: subject, waits } = callbacks();

    await subject.approve(TOKEN, OUTPUT);

    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input)).toEqual([
      SUCCESS,
      SUCCESS,
      SUCCESS,
    ]);
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after the last attempt with the service’s error', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(throttled());
    const { callbacks: subject, waits } = callbacks();

    await expect(subject.approve(TOKEN, OUTPUT)).rejects.toThrow('Rate exceeded');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(5);
    expect(waits).toEqual([100, 200, 400, 800]);
  });

  it('reports a timed-out task as gone at once, without retrying', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(timedOut());
    const { callbacks: subject, waits } = callbacks();

    await expect(subject.approve(TOKEN, OUTPUT)).rejects.toThrow(WorkflowGoneError);
    expect([sfn.commandCalls(SendTaskSuccessCommand).length, waits]).toEqual([1, []]);
  });

  it('retries a throttled SendTaskFailure the same way', async () => {
    sfn.on(SendTaskFailureCommand).rejectsOnce(throttled()).resolves({});
    const { callbacks: subject, waits } = callbacks();

    await subject.deny(TOKEN, 'denied by alice@example.com');

    const failure = { taskToken: TOKEN, error: DENIED_ERROR, cause: 'denied by alice@example.com' };
    expect(sfn.commandCalls(SendTaskFailureCommand).map((call) => call.args[0].input)).toEqual([
      failure,
      failure,
    ]);
    expect(waits).toEqual([100]);
  });
});
