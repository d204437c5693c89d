// Test certificates, made with the openssl command in a temporary
// directory: one CA for servers and clients, a second CA nobody trusts, and
// server certificates that are good, expired, or for another name.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './env.mjs';

const EXT = `[server]
subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth
[client]
extendedKeyUsage=clientAuth
[wrongname]
subjectAltName=DNS:elsewhere.example
extendedKeyUsage=serverAuth
`;

function openssl(dir, args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir, name) {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2']);
}

// A key and a certificate signed by `by`; days < 0 makes it expired.
function leaf(dir, name, cn, by, ext, days = 2) {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.pem`, '-CAkey', `${by}.key`,
    '-days', String(days), '-out', `${name}.pem`, '-extfile', 'ext.cnf', '-extensions', ext]);
}

// Returns { dir, file(name) } with ca, otherca, server, expired, wrongname,
// client (signed by ca) and rogue (a client certificate signed by otherca).
export function makeCerts(t) {
  const dir = tempDir(t, 'lsptap-certs-');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), EXT);
  ca(dir, 'ca');
  ca(dir, 'otherca');
  leaf(dir, 'server', 'localhost', 'ca', 'server');
  leaf(dir, 'expired', 'localhost', 'ca', 'server', -1);
  leaf(dir, 'wrongname', 'elsewhere.example', 'ca', 'wrongname');
  leaf(dir, 'client', 'editor', 'ca', 'client');
  leaf(dir, 'rogue', 'intruder', 'otherca', 'client');
  return { dir, file: (name, ext = 'pem') => path.join(dir, `${name}.${ext}`) };
}
