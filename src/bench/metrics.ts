/**
 * Throughput of reading metrics from an experiment's output as it streams (MetricStream, fed
 * every chunk by the LocalExecutor), next to the bounded log it runs beside, on three kinds of
 * output in 64 KiB chunks: a training log (step lines, a metric line in ten), a tqdm progress
 * bar (`\r`, no newline), and one long line of filler. MB/s, median of 5 passes over ~130 MB.
 */
import * as fs from 'node:fs';
import { BoundedLog } from '../executors/log-sink.js';
import { MetricStream } from '../metrics/stream.js';

const KINDS: Array<[string, (i: number) => string]> = [
  [
    'training log',
    (i) =>
      i % 10 === 0
        ? `val_loss: ${(1 / (i + 1)).toFixed(6)}\n`
        : `step ${i} | loss ${(i % 997) / 1000} | lr 3e-4 | 123.4 ms\n`,
  ],
  [
    'tqdm progress bar',
    (i) => `\r 45%|████▌     | ${i}/100000 [00:12<00:15, 312.45it/s, loss=0.123]`,
  ],
  ['one long line', () => 'x'.repeat(100)],
];

function chunksOf(line: (i: number) => string, count: number): Buffer[] {
  const chunks: Buffer[] = [];
  let text = '';
  for (let i = 0; chunks.length < count; i++) {
    text += line(i);
    if (text.length >= 65536) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  return chunks;
}

function mbPerSecond(chunks: Buffer[], pass: () => void): number {
  const bytes = chunks.reduce((a, c) => a + c.length, 0);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    pass();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return bytes / 1e6 / (times[2]! / 1000);
}

export async function benchMetrics(): Promise<string> {
  const rows = ['output               MetricStream MB/s  BoundedLog MB/s'];
  for (const [name, line] of KINDS) {
    const chunks = chunksOf(line, 2000);
    const stream = mbPerSecond(chunks, () => {
      const s = new MetricStream();
      for (const c of chunks) s.write(c);
      s.end();
    });
    const log = mbPerSecond(chunks, () => {
      const fd = fs.openSync('/dev/null', 'w');
      const l = new BoundedLog(fd, 1 << 20, 1 << 20);
      for (const c of chunks) l.write(c);
      l.finish();
      fs.closeSync(fd);
    });
    rows.push(
      `${name.padEnd(20)} ${stream.toFixed(0).padStart(17)}  ${log.toFixed(0).padStart(15)}`,
    );
  }
  return rows.join('\n');
}
