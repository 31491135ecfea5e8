#!/usr/bin/python3
"""The lab's second BMC: pyghmi's (Debian python3-pyghmi, pyghmi.ipmi.bmc), which speaks the
protocol; this glue only keeps the chassis power in files the tests read and write, like the
ipmi_sim BMC's chassis hook.

    pyghmi-bmc.py --address 127.0.0.1 --port N --dir DIR

DIR/users.json: {"name": "password", ...}; DIR/power: "1" on, "0" off; DIR/stuck: when present,
power commands are acknowledged and not carried out; DIR/chassis.log: one line per command.
"""
import argparse
import json
import os
import sys

import pyghmi.ipmi.bmc as bmc


class LabBmc(bmc.Bmc):
    def __init__(self, authdata, port, address, state_dir):
        super().__init__(authdata, port=port, address=address)
        self.state_dir = state_dir

    def _path(self, name):
        return os.path.join(self.state_dir, name)

    def _note(self, line):
        with open(self._path("chassis.log"), "a") as log:
            log.write(line + "\n")

    def _set_power(self, on, what):
        self._note(what)
        if os.path.exists(self._path("stuck")):
            return
        tmp = self._path("power.tmp")
        with open(tmp, "w") as f:
            f.write("1\n" if on else "0\n")
        os.replace(tmp, self._path("power"))

    def get_power_state(self):
        with open(self._path("power")) as f:
            return "on" if f.read().strip() == "1" else "off"

    def power_off(self):
        self._set_power(False, "set power 0")

    def power_on(self):
        self._set_power(True, "set power 1")

    def power_cycle(self):
        self._set_power(True, "power cycle")

    def power_reset(self):
        self._set_power(True, "power reset")

    def power_shutdown(self):
        self._set_power(False, "soft shutdown")

    def pulse_diag(self):
        self._note("diag")

    def cold_reset(self):
        self._note("cold reset")

    def is_active(self):
        return self.get_power_state() == "on"


def main():
    parser = argparse.ArgumentParser(prog="pyghmi-bmc.py")
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    with open(os.path.join(args.dir, "users.json")) as f:
        users = json.load(f)
    LabBmc(users, args.port, args.address, args.dir).listen()


if __name__ == "__main__":
    sys.exit(main())
