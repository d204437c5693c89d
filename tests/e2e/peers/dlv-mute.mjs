#!/usr/bin/env node
// A dlv that starts and never says where it listens (a hung build, a
// blocked port): it prints nothing and runs until killed.
setInterval(() => {}, 1 << 30);
