#!/usr/bin/env bash
# The Slurm executor against a real single-node Slurm (issue 22).
#
# Installs slurm-wlm and munge with apt-get when they are missing (skips, passing, with a
# message where that is impossible: not root, no apt-get, no network), starts munged,
# slurmctld -D and slurmd -D on localhost with tests/slurm.conf (state, spool, logs, sockets
# in a temporary directory; the node's CPUs = nproc), waits for the node to be idle, runs the
# checks, and stops the daemons by pid at exit, whatever happens.
#
# Checks:
#   1. `reproduce --quick --executor slurm` gives every claim identical to the local
#      `reproduce --quick` (values and verdicts, timings aside);
#   2. a fig9 array with one task scancel'ed and one `scontrol requeue`d mid-run merges to
#      the unsharded run's cells, bit for bit (timings aside);
#   3. one index of an array, submitted by hand with `sbatch --array=I job.sbatch`, runs
#      its shard (the shard count is written in the script).
#
#   tests/slurm.sh                         # builds the release binary first
#   DEPTHSCALE_BIN=PATH tests/slurm.sh     # another binary
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS

skip() {
  echo "slurm: skipped: $*"
  exit 0
}
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || skip "slurm-wlm and munge are not installed and this is not root"
  command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm and munge are not installed and there is no apt-get"
  export DEBIAN_FRONTEND=noninteractive
  { timeout 600 apt-get install -y slurm-wlm munge ||
    { timeout 300 apt-get update && timeout 600 apt-get install -y slurm-wlm munge; }; } \
    >/dev/null 2>&1 || skip "slurm-wlm and munge could not be installed"
fi
[[ $(id -u) == 0 ]] || skip "the test Slurm runs as root (SlurmUser=root)"
[[ -r /etc/munge/munge.key ]] || skip "no /etc/munge/munge.key"

if [[ -z "${DEPTHSCALE_BIN:-}" ]]; then
  cargo build --release --locked -p depthscale-cli
  DEPTHSCALE_BIN="$PWD/target/release/depthscale"
fi
ds() { "$DEPTHSCALE_BIN" "$@"; }

