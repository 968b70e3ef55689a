#!/usr/bin/env python3
"""One QMP command to a running QEMU (its -qmp unix socket): the e2e harness
adds a vCPU when the guest asks for one. Prints QEMU's answer; exits 1 on an
error answer.
  qmp.py SOCKET COMMAND [JSON_ARGUMENTS]"""
import json
import socket
import sys


def main():
    path, command = sys.argv[1:3]
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        stream = s.makefile("rw")
        json.loads(stream.readline())  # the greeting
        for request in ({"execute": "qmp_capabilities"},
                        {"execute": command, "arguments": arguments}):
            stream.write(json.dumps(request) + "\n")
            stream.flush()
            while True:  # events may come before the answer
                answer = json.loads(stream.readline())
                if "return" in answer or "error" in answer:
                    break
        print(json.dumps(answer))
        sys.exit(1 if "error" in answer else 0)


if __name__ == "__main__":
    main()
