# shellcheck shell=sh
# Reading KEY=value settings from shell-style configuration files (/etc/sysconfig/iptables-config,
# /etc/default/netfilter-persistent, ...) WITHOUT sourcing them. The stock scripts `.` these
# files; they are root-owned, but running them as code means a stray `$(...)` or a typo runs
# as root inside the firewall service. We read them line by line instead:
#   KEY=value   KEY="value"   KEY='value'   export KEY=value   # comments, blank lines
# The last assignment wins (as when sourced). Values are taken literally: `$VAR` and
# `$(cmd)` are not expanded (config_get warns once per key when a value looks like it needs
# a shell). An unquoted value ends at the first blank or `#`.
# Sourced by the service wrappers; POSIX sh.

# config_get FILE KEY: prints KEY's value and returns 0; returns 1 when FILE or KEY is absent.
config_get() {
  _cg_file=$1
  _cg_key=$2
  _cg_found=1
  _cg_value=
  [ -r "$_cg_file" ] || return 1
  while IFS= read -r _cg_line || [ -n "$_cg_line" ]; do
    _cg_line=${_cg_line#"${_cg_line%%[![:space:]]*}"}
    case $_cg_line in
      'export '*) _cg_line=${_cg_line#export}; _cg_line=${_cg_line#"${_cg_line%%[![:space:]]*}"} ;;
    esac
    case $_cg_line in
      "$_cg_key="*) ;;
      *) continue ;;
    esac
    _cg_v=${_cg_line#"$_cg_key="}
    case $_cg_v in
      \"*) _cg_v=${_cg_v#\"}; _cg_v=${_cg_v%%\"*} ;;
      \'*) _cg_v=${_cg_v#\'}; _cg_v=${_cg_v%%\'*} ;;
      *) _cg_v=${_cg_v%%[[:space:]#]*} ;;
    esac
    _cg_value=$_cg_v
    _cg_found=0
  done <"$_cg_file"
  [ "$_cg_found" = 0 ] || return 1
  case $_cg_value in
    *'$'* | *'`'*) printf '%s: %s: %s=%s is used literally (not expanded as by a shell)\n' "${0##*/}" "$_cg_file" "$_cg_key" "$_cg_value" >&2 ;;
  esac
  printf '%s\n' "$_cg_value"
}

# config_setting FILE KEY DEFAULT: KEY's value, or DEFAULT when it is not set.
config_setting() {
  config_get "$1" "$2" || printf '%s\n' "$3"
}

# config_number FILE KEY DEFAULT: like config_setting, but the value must be a whole number.
config_number() {
  _cn_v=$(config_setting "$1" "$2" "$3")
  case $_cn_v in
    '' | *[!0-9]*)
      printf '%s: %s: %s="%s" is not a whole number\n' "${0##*/}" "$1" "$2" "$_cn_v" >&2
      return 1
      ;;
  esac
  printf '%s\n' "$_cn_v"
}
