#!/usr/bin/env node
// A cat-like server: every byte it reads on stdin goes back out on stdout,
// unchanged. At stdin EOF it exits 0 once stdout (and stderr) are flushed.
// With $PEER_STDERR_BYTES it first writes that many bytes of 1 KiB log lines
// ("echo: nnn...") to stderr; node queues what the pipe does not take yet.
const noise = Number(process.env.PEER_STDERR_BYTES || 0);
if (noise > 0) {
  const line = `echo: ${'n'.repeat(1017)}\n`;
  for (let n = 0; n < noise; n += line.length) process.stderr.write(line);
}
// No process.exit(): node exits by itself once every queued write is done.
process.stdin.pipe(process.stdout);
