#!/usr/bin/env bash
# A realistic host workload for benchmarking `analyzer run` on real data.
#
# Usage: bench/workload.sh [SECONDS]   (default 40)
#
# Run it under the recorder (see bench/record.sh). It mixes what a busy
# build/CI host or a small service node does: C builds with make and gcc,
# package queries (dpkg, apt-cache), file scans (find, grep, sha256sum, tar),
# shell pipelines and interpreters (bash, python3, perl), and loopback
# network (a python HTTP server with curl clients and nc). Every part loops
# until the deadline; all of it stays on this host and in a temporary
# directory that is removed at the end.
set -u
secs=${1:-40}
end=$(( $(date +%s) + secs ))
work=$(mktemp -d /tmp/ferret-workload.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
alive() { [ "$(date +%s)" -lt "$end" ]; }

# A small C project built again and again.
mkdir -p "$work/src"
for i in $(seq 1 12); do
  printf '#include <stdio.h>\n#include <string.h>\nint f%d(const char *s){return (int)strlen(s)*%d;}\n' "$i" "$i" > "$work/src/f$i.c"
done
printf 'int main(void){return 0;}\n' > "$work/src/main.c"
printf 'OBJS=$(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJS)\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n' > "$work/src/Makefile"
build() { while alive; do make -s -C "$work/src" clean >/dev/null; make -s -j2 -C "$work/src" >/dev/null 2>&1; done; }

packages() { while alive; do dpkg-query -W -f '${Package} ${Version}\n' >/dev/null; apt-cache policy bash coreutils >/dev/null 2>&1; dpkg -S /bin/ls >/dev/null 2>&1; done; }

scans() {
  while alive; do
    find /usr/share/doc /etc -maxdepth 3 -type f 2>/dev/null | head -4000 | xargs -r sha256sum >/dev/null 2>&1
    grep -rIl --max-count=1 root /etc 2>/dev/null | head -200 >/dev/null
    tar -cf - -C /usr/share/doc --exclude='*.gz' . 2>/dev/null | gzip -1 > "$work/doc.tgz"
    ls -laR /usr/lib/python3* >/dev/null 2>&1
  done
}

shells() {
  while alive; do
    for i in $(seq 1 40); do sh -c 'echo $$ | cat | wc -c' >/dev/null; done
    bash -c 'for f in /etc/*.conf; do head -c 200 "$f" >/dev/null 2>&1; done'
    python3 -c 'import json,os,hashlib; [hashlib.sha1(open(p,"rb").read()).hexdigest() for p in os.listdir(".") if os.path.isfile(p)]; json.dumps(dict(os.environ))' >/dev/null 2>&1
    perl -e 'opendir(D,"/etc"); my @f=readdir(D); print scalar(@f)' >/dev/null
    env | sort | uniq -c >/dev/null; id; whoami; uname -a; ps -ef >/dev/null
  done >/dev/null 2>&1
}

# Loopback service: an HTTP server over a directory, polled by curl, and a nc echo.
mkdir -p "$work/www"; head -c 65536 /dev/urandom > "$work/www/blob"; echo ok > "$work/www/health"
port=$(( 20000 + RANDOM % 20000 ))
(cd "$work/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
sleep 0.5
net() {
  while alive; do
    curl -s "http://127.0.0.1:$port/health" >/dev/null
    curl -s "http://127.0.0.1:$port/blob" -o /dev/null
  done
}

pids=()
for part in build packages scans shells net net; do "$part" & pids+=($!); done
wait "${pids[@]}"
kill "$server" 2>/dev/null
