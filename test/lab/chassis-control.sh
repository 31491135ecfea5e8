#!/bin/sh
# kvmha IPMI lab: the chassis_control hook of a simulated BMC (ipmi_sim).
#
# ipmi_sim runs this through popen() for Get Chassis Status and Chassis
# Control, appending an operation and parameter names/values:
#
#   chassis-control.sh LABDIR get power [boot]      -> prints "power:0|1"
#   chassis-control.sh LABDIR set power "0|1"       -> prints nothing, exit 0
#   chassis-control.sh LABDIR set reset "1"         (hard reset pulse)
#   chassis-control.sh LABDIR set shutdown "1"      (soft off)
#   chassis-control.sh LABDIR set boot "pxe|..."
#   chassis-control.sh LABDIR set identify "SECS FORCE"
#
# Anything printed on a failure is captured by ipmi_sim, which answers the
# IPMI request with completion code 0xFF.
#
# State, all inside LABDIR:
#   power         "1" (on) or "0" (off); the test reads and writes it too
#   stuck         if present, power changes are accepted but not applied
#   boot          last boot device requested
#   chassis.log   one line per call, for the tests to inspect
set -u

dir=${1:-}
op=${2:-}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "chassis-control: lab directory missing: '$dir'"
    exit 1
fi
shift 2

log() {
    printf '%s\n' "$*" >>"$dir/chassis.log"
}

read_power() {
    p=$(cat "$dir/power" 2>/dev/null) || p=0
    case $p in
        1) echo 1 ;;
        *) echo 0 ;;
    esac
}

# Replace the file in one rename so a reader never sees it half written.
write_file() {
    printf '%s\n' "$2" >"$dir/.$1.$$" && mv -f "$dir/.$1.$$" "$dir/$1"
}

set_power() {
    if [ -e "$dir/stuck" ]; then
        log "stuck: power $1 ignored"
        return 0
    fi
    write_file power "$1"
}

log "$op $*"

case $op in
    get)
        for parm in "$@"; do
            case $parm in
                power) echo "power:$(read_power)" ;;
                boot)
                    b=$(cat "$dir/boot" 2>/dev/null) || b=default
                    echo "boot:$b"
                    ;;
                *)
                    echo "chassis-control: cannot get '$parm'"
                    exit 1
                    ;;
            esac
        done
        ;;
    set)
        while [ $# -gt 0 ]; do
            parm=$1
            if [ $# -lt 2 ]; then
                echo "chassis-control: no value for '$parm'"
                exit 1
            fi
            val=$2
            shift 2
            case $parm in
                power)
                    case $val in
                        0 | 1) set_power "$val" ;;
                        *)
                            echo "chassis-control: bad power value '$val'"
                            exit 1
                            ;;
                    esac
                    ;;
                shutdown) set_power 0 ;;
                reset) ;; # a pulse: the power state does not change
                boot) write_file boot "$val" ;;
                identify) ;;
                *)
                    echo "chassis-control: cannot set '$parm'"
                    exit 1
                    ;;
            esac
        done
        ;;
    *)
        # "check" is for LAN config programs only.
        echo "chassis-control: unsupported operation '$op'"
        exit 1
        ;;
esac
exit 0
