#!/usr/bin/env node
// A scripted server for the byte-exactness tests. It appends every byte it
// receives on stdin to $PEER_RECORD and, at the same time, writes the file
// $PEER_SCRIPT to stdout in chunks of random size (seed $PEER_SEED). It
// exits 0 once stdin reached EOF and its whole script is written.
import fs from 'node:fs';
import { prng, writeChopped } from '../lib/frames.mjs';

const record = fs.createWriteStream(process.env.PEER_RECORD);
const recorded = new Promise((resolve) => record.on('finish', resolve));
process.stdin.pipe(record);

const script = fs.readFileSync(process.env.PEER_SCRIPT);
const written = writeChopped(process.stdout, script, prng(Number(process.env.PEER_SEED || 1)));

await Promise.all([recorded, written]);
process.stdout.end(() => process.exit(0));
