#!/bin/sh
# /init of the kvmha lab guest (a busybox initramfs built by
# test/lab/libvirt-guest.ts). It prints its uptime to the serial console once
# a second, so tests can read how long the guest has run from the console
# log, and powers off when the ACPI power button is pressed (virsh shutdown).
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The power button reaches userspace as an input event: evdev for
# /dev/input/event*, button for the ACPI "Power Button" device (both modules
# in Debian's cloud kernel, copied into this initramfs).
# virtio-serial (for the guest agent channel) needs its modules in dependency
# order; three passes over the list load them whatever the order.
for pass in 1 2 3; do
  for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
done
mkdir -p /etc/acpi/PWRF
cat >/etc/acpi/PWRF/00000080 <<'ACTION'
#!/bin/sh
echo "kvmha-guest: power button pressed, powering off" >/dev/console
poweroff -f
ACTION
chmod 0755 /etc/acpi/PWRF/00000080
# busybox acpid: KEY_POWER maps to event PWRF, which runs /etc/acpi/PWRF/00000080.
acpid -f -l /dev/null &
# A stand-in for qemu-guest-agent on the org.qemu.guest_agent.0 channel, when
# the domain has one: it answers guest-sync(-delimited) with the id it was
# given and guest-ping with an empty return, anything else with an error.
# Ports appear once the virtio-serial device is probed: wait briefly for them.
i=0
while [ $i -lt 30 ] && [ -n "$(ls /sys/bus/virtio/devices 2>/dev/null)" ] && [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ]; do
  sleep 0.1
  i=$((i + 1))
done
# One connection to the port, on fd 3. A read on a virtio-serial port returns at once with
# nothing (EOF) while no one is connected on the host side; libvirt connects to the agent's
# socket only after the port's "connected" event, some milliseconds after the open. So the port
# stays open across such empty reads (closing it would send "disconnected", and libvirt would
# drop the connection it was making: under load, open-read-close cycles lost that race every
# time, "QEMU guest agent is not connected" for a whole start). Only after 5 s with no host is
# it closed, for the caller to reopen: a "connected" event libvirt missed is sent again.
serve_agent() {
  idle=0
  while :; do
    if read -r line <&3; then
      idle=0
      case $line in
        *guest-sync-delimited*) id=${line##*\"id\":}; id=${id%%[!0-9]*}; printf '\377{"return": %s}\n' "$id" >&3 ;;
        *guest-sync*) id=${line##*\"id\":}; id=${id%%[!0-9]*}; printf '{"return": %s}\n' "$id" >&3 ;;
        *guest-ping*) printf '{"return": {}}\n' >&3 ;;
        *) printf '{"error": {"class": "CommandNotFound", "desc": "kvmha lab guest agent"}}\n' >&3 ;;
      esac
    else
      idle=$((idle + 1))
      [ $idle = 1 ] && echo "kvmha-guest: agent port open, nothing connected on the host side yet" >/dev/console
      [ $idle -ge 5 ] && return 0
      sleep 1
    fi
  done
}
for port in /sys/class/virtio-ports/*; do
  [ "$(cat "$port/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
  dev=/dev/${port##*/}
  (
    # The port's sysfs entry shows before devtmpfs has made its node, and a failed open must not
    # end this loop (a redirection on a function call fails the call, not the shell; `exec 3<>`
    # would end it): open, serve, and try again.
    failed=0
    while :; do
      serve_agent 2>/dev/null 3<>"$dev" || :
      if [ ! -c "$dev" ] && [ $failed = 0 ]; then
        failed=1
        echo "kvmha-guest: $dev not there yet, retrying" >/dev/console
      fi
      sleep 1
    done
  ) &
  echo "kvmha-guest: guest agent on $dev"
done
echo "kvmha-guest: up, $(cat /proc/sys/kernel/hostname) kernel $(uname -r)"
while :; do
  read -r up _ </proc/uptime
  echo "kvmha-guest uptime $up"
  sleep 1
done
