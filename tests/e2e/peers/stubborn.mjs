#!/usr/bin/env node
// A server that ignores stdin EOF and SIGTERM: only SIGKILL ends it. It
// tells what it saw on stderr, which lsptap passes through.
process.on('SIGTERM', () => process.stderr.write('stubborn: SIGTERM ignored\n'));
process.stdin.on('end', () => process.stderr.write('stubborn: stdin EOF ignored\n'));
process.stdin.resume();
setInterval(() => {}, 1 << 30);
