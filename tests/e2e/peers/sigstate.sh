#!/bin/sh
# A server that writes its inherited signal state (the SigBlk and SigIgn
# lines of /proc/self/status, read for this shell's pid) to $PEER_REPORT,
# then becomes cat.
grep -E '^Sig(Blk|Ign):' "/proc/$$/status" > "$PEER_REPORT.tmp" && mv "$PEER_REPORT.tmp" "$PEER_REPORT"
exec cat
