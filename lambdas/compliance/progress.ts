const WIDTH = 24;
const REDRAW_MS = 100;
const MiB = 1024 * 1024;

/**
 * A one-line progress bar on a terminal: the share of input bytes read, records and rate. Redrawn
 * at most ten times a second, because writing to a terminal per chunk would slow reading down.
 */
export class ProgressBar {
  private bytes = 0;
  private records = 0;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly terminal: NodeJS.WritableStream,
    private readonly label: string,
    /** All input bytes; 0 when unknown, which shows counts without a bar. */
    private readonly totalBytes: number,
  ) {}

  advance(bytes: number): void {
    this.bytes += bytes;
    this.draw();
  }

  recordsRead(records: number): void {
    this.records = records;
    this.draw();
  }

  /** Clears the line, so what follows on the terminal starts clean. */
  finish(): void {
    this.terminal.write('\r\x1b[K');
  }

  private draw(): void {
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = `${Math.round(this.records / seconds).toLocaleString('en-US')} records/s`;
    const counts = `${this.records.toLocaleString('en-US')} records · ${rate}`;
    if (this.totalBytes <= 0) {
      this.terminal.write(`\r\x1b[K${this.label} ${(this.bytes / MiB).toFixed(1)} MiB · ${counts}`);
      return;
    }
    const share = Math.min(this.bytes / this.totalBytes, 1);
    const filled = Math.round(share * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    const size = `${(this.bytes / MiB).toFixed(1)}/${(this.totalBytes / MiB).toFixed(1)} MiB`;
    this.terminal.write(`\r\x1b[K${this.label} ${bar} ${Math.floor(share * 100)}% ${size} · ${counts}`);
  }
}
