# shellcheck shell=sh
# Failing closed at boot. When iptables-safe-restore cannot run — node missing, too old or
# broken (a partial upgrade, a missing libnode), the program file missing or cut short — the
# boot-time wrappers (rhel/iptables-service start, debian/netfilter-persistent-plugin start)
# still load the user's rules, with the stock iptables-restore, and say so loudly: a firewall
# without Docker's rules is better than no firewall. At boot the firewall units run before
# docker.service (the drop-ins), so there is nothing of Docker's yet to lose.
# "Cannot run" is told from "ran and failed" (bad rules, a refused apply: no fallback, as the
# stock script would have failed the same way) by a probe (`--version`: node starts and is new
# enough) and by the run's status: 126 (the launcher: node too old, program unloadable; the
# shell: not executable), 127 (not found), or above 128 (killed: a crashing node).
# Sourced by the wrappers; POSIX sh. ISR_STOCK_BIN_DIR (default /usr/sbin): where the stock
# iptables-restore and ip6tables-restore are (tests point it at stubs).

# tool_cannot_run TOOL: 0 (true) when TOOL does not start; its first error line in $cannot_run_reason.
tool_cannot_run() {
  cannot_run_reason=
  if _tc_err=$("$1" --version 2>&1 >/dev/null); then return 1; fi
  cannot_run_reason=$(printf '%s\n' "${_tc_err:-exit status not 0, nothing said}" | head -n 1 | cut -c1-160)
  return 0
}

# status_cannot_run STATUS: 0 (true) when a run ended with a status the program never returns itself.
status_cannot_run() {
  [ "$1" -eq 126 ] || [ "$1" -eq 127 ] || [ "$1" -gt 128 ]
}

# loud LINE...: to stderr; under systemd (JOURNAL_STREAM set) at priority crit, through the
# <2> prefix that systemd reads from a service's output (SyslogLevelPrefix=yes, the default).
loud() {
  for _l in "$@"; do
    if [ -n "${JOURNAL_STREAM:-}" ]; then printf '<2>%s\n' "$_l" >&2; else printf '%s\n' "$_l" >&2; fi
  done
}

# stock_restore NAME FILE WHY [OPTION...]: NAME-restore OPTION... FILE, the stock tool, said loudly.
stock_restore() {
  _sr_name=$1 _sr_file=$2 _sr_why=$3
  shift 3
  loud "$_sr_name: iptables-safe-restore cannot run ($_sr_why)" \
    "$_sr_name: FAIL-CLOSED: loading $_sr_file with the stock $_sr_name-restore instead (not Docker-safe: it flushes the tables the file names, Docker's chains in them too)"
  _sr_rc=0
  "${ISR_STOCK_BIN_DIR:-/usr/sbin}/$_sr_name-restore" "$@" <"$_sr_file" || _sr_rc=$?
  if [ "$_sr_rc" -eq 0 ]; then
    loud "$_sr_name: FAIL-CLOSED: $_sr_file is in force (stock $_sr_name-restore)." \
      "$_sr_name: to repair: make /usr/bin/node a working Node.js >= 20.19 (reinstall nodejs; \`$_sr_name-safe-restore --version\` must answer), restart docker if it was running (it rebuilds its chains), then \`$_sr_name-safe-restore reconcile $_sr_file\`; see iptables-safe-restore(8), FAIL-CLOSED"
  else
    loud "$_sr_name: FAIL-CLOSED: the stock $_sr_name-restore failed too (exit $_sr_rc): $_sr_file is NOT in force"
  fi
  return "$_sr_rc"
}
