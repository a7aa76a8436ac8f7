#!/usr/bin/env bash
# Emulated LAN or WAN for the networked benchmark.
#
#   scripts/emulate-network.sh lan|wan [arguments of `blindfold bench inference`]
#
# Runs `blindfold bench inference --transport tls` in a private network
# namespace whose loopback delays every packet and limits its rate with
# netem, so the five worker processes talk as over the chosen network:
#
#   lan: 0.1 ms each way (0.2 ms round trip), 10 Gbit/s
#   wan: 20 ms each way (40 ms round trip), 100 Mbit/s
#
# Every link shares the one emulated loopback: the rate is for all parties'
# traffic together, not per link (a stricter network than one link per
# pair). The in-process records of the same run are unaffected.
#
# Needs root or unprivileged user namespaces, `ip` and `tc`, and a kernel
# with the sch_netem module (`tc qdisc add ... netem` fails without it).
# BLINDFOLD names the binary (default: target/release/blindfold).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-}
case "$profile" in
  lan) delay=0.1ms; rate=10gbit ;;
  wan) delay=20ms; rate=100mbit ;;
  *) echo "usage: $0 lan|wan [bench arguments...]" >&2; exit 2 ;;
esac
shift
binary=${BLINDFOLD:-target/release/blindfold}
if [ ! -x "$binary" ]; then
  echo "$binary not found: build it with cargo build --release -p blindfold-cli" >&2
  exit 2
fi
namespace=(unshare --net)
if [ "$(id -u)" -ne 0 ]; then
  namespace=(unshare --net --map-root-user)
fi
exec "${namespace[@]}" bash -c '
  set -euo pipefail
  ip link set lo up
  if ! error=$(tc qdisc add dev lo root netem delay "$1" rate "$2" limit 1000000 2>&1); then
    echo "cannot emulate the network here: tc netem failed ($error); the kernel needs sch_netem" >&2
    exit 3
  fi
  echo "loopback: $(tc qdisc show dev lo)" >&2
  binary=$3
  shift 3
  exec "$binary" bench inference --transport tls "$@"
' emulate "$delay" "$rate" "$binary" "$@"
