#!/usr/bin/env bash
# crew over ssh against GNU parallel -S, on two loopback sshd hosts.
#
#   bash crew/benches/remote.sh [JOBS] [GNU_JOBS]     (run as root; not run by tests)
#
# Starts two real sshd servers (127.0.0.2 and 127.0.0.3, each in its own
# mount namespace with its own /root, as crew/tests/common/sshd.rs does),
# then measures:
#   1. JOBS (default 2000) x `true` spread over both hosts: jobs/s for crew,
#      and for GNU parallel -S on GNU_JOBS (default 200) jobs (it is ~50x
#      slower; the same hosts, the same slots);
#   2. time to the first job on a new host: one `true` on a host crew has
#      not connected to yet, with a ControlMaster (crew's default) and
#      without (--no-controlmaster), and 20 jobs one at a time (-j1), where
#      the master saves a handshake per job.
# Each figure is the median of 3 runs. Needs openssh-server, GNU parallel
# and a release build (cargo build --release -p workcrew-cli).
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${1:-2000}
GNU_JOBS=${2:-200}
CREW=${CREW:-$PWD/target/release/crew}
[ -x "$CREW" ] || { echo "build crew first: cargo build --release -p workcrew-cli" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "install openssh-server" >&2; exit 1; }

WORK=$(mktemp -d /tmp/crew-remote-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Every process left in the hosts' namespaces (sessions, jobs).
  for ns in "$WORK"/h*/ns; do
    [ -f "$ns" ] || continue
    want=$(cat "$ns")
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$want" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$WORK/key"
: > "$WORK/ssh_config"
for i in 1 2; do
  h="$WORK/h$i"; mkdir -p "$h/home"
  ssh-keygen -q -t ed25519 -N '' -f "$h/host_key"
  port=$((20000 + RANDOM % 20000))
  cat > "$h/sshd_config" <<EOF
ListenAddress 127.0.0.$((i + 1)):$port
HostKey $h/host_key
AuthorizedKeysFile $WORK/key.pub
PermitRootLogin yes
UsePAM no
StrictModes no
PidFile none
PasswordAuthentication no
MaxSessions 200
MaxStartups 200:30:400
EOF
  printf 'Host h%s\n  HostName 127.0.0.%s\n  Port %s\n' "$i" $((i + 1)) "$port" >> "$WORK/ssh_config"
  setsid unshare -m sh -c 'mount --bind "$1" /root && exec /usr/sbin/sshd -f "$2" -D -e' \
    sshd "$h/home" "$h/sshd_config" 2>"$h/log" &
  PIDS+=($!)
done
cat >> "$WORK/ssh_config" <<EOF
Host *
  User root
  IdentityFile $WORK/key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
EOF
for i in 1 2; do
  for _ in $(seq 100); do grep -q "Server listening" "$WORK/h$i/log" && break; sleep 0.05; done
  grep -q "Server listening" "$WORK/h$i/log" || { cat "$WORK/h$i/log"; exit 1; }
  readlink "/proc/${PIDS[$((i - 1))]}/ns/mnt" > "$WORK/h$i/ns"
done
export PARALLEL_SSH="ssh -F $WORK/ssh_config"
SLOTS=${SLOTS:-4}
LOGINS="$SLOTS/h1,$SLOTS/h2"

# Median wall time of 3 runs of "$@", in seconds.
median() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

seq "$JOBS" > "$WORK/jobs"; seq "$GNU_JOBS" > "$WORK/gnu_jobs"; seq 20 > "$WORK/serial"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc); $SLOTS slots per host"
crew_s=$(median "$CREW" -S "$LOGINS" true :::: "$WORK/jobs")
gnu_s=$(median parallel --will-cite -S "$LOGINS" true :::: "$WORK/gnu_jobs")
crew_rate=$(echo "scale=1; $JOBS / $crew_s" | bc)
gnu_rate=$(echo "scale=1; $GNU_JOBS / $gnu_s" | bc)
echo "throughput: crew $JOBS jobs in ${crew_s}s = $crew_rate jobs/s;" \
  "GNU parallel $GNU_JOBS jobs in ${gnu_s}s = $gnu_rate jobs/s;" \
  "ratio $(echo "scale=1; $crew_rate / $gnu_rate" | bc)x"

first_master=$(median "$CREW" -S h1 true ::: 1)
first_plain=$(median "$CREW" --no-controlmaster -S h1 true ::: 1)
first_gnu=$(median parallel --will-cite -S h1 true ::: 1)
echo "first job on a new host: crew ${first_master}s with a ControlMaster," \
  "${first_plain}s without; GNU parallel ${first_gnu}s"
serial_master=$(median "$CREW" -j1 -S 1/h1 true :::: "$WORK/serial")
serial_plain=$(median "$CREW" -j1 --no-controlmaster -S 1/h1 true :::: "$WORK/serial")
echo "20 jobs one at a time on one host: ${serial_master}s with a ControlMaster," \
  "${serial_plain}s without (a handshake per job)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
