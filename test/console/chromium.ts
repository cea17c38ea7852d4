import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium, installed by .ci/run through apt; playwright never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a throwaway profile. The flags keep it off the network (the build
 * machine's network is closed) and runnable as root in a container.
 */
export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<HeadlessChromium> {
  const profile = await mkdtemp(join(tmpdir(), 'action-approvals-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
