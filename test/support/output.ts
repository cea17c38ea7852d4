/** Everything the process writes while `act` runs: where the Powertools logger's lines go. */
export async function captureOutput(act: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const keep = (chunk: unknown): boolean => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(keep);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(keep);
  try {
    await act();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return written.join('');
}
