#!/usr/bin/env node
// A cat-like server: every byte it reads on stdin goes back out on stdout,
// unchanged. At stdin EOF it exits 0 once stdout (and stderr) are flushed.
// With $PEER_STDERR_BYTES it first writes that many bytes of log lines
// ("echo: nnn...", $PEER_STDERR_LINE bytes each, default 1024) to stderr;
// node queues what the pipe does not take yet.
const noise = Number(process.env.PEER_STDERR_BYTES || 0);
if (noise > 0) {
  const line = `echo: ${'n'.repeat(Number(process.env.PEER_STDERR_LINE || 1024) - 7)}\n`;
  for (let n = 0; n < noise; n += line.length) process.stderr.write(line);
}
// No process.exit(): node exits by itself once every queued write is done.
process.stdin.pipe(process.stdout);
