# Shell functions the test fixtures share (controlplane.sh, crossplane.sh).
# Sourced; the sourcing script defines log().

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs <command...> until it succeeds, for at most <seconds>.
wait_for() {  # <what> <seconds> <command...>
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what not ready after ${secs}s"
      return 1
    fi
    sleep 0.1
  done
}
