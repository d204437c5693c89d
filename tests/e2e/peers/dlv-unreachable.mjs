#!/usr/bin/env node
// A dlv that says it listens on a port where nothing listens (a port it
// took and let go), then keeps running: lsptap's connect is refused. Like
// dlv, it says so on the fd named by --log-dest=N, else on stdout.
import fs from 'node:fs';
import net from 'node:net';

const dest = process.argv.map((a) => /^--log-dest=(\d+)$/.exec(a)).find(Boolean);
const srv = net.createServer();
srv.listen(0, '127.0.0.1', () => {
  const { port } = srv.address();
  srv.close(() => {
    fs.writeSync(dest ? Number(dest[1]) : 1, `DAP server listening at: 127.0.0.1:${port}\n`);
    setInterval(() => {}, 1 << 30);
  });
});
