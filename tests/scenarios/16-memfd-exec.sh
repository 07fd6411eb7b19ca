#!/usr/bin/env bash
# Fileless execution: a binary copied into a memfd and executed from it.
. "$(dirname "$0")/lib.sh"
"$PY" - <<'PYEOF'
import os
fd = os.memfd_create("payload", 0)
with open("/bin/true", "rb") as f:
    os.write(fd, f.read())
pid = os.fork()
if pid == 0:
    os.execv(f"/proc/self/fd/{fd}", ["payload"])
os.waitpid(pid, 0)
PYEOF
exit 0
