#!/usr/bin/env python3
"""Simulate a leaky source: set bit 9 (PKRU) of env.xstate_bv in the "cpu"
section of a QEMU 7.2 migration stream, as the PVE 7 kernel's KVM_GET_XSAVE
did (kernel-semantics.md §7.3: the PKRU area stays 0, so QEMU sends no cpu/pkru
subsection; only XSTATE_BV carries the bit).

The field is found through the stream's own description (the JSON "vmdesc"
QEMU appends to every stream and snapshot): the offset of env.xstate_bv within
the cpu section's fields, counted from the section header of cpu instance 0.
Works on a raw stream (migrate "exec:cat > FILE") and on a fresh qcow2 that
holds one snapshot (the vmstate clusters are contiguous there: the offset
found is checked against the value's shape before anything is written).

usage: leak-pkru.py FILE          edit in place (idempotent); prints old -> new
exit: 0 done, 2 the stream is not as expected (nothing written), 3 usage
"""
import json
import struct
import sys

PKRU_BIT = 1 << 9


def fail(msg):
    print(f"leak-pkru: {msg}", file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(3)
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = f.read()

    # QEMU_VM_SECTION_FULL header: 0x04, section id (u32), idstr length (u8)
    # "cpu", instance id (u32) = 0, version id (u32); the fields follow.
    marker = b"\x03cpu\x00\x00\x00\x00"
    if data.count(marker) != 1:
        fail(f"expected one cpu section header, found {data.count(marker)}")
    header = data.find(marker)
    fields_start = header + len(marker) + 4
    version = struct.unpack(">I", data[header + len(marker):fields_start])[0]

    start = data.find(b'{"page_size"', fields_start)
    if start < 0:
        fail("no vmdesc JSON after the cpu section")
    desc, _ = json.JSONDecoder().raw_decode(data[start:].decode("latin-1"))
    cpus = [d for d in desc["devices"] if d["name"] == "cpu" and d["instance_id"] == 0]
    if len(cpus) != 1:
        fail("vmdesc has no cpu instance 0")
    offset = 0
    for field in cpus[0]["fields"]:
        if field["name"] == "env.xstate_bv":
            break
        offset += field["size"] * field.get("array_len", 1)
    else:
        fail("vmdesc cpu section has no env.xstate_bv")

    at = fields_start + offset
    old = struct.unpack(">Q", data[at:at + 8])[0]
    xcr0 = struct.unpack(">Q", data[at - 8:at])[0]
    # Sanity: xcr0 precedes xstate_bv, both small masks with x87 in xcr0.
    if not (xcr0 & 1) or xcr0 > 0xffff or (old & ~0x2ff):
        fail(f"unexpected values at {at}: xcr0={xcr0:#x} xstate_bv={old:#x}")
    new = old | PKRU_BIT
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(struct.pack(">Q", new))
    print(f"leak-pkru: {path}: cpu section v{version} env.xstate_bv at byte {at}: "
          f"{old:#x} -> {new:#x} (xcr0 {xcr0:#x})")


if __name__ == "__main__":
    main()
