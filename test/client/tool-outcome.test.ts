import { toolOutcome } from '../../client/mcp/server';

describe('Function: toolOutcome', () => {
  it('tells the model a simulated run changed nothing outside this machine, with the reason and result', () => {
    const answer = toolOutcome(
      {
        requestId: 'scale-checkout',
        outcome: 'simulated',
        detail: {
          reason: 'simulated in local mode: ecs:UpdateService was answered by the in-memory ECS services',
          approvers: ['carol@example.com'],
          result: { output: { service: { desiredCount: 3 } } },
          receipt: 'eyJ.x.y',
        },
      },
      undefined,
    );

    expect(answer).toEqual({
      requestId: 'scale-checkout',
      outcome: 'simulated',
      message:
        'Approved, but run in local mode against a stand-in, not against AWS: nothing outside this machine changed.',
      reason: 'simulated in local mode: ecs:UpdateService was answered by the in-memory ECS services',
      result: { output: { service: { desiredCount: 3 } } },
      approvedBy: ['carol@example.com'],
      receipt: 'eyJ.x.y',
    });
  });
});