tmp="$(mktemp -d /tmp/depthscale-slurm.XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [[ $rc != 0 ]]; then
    echo "slurm: FAILED; daemon logs:"
    tail -n 30 "$tmp"/*.log 2>/dev/null || true
    for f in "$tmp"/work/*.slurm/logs/*.log "$tmp"/work/*/*.slurm/logs/*.log; do
      [[ -f $f ]] && { echo "== $f"; tail -n 5 "$f"; }
    done
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

# two free TCP ports for slurmctld and slurmd
read -r ctlport dport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/work"
sed -e "s|@TMP@|$tmp|g" -e "s|@CPUS@|$(nproc)|g" -e "s|@CTLPORT@|$ctlport|g" \
  -e "s|@DPORT@|$dport|g" tests/slurm.conf >"$tmp/slurm.conf"
export SLURM_CONF="$tmp/slurm.conf"

munged -F --force --socket="$tmp/munge.sock" --pid-file="$tmp/munged.pid" \
  --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S $tmp/munge.sock ]] && break; sleep 0.1; done
slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N localhost >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
for i in $(seq 120); do
  state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  [[ $i == 120 ]] && { echo "slurm: the node did not become idle (state: '$state')"; exit 1; }
  sleep 0.5
done
echo "slurm: single-node Slurm up ($(nproc) CPUs) in $((SECONDS - t0)) s"

# The claims of summary.json without timings: name, measured value, expected, verdict.
claims() {
  python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
for c in s["claims"]:
    print(json.dumps({k: v for k, v in c.items() if "second" not in k and k != "command"}, sort_keys=True))
' "$1"
}
# cells.csv without its last column (seconds), sorted by cell.
cells() { cut -d, -f1-$(($(head -1 "$1" | tr , '\n' | wc -l) - 1)) "$1" | sort; }
# waits until task $2 of job $1 is RUNNING
wait_running() {
  for _ in $(seq 600); do
    [[ $(squeue -h -j "$1_$2" -o %T 2>/dev/null) == RUNNING ]] && return 0
    sleep 0.2
  done
  echo "slurm: task $1_$2 never ran"
  return 1
}
# waits until the shard directory $1 holds at least one finished cell
wait_cells() {
  for _ in $(seq 600); do
    [[ -f $1/cells.csv && $(wc -l <"$1/cells.csv") -ge 2 ]] && return 0
    sleep 0.2
  done
  echo "slurm: $1 never finished a cell"
  return 1
}
w="$tmp/work"

# 1. the whole paper, quick, through Slurm and locally
s=$SECONDS
ds reproduce --quick --out "$w/local" >/dev/null 2>&1
local_s=$((SECONDS - s))
s=$SECONDS
ds reproduce --quick --executor slurm --shards 2 --poll 1 --out "$w/rep" >"$w/rep.out" 2>"$w/rep.err" ||
  { cat "$w/rep.out" "$w/rep.err"; exit 1; }
slurm_s=$((SECONDS - s))
diff <(claims "$w/local/summary.json") <(claims "$w/rep/summary.json")
diff <(cells "$w/local/fig9/cells.csv") <(cells "$w/rep/fig9/cells.csv")
[[ -f $w/rep/fig9.slurm/job.sbatch && -f $w/rep/rest.slurm/job.sbatch ]]
echo "slurm: 1. reproduce --quick --executor slurm: $(tail -2 "$w/rep.out" | head -1)"
echo "        claims identical to the local run (local ${local_s} s, through Slurm ${slurm_s} s)"

# 2. fig9 array, one task cancelled and one requeued mid-run, against the unsharded run
fig9=(run fig9 --set 'lr=[1e-3, 1e-2, 1e-1]' --set 'hurst={linspace=[0.1, 0.9, 3]}'
  --set 'beta={linspace=[0.1, 0.9, 3]}' --set epochs=1 --set train_samples=2000
  --set test_samples=1000)
s=$SECONDS
ds "${fig9[@]}" --out "$w/fig9-local" >/dev/null 2>&1
fig9_local_s=$((SECONDS - s))
s=$SECONDS
ds "${fig9[@]}" --executor slurm --shards 4 --no-wait --out "$w/fig9" >"$w/fig9.out" 2>/dev/null
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0])' "$w/fig9.slurm/state.json")
wait_running "$job" 0
wait_running "$job" 1
wait_cells "$w/fig9.slurm/shards/shard-0"
scancel "${job}_1"
scontrol requeue "${job}_0"
# Slurm holds a requeued task back for about two minutes (BeginTime); once it is pending
# again, let it start now
for _ in $(seq 100); do
  [[ $(squeue -h -j "${job}_0" -o %T 2>/dev/null) == PENDING ]] && break
  sleep 0.1
done
scontrol update JobId="${job}_0" StartTime=now
ds "${fig9[@]}" --executor slurm --shards 4 --no-wait --out "$w/fig9" >"$w/fig9.out" 2>/dev/null
ds "${fig9[@]}" --executor slurm --shards 4 --poll 1 --out "$w/fig9" >"$w/fig9.out" 2>"$w/fig9.err" ||
  { cat "$w/fig9.out" "$w/fig9.err"; exit 1; }
fig9_slurm_s=$((SECONDS - s))
diff <(cells "$w/fig9-local/cells.csv") <(cells "$w/fig9/cells.csv")
grep -q '"submitted": \[' "$w/fig9.slurm/state.json"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["submitted"][1] == 2, s          # the cancelled task was submitted again
assert len(s["jobs"]) >= 2, s
' "$w/fig9.slurm/state.json"
[[ $(grep -c '^depthscale task 0 ' "$w/fig9.slurm/logs/task-0.log") -ge 2 ]] ||
  { echo "slurm: task 0 was not requeued"; cat "$w/fig9.slurm/logs/task-0.log"; exit 1; }
echo "slurm: 2. fig9 array with task 1 cancelled and task 0 requeued: merged cells identical to the unsharded run (local ${fig9_local_s} s, Slurm ${fig9_slurm_s} s)"

# 3. one index submitted by hand
ds run fig9 --quick --executor slurm --shards 3 --no-wait --out "$w/one" >/dev/null 2>&1
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0])' "$w/one.slurm/state.json")
scancel "$job"
for _ in $(seq 100); do [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break; sleep 0.2; done
rm -rf "$w/one.slurm/shards"
sbatch --wait --array=2 "$w/one.slurm/job.sbatch" >/dev/null
[[ -f $w/one.slurm/shards/shard-2/summary.json ]]
[[ ! -e $w/one.slurm/shards/shard-0 ]]
grep -q '"shard": "2/3"' "$w/one.slurm/shards/shard-2/summary.json"
ds run fig9 --quick --executor slurm --shards 3 --poll 1 --out "$w/one" >/dev/null 2>&1
ds run fig9 --quick --out "$w/one-local" >/dev/null 2>&1
diff <(cells "$w/one-local/cells.csv") <(cells "$w/one/cells.csv")
echo "slurm: 3. sbatch --array=2 job.sbatch by hand ran shard 2/3; the rerun resubmitted the others and merged identically"
echo "slurm: all checks passed in $((SECONDS - t0)) s"
