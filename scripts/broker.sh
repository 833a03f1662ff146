# Sourced by scripts/test and scripts/bench: installs the Kafka-protocol broker tansu
# once (about 15 minutes) into a cache outside the repository, and starts it on a free
# loopback port for the life of the calling script. Sets TANSU, BROKERS and TANSU_PID.

TANSU_VERSION=0.6.0
TANSU_ROOT="${LEDGER_TANSU_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/delegation-ledger/tansu-$TANSU_VERSION}"
TANSU="$TANSU_ROOT/bin/tansu"

install_tansu() {
  if [ ! -x "$TANSU" ]; then
    echo "installing the Kafka-protocol broker tansu $TANSU_VERSION into $TANSU_ROOT (once; about 15 minutes)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore --root "$TANSU_ROOT"
  fi
}

free_port() {
  local port
  for port in $(seq 19092 19192); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "no free port between 19092 and 19192" >&2
  return 1
}

# start_tansu LOGFILE: starts the broker (memory storage) and waits until it listens.
start_tansu() {
  local log=$1 port
  port=$(free_port)
  "$TANSU" broker --storage-engine memory://tansu/ \
    --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >"$log" 2>&1 &
  TANSU_PID=$!
  trap 'kill "$TANSU_PID" 2>/dev/null || true; wait "$TANSU_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$TANSU_PID" 2>/dev/null; then
      echo "tansu exited; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  BROKERS="127.0.0.1:$port"
  echo "tansu $TANSU_VERSION on $BROKERS (pid $TANSU_PID)"
}
