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
for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done
mkdir -p /etc/acpi/PWRF
cat >/etc/acpi/PWRF/00000080 <<'ACTION'
#!/bin/sh
echo "kvmha-guest: power button pressed, powering off" >/dev/console
poweroff -f
ACTION
chmod 0755 /etc/acpi/PWRF/00000080
# busybox acpid: KEY_POWER maps to event PWRF, which runs /etc/acpi/PWRF/00000080.
acpid -f -l /dev/null &
echo "kvmha-guest: up, $(cat /proc/sys/kernel/hostname) kernel $(uname -r)"
while :; do
  read -r up _ </proc/uptime
  echo "kvmha-guest uptime $up"
  sleep 1
done
